package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/kernels/roofline"
	"github.com/infertune/infertune/engine/tensor"
	"github.com/infertune/infertune/internal/host"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// benchKernelsConfig is the bench.kernels section of the configuration. Lists and sizes are
// kept as text until Validate reads them, so that every error can quote what was given.
type benchKernelsConfig struct {
	// DType lists weight dtypes: f32 f16 bf16 q8_0 q4_0 (or fp32 fp16 int8 int4).
	DType []string `mapstructure:"dtype"`
	// Tier lists kernel tiers: generic, simd.
	Tier []string `mapstructure:"tier"`
	// ISA lists the simd tier's paths: avx2, avx512, avx512vnni, or best (this CPU's best)
	// or all (every path it supports).
	ISA []string `mapstructure:"isa"`
	// Prefetch lists the simd tier's prefetch settings: auto (this CPU family's choice),
	// l2, nta, off.
	Prefetch []string `mapstructure:"prefetch"`
	// Threads lists thread counts and ranges a..b.
	Threads []string `mapstructure:"threads"`
	// Op lists measurements: matvec (hot and cold), matvec-hot, matvec-cold, matmul.
	Op []string `mapstructure:"op"`
	// MinTime is the least time each row is timed for, as a duration (300ms).
	MinTime string `mapstructure:"min_time"`
	// ColdBytes is the least weight bytes a cold matvec pass streams, as a size (1GiB).
	ColdBytes string `mapstructure:"cold_bytes"`
	// Quick selects a short preset: min_time 100ms, threads 1 and all CPUs. Settings given
	// explicitly still win.
	Quick bool `mapstructure:"quick"`
	// Seed seeds the random weights and activations.
	Seed uint64 `mapstructure:"seed"`
	// The shapes: an M×K matrix times a vector (matvec) or N rows (matmul).
	MatVecM int `mapstructure:"matvec_m"`
	MatVecK int `mapstructure:"matvec_k"`
	MatMulM int `mapstructure:"matmul_m"`
	MatMulK int `mapstructure:"matmul_k"`
	MatMulN int `mapstructure:"matmul_n"`
}

func defaultBenchKernelsConfig() benchKernelsConfig {
	var dtypes, tiers []string
	for _, dt := range tensor.DTypes {
		dtypes = append(dtypes, dt.String())
	}
	for _, t := range kernels.Tiers() {
		tiers = append(tiers, t.String())
	}
	return benchKernelsConfig{
		DType:     dtypes,
		Tier:      tiers,
		ISA:       []string{isaBest},
		Prefetch:  []string{kernels.PrefetchAuto.String()},
		Threads:   []string{threadRange(1, runtime.NumCPU())},
		Op:        []string{"matvec", "matmul"},
		MinTime:   roofline.DefaultMinTime.String(),
		ColdBytes: formatSizeFlag(roofline.DefaultColdBytes),
		Seed:      1,
		MatVecM:   roofline.DefaultMatVecM,
		MatVecK:   roofline.DefaultMatVecK,
		MatMulM:   roofline.DefaultMatMulM,
		MatMulK:   roofline.DefaultMatMulK,
		MatMulN:   roofline.DefaultMatMulN,
	}
}

// quickPreset changes the defaults under --quick: a short run that still covers every
// dtype, tier and op, at one thread and at all CPUs.
func quickPreset(v *viper.Viper) {
	if !v.GetBool("bench.kernels.quick") {
		return
	}
	v.SetDefault("bench.kernels.min_time", (100 * time.Millisecond).String())
	v.SetDefault("bench.kernels.threads", []string{"1", fmt.Sprint(runtime.NumCPU())})
}

// threadRange writes a..b, or a when they are equal.
func threadRange(a, b int) string {
	if a == b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d..%d", a, b)
}

// formatSizeFlag writes a size the way a flag takes it: 1GiB, 512MiB, or bytes.
func formatSizeFlag(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n > 0 && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.name)
		}
	}
	return fmt.Sprint(n)
}

// Validate returns every problem of the settings at once.
func (c benchKernelsConfig) Validate() error {
	_, err := c.options()
	return err
}

