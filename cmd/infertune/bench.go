package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/engine"
	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/sched"
	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/profiles"
	"github.com/spf13/cobra"
)

func defaultBenchConfig() benchConfig {
	return benchConfig{
		Workload:       "classify",
		FidelityInputs: model.EvalSize,
		Seed:           1,
		Kernels:        defaultBenchKernelsConfig(),
		Loadgen:        defaultBenchLoadgenConfig(),
	}
}

// benchBinds maps the bench keys to their flags.
func benchBinds() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"workload", "precision", "threads", "tier", "max_batch", "max_queue_delay",
		"max_queue", "rate", "arrival", "concurrency", "duration", "warmup", "grace", "input_tokens",
		"fidelity_inputs", "seed", "timeout"} {
		m["bench."+k] = strings.ReplaceAll(k, "_", "-")
	}
	return m
}

func newBenchCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure one config of a workload under load, or one part of the stack (kernels, loadgen)",
		Long: `bench runs one configuration of a workload (model, precision, threads, batching) through the
real load generator at one load level and prints the probe statistics, the mean batch size,
the mean batch service time and the model's fidelity at that precision (top-1 agreement and
mean KL divergence against fp32 on a seeded evaluation set).

Every setting not given comes from the workload profile (infertune profiles show NAME).
With no flags at all, bench prints this help; --workload classify runs the default.
The subcommands measure the kernels and the load generator alone.`,
		Example: `  infertune bench --workload classify --precision int8 --threads 2 --max-batch 8 --max-queue-delay 2ms --rate 40 --duration 20s
  infertune bench --workload fraud --arrival closed --concurrency 32 --json -
  infertune bench --workload classify --input-tokens 64 --max-batch 1 --arrival closed --concurrency 1`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			// Alone, bench lists what it can measure; any flag runs the workload bench.
			if cmd.Flags().NFlag() == 0 {
				return cmd.Help()
			}
			lc, err := loadConfig(gs, cmd, benchBinds(), nil)
			if err != nil {
				return err
			}
			run, err := lc.Bench.workloadRun()
			if err != nil {
				return lc.explain(err)
			}
			return runBenchWorkload(gs, cmd, lc, run)
		}),
	}
	f := cmd.Flags()
	def := defaultBenchConfig()
	f.String("workload", def.Workload, "workload `NAME`: "+strings.Join(servedNames(), ", "))
	f.String("precision", "", "`PRECISION` of the weights: fp32, fp16, bf16, int8, int4 (default: the workload's)")
	f.String("threads", "", "inference threads `N`, 0 for every CPU (default: the workload's)")
	f.String("tier", "", "kernel `TIER`: generic or simd (default: the best available)")
	f.String("max-batch", "", "most requests per batch `N` (default: the workload's)")
	f.String("max-queue-delay", "", "longest the oldest request waits for its batch to fill, a `DURATION` (default: the workload's)")
	f.String("max-queue", "", "most requests waiting `N`; more are rejected (default: the workload's)")
	f.String("rate", "", "offered load in requests/s, a `NUMBER` (poisson and constant; default: the workload's)")
	f.String("arrival", "", "arrival `PROCESS`: poisson, constant or closed (default: the workload's)")
	f.String("concurrency", "", "requests in flight `N` with --arrival closed (default: the workload's)")
	f.String("duration", "", "measurement window, a `DURATION` (default: the workload's)")
	f.String("warmup", "", "unrecorded warm-up, a `DURATION` (default: the workload's)")
	f.String("grace", "", "time requests in flight at the end may still finish, a `DURATION` (default 2s)")
	f.String("timeout", "", "engine queue timeout, a `DURATION`: a request still queued then is dropped and counted as a timeout (default: none)")
	f.Int("input-tokens", 0, "every request this many tokens `N` (encoder workloads; 0 draws lengths from the workload)")
	f.Int("fidelity-inputs", def.FidelityInputs, "size `N` of the fidelity evaluation set; 0 skips fidelity")
	f.Uint64("seed", def.Seed, "`N` seeds the weights, the requests and the arrivals")
	cmd.AddCommand(newBenchKernelsCommand(gs), newBenchLoadgenCommand(gs))
	return cmd
}

