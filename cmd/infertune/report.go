package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/reports/store"
	"github.com/infertune/infertune/tuner"
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
				return writeRunList(gs.stdout, runs)
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
				return writeRun(gs.stdout, r)
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
				var cols []compareColumn
				for _, a := range args {
					r, err := loadRun(st, lc.DB, a)
					if err != nil {
						return err
					}
					cols = append(cols, newCompareColumn(r))
				}
				if textDue, err := emitJSON(gs, cmd, cols); !textDue {
					return err
				}
				return writeCompare(gs.stdout, cols)
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
				return exportRun(gs.stdout, format, r)
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

// storedRun is a run with its host and trials, as show and export --format json write it.
type storedRun struct {
	Run    store.Run     `json:"run"`
	Host   store.Host    `json:"host"`
	Trials []store.Trial `json:"trials"`
}

// best returns the run's best trial, or nil.
func (r storedRun) best() *store.Trial {
	for i := range r.Trials {
		if r.Trials[i].ID == r.Run.BestTrialID {
			return &r.Trials[i]
		}
	}
	return nil
}

// loadRun reads the run whose ID is the argument arg; a malformed or unknown ID is bad input.
func loadRun(st *store.Store, db, arg string) (storedRun, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id < 1 {
		return storedRun{}, badInputf("run ID %q: accepted: a positive whole number from infertune report list", arg)
	}
	run, err := st.Run(id)
	if errors.Is(err, store.ErrNotFound) {
		return storedRun{}, badInputf("run %d: not in %s; accepted: an ID from infertune report list", id, db)
	}
	if err != nil {
		return storedRun{}, withCode(exitInternal, err)
	}
	r := storedRun{Run: run}
	if r.Host, err = st.Host(run.HostID); err != nil {
		return storedRun{}, withCode(exitInternal, err)
	}
	if r.Trials, err = st.Trials(id); err != nil {
		return storedRun{}, withCode(exitInternal, err)
	}
	return r, nil
}

func writeRunList(w io.Writer, runs []store.RunSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
}

func writeRun(w io.Writer, r storedRun) error {
	run, host := r.Run, r.Host
	fmt.Fprintf(w, "run %d: %s, %s, %s search, budget %v, seed %d, %s\n", run.ID, run.Workload, run.SLOs, run.Strategy, run.Budget, run.Seed, run.Status)
	fmt.Fprintf(w, "host: %s, %d cores, %s, %s\n", host.CPUModel, host.Cores, host.OS, host.GoVersion)
	fmt.Fprintf(w, "started %s", run.StartedAt.Local().Format(time.DateTime))
	if !run.EndedAt.IsZero() {
		fmt.Fprintf(w, ", ended %s", run.EndedAt.Local().Format(time.DateTime))
	}
	fmt.Fprintln(w)
	if t := r.best(); t != nil {
		fmt.Fprintf(w, "best: %s: %.4g req/s, p99 %s, $%.4g per million requests (%d replica(s))\n",
			configText(t.Config), t.CapacityRPS, fmtDur(t.P99), t.CostPerMillion, t.Replicas)
		if t.TokensPerSec > 0 {
			fmt.Fprintf(w, "      %.4g output tokens/s, TTFT p99 %s, TPOT p99 %s, $%.4g per million output tokens\n",
				t.TokensPerSec, fmtDur(t.TTFTP99), fmtDur(t.TPOTP99), t.CostPerMillionTokens)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r.generation() {
		fmt.Fprintln(tw, "trial\tconfig\tstatus\tcapacity req/s\tTTFT p99\tTPOT p99\ttokens/s\t$/M tokens\tverdict\tnote")
		for _, t := range r.Trials {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.4g\t%s\t%s\t%.4g\t%.4g\t%s\t%s\n", t.ID, configText(t.Config), t.Status, t.CapacityRPS,
				fmtDur(t.TTFTP99), fmtDur(t.TPOTP99), t.TokensPerSec, t.CostPerMillionTokens, t.Verdict, t.Note)
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, "trial\tconfig\tstatus\tcapacity req/s\tp99\t$/M req\tverdict\tnote")
	for _, t := range r.Trials {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.4g\t%s\t%.4g\t%s\t%s\n", t.ID, configText(t.Config), t.Status, t.CapacityRPS,
			fmtDur(t.P99), t.CostPerMillion, t.Verdict, t.Note)
	}
	return tw.Flush()
}

// generation reports whether the run searched generation configs.
func (r storedRun) generation() bool {
	for _, t := range r.Trials {
		if c, ok := storedConfig(t.Config); ok && c.Generation() {
			return true
		}
	}
	return false
}

// compareColumn is one run of report compare.
type compareColumn struct {
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
	// Generation runs.
	TokensPerS           float64 `json:"tokens_per_s,omitempty"`
	TTFTP99Ms            float64 `json:"ttft_p99_ms,omitempty"`
	TPOTP99Ms            float64 `json:"tpot_p99_ms,omitempty"`
	CostPerMillionTokens float64 `json:"cost_per_million_tokens,omitempty"`
}

func newCompareColumn(r storedRun) compareColumn {
	c := compareColumn{Run: r.Run.ID, Workload: r.Run.Workload, SLOs: r.Run.SLOs, CPU: r.Host.CPUModel,
		Cores: r.Host.Cores, ISA: r.Host.ISAFlags, Best: "none"}
	if t := r.best(); t != nil {
		c.Best, c.CapacityRPS, c.P99Ms, c.CostPerMillion = configText(t.Config), t.CapacityRPS, ms(t.P99), t.CostPerMillion
		c.TokensPerS, c.TTFTP99Ms, c.TPOTP99Ms, c.CostPerMillionTokens = t.TokensPerSec, ms(t.TTFTP99), ms(t.TPOTP99), t.CostPerMillionTokens
		if cfg, ok := storedConfig(t.Config); ok && cfg.Threads > 0 {
			c.PerCoreRPS = t.CapacityRPS / float64(cfg.Threads)
		}
	}
	return c
}

func writeCompare(w io.Writer, cols []compareColumn) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, f func(compareColumn) string) {
		fmt.Fprint(tw, name)
		for _, c := range cols {
			fmt.Fprint(tw, "\t"+f(c))
		}
		fmt.Fprintln(tw)
	}
	row("run", func(c compareColumn) string { return strconv.FormatInt(c.Run, 10) })
	row("workload", func(c compareColumn) string { return c.Workload })
	row("slos", func(c compareColumn) string { return c.SLOs })
	row("cpu", func(c compareColumn) string { return c.CPU })
	row("cores", func(c compareColumn) string { return strconv.Itoa(c.Cores) })
	row("best", func(c compareColumn) string { return c.Best })
	row("capacity req/s", func(c compareColumn) string { return fmt.Sprintf("%.4g", c.CapacityRPS) })
	row("p99", func(c compareColumn) string { return fmt.Sprintf("%.3gms", c.P99Ms) })
	row("$ per M req", func(c compareColumn) string { return fmt.Sprintf("%.4g", c.CostPerMillion) })
	row("req/s per core", func(c compareColumn) string { return fmt.Sprintf("%.4g", c.PerCoreRPS) })
	if slices.ContainsFunc(cols, func(c compareColumn) bool { return c.TokensPerS > 0 }) {
		row("output tokens/s", func(c compareColumn) string { return fmt.Sprintf("%.4g", c.TokensPerS) })
		row("TTFT p99", func(c compareColumn) string { return fmt.Sprintf("%.4gms", c.TTFTP99Ms) })
		row("TPOT p99", func(c compareColumn) string { return fmt.Sprintf("%.3gms", c.TPOTP99Ms) })
		row("$ per M tokens", func(c compareColumn) string { return fmt.Sprintf("%.4g", c.CostPerMillionTokens) })
	}
	return tw.Flush()
}

