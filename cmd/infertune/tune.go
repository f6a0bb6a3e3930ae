package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/infertune/infertune/cmd/infertune/tui"
	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/internal/host"
	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/profiles"
	"github.com/infertune/infertune/reports"
	"github.com/infertune/infertune/reports/store"
	"github.com/infertune/infertune/tuner"
	"github.com/spf13/cobra"
)

// tuneConfig is the tune section of the configuration.
type tuneConfig struct {
	// Workload names a workload profile.
	Workload string `mapstructure:"workload"`
	// SLO lists SLO terms (p99=50ms, rps>=200, fidelity>=0.97 ...).
	SLO []string `mapstructure:"slo"`
	// Space lists overrides of the search space (precision=fp32,int8 max_batch=1..32 ...).
	Space []string `mapstructure:"space"`
	// Strategy is smart or grid.
	Strategy string `mapstructure:"strategy"`
	// Budget caps the search's wall time.
	Budget string `mapstructure:"budget"`
	// ProbeWindow caps each probe (it ends sooner once its verdict is known); ProbeWarmup
	// is each probe's unrecorded lead-in.
	ProbeWindow string `mapstructure:"probe_window"`
	ProbeWarmup string `mapstructure:"probe_warmup"`
	// Resume continues an interrupted run by its ID (0: a new run).
	Resume int64 `mapstructure:"resume"`
	// Seed seeds the weights, requests and arrivals.
	Seed uint64 `mapstructure:"seed"`
	// Hardware names the hardware profile that prices the targets; PricePerVCPUHour
	// overrides its price when positive.
	Hardware         string  `mapstructure:"hardware"`
	PricePerVCPUHour float64 `mapstructure:"price_per_vcpu_hour"`
	// FidelityInputs is the evaluation set size of fidelity terms.
	FidelityInputs int `mapstructure:"fidelity_inputs"`
	// Markdown and JUnit are report files ("" for none).
	Markdown string `mapstructure:"markdown"`
	JUnit    string `mapstructure:"junit"`
	// TUI shows the search in the terminal UI instead of progress lines.
	TUI bool `mapstructure:"tui"`
}

func defaultTuneConfig() tuneConfig {
	return tuneConfig{Workload: "classify", Strategy: tuner.StrategySmart, Budget: "10m", ProbeWindow: "15s", ProbeWarmup: "500ms",
		Seed: 1, Hardware: "local-cpu", FidelityInputs: model.EvalSize}
}

func tuneBinds() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"workload", "slo", "space", "strategy", "budget", "probe_window", "probe_warmup", "resume", "seed",
		"hardware", "price_per_vcpu_hour", "fidelity_inputs", "markdown", "junit", "tui"} {
		m["tune."+k] = strings.ReplaceAll(k, "_", "-")
	}
	return m
}

func newTuneCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tune",
		Short: "Search for the cheapest config that meets the SLOs",
		Long: `tune searches precision, batching, threads and kernel tier for the cheapest configuration
of a workload that meets every SLO, measuring each candidate's capacity under open-loop
Poisson load with verdicts at 99% confidence, and prices it with the hardware profile.
Every probe is stored in the database (--db) as it finishes.

SLO terms: p50 p90 p95 p99 p99.9 (latency, with a unit: us, ms, s), rps (requests/s,
priced as replicas), fidelity (top-1 agreement with fp32, 0..1 or %), kld, errors.
Example: --slo p99=50ms,rps>=200,fidelity>=0.97

Exit codes: 0 a config meets every SLO; 1 none does; 2 bad input; 3 the search was cut
short before any config met them; 130 interrupted (resume with --resume ID).`,
		Example: `  infertune tune --slo p99=50ms --budget 3m
  infertune tune --workload fraud --slo p99=5ms,rps>=5000 --space precision=fp32,int8 --space max_batch=1..32
  infertune tune --slo p99=50ms --strategy grid --json run.json --junit slo.xml
  infertune tune --resume 3
  infertune tune --workload chat --slo ttft_p99=1s,tpot_p99=100ms --tui`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lc, err := loadConfig(gs, cmd, tuneBinds(), nil)
			if err != nil {
				return err
			}
			return runTune(gs, cmd, lc)
		}),
	}
	def := defaultTuneConfig()
	f := cmd.Flags()
	f.String("workload", def.Workload, "workload `NAME`: "+strings.Join(workloadNames(), ", "))
	f.StringSlice("slo", nil, "SLO `TERMS`, comma-separated or repeated, such as p99=50ms,rps>=200")
	f.StringArray("space", nil, "space override `DIM=VALUES`, repeated: precision=fp32,int8 max_batch=1..32 max_queue_delay=0,2ms threads=1,2 tier=generic,simd")
	f.String("strategy", def.Strategy, "search `STRATEGY`: smart or grid")
	f.String("budget", def.Budget, "wall-time cap of the search, a `DURATION`; the best so far is reported")
	f.String("probe-window", def.ProbeWindow, "probe window, a `DURATION`: a probe ends once its verdict is known, and is lengthened up to 4× at rates too low to gather the requests a verdict needs")
	f.String("probe-warmup", def.ProbeWarmup, "unrecorded lead-in of each probe, a `DURATION`")
	f.Int64("resume", 0, "continue the interrupted run `ID`")
	f.Uint64("seed", def.Seed, "`N` seeds the weights, requests and arrivals")
	f.String("hardware", def.Hardware, "hardware profile `NAME` that prices the targets")
	f.Float64("price-per-vcpu-hour", 0, "override the profile's price per vCPU-hour in US `DOLLARS`")
	f.Int("fidelity-inputs", def.FidelityInputs, "evaluation set size `N` of fidelity terms")
	f.String("markdown", "", "write a markdown summary to `PATH`")
	f.String("junit", "", "write a JUnit report, one test case per SLO term, to `PATH`")
	f.Bool("tui", false, "watch the search in the terminal UI (needs a terminal; q asks, then stops the search, resumable)")
	return cmd
}

// tunePlan is a resolved tune invocation.
type tunePlan struct {
	workload profiles.Workload
	terms    []tuner.Term
	opts     tuner.Options
	hardware profiles.Hardware
	seed     uint64
	factory  *engineFactory
}