// workloadRun is a resolved `infertune bench` invocation.
type workloadRun struct {
	workload       profiles.Workload
	engine         engine.Config
	probe          loadgen.Options
	inputTokens    int
	fidelityInputs int
}

// workloadRun reads the settings over the workload's defaults, collecting every problem.
func (c benchConfig) workloadRun() (workloadRun, error) {
	const p = "bench."
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &fieldError{Key: p + key, Value: value, Problem: fmt.Sprintf(format, args...)})
	}
	w, problem := lookupServed(c.Workload)
	if problem != "" {
		return workloadRun{}, &fieldError{Key: p + "workload", Value: c.Workload, Problem: problem}
	}
	d := w.Defaults
	r := workloadRun{workload: w, inputTokens: c.InputTokens, fidelityInputs: c.FidelityInputs}
	arch, err := model.ParseArch(w.Model.Arch)
	if err != nil {
		return workloadRun{}, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	ec := engine.Config{Model: w.Model.Preset, Arch: arch, Seed: c.Seed, Tier: kernels.BestTier(), Nice: engineNice}

	str := func(v, def string) string {
		if strings.TrimSpace(v) == "" {
			return def
		}
		return strings.TrimSpace(v)
	}
	intIn := func(key, v string, def, lo, hi int) int {
		s := str(v, strconv.Itoa(def))
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			bad(key, s, "accepted: a whole number from %d to %d", lo, hi)
		}
		return n
	}
	durIn := func(key, v string, def time.Duration, positive bool) time.Duration {
		s := str(v, def.String())
		dd, err := parseDurationIn(s, 0, loadgen.MaxDuration, positive)
		if err != nil {
			bad(key, s, "%v", err)
		}
		return dd
	}

	prec := str(c.Precision, d.Precision)
	if ec.Precision, err = model.ParsePrecision(prec); err != nil {
		bad("precision", prec, "accepted: fp32, fp16, bf16, int8, int4")
	}
	ec.Threads = intIn("threads", c.Threads, d.Threads, 0, maxThreads)
	if t := strings.TrimSpace(c.Tier); t != "" {
		tier, err := kernels.ParseTier(t)
		switch {
		case err != nil:
			bad("tier", t, "accepted: generic, simd")
		case tier == kernels.SIMD && !kernels.SIMDBuilt():
			bad("tier", t, "this binary was built without the simd tier; build with GOEXPERIMENT=simd (make build), or use --tier generic")
		default:
			ec.Tier = tier
		}
	}
	ec.Batching = sched.DynamicConfig{
		MaxBatch:      intIn("max_batch", c.MaxBatch, d.MaxBatch, 1, 1<<16),
		MaxQueueDelay: durIn("max_queue_delay", c.MaxQueueDelay, d.MaxQueueDelay, false),
		MaxQueue:      intIn("max_queue", c.MaxQueue, d.MaxQueue, 1, 1<<24),
	}
	ec.Timeout = durIn("timeout", c.Timeout, 0, false)
	r.engine = ec

	arrival := str(c.Arrival, d.Arrival)
	var a loadgen.Arrival
	switch arrival {
	case "poisson", "constant":
		rs := str(c.Rate, strconv.FormatFloat(d.RequestsPerSec, 'g', -1, 64))
		rate, err := strconv.ParseFloat(rs, 64)
		if err != nil {
			bad("rate", rs, "not a number; accepted: requests per second above 0, at most %d", loadgen.MaxRate)
			break
		}
		if arrival == "poisson" {
			a, err = loadgen.Poisson(rate)
		} else {
			a, err = loadgen.Constant(rate)
		}
		if err != nil {
			bad("rate", rs, "accepted: requests per second above 0, at most %d", loadgen.MaxRate)
		}
	case "closed":
		a, err = loadgen.Closed(intIn("concurrency", c.Concurrency, d.Concurrency, 1, loadgen.MaxConcurrency))
		if err != nil {
			errs = append(errs, err)
		}
	default:
		bad("arrival", arrival, "accepted: poisson, constant, closed")
	}
	r.probe = loadgen.DefaultOptions(a)
	r.probe.Seed = c.Seed
	r.probe.Duration = durIn("duration", c.Duration, d.Duration, true)
	r.probe.Warmup = durIn("warmup", c.Warmup, d.Warmup, false)
	r.probe.Grace = durIn("grace", c.Grace, r.probe.Grace, false)
	if a.Kind == loadgen.KindClosed {
		r.probe.MaxInFlight = max(r.probe.MaxInFlight, a.Concurrency)
	}
	if c.InputTokens != 0 {
		switch {
		case arch != model.Encoder:
			bad("input_tokens", strconv.Itoa(c.InputTokens), "the %s workload takes features, not tokens; accepted: 0", w.Name)
		case c.InputTokens < 0 || c.InputTokens > 1<<20:
			bad("input_tokens", strconv.Itoa(c.InputTokens), "accepted: 0 (lengths from the workload) or a token count")
		default:
			if spec, err := model.Preset(w.Model.Preset, arch); err == nil && c.InputTokens > spec.Context {
				bad("input_tokens", strconv.Itoa(c.InputTokens), "longer than the %s context; accepted: 1 to %d", spec.Name, spec.Context)
			}
		}
	}
	if c.FidelityInputs < 0 || c.FidelityInputs > 1<<16 {
		bad("fidelity_inputs", strconv.Itoa(c.FidelityInputs), "accepted: 0 (skip) to %d", 1<<16)
	}
	return r, errors.Join(errs...)
}

