package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/engine"
	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/sched"
	"github.com/infertune/infertune/internal/host"
	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/profiles"
	"github.com/infertune/infertune/reports"
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
		"max_queue", "batching", "max_seqs", "max_batched_tokens", "kv_block_size", "kv_budget", "rate",
		"arrival", "concurrency", "duration", "warmup", "grace", "input_tokens", "fidelity_inputs", "seed",
		"timeout"} {
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

A generation workload (chat) runs its decoder under continuous or static batching over a
paged KV cache instead, and prints time to first token, time per output token, output
tokens/s, the batcher's iterations and preemptions, and the KV cache's peak use; its
fidelity compares the next-token distributions at every prompt position.

Every setting not given comes from the workload profile (infertune profiles show NAME).
With no flags at all, bench prints this help; --workload classify runs the default.
The subcommands measure the kernels and the load generator alone.`,
		Example: `  infertune bench --workload classify --precision int8 --threads 2 --max-batch 8 --max-queue-delay 2ms --rate 40 --duration 20s
  infertune bench --workload fraud --arrival closed --concurrency 32 --json -
  infertune bench --workload classify --input-tokens 64 --max-batch 1 --arrival closed --concurrency 1
  infertune bench --workload chat --batching static --max-seqs 8 --kv-budget 32MiB --rate 2 --duration 20s`,
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
			run, err := lc.Bench.workloadRun(host.Detect().MemBytes)
			if err != nil {
				return lc.explain(err)
			}
			return runBenchWorkload(gs, cmd, lc, run)
		}),
	}
	f := cmd.Flags()
	def := defaultBenchConfig()
	f.String("workload", def.Workload, "workload `NAME`: "+strings.Join(workloadNames(), ", "))
	f.String("precision", "", "`PRECISION` of the weights: fp32, fp16, bf16, int8, int4 (default: the workload's)")
	f.String("threads", "", "inference threads `N`, 0 for every CPU (default: the workload's)")
	f.String("tier", "", "kernel `TIER`: generic or simd (default: the best available)")
	f.String("max-batch", "", "most requests per batch `N` (encoder and MLP workloads; default: the workload's)")
	f.String("max-queue-delay", "", "longest the oldest request waits for its batch to fill, a `DURATION` (encoder and MLP workloads; default: the workload's)")
	f.String("max-queue", "", "most requests waiting `N`; more are rejected (default: the workload's)")
	f.String("batching", "", "generation batching `POLICY`: continuous or static (generation workloads; default: the workload's)")
	f.String("max-seqs", "", "most sequences in the running batch `N` (generation workloads; default: the workload's)")
	f.String("max-batched-tokens", "", "most tokens `N` one iteration feeds the model: a decode counts one, a prompt chunk its length (generation workloads; default: the workload's)")
	f.String("kv-block-size", "", "token positions `N` per KV cache block (generation workloads; default: the workload's)")
	f.String("kv-budget", "", "memory of the KV cache, a `SIZE` such as 64MiB, from one block to 80% of this machine's memory (generation workloads; default: the workload's)")
	f.String("rate", "", "offered load in requests/s, a `NUMBER` (poisson and constant; default: the workload's)")
	f.String("arrival", "", "arrival `PROCESS`: poisson, constant or closed (default: the workload's)")
	f.String("concurrency", "", "requests in flight `N` with --arrival closed (default: the workload's)")
	f.String("duration", "", "measurement window, a `DURATION` (default: the workload's)")
	f.String("warmup", "", "unrecorded warm-up, a `DURATION` (default: the workload's)")
	f.String("grace", "", "time requests in flight at the end may still finish, a `DURATION` (default 2s)")
	f.String("timeout", "", "engine queue timeout, a `DURATION`: a request still queued then is dropped and counted as a timeout (encoder and MLP workloads; default: none)")
	f.Int("input-tokens", 0, "every request this many tokens `N` (encoder workloads; 0 draws lengths from the workload)")
	f.Int("fidelity-inputs", def.FidelityInputs, "size `N` of the fidelity evaluation set; 0 skips fidelity")
	f.Uint64("seed", def.Seed, "`N` seeds the weights, the requests and the arrivals")
	f.String("cpu-profile", "", "write a CPU profile of the probe (warm-up and window, not set-up or fidelity) to `FILE`, for go tool pprof")
	cmd.AddCommand(newBenchKernelsCommand(gs), newBenchLoadgenCommand(gs))
	return cmd
}

// workloadRun is a resolved `infertune bench` invocation. engine holds the model, precision,
// seed, tier and threads of every workload, and the dynamic batcher of an encoder or MLP;
// gen is set for a generation (decoder) workload, which a Generator serves instead.
type workloadRun struct {
	workload       profiles.Workload
	spec           model.Spec
	engine         engine.Config
	gen            *engine.GenConfig
	kvBudget       string // the KV budget as given, such as 64MiB (generation)
	kvBudgetBytes  int64
	probe          loadgen.Options
	inputTokens    int
	fidelityInputs int
}

// memShare is the share of this machine's memory a KV cache may take.
const memShare = 0.8

// Bounds of the generation settings; more is a typo, not a machine.
const (
	maxSeqsLimit          = 1 << 16
	maxBatchedTokensLimit = 1 << 20
)

// benchSettings reads the text settings of `infertune bench` over a workload's defaults
// and collects every problem as a field error.
type benchSettings struct {
	errs []error
}

// bad records the problem of the setting key (under bench.) with value.
func (in *benchSettings) bad(key, value, format string, args ...any) {
	in.errs = append(in.errs, &fieldError{Key: "bench." + key, Value: value, Problem: fmt.Sprintf(format, args...)})
}

// orDefault returns v trimmed, or def when v is blank.
func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}

// intIn reads v (def when blank) as a whole number from lo to hi; ok is false, and the
// problem recorded, when it is not one.
func (in *benchSettings) intIn(key, v string, def, lo, hi int) (n int, ok bool) {
	s := orDefault(v, strconv.Itoa(def))
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		in.bad(key, s, "accepted: a whole number from %d to %d", lo, hi)
		return n, false
	}
	return n, true
}

// durIn reads v (def when blank) as a duration up to loadgen.MaxDuration, above zero when
// positive.
func (in *benchSettings) durIn(key, v string, def time.Duration, positive bool) time.Duration {
	s := orDefault(v, def.String())
	d, err := parseDurationIn(s, 0, loadgen.MaxDuration, positive)
	if err != nil {
		in.bad(key, s, "%v", err)
	}
	return d
}

// notRead refuses a setting given (v not blank) for the workload w, whose batcher does not
// read it, saying why.
func (in *benchSettings) notRead(w profiles.Workload, key, v, why string) {
	if v = strings.TrimSpace(v); v != "" {
		in.bad(key, v, "not read by the %s workload: %s; accepted: unset", w.Name, why)
	}
}

// workloadRun reads the settings over the workload's defaults, collecting every problem.
// memBytes is this machine's memory (0 when unknown): a KV cache may take memShare of it.
func (c benchConfig) workloadRun(memBytes int64) (workloadRun, error) {
	in := &benchSettings{}
	w, problem := lookupWorkload(c.Workload)
	if problem != "" {
		return workloadRun{}, &fieldError{Key: "bench.workload", Value: c.Workload, Problem: problem}
	}
	d := w.Defaults
	r := workloadRun{workload: w, inputTokens: c.InputTokens, fidelityInputs: c.FidelityInputs}
	arch, err := model.ParseArch(w.Model.Arch)
	if err != nil {
		return workloadRun{}, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	if r.spec, err = model.Preset(w.Model.Preset, arch); err != nil {
		return workloadRun{}, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	ec := engine.Config{Model: w.Model.Preset, Arch: arch, Seed: c.Seed, Tier: kernels.BestTier(), Nice: engineNice}

	prec := orDefault(c.Precision, d.Precision)
	if ec.Precision, err = model.ParsePrecision(prec); err != nil {
		in.bad("precision", prec, "accepted: fp32, fp16, bf16, int8, int4")
	}
	ec.Threads, _ = in.intIn("threads", c.Threads, d.Threads, 0, maxThreads)
	if t := strings.TrimSpace(c.Tier); t != "" {
		tier, err := kernels.ParseTier(t)
		switch {
		case err != nil:
			in.bad("tier", t, "accepted: generic, simd")
		case tier == kernels.SIMD && !kernels.SIMDBuilt():
			in.bad("tier", t, "this binary was built without the simd tier; build with GOEXPERIMENT=simd (make build), or use --tier generic")
		default:
			ec.Tier = tier
		}
	}
	maxQueue, _ := in.intIn("max_queue", c.MaxQueue, d.MaxQueue, 1, 1<<24)

	if arch == model.Decoder {
		dynamic := fmt.Sprintf("a generation workload (arch %s) is batched by iteration under batching, max_seqs and max_batched_tokens, not by the dynamic batcher",
			w.Model.Arch)
		in.notRead(w, "max_batch", c.MaxBatch, dynamic)
		in.notRead(w, "max_queue_delay", c.MaxQueueDelay, dynamic)
		in.notRead(w, "timeout", c.Timeout, "the generation batcher has no queue timeout: a request waits until a sequence slot and its KV blocks are free, and max_queue bounds the waiting")
		if c.InputTokens != 0 {
			in.bad("input_tokens", strconv.Itoa(c.InputTokens), "not read by the %s workload: prompt and output lengths come from the workload (input.prompt, input.output); accepted: 0",
				w.Name)
		}
		r.kvBudget = orDefault(c.KVBudget, kvBudgetDefault(d))
		if r.gen = c.genConfig(in, ec, d, maxQueue, memBytes); r.gen != nil {
			r.kvBudgetBytes = int64(r.gen.Sched.KV.Blocks) * model.KVBlockBytes(r.spec, r.gen.Sched.KV.BlockSize, model.KVDType)
		}
	} else {
		generation := fmt.Sprintf("only a generation workload (arch %s) has a generation batcher and a KV cache; %s (arch %s) is batched by max_batch and max_queue_delay",
			profiles.ArchDecoder, w.Name, w.Model.Arch)
		for _, s := range []struct{ key, v string }{{"batching", c.Batching}, {"max_seqs", c.MaxSeqs},
			{"max_batched_tokens", c.MaxBatchedTokens}, {"kv_block_size", c.KVBlockSize}, {"kv_budget", c.KVBudget}} {
			in.notRead(w, s.key, s.v, generation)
		}
		ec.Batching.MaxBatch, _ = in.intIn("max_batch", c.MaxBatch, d.MaxBatch, 1, 1<<16)
		ec.Batching.MaxQueueDelay = in.durIn("max_queue_delay", c.MaxQueueDelay, d.MaxQueueDelay, false)
		ec.Batching.MaxQueue = maxQueue
		ec.Timeout = in.durIn("timeout", c.Timeout, 0, false)
		if c.InputTokens != 0 {
			switch {
			case arch != model.Encoder:
				in.bad("input_tokens", strconv.Itoa(c.InputTokens), "the %s workload takes features, not tokens; accepted: 0", w.Name)
			case c.InputTokens < 0 || c.InputTokens > 1<<20:
				in.bad("input_tokens", strconv.Itoa(c.InputTokens), "accepted: 0 (lengths from the workload) or a token count")
			case c.InputTokens > r.spec.Context:
				in.bad("input_tokens", strconv.Itoa(c.InputTokens), "longer than the %s context; accepted: 1 to %d", r.spec.Name, r.spec.Context)
			}
		}
	}
	r.engine = ec

	arrival := orDefault(c.Arrival, d.Arrival)
	var a loadgen.Arrival
	switch arrival {
	case "poisson", "constant":
		rs := orDefault(c.Rate, strconv.FormatFloat(d.RequestsPerSec, 'g', -1, 64))
		rate, err := strconv.ParseFloat(rs, 64)
		if err != nil {
			in.bad("rate", rs, "not a number; accepted: requests per second above 0, at most %d", loadgen.MaxRate)
			break
		}
		if arrival == "poisson" {
			a, err = loadgen.Poisson(rate)
		} else {
			a, err = loadgen.Constant(rate)
		}
		if err != nil {
			in.bad("rate", rs, "accepted: requests per second above 0, at most %d", loadgen.MaxRate)
		}
	case "closed":
		n, _ := in.intIn("concurrency", c.Concurrency, d.Concurrency, 1, loadgen.MaxConcurrency)
		a, err = loadgen.Closed(n)
		if err != nil {
			in.errs = append(in.errs, err)
		}
	default:
		in.bad("arrival", arrival, "accepted: poisson, constant, closed")
	}
	r.probe = loadgen.DefaultOptions(a)
	r.probe.Seed = c.Seed
	r.probe.Duration = in.durIn("duration", c.Duration, d.Duration, true)
	r.probe.Warmup = in.durIn("warmup", c.Warmup, d.Warmup, false)
	r.probe.Grace = in.durIn("grace", c.Grace, r.probe.Grace, false)
	if a.Kind == loadgen.KindClosed {
		r.probe.MaxInFlight = max(r.probe.MaxInFlight, a.Concurrency)
	}
	if c.FidelityInputs < 0 || c.FidelityInputs > 1<<16 {
		in.bad("fidelity_inputs", strconv.Itoa(c.FidelityInputs), "accepted: 0 (skip) to %d", 1<<16)
	}
	return r, errors.Join(in.errs...)
}

// genConfig reads the generation settings of a decoder workload over its defaults d into
// a Generator's config with ec's model, precision, seed, tier, threads and nice. It returns
// nil when the KV cache cannot be sized; every problem goes to in.
func (c benchConfig) genConfig(in *benchSettings, ec engine.Config, d profiles.Defaults, maxQueue int, memBytes int64) *engine.GenConfig {
	spec, _ := model.Preset(ec.Model, model.Decoder)
	g := &engine.GenConfig{Model: ec.Model, Precision: ec.Precision, Seed: ec.Seed, Tier: ec.Tier, Threads: ec.Threads, Nice: ec.Nice}
	g.Batching = orDefault(c.Batching, d.Batching)
	if g.Batching != engine.BatchingContinuous && g.Batching != engine.BatchingStatic {
		in.bad("batching", g.Batching, "accepted: %s, %s", engine.BatchingContinuous, engine.BatchingStatic)
	}
	g.Sched.MaxSeqs, _ = in.intIn("max_seqs", c.MaxSeqs, d.MaxSeqs, 1, maxSeqsLimit)
	g.Sched.MaxBatchedTokens, _ = in.intIn("max_batched_tokens", c.MaxBatchedTokens, d.MaxBatchedTokens, 1, maxBatchedTokensLimit)
	g.Sched.MaxQueue = maxQueue
	// A block longer than the context would never fill.
	bs, bsOK := in.intIn("kv_block_size", c.KVBlockSize, d.KVBlockSize, 1, spec.Context)
	text := orDefault(c.KVBudget, kvBudgetDefault(d))
	budget, err := profiles.ParseSize(text)
	if err != nil {
		in.bad("kv_budget", text, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("size %q: ", text)))
		return nil
	}
	if !bsOK {
		return nil
	}
	var limit int64
	if memBytes > 0 {
		limit = int64(float64(memBytes) * memShare)
	}
	blocks, err := engine.KVBlocks(spec.Name, budget, bs, limit)
	if err != nil {
		block := model.KVBlockBytes(spec, bs, model.KVDType)
		if limit > 0 {
			in.bad("kv_budget", text, "accepted: a size from one block (%s: %d positions of %s) to %.0f%% of this machine's memory (%s)",
				formatSize(block), bs, spec.Name, 100*memShare, formatSize(limit))
		} else {
			in.bad("kv_budget", text, "accepted: a size of one block (%s: %d positions of %s) or more", formatSize(block), bs, spec.Name)
		}
		return nil
	}
	g.Sched.KV = sched.KVConfig{BlockSize: bs, Blocks: blocks}
	return g
}

// kvBudgetDefault is the workload's KV budget as written in its profile.
func kvBudgetDefault(d profiles.Defaults) string {
	if d.KVBudgetText != "" {
		return d.KVBudgetText
	}
	return strconv.FormatInt(d.KVBudgetBytes, 10) + "B"
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
func (r workloadRun) payloads() []loadgen.Request {
	return workloadPayloads(r.workload, r.spec, r.inputTokens, r.probe.Seed)
}

// workloadPayloads draws payloadPool requests for spec from the workload's input
// distribution (or inputTokens tokens each when positive), seeded. A decoder's request is
// a prompt drawn from input.prompt and an output length from input.output, cut so that
// both fit the context.
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
		case model.Decoder:
			toks := make([]int32, min(w.Input.Prompt.Draw(rng), spec.Context-1))
			for j := range toks {
				toks[j] = int32(rng.IntN(spec.Vocab))
			}
			out[i].Tokens = toks
			out[i].MaxTokens = min(w.Input.Output.Draw(rng), spec.Context-len(toks))
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
// names of bench loadgen, the engine's figures, and for a generation workload what the
// generation batcher did.
type benchReport struct {
	Config        benchConfigReport `json:"config"`
	MeanBatch     float64           `json:"mean_batch"`
	ServiceMsMean float64           `json:"service_ms_mean"`
	Fidelity      *fidelityReport   `json:"fidelity"`
	Generation    *generationReport `json:"generation,omitempty"`
	loadgenReport
}

// benchConfigReport is the config run: the dynamic batcher's settings for an encoder or
// MLP workload, the generation batcher's for a decoder.
type benchConfigReport struct {
	Workload  string `json:"workload"`
	Model     string `json:"model"`
	Precision string `json:"precision"`
	Tier      string `json:"tier"`
	Threads   int    `json:"threads"`
	batchingJSON
	KVBlocks int `json:"kv_blocks,omitempty"`
	// KVBudget is the budget as given (such as 64MiB); KVBytes what its whole blocks take.
	KVBudget string `json:"kv_budget,omitempty"`
	KVBytes  int64  `json:"kv_bytes,omitempty"`
	// WeightBytes is the model's matmul weights in its precision; PackedBytes what the
	// kernels keep beside them in the layouts they read (Kernels.Prepack), 0 where none.
	WeightBytes int64  `json:"weight_bytes"`
	PackedBytes int64  `json:"packed_bytes"`
	MaxQueue    int    `json:"max_queue"`
	InputTokens int    `json:"input_tokens"`
	Seed        uint64 `json:"seed"`
}

// fidelityReport is the agreement with fp32: over Inputs inputs, or for a decoder over the
// next-token distributions of every position (Positions) of Inputs prompts.
type fidelityReport struct {
	Top1      float64 `json:"top1"`
	KLD       float64 `json:"kld"`
	Inputs    int     `json:"inputs"`
	Positions int     `json:"positions,omitempty"`
}

// generationReport is what a generation run measured: the token times and output of the
// window's successful requests (from the probe), and the generation batcher's counters and
// peaks over the whole run, warm-up and grace included.
type generationReport struct {
	TTFTP50Ms        float64 `json:"ttft_p50_ms"`
	TTFTP99Ms        float64 `json:"ttft_p99_ms"`
	TPOTP50Ms        float64 `json:"tpot_p50_ms"`
	TPOTP99Ms        float64 `json:"tpot_p99_ms"`
	OutputTokens     int64   `json:"output_tokens"`
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	// MeanOutputTokens is per successful request.
	MeanOutputTokens float64 `json:"mean_output_tokens"`
	Iterations       uint64  `json:"iterations"`
	// MeanIterationTokens is the tokens fed to the model per iteration: prompt chunks and
	// decodes.
	MeanIterationTokens float64 `json:"mean_tokens_per_iteration"`
	Preemptions         uint64  `json:"preemptions"`
	// PaddingSteps are the static batcher's steps of sequences that had finished, run to
	// keep a batch whole until its longest sequence finishes.
	PaddingSteps uint64 `json:"padding_steps"`
	// KVBlocks is the cache's size; KVPeakBlocks the most blocks in use at once.
	KVBlocks     int `json:"kv_blocks"`
	KVPeakBlocks int `json:"kv_peak_blocks"`
	// At the most positions held at once: the positions, the blocks holding them, the
	// blocks' unused share (blocks held minus positions ÷ block size) and the sequences.
	PeakPositionsHeld int     `json:"peak_positions_held"`
	PeakBlocksHeld    int     `json:"peak_blocks_held"`
	PeakWasteBlocks   float64 `json:"peak_waste_blocks"`
	PeakSeqsHeld      int     `json:"peak_seqs_held"`
}

// newGenerationReport reads a generation run from its probe and its batcher's metrics, over
// a cache of kv.
func newGenerationReport(res *loadgen.Result, met sched.GenMetrics, kv sched.KVConfig) *generationReport {
	g := &generationReport{
		TTFTP50Ms: ms(res.TTFT.P50), TTFTP99Ms: ms(res.TTFT.P99), TPOTP50Ms: ms(res.TPOT.P50), TPOTP99Ms: ms(res.TPOT.P99),
		OutputTokens: res.OutputTokens, OutputTokensPerS: res.TokensPerSecond,
		Iterations: met.Iterations, Preemptions: met.Preemptions, PaddingSteps: met.Padding,
		KVBlocks: kv.Blocks, KVPeakBlocks: met.KVPeak,
		PeakPositionsHeld: met.PeakTokensHeld, PeakBlocksHeld: met.PeakBlocksHeld, PeakSeqsHeld: met.PeakSeqsHeld,
		PeakWasteBlocks: float64(met.PeakBlocksHeld) - float64(met.PeakTokensHeld)/float64(kv.BlockSize),
	}
	if res.OK > 0 {
		g.MeanOutputTokens = float64(res.OutputTokens) / float64(res.OK)
	}
	if met.Iterations > 0 {
		g.MeanIterationTokens = float64(met.Tokens) / float64(met.Iterations)
	}
	return g
}

func runBenchWorkload(gs *globalState, cmd *cobra.Command, lc *loadedConfig, r workloadRun) error {
	ctx := cmd.Context()
	pr := &progress{w: gs.stderr, tty: gs.stderrTTY, quiet: lc.Quiet}
	var profile *os.File
	if path, _ := cmd.Flags().GetString("cpu-profile"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return withCode(exitBadInput, fmt.Errorf("--cpu-profile %q: %w; want a file that can be created", path, err))
		}
		defer f.Close()
		profile = f
	}
	ec, spec := r.engine, r.spec
	pr.start(fmt.Sprintf("generating %s and converting it to %s", spec.Name, model.PrecisionName(ec.Precision)))
	ref, err := model.Generate(spec, ec.Seed)
	if err != nil {
		return withCode(exitInternal, err)
	}
	m, err := ref.Convert(ec.Precision)
	if err != nil {
		return withCode(exitInternal, err)
	}
	var (
		target loadgen.Target
		k      *kernels.Kernels
		gen    *engine.Generator
	)
	if r.gen != nil {
		if gen, err = engine.NewGenerator(*r.gen, m); err != nil {
			return withCode(exitBadInput, err)
		}
		defer gen.Close()
		target, k = gen, gen.Kernels()
	} else {
		eng, err := engine.NewWithModel(ec, m)
		if err != nil {
			return withCode(exitBadInput, err)
		}
		defer eng.Close()
		target, k = eng, eng.Kernels()
	}

	var fid *fidelityReport
	if r.fidelityInputs > 0 {
		what := "inputs"
		if r.gen != nil {
			what = "prompts, every position"
		}
		pr.start(fmt.Sprintf("fidelity of %s against fp32 on %d %s", model.PrecisionName(ec.Precision), r.fidelityInputs, what))
		eval := model.EvalSet(spec, r.fidelityInputs, ec.Seed)
		a, err := model.Fidelity(model.NewRunner(ref, k), model.NewRunner(m, k), eval)
		if err != nil {
			return withCode(exitInternal, err)
		}
		fid = &fidelityReport{Top1: a.Top1, KLD: a.KLD, Inputs: a.N}
		if r.gen != nil {
			fid.Inputs, fid.Positions = len(eval), a.N
		}
		if ctx.Err() != nil {
			return withCode(exitInterrupted, errors.New("interrupted before the probe"))
		}
	}

	r.probe.Request = cycle(r.payloads())
	pr.start(r.describe(k))
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return withCode(exitInternal, fmt.Errorf("--cpu-profile: %w", err))
		}
	}
	res, err := loadgen.Run(ctx, target, r.probe)
	if profile != nil {
		pprof.StopCPUProfile()
	}
	pr.done()
	if err != nil {
		return withCode(exitBadInput, err)
	}

	rep := benchReport{
		Config:    r.configReport(k, m),
		MeanBatch: res.Batch, ServiceMsMean: ms(res.Service), Fidelity: fid,
		loadgenReport: probeReport(res, "engine", "precise"),
	}
	if gen != nil {
		rep.Generation = newGenerationReport(res, gen.Metrics(), r.gen.Sched.KV)
	}
	return finishProbe(gs, cmd, "bench", rep, res, func(w io.Writer) error { return writeBenchText(w, rep, res) })
}

// describe says what the probe of r runs on k, for progress.
func (r workloadRun) describe(k *kernels.Kernels) string {
	prec := model.PrecisionName(r.engine.Precision)
	if g := r.gen; g != nil {
		return fmt.Sprintf("%s: %s on %s, %s, %s batching, max seqs %d, %d KV blocks: warm-up %v, window %v",
			r.workload.Name, prec, k, r.probe.Arrival, g.Batching, g.Sched.MaxSeqs, g.Sched.KV.Blocks, r.probe.Warmup, r.probe.Duration)
	}
	b := r.engine.Batching
	return fmt.Sprintf("%s: %s on %s, %s, batch ≤%d, delay %v: warm-up %v, window %v",
		r.workload.Name, prec, k, r.probe.Arrival, b.MaxBatch, b.MaxQueueDelay, r.probe.Warmup, r.probe.Duration)
}

// configReport is the config of r as run on k, with the model m.
func (r workloadRun) configReport(k *kernels.Kernels, m *model.Model) benchConfigReport {
	ec := r.engine
	c := benchConfigReport{
		Workload: r.workload.Name, Model: r.spec.Name, Precision: model.PrecisionName(ec.Precision),
		Tier: ec.Tier.String(), Threads: k.Threads(), InputTokens: r.inputTokens, Seed: ec.Seed,
		WeightBytes: m.WeightBytes(), PackedBytes: k.PackedBytes(),
	}
	if g := r.gen; g != nil {
		c.Batching, c.MaxSeqs, c.MaxBatchedTokens = g.Batching, g.Sched.MaxSeqs, g.Sched.MaxBatchedTokens
		c.KVBlockSize, c.KVBlocks, c.KVBudget, c.KVBytes = g.Sched.KV.BlockSize, g.Sched.KV.Blocks, r.kvBudget, r.kvBudgetBytes
		c.MaxQueue = g.Sched.MaxQueue
		return c
	}
	c.MaxBatch, c.MaxQueueDelay, c.MaxQueue = ec.Batching.MaxBatch, ec.Batching.MaxQueueDelay.String(), ec.Batching.MaxQueue
	return c
}

// kvMemory is the KV cache's part of the memory line: none for an encoder or MLP workload.
func kvMemory(c benchConfigReport) string {
	if c.KVBytes == 0 {
		return ""
	}
	return ", KV cache " + formatSize(c.KVBytes)
}

func writeBenchText(w io.Writer, rep benchReport, res *loadgen.Result) error {
	c := rep.Config
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if g := rep.Generation; g != nil {
		fmt.Fprintf(tw, "config\t%s: %s %s, %s tier × %d threads, %s batching, max seqs %d, max batched tokens %d, KV cache %d blocks × %d positions (%s of the %s budget), max queue %d\n",
			c.Workload, c.Model, c.Precision, c.Tier, c.Threads, c.Batching, c.MaxSeqs, c.MaxBatchedTokens,
			c.KVBlocks, c.KVBlockSize, formatSize(c.KVBytes), c.KVBudget, c.MaxQueue)
	} else {
		fmt.Fprintf(tw, "config\t%s: %s %s, %s tier × %d threads, max batch %d, max queue delay %s, max queue %d\n",
			c.Workload, c.Model, c.Precision, c.Tier, c.Threads, c.MaxBatch, c.MaxQueueDelay, c.MaxQueue)
	}
	fmt.Fprintf(tw, "memory\tweights %s, prepacked layouts %s%s\n", formatSize(c.WeightBytes), formatSize(c.PackedBytes), kvMemory(c))
	if f := rep.Fidelity; f != nil {
		over := fmt.Sprintf("%d inputs", f.Inputs)
		if f.Positions > 0 {
			over = fmt.Sprintf("%d prompts, %d positions", f.Inputs, f.Positions)
		}
		fmt.Fprintf(tw, "fidelity\ttop-1 agreement %.2f%%, mean KL divergence %.3g nats vs fp32 (%s)\n", 100*f.Top1, f.KLD, over)
	}
	if g := rep.Generation; g != nil {
		fmt.Fprintf(tw, "generation\tTTFT p50 %s p99 %s, TPOT p50 %s p99 %s, %.1f output tokens/s, %.1f output tokens per request; "+
			"%d iterations of %.1f tokens on average, %d preemptions, %d padding steps (whole run)\n",
			reports.Duration(res.TTFT.P50), reports.Duration(res.TTFT.P99), reports.Duration(res.TPOT.P50), reports.Duration(res.TPOT.P99), g.OutputTokensPerS,
			g.MeanOutputTokens, g.Iterations, g.MeanIterationTokens, g.Preemptions, g.PaddingSteps)
		fmt.Fprintf(tw, "kv cache\tpeak %d of %d blocks used; at the peak of %d positions held: %d blocks held (%.1f blocks wasted), %d sequences\n",
			g.KVPeakBlocks, g.KVBlocks, g.PeakPositionsHeld, g.PeakBlocksHeld, g.PeakWasteBlocks, g.PeakSeqsHeld)
	} else {
		fmt.Fprintf(tw, "batches\tmean batch %.2f requests, mean batch service %s\n", rep.MeanBatch, reports.Duration(res.Service))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeLoadgenText(w, rep.loadgenReport, res)
}