// plan resolves the settings; stored, when not nil, is the space of a run being resumed,
// which replaces the default space and --space.
func (c tuneConfig) plan(stored *tuner.Space) (tunePlan, error) {
	const p = "tune."
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &fieldError{Key: p + key, Value: value, Problem: fmt.Sprintf(format, args...)})
	}
	var pl tunePlan
	pl.seed = c.Seed
	w, problem := lookupWorkload(c.Workload)
	if problem != "" {
		bad("workload", c.Workload, "%s", problem)
	}
	pl.workload = w
	if len(splitList(c.SLO)) == 0 && c.Resume == 0 {
		bad("slo", "", "missing; accepted: SLO terms such as p99=50ms, p99<=50ms,rps>=200, fidelity>=0.97")
	} else if len(c.SLO) > 0 {
		var err error
		if pl.terms, err = tuner.ParseSLO(c.SLO...); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, &fieldError{Key: p + "slo", Problem: e.Error()})
			}
		}
	}
	switch c.Strategy {
	case tuner.StrategySmart, tuner.StrategyGrid:
	default:
		bad("strategy", c.Strategy, "accepted: smart, grid")
	}
	budget, err := parseDurationIn(c.Budget, 0, 7*24*time.Hour, true)
	if err != nil {
		bad("budget", c.Budget, "%v", err)
	}
	window, err := parseDurationIn(c.ProbeWindow, time.Second, time.Hour, true)
	if err != nil {
		bad("probe_window", c.ProbeWindow, "%v", err)
	}
	warmup, err := parseDurationIn(c.ProbeWarmup, 0, time.Minute, false)
	if err != nil {
		bad("probe_warmup", c.ProbeWarmup, "%v", err)
	}
	hw, err := profiles.LookupHardware(c.Hardware)
	if err != nil {
		var names []string
		for _, h := range profiles.Hardwares() {
			names = append(names, h.Name)
		}
		bad("hardware", c.Hardware, "unknown hardware profile; accepted: %s", strings.Join(names, ", "))
	}
	if c.PricePerVCPUHour < 0 || c.PricePerVCPUHour > 1000 {
		bad("price_per_vcpu_hour", strconv.FormatFloat(c.PricePerVCPUHour, 'g', -1, 64), "accepted: US dollars above 0 (0 keeps the profile's price)")
	} else if c.PricePerVCPUHour > 0 {
		hw.PricePerVCPUHour = c.PricePerVCPUHour
		hw.PriceSource = "--price-per-vcpu-hour"
	}
	pl.hardware = hw
	if c.FidelityInputs < 16 || c.FidelityInputs > 1<<16 {
		bad("fidelity_inputs", strconv.Itoa(c.FidelityInputs), "accepted: 16 to %d", 1<<16)
	}
	if len(errs) > 0 {
		return pl, errors.Join(errs...)
	}

	precisions := []string{"fp32", "fp16", "bf16", "int8", "int4"}
	var tiers []string
	for _, t := range kernels.Tiers() {
		tiers = append(tiers, t.String())
	}
	best := kernels.BestTier().String()
	var threads []int
	for n := 1; n <= runtime.NumCPU(); n++ {
		threads = append(threads, n)
	}
	delays := []time.Duration{0}
	if d := w.Defaults.MaxQueueDelay; d > 0 {
		delays = append(delays, d)
	}
	space := tuner.Space{Precisions: precisions, MaxBatch: []int{1, 4, 16}, MaxQueueDelays: delays, Threads: threads, Tiers: []string{best}}
	baseline := tuner.Config{Precision: "fp32", MaxBatch: 1, Threads: runtime.NumCPU(), Tier: best}
	if generation := w.Model.Arch == profiles.ArchDecoder; generation {
		// Generation: both batchers at a few batch sizes, the workload's token budget per
		// iteration; the baseline serves one sequence at a time.
		tokens := w.Defaults.MaxBatchedTokens
		space = tuner.Space{Precisions: precisions, Batchings: tuner.Batchings, MaxSeqs: []int{4, 16},
			MaxBatchedTokens: []int{tokens}, Threads: threads, Tiers: []string{best}}
		baseline = tuner.Config{Precision: "fp32", Batching: "static", MaxSeqs: 1, MaxBatchedTokens: tokens, Threads: runtime.NumCPU(), Tier: best}
	}
	if stored != nil {
		space = *stored
	} else {
		space, err = space.Override(c.Space, precisions, tiers, runtime.NumCPU())
	}
	if err != nil {
		for _, e := range unjoin(err) {
			errs = append(errs, &fieldError{Key: p + "space", Problem: e.Error()})
		}
		return pl, errors.Join(errs...)
	}
	factory, err := newEngineFactory(w, c.Seed)
	if err != nil {
		return pl, err
	}
	pl.factory = factory
	probe := loadgen.DefaultOptions(loadgen.Arrival{})
	probe.Seed = c.Seed
	probe.Warmup = warmup
	probe.Duration = window
	probe.Grace = 2 * time.Second
	probe.Request = cycle(workloadPayloads(w, factory.spec, 0, c.Seed))
	pl.opts = tuner.Options{
		Workload: w.Name,
		Terms:    pl.terms,
		Space:    space,
		Strategy: tuner.StrategyFor(c.Strategy, space), // stored as the search will run it
		Budget:   budget,
		Capacity: tuner.DefaultCapacityOptions(pl.terms, probe),
		Targets:  tuner.LocalTargets(hw, runtime.NumCPU()),
		Baseline: baseline,
	}
	pl.opts.Capacity.MaxRate = loadgen.MaxRate
	return pl, nil
}

