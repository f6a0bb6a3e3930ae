package reports

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/reports/store"
)

// WriteList writes the run list, one line per run.
func WriteList(w io.Writer, runs []store.RunSummary) error {
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

// WriteRun writes one run: its settings, host, best config and a table of its trials.
func WriteRun(w io.Writer, r Run) error {
	run, host := r.Run, r.Host
	fmt.Fprintf(w, "run %d: %s, %s, %s search, budget %v, seed %d, %s\n", run.ID, run.Workload, run.SLOs, run.Strategy, run.Budget, run.Seed, run.Status)
	fmt.Fprintf(w, "host: %s, %d cores, %s, %s\n", host.CPUModel, host.Cores, host.OS, host.GoVersion)
	fmt.Fprintf(w, "started %s", run.StartedAt.Local().Format(time.DateTime))
	if !run.EndedAt.IsZero() {
		fmt.Fprintf(w, ", ended %s", run.EndedAt.Local().Format(time.DateTime))
	}
	fmt.Fprintln(w)
	if t := r.Best(); t != nil {
		fmt.Fprintf(w, "best: %s: %.4g req/s, p99 %s, $%.4g per million requests (%d replica(s))\n",
			ConfigText(t.Config), t.CapacityRPS, Duration(t.P99), t.CostPerMillion, t.Replicas)
		if t.TokensPerSec > 0 {
			fmt.Fprintf(w, "      %.4g output tokens/s, TTFT p99 %s, TPOT p99 %s, $%.4g per million output tokens\n",
				t.TokensPerSec, Duration(t.TTFTP99), Duration(t.TPOTP99), t.CostPerMillionTokens)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r.Generation() {
		fmt.Fprintln(tw, "trial\tconfig\tstatus\tcapacity req/s\tTTFT p99\tTPOT p99\ttokens/s\t$/M tokens\tverdict\tnote")
		for _, t := range r.Trials {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.4g\t%s\t%s\t%.4g\t%.4g\t%s\t%s\n", t.ID, ConfigText(t.Config), t.Status, t.CapacityRPS,
				Duration(t.TTFTP99), Duration(t.TPOTP99), t.TokensPerSec, t.CostPerMillionTokens, t.Verdict, t.Note)
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, "trial\tconfig\tstatus\tcapacity req/s\tp99\t$/M req\tverdict\tnote")
	for _, t := range r.Trials {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.4g\t%s\t%.4g\t%s\t%s\n", t.ID, ConfigText(t.Config), t.Status, t.CapacityRPS,
			Duration(t.P99), t.CostPerMillion, t.Verdict, t.Note)
	}
	return tw.Flush()
}

// A CompareColumn is one run of report compare.
type CompareColumn struct {
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

// NewCompareColumn sums up r for a comparison.
func NewCompareColumn(r Run) CompareColumn {
	c := CompareColumn{Run: r.Run.ID, Workload: r.Run.Workload, SLOs: r.Run.SLOs, CPU: r.Host.CPUModel,
		Cores: r.Host.Cores, ISA: r.Host.ISAFlags, Best: "none"}
	if t := r.Best(); t != nil {
		c.Best, c.CapacityRPS, c.P99Ms, c.CostPerMillion = ConfigText(t.Config), t.CapacityRPS, ms(t.P99), t.CostPerMillion
		c.TokensPerS, c.TTFTP99Ms, c.TPOTP99Ms, c.CostPerMillionTokens = t.TokensPerSec, ms(t.TTFTP99), ms(t.TPOTP99), t.CostPerMillionTokens
		if cfg, ok := StoredConfig(t.Config); ok && cfg.Threads > 0 {
			c.PerCoreRPS = t.CapacityRPS / float64(cfg.Threads)
		}
	}
	return c
}

// WriteCompare writes runs side by side, one column per run.
func WriteCompare(w io.Writer, cols []CompareColumn) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, f func(CompareColumn) string) {
		fmt.Fprint(tw, name)
		for _, c := range cols {
			fmt.Fprint(tw, "\t"+f(c))
		}
		fmt.Fprintln(tw)
	}
	row("run", func(c CompareColumn) string { return strconv.FormatInt(c.Run, 10) })
	row("workload", func(c CompareColumn) string { return c.Workload })
	row("slos", func(c CompareColumn) string { return c.SLOs })
	row("cpu", func(c CompareColumn) string { return c.CPU })
	row("cores", func(c CompareColumn) string { return strconv.Itoa(c.Cores) })
	row("best", func(c CompareColumn) string { return c.Best })
	row("capacity req/s", func(c CompareColumn) string { return fmt.Sprintf("%.4g", c.CapacityRPS) })
	row("p99", func(c CompareColumn) string { return fmt.Sprintf("%.3gms", c.P99Ms) })
	row("$ per M req", func(c CompareColumn) string { return fmt.Sprintf("%.4g", c.CostPerMillion) })
	row("req/s per core", func(c CompareColumn) string { return fmt.Sprintf("%.4g", c.PerCoreRPS) })
	if slices.ContainsFunc(cols, func(c CompareColumn) bool { return c.TokensPerS > 0 }) {
		row("output tokens/s", func(c CompareColumn) string { return fmt.Sprintf("%.4g", c.TokensPerS) })
		row("TTFT p99", func(c CompareColumn) string { return fmt.Sprintf("%.4gms", c.TTFTP99Ms) })
		row("TPOT p99", func(c CompareColumn) string { return fmt.Sprintf("%.3gms", c.TPOTP99Ms) })
		row("$ per M tokens", func(c CompareColumn) string { return fmt.Sprintf("%.4g", c.CostPerMillionTokens) })
	}
	return tw.Flush()
}

// Formats lists the formats Export writes.
var Formats = []string{"md", "json", "csv"}

// Export writes one run in format: md, json, or csv (one row per trial).
func Export(w io.Writer, format string, r Run) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
		return nil
	case "csv":
		return exportCSV(w, r)
	case "md":
		_, err := io.WriteString(w, Markdown(r))
		return err
	}
	return fmt.Errorf("export format %q: accepted: %s", format, strings.Join(Formats, ", "))
}