// options reads the settings into roofline.Options, collecting every problem.
func (c benchKernelsConfig) options() (roofline.Options, error) {
	const p = "bench.kernels."
	var o roofline.Options
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &fieldError{Key: p + key, Value: value, Problem: fmt.Sprintf(format, args...)})
	}

	for _, s := range splitList(c.DType) {
		dt, err := tensor.ParseDType(s)
		if err != nil {
			errs = append(errs, &fieldError{Key: p + "dtype", Problem: err.Error()})
			continue
		}
		o.DTypes = appendUnique(o.DTypes, dt)
	}
	if len(splitList(c.DType)) == 0 {
		bad("dtype", "", "empty list; accepted: one or more of f32, f16, bf16, q8_0, q4_0")
	}

	usable := kernels.Tiers()
	for _, s := range splitList(c.Tier) {
		t, err := kernels.ParseTier(s)
		switch {
		case err != nil:
			errs = append(errs, &fieldError{Key: p + "tier", Problem: err.Error()})
			continue
		case t == kernels.SIMD && !kernels.SIMDBuilt():
			bad("tier", s, "this binary was built without the simd tier; build with GOEXPERIMENT=simd (make build), or use --tier generic, which is accepted")
			continue
		case !slices.Contains(usable, t):
			bad("tier", s, "this CPU lacks AVX2 and FMA, which the simd tier needs; accepted here: generic")
			continue
		}
		o.Tiers = appendUnique(o.Tiers, t)
	}
	if len(splitList(c.Tier)) == 0 {
		bad("tier", "", "empty list; accepted: one or more of %s", joinStrings(usable))
	}

	o.ISAs = c.isas(bad)
	o.Prefetch = c.prefetch(bad)

	for _, s := range splitList(c.Threads) {
		ns, err := parseThreads(s)
		if err != nil {
			bad("threads", s, "%v", err)
			continue
		}
		o.Threads = appendUnique(o.Threads, ns...)
	}
	slices.Sort(o.Threads)
	if len(splitList(c.Threads)) == 0 {
		bad("threads", "", "empty list; %s", threadsAccepted)
	}

	for _, s := range splitList(c.Op) {
		ops, err := roofline.ParseOp(s)
		if err != nil {
			errs = append(errs, &fieldError{Key: p + "op", Problem: err.Error()})
			continue
		}
		o.Ops = appendUnique(o.Ops, ops...)
	}
	if len(splitList(c.Op)) == 0 {
		bad("op", "", "empty list; accepted: one or more of matvec, matvec-hot, matvec-cold, matmul")
	}
	// Measure in roofline's order whatever order they were listed in.
	o.Ops = slices.DeleteFunc(roofline.Ops(), func(op roofline.Op) bool { return !slices.Contains(o.Ops, op) })

	if d, err := parsePositiveDuration(c.MinTime); err != nil {
		bad("min_time", c.MinTime, "%v", err)
	} else {
		o.MinTime = d
	}
	if n, err := parseSize(c.ColdBytes); err != nil {
		bad("cold_bytes", c.ColdBytes, "%v", err)
	} else if n == 0 {
		bad("cold_bytes", c.ColdBytes, "must be more than 0; %s", sizeAccepted)
	} else {
		o.ColdBytes = n
	}

	o.Seed = c.Seed
	o.MatVecM, o.MatVecK = c.MatVecM, c.MatVecK
	o.MatMulM, o.MatMulK, o.MatMulN = c.MatMulM, c.MatMulK, c.MatMulN
	for _, d := range []struct {
		key string
		v   int
	}{{"matvec_m", c.MatVecM}, {"matvec_k", c.MatVecK}, {"matmul_m", c.MatMulM}, {"matmul_k", c.MatMulK}, {"matmul_n", c.MatMulN}} {
		if d.v < 1 {
			bad(d.key, fmt.Sprint(d.v), "accepted: a dimension of 1 or more")
		}
	}
	if len(errs) > 0 {
		return o, errors.Join(errs...)
	}
	// What is left for roofline to catch concerns shapes and sizes together; name the
	// setting in front of its message.
	for _, e := range unjoin(o.Validate()) {
		errs = append(errs, &fieldError{Key: p + rooflineKey(e.Error()), Problem: e.Error()})
	}
	return o, errors.Join(errs...)
}

// The words --isa takes beside the paths' names.
const (
	isaBest = "best" // the best path this CPU supports
	isaAll  = "all"  // every path it supports
)

