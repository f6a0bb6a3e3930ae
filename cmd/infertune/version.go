package main

import (
	"fmt"
	"runtime"
	"text/tabwriter"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/internal/host"
	"github.com/spf13/cobra"
)

// versionReport is what `infertune version` prints.
type versionReport struct {
	Version      string   `json:"version"`
	Commit       string   `json:"commit,omitempty"`
	Modified     bool     `json:"modified,omitempty"`
	Go           string   `json:"go"`
	Platform     string   `json:"platform"`
	GOEXPERIMENT string   `json:"goexperiment"`
	GOAMD64      string   `json:"goamd64,omitempty"`
	TiersBuilt   []string `json:"tiers_built"`
	TiersUsable  []string `json:"tiers_usable"`
}

func newVersionCommand(gs *globalState) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go toolchain and kernel tiers of this binary",
		Args:  noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if _, err := loadConfig(gs, cmd, nil, nil); err != nil {
				return err
			}
			b := host.ReadBuild()
			r := versionReport{
				Version:      b.Version,
				Commit:       b.Revision,
				Modified:     b.Modified,
				Go:           runtime.Version(),
				Platform:     runtime.GOOS + "/" + runtime.GOARCH,
				GOEXPERIMENT: b.GOEXPERIMENT,
				GOAMD64:      b.GOAMD64,
				TiersBuilt:   []string{kernels.Generic.String()},
			}
			if kernels.SIMDBuilt() {
				r.TiersBuilt = append(r.TiersBuilt, kernels.SIMD.String())
			}
			for _, t := range kernels.Tiers() {
				r.TiersUsable = append(r.TiersUsable, t.String())
			}
			if textDue, err := emitJSON(gs, cmd, r); !textDue {
				return err
			}
			tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', 0)
			commit := orNone(r.Commit)
			if r.Modified {
				commit += " (modified)"
			}
			fmt.Fprintf(tw, "version\t%s\n", r.Version)
			fmt.Fprintf(tw, "commit\t%s\n", commit)
			fmt.Fprintf(tw, "go\t%s %s\n", r.Go, r.Platform)
			fmt.Fprintf(tw, "goexperiment\t%s\n", orNone(r.GOEXPERIMENT))
			fmt.Fprintf(tw, "kernel tiers\t%s (usable here: %s)\n", joinWords(r.TiersBuilt), joinWords(r.TiersUsable))
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("write version: %w", err)
			}
			return nil
		}),
	}
}

// orNone returns s, or "none" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
