package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/internal/host"
	"github.com/infertune/infertune/reports"
	"github.com/infertune/infertune/tuner"
)

// tuneReport is the JSON of a tune run: the run, the best config and every trial.
type tuneReport struct {
	RunID     int64         `json:"run_id"`
	Host      benchHost     `json:"host"`
	Workload  string        `json:"workload"`
	SLOs      []string      `json:"slos"`
	Strategy  string        `json:"strategy"`
	BudgetS   float64       `json:"budget_s"`
	Hardware  hardwareInfo  `json:"hardware"`
	CutShort  bool          `json:"cut_short"`
	ProbeS    float64       `json:"probe_s"`
	Verdict   string        `json:"verdict"`
	Best      *trialReport  `json:"best"`
	Baseline  *trialReport  `json:"baseline"`
	Closest   *trialReport  `json:"closest,omitempty"`
	SavingPct float64       `json:"saving_pct"`
	Binding   string        `json:"binding"`
	Trials    []trialReport `json:"trials"`
}

type hardwareInfo struct {
	Profile          string  `json:"profile"`
	PricePerVCPUHour float64 `json:"price_per_vcpu_hour"`
	PriceSource      string  `json:"price_source"`
}

type trialReport struct {
	Config         tuner.Config `json:"config"`
	Target         string       `json:"target"`
	CapacityRPS    float64      `json:"capacity_rps"`
	PredictedRPS   float64      `json:"predicted_rps,omitempty"`
	P50Ms          float64      `json:"p50_ms"`
	P99Ms          float64      `json:"p99_ms"`
	Replicas       int          `json:"replicas"`
	CostPerHour    float64      `json:"cost_per_hour"`
	CostPerMillion float64      `json:"cost_per_million"`
	Meets          bool         `json:"meets"`
	Pruned         bool         `json:"pruned"`
	Baseline       bool         `json:"baseline"`
	// Partial: the budget ended the trial's search; the capacity is a lower bound.
	Partial bool `json:"partial,omitempty"`
	// Generation, at capacity.
	TTFTP99Ms            float64 `json:"ttft_p99_ms,omitempty"`
	TPOTP99Ms            float64 `json:"tpot_p99_ms,omitempty"`
	TokensPerS           float64 `json:"tokens_per_s,omitempty"`
	CostPerMillionTokens float64 `json:"cost_per_million_tokens,omitempty"`
	Reason               string  `json:"reason"`
	MissPct              float64 `json:"miss_pct,omitempty"`
	Probes               int     `json:"probes"`
	ProbeS               float64 `json:"probe_s"`
}

func newTrialReport(t *tuner.Trial) *trialReport {
	if t == nil {
		return nil
	}
	return &trialReport{Config: t.Config, Target: t.Target.Name, CapacityRPS: t.Capacity, PredictedRPS: t.Predicted,
		P50Ms: ms(t.P50), P99Ms: ms(t.P99), Replicas: t.Cost.Replicas, CostPerHour: t.Cost.PerHour,
		CostPerMillion: t.Cost.PerMillion, Meets: t.Meets, Pruned: t.Pruned, Baseline: t.Baseline, Partial: t.Partial, Reason: t.Reason,
		TTFTP99Ms: ms(t.TTFTP99), TPOTP99Ms: ms(t.TPOTP99), TokensPerS: t.TokensPerSec,
		CostPerMillionTokens: t.Cost.PerMillionTokens(t.TokensPerRequest),
		MissPct:              100 * t.Miss, Probes: t.Probes, ProbeS: t.ProbeTime.Seconds()}
}