// exportRun writes one run in format: md, json, or csv (one row per trial).
func exportRun(w io.Writer, format string, r storedRun) error {
	switch format {
	case "json":
		return encodeJSON(w, "", r)
	case "csv":
		cw := csv.NewWriter(w)
		gen := r.generation() // generation runs add their token columns at the end
		head := []string{"trial", "config", "status", "capacity_rps", "p50_ms", "p99_ms", "replicas", "cost_per_hour", "cost_per_million", "verdict", "note"}
		if gen {
			head = append(head, "ttft_p99_ms", "tpot_p99_ms", "tokens_per_s", "cost_per_million_tokens")
		}
		_ = cw.Write(head)
		num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		for _, t := range r.Trials {
			row := []string{strconv.FormatInt(t.ID, 10), configText(t.Config), t.Status, num(t.CapacityRPS),
				num(ms(t.P50)), num(ms(t.P99)), strconv.Itoa(t.Replicas), num(t.CostPerHour), num(t.CostPerMillion), t.Verdict, t.Note}
			if gen {
				row = append(row, num(ms(t.TTFTP99)), num(ms(t.TPOTP99)), num(t.TokensPerSec), num(t.CostPerMillionTokens))
			}
			_ = cw.Write(row)
		}
		cw.Flush()
		return cw.Error()
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "## infertune run %d: %s, `%s`\n\n", r.Run.ID, r.Run.Workload, r.Run.SLOs)
	fmt.Fprintf(b, "%s search, status %s, host %s (%d cores).\n\n", r.Run.Strategy, r.Run.Status, r.Host.CPUModel, r.Host.Cores)
	gen := r.generation()
	if gen {
		b.WriteString("| config | status | capacity req/s | TTFT p99 ms | TPOT p99 ms | tokens/s | $ per M tokens | verdict |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	} else {
		b.WriteString("| config | status | capacity req/s | p99 ms | $ per M req | verdict |\n| --- | --- | --- | --- | --- | --- |\n")
	}
	for _, t := range r.Trials {
		best := ""
		if t.ID == r.Run.BestTrialID {
			best = " **(best)**"
		}
		if gen {
			fmt.Fprintf(b, "| %s%s | %s | %.4g | %.4g | %.3g | %.4g | %.4g | %s |\n", configText(t.Config), best, t.Status, t.CapacityRPS,
				ms(t.TTFTP99), ms(t.TPOTP99), t.TokensPerSec, t.CostPerMillionTokens, t.Verdict)
			continue
		}
		fmt.Fprintf(b, "| %s%s | %s | %.4g | %.3g | %.4g | %s |\n", configText(t.Config), best, t.Status, t.CapacityRPS, ms(t.P99), t.CostPerMillion, t.Verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// storedConfig reads a trial's stored config (the JSON of a tuner.Config).
func storedConfig(js string) (tuner.Config, bool) {
	var c tuner.Config
	return c, json.Unmarshal([]byte(js), &c) == nil
}

// configText writes a stored config the way tune prints it.
func configText(js string) string {
	if c, ok := storedConfig(js); ok {
		return c.String()
	}
	return strings.TrimSpace(js)
}
