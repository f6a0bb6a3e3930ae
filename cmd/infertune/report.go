package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/infertune/infertune/reports"
	"github.com/infertune/infertune/reports/store"
	"github.com/spf13/cobra"
)

func newReportCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Read the runs stored in the database: list, show, compare, export, import",
		Args:  noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		}),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the runs in the database (--db)",
		Args:  noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			return withStore(gs, cmd, func(_ *loadedConfig, st *store.Store) error {
				runs, err := st.Runs()
				if err != nil {
					return withCode(exitInternal, err)
				}
				if textDue, err := emitJSON(gs, cmd, runs); !textDue {
					return err
				}
				return reports.WriteList(gs.stdout, runs)
			})
		}),
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one run: its settings, best config and trials",
		Args:  argCount(1, false, "report show needs one run ID", "an ID from infertune report list"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			return withStore(gs, cmd, func(lc *loadedConfig, st *store.Store) error {
				r, err := loadRun(st, lc.DB, args[0])
				if err != nil {
					return err
				}
				if textDue, err := emitJSON(gs, cmd, r); !textDue {
					return err
				}
				return reports.WriteRun(gs.stdout, r)
			})
		}),
	}
	imp := &cobra.Command{
		Use:   "import OTHER.db",
		Short: "Merge the runs of another infertune database (from another machine) into --db",
		Args:  argCount(1, false, "report import needs one database file", "a path such as other.db"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			return withStore(gs, cmd, func(_ *loadedConfig, st *store.Store) error {
				stats, err := st.Import(gs.path(args[0]))
				if err != nil {
					return badInputf("report import %q: %v; accepted: an infertune database of the same schema", args[0], err)
				}
				fmt.Fprintf(gs.stdout, "imported %d runs (%d already here), %d trials, %d probes, %d new hosts, %d fidelity rows\n",
					stats.Runs, stats.RunsKnown, stats.Trials, stats.Probes, stats.Hosts, stats.Fidelity)
				return nil
			})
		}),
	}
	compare := &cobra.Command{
		Use:   "compare ID ID...",
		Short: "Set runs side by side: host, best config, capacity, p99, cost, capacity per core",
		Args:  argCount(2, true, "report compare needs two or more run IDs", "IDs from infertune report list"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			return withStore(gs, cmd, func(lc *loadedConfig, st *store.Store) error {
				var cols []reports.CompareColumn
				for _, a := range args {
					r, err := loadRun(st, lc.DB, a)
					if err != nil {
						return err
					}
					cols = append(cols, reports.NewCompareColumn(r))
				}
				if textDue, err := emitJSON(gs, cmd, cols); !textDue {
					return err
				}
				return reports.WriteCompare(gs.stdout, cols)
			})
		}),
	}
	export := &cobra.Command{
		Use:   "export ID --format md|json|csv",
		Short: "Write one run as markdown, JSON or CSV (one row per trial) to stdout",
		Args:  argCount(1, false, "report export needs one run ID", "an ID from infertune report list"),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			format, _ := cmd.Flags().GetString("format")
			if format != "md" && format != "json" && format != "csv" {
				return badInputf("--format %q: accepted: md, json, csv", format)
			}
			return withStore(gs, cmd, func(lc *loadedConfig, st *store.Store) error {
				r, err := loadRun(st, lc.DB, args[0])
				if err != nil {
					return err
				}
				return reports.Export(gs.stdout, format, r)
			})
		}),
	}
	export.Flags().String("format", "md", "output `FORMAT`: md, json or csv")
	cmd.AddCommand(list, show, compare, imp, export)
	return cmd
}

// withStore loads the configuration, opens --db, runs f and closes the store.
func withStore(gs *globalState, cmd *cobra.Command, f func(*loadedConfig, *store.Store) error) error {
	lc, err := loadConfig(gs, cmd, nil, nil)
	if err != nil {
		return err
	}
	st, err := openStore(gs, lc)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(lc, st)
}

// openStore opens --db; a file that is not an infertune database is bad input.
func openStore(gs *globalState, lc *loadedConfig) (*store.Store, error) {
	st, err := store.Open(gs.path(lc.DB))
	if err != nil {
		if errors.Is(err, store.ErrNotInfertune) || errors.Is(err, store.ErrNewerSchema) {
			return nil, badInputf("--db %q: %v; accepted: an infertune database", lc.DB, err)
		}
		return nil, withCode(exitInternal, fmt.Errorf("open the database: %w", err))
	}
	return st, nil
}

// argCount checks a subcommand's arguments: exactly n, or at least n when atLeast.
func argCount(n int, atLeast bool, need, accepted string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == n || (atLeast && len(args) > n) {
			return nil
		}
		return badInputf("%s, got %d arguments; accepted: %s", need, len(args), accepted)
	}
}

// loadRun reads the run whose ID is the argument arg; a malformed or unknown ID is bad input.
func loadRun(st *store.Store, db, arg string) (reports.Run, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id < 1 {
		return reports.Run{}, badInputf("run ID %q: accepted: a positive whole number from infertune report list", arg)
	}
	r, err := reports.Load(st, id)
	if errors.Is(err, store.ErrNotFound) {
		return reports.Run{}, badInputf("run %d: not in %s; accepted: an ID from infertune report list", id, db)
	}
	if err != nil {
		return reports.Run{}, withCode(exitInternal, err)
	}
	return r, nil
}