func newTuneReport(runID int64, pl tunePlan, res tuner.Result, fp host.Fingerprint) tuneReport {
	rep := tuneReport{RunID: runID, Host: benchHost{ID: fp.ID(), Fingerprint: fp}, Workload: pl.workload.Name,
		Strategy: pl.opts.Strategy, BudgetS: pl.opts.Budget.Seconds(), CutShort: res.CutShort,
		ProbeS: res.ProbeTime.Seconds(), Best: newTrialReport(res.Best), Baseline: newTrialReport(res.Baseline),
		Closest: newTrialReport(res.Closest), SavingPct: 100 * res.Saving(),
		Hardware: hardwareInfo{Profile: pl.hardware.Name, PricePerVCPUHour: pl.hardware.PricePerVCPUHour, PriceSource: pl.hardware.PriceSource}}
	for _, t := range pl.terms {
		rep.SLOs = append(rep.SLOs, t.String())
	}
	for i := range res.Trials {
		rep.Trials = append(rep.Trials, *newTrialReport(&res.Trials[i]))
	}
	switch {
	case res.Best != nil:
		rep.Verdict = fmt.Sprintf("%s meets every SLO", res.Best.Config)
		rep.Binding = res.Best.Reason
		if res.Best.Cost.Replicas > 1 {
			rep.Binding = fmt.Sprintf("rps: %d replicas of %.4g req/s each; one replica's limit: %s", res.Best.Cost.Replicas, res.Best.Capacity, res.Best.Reason)
		}
	case res.Closest != nil:
		rep.Verdict = fmt.Sprintf("no config meets the SLOs; the closest, %s, missed %s", res.Closest.Config, res.Closest.Reason)
		if res.Closest.Miss > 0 {
			rep.Verdict += fmt.Sprintf(" (by %.0f%%)", 100*res.Closest.Miss)
		}
	default:
		rep.Verdict = "no config was measured"
	}
	return rep
}

