package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/reports/store"
	"github.com/spf13/cobra"
)

func newReportCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Read the runs stored in the database: list, show",
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
			lc, err := loadConfig(gs, cmd, nil, nil)
			if err != nil {
				return err
			}
			st, err := openStore(gs, lc)
			if err != nil {
				return err
			}
			defer st.Close()
			runs, err := st.Runs()
			if err != nil {
				return withCode(exitInternal, err)
			}
			if textDue, err := emitJSON(gs, cmd, runs); !textDue {
				return err
			}
			tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "id\tstarted\tstatus\tworkload\tslos\tstrategy\ttrials\tbest $/M req\tcpu")
			for _, r := range runs {
				best := "-"
				if r.BestCostPerMillion > 0 {
					best = fmt.Sprintf("%.4g", r.BestCostPerMillion)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.StartedAt.Local().Format(time.DateTime),
					r.Status, r.Workload, r.SLOs, r.Strategy, r.Trials, best, r.CPUModel)
			}
			return tw.Flush()
		}),
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one run: its settings, best config and trials",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInputf("report show needs one run ID, got %d arguments; accepted: an ID from infertune report list", len(args))
			}
			return nil
		},
		RunE: action(func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return badInputf("run ID %q: accepted: a positive whole number from infertune report list", args[0])
			}
			lc, err := loadConfig(gs, cmd, nil, nil)
			if err != nil {
				return err
			}
			st, err := openStore(gs, lc)
			if err != nil {
				return err
			}
			defer st.Close()
			run, err := st.Run(id)
			if errors.Is(err, store.ErrNotFound) {
				return badInputf("run %d: not in %s; accepted: an ID from infertune report list", id, lc.DB)
			}
			if err != nil {
				return withCode(exitInternal, err)
			}
			trials, err := st.Trials(id)
			if err != nil {
				return withCode(exitInternal, err)
			}
			host, err := st.Host(run.HostID)
			if err != nil {
				return withCode(exitInternal, err)
			}
			view := struct {
				Run    store.Run     `json:"run"`
				Host   store.Host    `json:"host"`
				Trials []store.Trial `json:"trials"`
			}{run, host, trials}
			if textDue, err := emitJSON(gs, cmd, view); !textDue {
				return err
			}
			w := gs.stdout
			fmt.Fprintf(w, "run %d: %s, %s, %s search, budget %v, seed %d, %s\n", run.ID, run.Workload, run.SLOs, run.Strategy, run.Budget, run.Seed, run.Status)
			fmt.Fprintf(w, "host: %s, %d cores, %s, %s\n", host.CPUModel, host.Cores, host.OS, host.GoVersion)
			fmt.Fprintf(w, "started %s", run.StartedAt.Local().Format(time.DateTime))
			if !run.EndedAt.IsZero() {
				fmt.Fprintf(w, ", ended %s", run.EndedAt.Local().Format(time.DateTime))
			}
			fmt.Fprintln(w)
			for _, t := range trials {
				if t.ID == run.BestTrialID {
					fmt.Fprintf(w, "best: %s: %.4g req/s, p99 %s, $%.4g per million requests (%d replica(s))\n",
						configText(t.Config), t.CapacityRPS, fmtDur(t.P99), t.CostPerMillion, t.Replicas)
				}
			}
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "trial\tconfig\tstatus\tcapacity req/s\tp99\t$/M req\tverdict\tnote")
			for _, t := range trials {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%.4g\t%s\t%.4g\t%s\t%s\n", t.ID, configText(t.Config), t.Status, t.CapacityRPS,
					fmtDur(t.P99), t.CostPerMillion, t.Verdict, t.Note)
			}
			return tw.Flush()
		}),
	}
	cmd.AddCommand(list, show)
	return cmd
}

// openStore opens --db for reading the runs; a file that is not an infertune database
// is bad input.
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

// configText writes a stored config (JSON) the way tune prints it.
func configText(js string) string {
	var c struct {
		Precision     string        `json:"precision"`
		MaxBatch      int           `json:"max_batch"`
		MaxQueueDelay time.Duration `json:"max_queue_delay"`
		Threads       int           `json:"threads"`
		Tier          string        `json:"tier"`
	}
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		return strings.TrimSpace(js)
	}
	return fmt.Sprintf("%s batch≤%d delay %v %s×%d", c.Precision, c.MaxBatch, c.MaxQueueDelay, c.Tier, c.Threads)
}
