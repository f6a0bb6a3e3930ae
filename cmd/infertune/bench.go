package main

import "github.com/spf13/cobra"

func newBenchCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure one part of the stack: kernels, the load generator",
		Args:  noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		}),
	}
	cmd.AddCommand(newBenchKernelsCommand(gs), newBenchLoadgenCommand(gs))
	return cmd
}