func writeTuneText(w io.Writer, rep tuneReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "run\t%d: %s, %s, %s search, %d trials, %.0fs of probes%s\n", rep.RunID, rep.Workload,
		strings.Join(rep.SLOs, ","), rep.Strategy, len(rep.Trials), rep.ProbeS, map[bool]string{true: ", cut short by the budget"}[rep.CutShort])
	if b := rep.Best; b != nil {
		fmt.Fprintf(tw, "best\t%s on %s\n", b.Config.String(), b.Target)
		fmt.Fprintf(tw, "capacity\t%.4g req/s per replica, p50 %.3gms, p99 %.3gms at capacity\n", b.CapacityRPS, b.P50Ms, b.P99Ms)
		if b.Config.Generation() {
			fmt.Fprintf(tw, "tokens\t%.4g output tokens/s, TTFT p99 %.4gms, TPOT p99 %.3gms at capacity; $%.4g per million output tokens\n",
				b.TokensPerS, b.TTFTP99Ms, b.TPOTP99Ms, b.CostPerMillionTokens)
		}
		fmt.Fprintf(tw, "cost\t$%.4g per hour, $%.4g per million requests, %d replica(s) (%s: $%.4g per vCPU-hour, %s)\n",
			b.CostPerHour, b.CostPerMillion, b.Replicas, rep.Hardware.Profile, rep.Hardware.PricePerVCPUHour, rep.Hardware.PriceSource)
		if bl := rep.Baseline; bl != nil && bl.Meets {
			fmt.Fprintf(tw, "saving\t%.1f%% per million requests vs the baseline %s ($%.4g per million, %.4g req/s)\n",
				rep.SavingPct, bl.Config.String(), bl.CostPerMillion, bl.CapacityRPS)
		}
		fmt.Fprintf(tw, "binding\t%s\n", rep.Binding)
	} else {
		fmt.Fprintf(tw, "verdict\t%s\n", rep.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	gen := false
	for _, t := range rep.Trials {
		gen = gen || t.Config.Generation()
	}
	if gen {
		fmt.Fprintln(tw, "config\ttarget\tcapacity req/s\tTTFT p99 ms\tTPOT p99 ms\ttokens/s\t$/M tokens\tverdict\t")
	} else {
		fmt.Fprintln(tw, "config\ttarget\tcapacity req/s\tp99 ms\t$/M req\tverdict\t")
	}
	for _, t := range rep.Trials {
		v := "misses"
		switch {
		case t.Pruned:
			v = "pruned"
		case t.Meets:
			v = "meets"
		}
		if t.Baseline {
			v += " (baseline)"
		}
		if gen {
			fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%.3g\t%.4g\t%.4g\t%s\t\n", t.Config.String(), t.Target, t.CapacityRPS,
				t.TTFTP99Ms, t.TPOTP99Ms, t.TokensPerS, t.CostPerMillionTokens, v)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.3g\t%.4g\t%s\t\n", t.Config.String(), t.Target, t.CapacityRPS, t.P99Ms, t.CostPerMillion, v)
	}
	return tw.Flush()
}

func tuneMarkdown(rep tuneReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## infertune tune: %s, `%s`\n\n", rep.Workload, strings.Join(rep.SLOs, ","))
	if t := rep.Best; t != nil {
		fmt.Fprintf(&b, "**Best:** %s on %s: %.4g req/s, p99 %.3g ms, $%.4g per million requests (%d replica(s)).", t.Config.String(), t.Target, t.CapacityRPS, t.P99Ms, t.CostPerMillion, t.Replicas)
		if rep.Baseline != nil && rep.Baseline.Meets {
			fmt.Fprintf(&b, " %.1f%% cheaper than the fp32 baseline.", rep.SavingPct)
		}
		fmt.Fprintf(&b, "\n\nBinding constraint: %s\n\n", rep.Binding)
	} else {
		fmt.Fprintf(&b, "**%s**\n\n", rep.Verdict)
	}
	b.WriteString("| config | target | capacity req/s | p99 ms | $ per M req | verdict |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, t := range rep.Trials {
		v := "misses"
		switch {
		case t.Pruned:
			v = "pruned: " + t.Reason
		case t.Meets:
			v = "meets"
		}
		fmt.Fprintf(&b, "| %s | %s | %.4g | %.3g | %.4g | %s |\n", t.Config.String(), t.Target, t.CapacityRPS, t.P99Ms, t.CostPerMillion, v)
	}
	return b.String()
}

// tuneJUnit writes one test case per SLO term: it passes when the best config meets it.
func tuneJUnit(rep tuneReport) string {
	type failure struct {
		Message string `xml:"message,attr"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		ClassName string   `xml:"classname,attr"`
		Failure   *failure `xml:"failure,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	ts := testsuite{Name: "infertune tune " + rep.Workload}
	for _, s := range rep.SLOs {
		c := testcase{Name: s, ClassName: "infertune.slo"}
		if rep.Best == nil {
			c.Failure = &failure{Message: rep.Verdict}
			ts.Failures++
		}
		ts.Cases = append(ts.Cases, c)
		ts.Tests++
	}
	out, _ := xml.MarshalIndent(ts, "", "  ")
	return xml.Header + string(out) + "\n"
}

// tunePrinter prints the search's progress on stderr: plain lines (one per trial and per
// probe) when stderr is not a terminal, and on a terminal a compact display: one line per
// finished trial, and one status line, redrawn in place, for the trial in progress (its
// probes so far, the latest one, and the time used of the budget).
type tunePrinter struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	tty   bool
	width int // the terminal's columns; status lines are cut to fit (tty only)

	// The compact display's state.
	start  time.Time
	budget time.Duration
	index  string // "[i/N]" of the trial in progress ("" between trials)
	config string // its config
	probes int    // its probes so far
	drawn  bool   // a status line is on screen
}

func (p *tunePrinter) consume(events <-chan tuner.Event) {
	for e := range events {
		if p.quiet {
			continue
		}
		p.print(e)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearStatus()
}

func (p *tunePrinter) print(e tuner.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.printCompact(e)
		return
	}
	switch e := e.(type) {
	case tuner.RunStarted:
		fmt.Fprintln(p.w, runLine(e))
	case tuner.TrialStarted:
		fmt.Fprintf(p.w, "[%d/%d] %s%s\n", e.Index, e.Total, e.Config, predicted(e))
	case tuner.ProbeDone:
		fmt.Fprintf(p.w, "  %s", probeLine(e.Probe))
		if e.Probe.Reason != "" && e.Probe.Verdict != tuner.Pass {
			fmt.Fprintf(p.w, " (%s)", e.Probe.Reason)
		}
		fmt.Fprintln(p.w)
	case tuner.TrialDone:
		fmt.Fprintf(p.w, "  %s\n", trialOutcome(e.Trial))
	case tuner.BestChanged:
		fmt.Fprintf(p.w, "  %s\n", bestLine(e.Trial))
	}
}

// printCompact is print on a terminal.
func (p *tunePrinter) printCompact(e tuner.Event) {
	switch e := e.(type) {
	case tuner.RunStarted:
		p.start, p.budget = time.Now(), e.Budget
		fmt.Fprintln(p.w, runLine(e))
	case tuner.TrialStarted:
		p.index, p.config, p.probes = fmt.Sprintf("[%d/%d]", e.Index, e.Total), e.Config.String(), 0
		p.status("starting" + predicted(e))
	case tuner.ProbeLive:
		p.status(fmt.Sprintf("probe %d, %s", p.probes+1, liveLine(e)))
	case tuner.ProbeDone:
		p.probes++
		p.status(fmt.Sprintf("probe %d, %s", p.probes, probeLine(e.Probe)))
	case tuner.TrialDone:
		p.clearStatus()
		if e.Trial.Pruned || e.Trial.Resumed || p.index == "" {
			fmt.Fprintf(p.w, "  %s\n", trialOutcome(e.Trial)) // never started here
			return
		}
		fmt.Fprintf(p.w, "%s %s: %s\n", p.index, p.config, trialOutcome(e.Trial))
		p.index = ""
	case tuner.BestChanged:
		p.clearStatus()
		fmt.Fprintf(p.w, "  %s\n", bestLine(e.Trial))
	}
}

// status redraws the status line: the trial's index, the time used of the budget, the
// trial's config and what, cut to the terminal's width.
func (p *tunePrinter) status(what string) {
	used := time.Since(p.start).Round(time.Second)
	line := fmt.Sprintf("%s %v/%v %s: %s", p.index, used, p.budget, p.config, what)
	if w := p.width; w > 1 {
		if r := []rune(line); len(r) > w-1 {
			line = string(r[:w-2]) + "…"
		}
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

// clearStatus erases the status line, if one is drawn.
func (p *tunePrinter) clearStatus() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// liveLine describes a probe in progress: its rate, its window so far, and each term's
// percentile so far against its bound, with the samples it still needs.
func liveLine(e tuner.ProbeLive) string {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%.4g req/s (%.4g done/s), %v of %v", e.Rate, e.Achieved(), e.Elapsed.Round(100*time.Millisecond), e.Window)
	for _, t := range e.Terms {
		fmt.Fprintf(b, ", %s %s/%s", t.Term.Name(), reports.Duration(t.Value), reports.Duration(t.Term.Bound))
		if t.Need > 0 {
			fmt.Fprintf(b, " (%d to go)", t.Need)
		}
	}
	return b.String()
}

func runLine(e tuner.RunStarted) string {
	var slos []string
	for _, t := range e.Terms {
		slos = append(slos, t.String())
	}
	return fmt.Sprintf("tune %s: %s, %s search over %d configs, budget %v", e.Workload, strings.Join(slos, ","), e.Strategy, e.Configs, e.Budget)
}

func predicted(e tuner.TrialStarted) string {
	if e.Predicted > 0 {
		return fmt.Sprintf(" (predicted %.4g req/s)", e.Predicted)
	}
	return ""
}

func probeLine(o tuner.ProbeOutcome) string {
	r := o.Result
	return fmt.Sprintf("%.4g req/s: %s, p99 %s over %d requests", o.Rate, o.Verdict, reports.Duration(r.Latency.P99), r.OK+r.Failed())
}

func trialOutcome(t tuner.Trial) string {
	switch {
	case t.Resumed:
		return fmt.Sprintf("%s: measured by the interrupted run", t.Config)
	case t.Pruned:
		return fmt.Sprintf("%s: pruned, %s", t.Config, t.Reason)
	case t.Meets:
		return fmt.Sprintf("meets: capacity %.4g req/s, $%.4g per million requests", t.Capacity, t.Cost.PerMillion)
	default:
		return fmt.Sprintf("misses: %s", t.Reason)
	}
}

func bestLine(t tuner.Trial) string {
	return fmt.Sprintf("best so far: %s, $%.4g per million requests", t.Config, t.Cost.PerMillion)
}