// isas reads the isa list: nil for best alone (roofline's default, which a generic-only run
// ignores), else the paths named, each one this CPU supports, reporting problems to bad.
func (c benchKernelsConfig) isas(bad func(key, value, format string, args ...any)) []kernels.ISA {
	usable := kernels.ISAs()
	var names []string
	for _, i := range usable {
		names = append(names, i.String())
	}
	accepted := "accepted: " + strings.Join(append([]string{isaBest, isaAll}, names...), ", ")
	if len(usable) == 0 {
		accepted = "the simd tier is not usable here (no GOEXPERIMENT=simd build, or a CPU without AVX2), so only " + isaBest + " is accepted"
	}
	list := splitList(c.ISA)
	if len(list) == 0 {
		bad("isa", "", "empty list; %s", accepted)
		return nil
	}
	if len(list) == 1 && strings.EqualFold(list[0], isaBest) {
		return nil
	}
	var out []kernels.ISA
	for _, s := range list {
		switch l := strings.ToLower(s); {
		case l == isaBest && len(usable) > 0:
			out = appendUnique(out, usable[len(usable)-1])
		case l == isaAll && len(usable) > 0:
			out = appendUnique(out, usable...)
		default:
			isa, err := kernels.ParseISA(s)
			switch {
			case err != nil:
				bad("isa", s, "unknown path; %s", accepted)
			case isa == kernels.ISANone:
				bad("isa", s, "none is the generic tier's path (--tier generic); %s", accepted)
			case !slices.Contains(usable, isa):
				bad("isa", s, "this CPU or build does not support it; %s", accepted)
			default:
				out = appendUnique(out, isa)
			}
		}
	}
	slices.Sort(out)
	return out
}

// prefetch reads the prefetch list: nil for auto alone (roofline's default), else the
// settings named, auto as the one it stands for on this CPU, each once, reporting unknown
// ones to bad; roofline rejects a list without the simd tier.
func (c benchKernelsConfig) prefetch(bad func(key, value, format string, args ...any)) []kernels.Prefetch {
	const accepted = "accepted: auto (this CPU family's choice), l2, nta, off"
	list := splitList(c.Prefetch)
	if len(list) == 0 {
		bad("prefetch", "", "empty list; %s", accepted)
		return nil
	}
	if len(list) == 1 && strings.EqualFold(strings.TrimSpace(list[0]), kernels.PrefetchAuto.String()) {
		return nil
	}
	var out []kernels.Prefetch
	for _, s := range list {
		p, err := kernels.ParsePrefetch(s)
		if err != nil {
			bad("prefetch", s, "unknown setting; %s", accepted)
			continue
		}
		out = appendUnique(out, p.Resolve())
	}
	return out
}

// rooflineKey maps the Options field a roofline validation error names to its config key.
func rooflineKey(msg string) string {
	fields := []struct{ field, key string }{
		{"DTypes", "dtype"}, {"Tiers", "tier"}, {"ISAs", "isa"}, {"Prefetch", "prefetch"}, {"Threads", "threads"}, {"Ops", "op"},
		{"MinTime", "min_time"}, {"ColdBytes", "cold_bytes"},
		{"MatVecM", "matvec_m"}, {"MatVecK", "matvec_k"},
		{"MatMulM", "matmul_m"}, {"MatMulK", "matmul_k"}, {"MatMulN", "matmul_n"},
	}
	rest := strings.TrimPrefix(msg, "roofline: ")
	for _, f := range fields {
		if strings.HasPrefix(rest, f.field) {
			return f.key
		}
	}
	return "options"
}

// benchKernelsBinds maps the bench.kernels keys to their flags.
func benchKernelsBinds() map[string]string {
	return map[string]string{
		"bench.kernels.dtype":      "dtype",
		"bench.kernels.tier":       "tier",
		"bench.kernels.isa":        "isa",
		"bench.kernels.prefetch":   "prefetch",
		"bench.kernels.threads":    "threads",
		"bench.kernels.op":         "op",
		"bench.kernels.min_time":   "min-time",
		"bench.kernels.cold_bytes": "cold-bytes",
		"bench.kernels.quick":      "quick",
		"bench.kernels.seed":       "seed",
		"bench.kernels.matvec_m":   "matvec-m",
		"bench.kernels.matvec_k":   "matvec-k",
		"bench.kernels.matmul_m":   "matmul-m",
		"bench.kernels.matmul_k":   "matmul-k",
		"bench.kernels.matmul_n":   "matmul-n",
	}
}

func newBenchKernelsCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernels",
		Short: "Measure GFLOP/s and GB/s of the kernels per dtype, tier and thread count",
		Long: `kernels measures this machine's roofs (read bandwidth by working-set size and thread
count, and the FMA peak) and then the matrix kernels against them: matvec on one matrix
read from cache (hot), matvec cycling over at least --cold-bytes of matrices read from
memory (cold), and matmul on a batch. Each row reports GFLOP/s, GB/s of weights, time per
call and the percentage of its roof.

Progress goes to stderr as rows finish; the table goes to stdout, or JSON with --json.
Ctrl-C stops the run, prints what was measured and exits with 130.`,
		Example: `  infertune bench kernels --quick
  infertune bench kernels --dtype f32,q8_0 --tier simd --threads 1,2 --op matvec
  infertune bench kernels --json kernels.json`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lc, err := loadConfig(gs, cmd, benchKernelsBinds(), quickPreset)
			if err != nil {
				return err
			}
			opt, err := lc.Bench.Kernels.options()
			if err != nil {
				return lc.explain(err)
			}
			dry, err := cmd.Flags().GetBool("dry-run")
			if err != nil {
				return fmt.Errorf("bench kernels: %w", err)
			}
			if dry {
				return printOptions(gs, cmd, opt)
			}
			return runBenchKernels(gs, cmd, lc, opt)
		}),
	}
	def := defaultBenchKernelsConfig()
	f := cmd.Flags()
	f.StringSlice("dtype", def.DType, "weight dtypes, a `LIST` of: f32 (fp32), f16 (fp16), bf16, q8_0 (int8), q4_0 (int4)")
	f.StringSlice("tier", def.Tier, "kernel tiers, a `LIST` of: generic, simd (simd needs a GOEXPERIMENT=simd build)")
	f.StringSlice("isa", def.ISA, "the simd tier's instruction-set paths, a `LIST` of: avx2, avx512, avx512vnni (each one this CPU supports), best or all")
	f.StringSlice("prefetch", def.Prefetch, "the simd tier's MatVec software prefetches, a `LIST` of: auto (this CPU family's choice), l2 (into L2, 4 and 8 KiB ahead), nta (PREFETCHNTA 2 KiB ahead), off; l2,nta,off measures all three")
	f.StringSlice("threads", def.Threads, "thread counts: a `LIST` such as 1,2,4, or a range such as 1..8")
	f.StringSlice("op", def.Op, "ops, a `LIST` of: matvec (hot and cold), matvec-hot, matvec-cold, matmul")
	f.String("min-time", def.MinTime, "least time each row is timed for (a `DURATION` such as 300ms)")
	f.String("cold-bytes", def.ColdBytes, "least weight bytes a cold matvec pass streams (a `SIZE` with B, KiB, MiB, GiB, KB, MB or GB)")
	f.Bool("quick", def.Quick, "short preset: --min-time 100ms --threads 1,NumCPU (flags given still win)")
	f.Uint64("seed", def.Seed, "`N` seeds the random weights and activations")
	f.Bool("dry-run", false, "print the resolved options and exit without measuring")
	for _, s := range []struct {
		name string
		def  int
		help string
	}{
		{"matvec-m", def.MatVecM, "matvec weight rows"},
		{"matvec-k", def.MatVecK, "matvec weight columns"},
		{"matmul-m", def.MatMulM, "matmul weight rows"},
		{"matmul-k", def.MatMulK, "matmul weight columns"},
		{"matmul-n", def.MatMulN, "matmul activation rows"},
	} {
		f.Int(s.name, s.def, s.help)
		_ = f.MarkHidden(s.name) // for tests and experiments; the defaults are the sizes that matter
	}
	return cmd
}