func runTune(gs *globalState, cmd *cobra.Command, lc *loadedConfig) error {
	if lc.Tune.Resume < 0 {
		return badInputf("--resume %d: accepted: the ID of an interrupted or cut-short run (infertune report list)", lc.Tune.Resume)
	}
	if lc.Tune.TUI {
		if err := needTerminal(gs, "--tui", "drop --tui: without one, tune prints plain progress lines"); err != nil {
			return err
		}
	}
	st, err := openStore(gs, lc)
	if err != nil {
		return err
	}
	defer st.Close()

	// A resumed run keeps its own workload, SLOs, space, strategy and seed.
	var resumed *store.Run
	var storedSpace *tuner.Space
	if id := lc.Tune.Resume; id > 0 {
		run, err := st.ResumeRun(id)
		if err != nil {
			return badInputf("--resume %d: %v; accepted: the ID of an interrupted or cut-short run (infertune report list)", id, err)
		}
		resumed = &run
		var sp tuner.Space
		if err := json.Unmarshal([]byte(run.Space), &sp); err != nil {
			return withCode(exitInternal, fmt.Errorf("run %d: stored space: %w", id, err))
		}
		storedSpace = &sp
		lc.Tune.Workload, lc.Tune.SLO, lc.Tune.Strategy, lc.Tune.Seed = run.Workload, []string{run.SLOs}, run.Strategy, run.Seed
	}
	pl, err := lc.Tune.plan(storedSpace)
	if err != nil {
		if resumed != nil {
			_ = st.MarkInterrupted(resumed.ID)
		}
		return lc.explain(err)
	}
	fp := host.Detect()
	hostID, err := st.UpsertHost(storeHost(fp))
	if err != nil {
		return withCode(exitInternal, err)
	}

	// A new run, or the interrupted one to resume.
	var runID int64
	done := map[string]tuner.Trial{}
	if resumed != nil {
		run := *resumed
		runID = run.ID
		trials, err := st.Trials(run.ID)
		if err != nil {
			return withCode(exitInternal, err)
		}
		for _, t := range trials {
			if tt, ok := tunerTrial(t, pl.opts.Targets); ok {
				done[t.ConfigKey] = tt
			}
		}
	} else {
		spaceJSON, _ := json.Marshal(pl.opts.Space)
		runID, err = st.CreateRun(store.Run{HostID: hostID, Workload: pl.workload.Name, SLOs: joinTerms(pl.terms),
			Space: string(spaceJSON), Strategy: pl.opts.Strategy, Budget: pl.opts.Budget, Seed: pl.seed})
		if err != nil {
			return withCode(exitInternal, err)
		}
	}
	pl.opts.Done = done
	pl.opts.Fidelity = pl.factory.fidelity(st, lc.Tune.FidelityInputs)

	bus := &tuner.Bus{}
	pl.opts.Bus = bus
	w := &storeWriter{st: st, runID: runID, trialIDs: map[string]int64{}}
	var wg sync.WaitGroup
	storeEvents := bus.Subscribe(64)
	wg.Go(func() { w.consume(storeEvents) })
	// The search stops on Ctrl-C, or when the terminal UI's user confirms quitting.
	ctx, stopSearch := context.WithCancel(cmd.Context())
	defer stopSearch()
	var tuiErr error
	if lc.Tune.TUI {
		events := bus.Subscribe(64)
		wg.Go(func() {
			if tuiErr = tui.RunLive(cmd.Context(), tuiOptions(gs, lc), events, stopSearch); tuiErr != nil {
				stopSearch()
			}
		})
	} else {
		pr := &tunePrinter{w: gs.stderr, quiet: lc.Quiet, tty: gs.stderrTTY, width: gs.stderrWidth}
		events := bus.Subscribe(64)
		wg.Go(func() { pr.consume(events) })
	}

	res, searchErr := tuner.Search(ctx, pl.factory.build, pl.opts)
	bus.Close()
	wg.Wait()

	if ctx.Err() != nil {
		_ = st.MarkInterrupted(runID)
		if tuiErr != nil {
			return withCode(exitInternal, fmt.Errorf("terminal UI: %w; run %d is saved; continue it with infertune tune --resume %d", tuiErr, runID, runID))
		}
		return withCode(exitInterrupted, fmt.Errorf("interrupted: run %d is saved; continue it with infertune tune --resume %d", runID, runID))
	}
	if searchErr != nil {
		_ = st.FinishRun(runID, store.StatusFailed, 0, "")
		return withCode(exitInternal, fmt.Errorf("tune: %w", searchErr))
	}
	if w.err != nil {
		return withCode(exitInternal, fmt.Errorf("tune: store: %w", w.err))
	}
	rep := newTuneReport(runID, pl, res, fp)
	summary, _ := json.Marshal(rep)
	status := store.StatusDone
	if res.CutShort {
		status = store.StatusCutShort
	}
	var bestID int64
	if res.Best != nil {
		bestID = w.trialIDs[res.Best.Config.Key()]
	}
	if err := st.FinishRun(runID, status, bestID, string(summary)); err != nil {
		return withCode(exitInternal, err)
	}

	textDue, err := emitJSON(gs, cmd, rep)
	if err != nil {
		return err
	}
	md := tuneMarkdown(rep)
	if textDue {
		if err := writeTuneText(gs.stdout, rep); err != nil {
			return fmt.Errorf("tune: write: %w", err)
		}
	}
	if path := lc.Tune.Markdown; path != "" {
		if err := os.WriteFile(gs.path(path), []byte(md), 0o644); err != nil {
			return badInputf("--markdown %q: %v; accepted: a writable path", path, err)
		}
	}
	if path, ok := gs.lookupEnv("GITHUB_STEP_SUMMARY"); ok && path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			_, _ = io.WriteString(f, md)
			_ = f.Close()
		}
	}
	if path := lc.Tune.JUnit; path != "" {
		if err := os.WriteFile(gs.path(path), []byte(tuneJUnit(rep)), 0o644); err != nil {
			return badInputf("--junit %q: %v; accepted: a writable path", path, err)
		}
	}
	switch {
	case res.Best != nil:
		return nil
	case res.CutShort:
		return withCode(exitInconclusive, fmt.Errorf("the budget ran out before any config met the SLOs (run %d; continue with --resume %d)", runID, runID))
	default:
		return withCode(exitSLOFailed, errors.New(rep.Verdict))
	}
}

