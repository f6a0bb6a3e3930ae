package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	imp := &cobra.Command{
		Use:   "import OTHER.db",
		Short: "Merge the runs of another infertune database (from another machine) into --db",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInputf("report import needs one database file, got %d arguments; accepted: a path such as other.db", len(args))
			}
			return nil
		},
		RunE: action(func(cmd *cobra.Command, args []string) error {
			lc, err := loadConfig(gs, cmd, nil, nil)
			if err != nil {
				return err
			}
			st, err := openStore(gs, lc)
			if err != nil {
				return err
			}
			defer st.Close()
			stats, err := st.Import(gs.path(args[0]))
			if err != nil {
				return badInputf("report import %q: %v; accepted: an infertune database of the same schema", args[0], err)
			}
			fmt.Fprintf(gs.stdout, "imported %d runs (%d already here), %d trials, %d probes, %d new hosts, %d fidelity rows\n",
				stats.Runs, stats.RunsKnown, stats.Trials, stats.Probes, stats.Hosts, stats.Fidelity)
			return nil
		}),
	}
	compare := &cobra.Command{
		Use:   "compare ID ID...",
		Short: "Set runs side by side: host, best config, capacity, p99, cost, capacity per core",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return badInputf("report compare needs two or more run IDs, got %d; accepted: IDs from infertune report list", len(args))
			}
			return nil
		},
		RunE: action(func(cmd *cobra.Command, args []string) error {
			lc, err := loadConfig(gs, cmd, nil, nil)
			if err != nil {
				return err
			}
			st, err := openStore(gs, lc)
			if err != nil {
				return err
			}
			defer st.Close()
			type column struct {
				Run            int64   `json:"run"`
				Workload       string  `json:"workload"`
				SLOs           string  `json:"slos"`
				CPU            string  `json:"cpu"`
				Cores          int     `json:"cores"`
				ISA            string  `json:"isa"`
				Best           string  `json:"best"`
				CapacityRPS    float64 `json:"capacity_rps"`
				P99Ms          float64 `json:"p99_ms"`
				CostPerMillion float64 `json:"cost_per_million"`
				PerCoreRPS     float64 `json:"capacity_per_core_rps"`
			}
			var cols []column
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil || id < 1 {
					return badInputf("run ID %q: accepted: a positive whole number from infertune report list", a)
				}
				run, err := st.Run(id)
				if errors.Is(err, store.ErrNotFound) {
					return badInputf("run %d: not in %s; accepted: an ID from infertune report list", id, lc.DB)
				} else if err != nil {
					return withCode(exitInternal, err)
				}
				host, err := st.Host(run.HostID)
				if err != nil {
					return withCode(exitInternal, err)
				}
				c := column{Run: id, Workload: run.Workload, SLOs: run.SLOs, CPU: host.CPUModel, Cores: host.Cores, ISA: host.ISAFlags, Best: "none"}
				trials, err := st.Trials(id)
				if err != nil {
					return withCode(exitInternal, err)
				}
				for _, t := range trials {
					if t.ID == run.BestTrialID {
						var cfg struct {
							Threads int `json:"threads"`
						}
						_ = json.Unmarshal([]byte(t.Config), &cfg)
						c.Best, c.CapacityRPS, c.P99Ms, c.CostPerMillion = configText(t.Config), t.CapacityRPS, ms(t.P99), t.CostPerMillion
						if cfg.Threads > 0 {
							c.PerCoreRPS = t.CapacityRPS / float64(cfg.Threads)
						}
					}
				}
				cols = append(cols, c)
			}
			if textDue, err := emitJSON(gs, cmd, cols); !textDue {
				return err
			}
			tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', 0)
			row := func(name string, f func(column) string) {
				fmt.Fprint(tw, name)
				for _, c := range cols {
					fmt.Fprint(tw, "\t"+f(c))
				}
				fmt.Fprintln(tw)
			}
			row("run", func(c column) string { return strconv.FormatInt(c.Run, 10) })
			row("workload", func(c column) string { return c.Workload })
			row("slos", func(c column) string { return c.SLOs })
			row("cpu", func(c column) string { return c.CPU })
			row("cores", func(c column) string { return strconv.Itoa(c.Cores) })
			row("best", func(c column) string { return c.Best })
			row("capacity req/s", func(c column) string { return fmt.Sprintf("%.4g", c.CapacityRPS) })
			row("p99", func(c column) string { return fmt.Sprintf("%.3gms", c.P99Ms) })
			row("$ per M req", func(c column) string { return fmt.Sprintf("%.4g", c.CostPerMillion) })
			row("req/s per core", func(c column) string { return fmt.Sprintf("%.4g", c.PerCoreRPS) })
			return tw.Flush()
		}),
	}
	export := &cobra.Command{
		Use:   "export ID --format md|json|csv",
		Short: "Write one run as markdown, JSON or CSV (one row per trial) to stdout",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInputf("report export needs one run ID, got %d arguments; accepted: an ID from infertune report list", len(args))
			}
			return nil
		},
		RunE: action(func(cmd *cobra.Command, args []string) error {
			format, _ := cmd.Flags().GetString("format")
			if format != "md" && format != "json" && format != "csv" {
				return badInputf("--format %q: accepted: md, json, csv", format)
			}
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
			} else if err != nil {
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
			return exportRun(gs, format, run, host, trials)
		}),
	}
	export.Flags().String("format", "md", "output `FORMAT`: md, json or csv")
	cmd.AddCommand(list, show, compare, imp, export)
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

// exportRun writes one run in format (md, json or csv) to stdout.
func exportRun(gs *globalState, format string, run store.Run, host store.Host, trials []store.Trial) error {
	switch format {
	case "json":
		return encodeJSON(gs.stdout, "", struct {
			Run    store.Run     `json:"run"`
			Host   store.Host    `json:"host"`
			Trials []store.Trial `json:"trials"`
		}{run, host, trials})
	case "csv":
		w := csv.NewWriter(gs.stdout)
		_ = w.Write([]string{"trial", "config", "status", "capacity_rps", "p50_ms", "p99_ms", "replicas", "cost_per_hour", "cost_per_million", "verdict", "note"})
		for _, t := range trials {
			_ = w.Write([]string{strconv.FormatInt(t.ID, 10), configText(t.Config), t.Status,
				strconv.FormatFloat(t.CapacityRPS, 'g', -1, 64), strconv.FormatFloat(ms(t.P50), 'g', -1, 64),
				strconv.FormatFloat(ms(t.P99), 'g', -1, 64), strconv.Itoa(t.Replicas),
				strconv.FormatFloat(t.CostPerHour, 'g', -1, 64), strconv.FormatFloat(t.CostPerMillion, 'g', -1, 64), t.Verdict, t.Note})
		}
		w.Flush()
		return w.Error()
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "## infertune run %d: %s, `%s`\n\n", run.ID, run.Workload, run.SLOs)
	fmt.Fprintf(b, "%s search, status %s, host %s (%d cores).\n\n", run.Strategy, run.Status, host.CPUModel, host.Cores)
	b.WriteString("| config | status | capacity req/s | p99 ms | $ per M req | verdict |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, t := range trials {
		best := ""
		if t.ID == run.BestTrialID {
			best = " **(best)**"
		}
		fmt.Fprintf(b, "| %s%s | %s | %.4g | %.3g | %.4g | %s |\n", configText(t.Config), best, t.Status, t.CapacityRPS, ms(t.P99), t.CostPerMillion, t.Verdict)
	}
	_, err := io.WriteString(gs.stdout, b.String())
	return err
}