// printOptions writes the resolved options (--dry-run): text, or JSON with --json.
func printOptions(gs *globalState, cmd *cobra.Command, o roofline.Options) error {
	type shape struct {
		M int `json:"m"`
		K int `json:"k"`
		N int `json:"n"`
	}
	view := struct {
		DTypes    []string `json:"dtype"`
		Tiers     []string `json:"tier"`
		ISAs      []string `json:"isa"`
		Prefetch  []string `json:"prefetch"`
		Threads   []int    `json:"threads"`
		Ops       []string `json:"op"`
		MinTime   string   `json:"min_time"`
		ColdBytes int64    `json:"cold_bytes"`
		Seed      uint64   `json:"seed"`
		MatVec    shape    `json:"matvec"`
		MatMul    shape    `json:"matmul"`
	}{
		Threads: o.Threads, MinTime: o.MinTime.String(), ColdBytes: o.ColdBytes, Seed: o.Seed,
		MatVec: shape{o.MatVecM, o.MatVecK, 1}, MatMul: shape{o.MatMulM, o.MatMulK, o.MatMulN},
	}
	for _, d := range o.DTypes {
		view.DTypes = append(view.DTypes, d.String())
	}
	for _, t := range o.Tiers {
		view.Tiers = append(view.Tiers, t.String())
	}
	for _, op := range o.Ops {
		view.Ops = append(view.Ops, string(op))
	}
	view.ISAs, view.Prefetch = []string{}, []string{}
	if slices.Contains(o.Tiers, kernels.SIMD) {
		for _, i := range o.EffectiveISAs() {
			view.ISAs = append(view.ISAs, i.String())
		}
		for _, p := range o.EffectivePrefetch() {
			view.Prefetch = append(view.Prefetch, p.String())
		}
	}
	if textDue, err := emitJSON(gs, cmd, view); !textDue {
		return err
	}
	tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "dtype\t%s\n", strings.Join(view.DTypes, ","))
	fmt.Fprintf(tw, "tier\t%s\n", strings.Join(view.Tiers, ","))
	if len(view.ISAs) > 0 {
		fmt.Fprintf(tw, "isa\t%s\n", strings.Join(view.ISAs, ","))
		fmt.Fprintf(tw, "prefetch\t%s\n", strings.Join(view.Prefetch, ","))
	}
	fmt.Fprintf(tw, "threads\t%s\n", joinInts(view.Threads))
	fmt.Fprintf(tw, "op\t%s\n", strings.Join(view.Ops, ","))
	fmt.Fprintf(tw, "min-time\t%s\n", view.MinTime)
	fmt.Fprintf(tw, "cold-bytes\t%d (%s)\n", view.ColdBytes, formatSize(view.ColdBytes))
	fmt.Fprintf(tw, "seed\t%d\n", view.Seed)
	fmt.Fprintf(tw, "matvec\t%d×%d\n", o.MatVecM, o.MatVecK)
	fmt.Fprintf(tw, "matmul\t%d×%d×%d\n", o.MatMulM, o.MatMulK, o.MatMulN)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write options: %w", err)
	}
	return nil
}

// benchHost is the host section of the JSON report: the fingerprint and its ID.
type benchHost struct {
	ID string `json:"id"`
	host.Fingerprint
}

// thisHost returns the host section for this machine.
func thisHost() benchHost {
	fp := host.Detect()
	return benchHost{ID: fp.ID(), Fingerprint: fp}
}

func runBenchKernels(gs *globalState, cmd *cobra.Command, lc *loadedConfig, opt roofline.Options) error {
	total := opt.RowCount()
	pr := &progress{w: gs.stderr, tty: gs.stderrTTY, quiet: lc.Quiet, total: total}
	pr.start(fmt.Sprintf("measuring the roofs, then %d rows of at least %v each", total, opt.MinTime))

	rep, runErr := roofline.Run(cmd.Context(), opt, pr.row)
	pr.done()
	if rep == nil {
		if runErr == nil {
			runErr = errors.New("no report")
		}
		return fmt.Errorf("bench kernels: %w", runErr)
	}
	rep.Host = thisHost()

	textDue, err := emitJSON(gs, cmd, rep)
	if err != nil {
		return err
	}
	if textDue {
		if err := roofline.WriteText(gs.stdout, rep); err != nil {
			return fmt.Errorf("bench kernels: write table: %w", err)
		}
	}
	if runErr != nil {
		if cmd.Context().Err() != nil {
			return withCode(exitInterrupted, fmt.Errorf("interrupted: %d of %d rows measured", len(rep.Rows), total))
		}
		return fmt.Errorf("bench kernels: %w", runErr)
	}
	return nil
}

// progress reports rows as they finish on stderr: a line per row, or on a terminal one
// status line redrawn in place. Quiet prints nothing. Safe for concurrent use.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	quiet bool
	total int
	n     int
	drawn bool // a status line is on screen (tty only)
}

func (p *progress) start(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s...", msg)
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "%s\n", msg)
}

func (p *progress) row(r roofline.Row) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.quiet {
		return
	}
	shape := fmt.Sprintf("%d×%d", r.M, r.K)
	if r.N > 1 {
		shape += fmt.Sprintf("×%d", r.N)
	}
	roof := "-"
	if r.PctOfRoof > 0 {
		roof = fmt.Sprintf("%.1f%%", r.PctOfRoof)
	}
	op := r.Op
	if r.Op != roofline.OpMatMul.Kernel() {
		op += "-" + r.Cache
	}
	tier := r.Tier
	if r.Tier == kernels.SIMD.String() {
		// Runs may hold several paths and prefetch settings of the simd tier.
		tier += fmt.Sprintf(" isa=%s prefetch=%s", r.ISA, r.Prefetch)
	}
	line := fmt.Sprintf("[%d/%d] %s %s threads=%d %s %s: %.3g GFLOP/s, %.3g GB/s, %s of roof",
		p.n, p.total, r.DType, tier, r.Threads, op, shape, r.GFlops, r.GBps, roof)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "%s\n", line)
}

// done clears the status line on a terminal.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