// payloadPool is how many distinct requests a probe cycles through.
const payloadPool = 4096

// cycle returns a request builder that hands out copies of pool's requests in turn.
func cycle(pool []loadgen.Request) func(seq int64) *loadgen.Request {
	return func(seq int64) *loadgen.Request {
		req := pool[seq%int64(len(pool))]
		return &req
	}
}

// payloads draws the requests of a probe from the workload, seeded.
func (r workloadRun) payloads(spec model.Spec) []loadgen.Request {
	return workloadPayloads(r.workload, spec, r.inputTokens, r.probe.Seed)
}

// workloadPayloads draws payloadPool requests for spec from the workload's input
// distribution (or inputTokens tokens each when positive), seeded.
func workloadPayloads(w profiles.Workload, spec model.Spec, inputTokens int, seed uint64) []loadgen.Request {
	rng := rand.New(rand.NewPCG(seed, 0x70ad))
	out := make([]loadgen.Request, payloadPool)
	for i := range out {
		switch spec.Arch {
		case model.Encoder:
			n := inputTokens
			if n == 0 {
				n = min(w.Input.Tokens.Draw(rng), spec.Context)
			}
			toks := make([]int32, n)
			for j := range toks {
				toks[j] = int32(rng.IntN(spec.Vocab))
			}
			out[i].Tokens = toks
		case model.MLP:
			f := make([]float32, spec.Widths[0])
			for j := range f {
				f[j] = float32(rng.NormFloat64())
			}
			out[i].Features = f
		}
	}
	return out
}

// benchReport is the JSON of `infertune bench`: the config, the probe with the field
// names of bench loadgen, and the engine's figures.
type benchReport struct {
	Config        benchConfigReport `json:"config"`
	MeanBatch     float64           `json:"mean_batch"`
	ServiceMsMean float64           `json:"service_ms_mean"`
	Fidelity      *fidelityReport   `json:"fidelity"`
	loadgenReport
}

type benchConfigReport struct {
	Workload      string `json:"workload"`
	Model         string `json:"model"`
	Precision     string `json:"precision"`
	Tier          string `json:"tier"`
	Threads       int    `json:"threads"`
	MaxBatch      int    `json:"max_batch"`
	MaxQueueDelay string `json:"max_queue_delay"`
	MaxQueue      int    `json:"max_queue"`
	InputTokens   int    `json:"input_tokens"`
	Seed          uint64 `json:"seed"`
}