func exportCSV(w io.Writer, r Run) error {
	cw := csv.NewWriter(w)
	gen := r.Generation() // generation runs add their token columns at the end
	head := []string{"trial", "config", "status", "capacity_rps", "p50_ms", "p99_ms", "replicas", "cost_per_hour", "cost_per_million", "verdict", "note"}
	if gen {
		head = append(head, "ttft_p99_ms", "tpot_p99_ms", "tokens_per_s", "cost_per_million_tokens")
	}
	_ = cw.Write(head)
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, t := range r.Trials {
		row := []string{strconv.FormatInt(t.ID, 10), ConfigText(t.Config), t.Status, num(t.CapacityRPS),
			num(ms(t.P50)), num(ms(t.P99)), strconv.Itoa(t.Replicas), num(t.CostPerHour), num(t.CostPerMillion), t.Verdict, t.Note}
		if gen {
			row = append(row, num(ms(t.TTFTP99)), num(ms(t.TPOTP99)), num(t.TokensPerSec), num(t.CostPerMillionTokens))
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// Markdown renders one run as a markdown section with a table of its trials.
func Markdown(r Run) string {
	b := &strings.Builder{}
	fmt.Fprintf(b, "## infertune run %d: %s, `%s`\n\n", r.Run.ID, r.Run.Workload, r.Run.SLOs)
	fmt.Fprintf(b, "%s search, status %s, host %s (%d cores).\n\n", r.Run.Strategy, r.Run.Status, r.Host.CPUModel, r.Host.Cores)
	gen := r.Generation()
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
			fmt.Fprintf(b, "| %s%s | %s | %.4g | %.4g | %.3g | %.4g | %.4g | %s |\n", ConfigText(t.Config), best, t.Status, t.CapacityRPS,
				ms(t.TTFTP99), ms(t.TPOTP99), t.TokensPerSec, t.CostPerMillionTokens, t.Verdict)
			continue
		}
		fmt.Fprintf(b, "| %s%s | %s | %.4g | %.3g | %.4g | %s |\n", ConfigText(t.Config), best, t.Status, t.CapacityRPS, ms(t.P99), t.CostPerMillion, t.Verdict)
	}
	return b.String()
}