func joinTerms(ts []tuner.Term) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.String())
	}
	return strings.Join(s, ",")
}

func storeHost(fp host.Fingerprint) store.Host {
	flags := fp.Build.GOEXPERIMENT
	if fp.Build.GOAMD64 != "" {
		flags = strings.TrimSpace(flags + " GOAMD64=" + fp.Build.GOAMD64)
	}
	return store.Host{Fingerprint: fp.ID(), CPUModel: fp.CPUModel, Cores: fp.Cores, ISAFlags: strings.Join(fp.ISA, " "),
		MemoryBytes: fp.MemBytes, OS: fp.OS + "/" + fp.Arch, GoVersion: fp.GoVersion, BinaryVersion: fp.Build.Version, BuildFlags: flags}
}

// tunerTrial turns a finished stored trial back into the tuner's, for resume.
func tunerTrial(t store.Trial, targets []tuner.Target) (tuner.Trial, bool) {
	if t.Status != store.StatusDone && t.Status != store.StatusPruned {
		return tuner.Trial{}, false
	}
	c, ok := reports.StoredConfig(t.Config)
	if !ok {
		return tuner.Trial{}, false
	}
	tt := tuner.Trial{Config: c, Capacity: t.CapacityRPS, P50: t.P50, P99: t.P99, Pruned: t.Status == store.StatusPruned,
		Meets: t.Verdict == "meets", Reason: t.Note, Predicted: t.PredictedCapacityRPS,
		Cost:    tuner.Cost{Replicas: t.Replicas, PerHour: t.CostPerHour, PerMillion: t.CostPerMillion},
		TTFTP99: t.TTFTP99, TPOTP99: t.TPOTP99, TokensPerSec: t.TokensPerSec}
	if t.CostPerMillionTokens > 0 {
		tt.TokensPerRequest = t.CostPerMillion / t.CostPerMillionTokens
	}
	for _, tg := range targets {
		if tg.Threads == c.Threads {
			tt.Target = tg
		}
	}
	return tt, true
}

// storeWriter writes a search's trials and probes as they finish: each probe in its own
// transaction, so an interruption loses at most the probe in flight.
type storeWriter struct {
	st       *store.Store
	runID    int64
	trialIDs map[string]int64
	seq      map[int64]int
	err      error
}