type fidelityReport struct {
	Top1   float64 `json:"top1"`
	KLD    float64 `json:"kld"`
	Inputs int     `json:"inputs"`
}

func runBenchWorkload(gs *globalState, cmd *cobra.Command, lc *loadedConfig, r workloadRun) error {
	ctx := cmd.Context()
	pr := &progress{w: gs.stderr, tty: gs.stderrTTY, quiet: lc.Quiet}
	ec := r.engine
	spec, _ := model.Preset(ec.Model, ec.Arch)
	pr.start(fmt.Sprintf("generating %s and converting it to %s", spec.Name, model.PrecisionName(ec.Precision)))
	ref, err := model.Generate(spec, ec.Seed)
	if err != nil {
		return withCode(exitInternal, err)
	}
	m, err := ref.Convert(ec.Precision)
	if err != nil {
		return withCode(exitInternal, err)
	}
	eng, err := engine.NewWithModel(ec, m)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	defer eng.Close()

	var fid *fidelityReport
	if r.fidelityInputs > 0 {
		pr.start(fmt.Sprintf("fidelity of %s against fp32 on %d inputs", model.PrecisionName(ec.Precision), r.fidelityInputs))
		refRunner := model.NewRunner(ref, eng.Kernels())
		a, err := model.Fidelity(refRunner, model.NewRunner(m, eng.Kernels()), model.EvalSet(spec, r.fidelityInputs, ec.Seed))
		if err != nil {
			return withCode(exitInternal, err)
		}
		fid = &fidelityReport{Top1: a.Top1, KLD: a.KLD, Inputs: a.N}
		if ctx.Err() != nil {
			return withCode(exitInterrupted, errors.New("interrupted before the probe"))
		}
	}

	r.probe.Request = cycle(r.payloads(spec))
	pr.start(fmt.Sprintf("%s: %s on %s, %s, batch ≤%d, delay %v: warm-up %v, window %v",
		r.workload.Name, model.PrecisionName(ec.Precision), eng.Kernels(), r.probe.Arrival, ec.Batching.MaxBatch,
		ec.Batching.MaxQueueDelay, r.probe.Warmup, r.probe.Duration))
	res, err := loadgen.Run(ctx, eng, r.probe)
	pr.done()
	if err != nil {
		return withCode(exitBadInput, err)
	}

	rep := benchReport{
		Config: benchConfigReport{
			Workload: r.workload.Name, Model: spec.Name, Precision: model.PrecisionName(ec.Precision),
			Tier: ec.Tier.String(), Threads: eng.Kernels().Threads(), MaxBatch: ec.Batching.MaxBatch,
			MaxQueueDelay: ec.Batching.MaxQueueDelay.String(), MaxQueue: ec.Batching.MaxQueue,
			InputTokens: r.inputTokens, Seed: ec.Seed,
		},
		MeanBatch: res.Batch, ServiceMsMean: ms(res.Service), Fidelity: fid,
		loadgenReport: probeReport(res, "engine", "precise"),
	}
	return finishProbe(gs, cmd, "bench", rep, res, func(w io.Writer) error { return writeBenchText(w, rep, res) })
}

func writeBenchText(w io.Writer, rep benchReport, res *loadgen.Result) error {
	c := rep.Config
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "config\t%s: %s %s, %s tier × %d threads, max batch %d, max queue delay %s, max queue %d\n",
		c.Workload, c.Model, c.Precision, c.Tier, c.Threads, c.MaxBatch, c.MaxQueueDelay, c.MaxQueue)
	if rep.Fidelity != nil {
		fmt.Fprintf(tw, "fidelity\ttop-1 agreement %.2f%%, mean KL divergence %.3g nats vs fp32 (%d inputs)\n",
			100*rep.Fidelity.Top1, rep.Fidelity.KLD, rep.Fidelity.Inputs)
	}
	fmt.Fprintf(tw, "batches\tmean batch %.2f requests, mean batch service %s\n", rep.MeanBatch, fmtDur(res.Service))
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeLoadgenText(w, rep.loadgenReport, res)
}