func (w *storeWriter) consume(events <-chan tuner.Event) {
	w.seq = map[int64]int{}
	for e := range events {
		if w.err != nil {
			continue
		}
		w.err = w.write(e)
	}
}

func (w *storeWriter) write(e tuner.Event) error {
	switch e := e.(type) {
	case tuner.TrialStarted:
		return w.start(e.Config, e.Predicted)
	case tuner.ProbeDone:
		id := w.trialIDs[e.Config.Key()]
		if id == 0 {
			return nil
		}
		w.seq[id]++
		_, err := w.st.AddProbe(storeProbe(id, w.seq[id], e.Probe))
		return err
	case tuner.TrialDone:
		t := e.Trial
		if t.Resumed {
			return nil
		}
		if w.trialIDs[t.Config.Key()] == 0 {
			if err := w.start(t.Config, t.Predicted); err != nil {
				return err
			}
		}
		return w.st.FinishTrial(storeTrial(w.trialIDs[t.Config.Key()], w.runID, t))
	}
	return nil
}

func (w *storeWriter) start(c tuner.Config, predicted float64) error {
	key := c.Key()
	cfg, _ := json.Marshal(c)
	if old, ok, err := w.st.TrialByKey(w.runID, key); err != nil {
		return err
	} else if ok {
		if old.Status == store.StatusDone || old.Status == store.StatusPruned {
			return nil // resumed: already stored
		}
		w.trialIDs[key] = old.ID
		return w.st.ResetTrial(old.ID)
	}
	id, err := w.st.AddTrial(store.Trial{RunID: w.runID, ConfigKey: key, Config: string(cfg), Status: store.StatusRunning,
		PredictedCapacityRPS: predicted})
	w.trialIDs[key] = id
	return err
}

func storeTrial(id, runID int64, t tuner.Trial) store.Trial {
	cfg, _ := json.Marshal(t.Config)
	st := store.Trial{ID: id, RunID: runID, ConfigKey: t.Config.Key(), Config: string(cfg), Status: store.StatusDone,
		CapacityRPS: t.Capacity, P50: t.P50, P99: t.P99, CostPerHour: t.Cost.PerHour, CostPerMillion: t.Cost.PerMillion,
		Replicas: t.Cost.Replicas, Verdict: trialVerdict(t), PredictedCapacityRPS: t.Predicted, Note: t.Reason,
		TTFTP99: t.TTFTP99, TPOTP99: t.TPOTP99, TokensPerSec: t.TokensPerSec, CostPerMillionTokens: t.Cost.PerMillionTokens(t.TokensPerRequest)}
	if t.Pruned {
		st.Status = store.StatusPruned
	}
	return st
}

func trialVerdict(t tuner.Trial) string {
	switch {
	case t.Pruned:
		return "pruned"
	case t.Meets:
		return "meets"
	}
	return "misses"
}

func storeProbe(trialID int64, seq int, p tuner.ProbeOutcome) store.Probe {
	r := p.Result
	var hist []byte
	if r.LatencyHistogram != nil {
		hist, _ = r.LatencyHistogram.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	}
	l := r.Latency
	return store.Probe{TrialID: trialID, Seq: seq, RateRPS: p.Rate, Arrival: r.Arrival, Window: r.Window,
		Sent: r.Sent, OK: r.OK, Errors: r.Errors, Rejects: r.Rejects, Timeouts: r.Timeouts, Drops: r.Drops, Cut: r.Cut,
		LateFraction: r.LateFraction, LagP99: r.Lag.P99, Mean: l.Mean, P50: l.P50, P90: l.P90, P95: l.P95, P99: l.P99,
		P999: l.P999, Max: l.Max, AchievedRPS: r.AchievedRPS, Valid: r.Valid, InvalidReason: r.InvalidReason,
		Verdict: p.Verdict.String(), Histogram: hist, TTFTP99: r.TTFT.P99, TPOTP99: r.TPOT.P99, OutputTokens: r.OutputTokens}
}
