package roofline

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/tensor"
)

// Op selects one kind of measurement row. Rows name the kernel ("matvec" or "matmul") in
// Row.Op and the cache state ("hot" or "cold") in Row.Cache.
type Op string

// The measurements.
const (
	// OpMatVecHot times MatVec on one matrix called again and again: its weights stay in
	// cache when they fit.
	OpMatVecHot Op = "matvec-hot"
	// OpMatVecCold times MatVec cycling over enough distinct matrices that at least
	// Options.ColdBytes of weights is streamed per pass: its weights come from memory.
	OpMatVecCold Op = "matvec-cold"
	// OpMatMul times MatMul on one matrix and a batch of activation rows.
	OpMatMul Op = "matmul"
)

// Ops lists every Op, in the order Run measures them.
func Ops() []Op { return []Op{OpMatVecHot, OpMatVecCold, OpMatMul} }

// Kernel returns the kernel op names: "matvec" or "matmul".
func (o Op) Kernel() string {
	if o == OpMatMul {
		return "matmul"
	}
	return "matvec"
}

// Cache returns "cold" for OpMatVecCold and "hot" for the others.
func (o Op) Cache() string {
	if o == OpMatVecCold {
		return "cold"
	}
	return "hot"
}

func (o Op) valid() bool { return slices.Contains(Ops(), o) }

// ParseOp reads an op name: matvec-hot, matvec-cold, matmul, or matvec (meaning both matvec
// ops), case-insensitively.
func ParseOp(s string) ([]Op, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "matvec":
		return []Op{OpMatVecHot, OpMatVecCold}, nil
	case string(OpMatVecHot):
		return []Op{OpMatVecHot}, nil
	case string(OpMatVecCold):
		return []Op{OpMatVecCold}, nil
	case string(OpMatMul):
		return []Op{OpMatMul}, nil
	}
	return nil, fmt.Errorf("unknown op %q: accepted matvec, matvec-hot, matvec-cold, matmul", s)
}

// Defaults of Options.
const (
	DefaultMinTime   = 300 * time.Millisecond
	DefaultColdBytes = int64(1) << 30
	DefaultMatVecM   = 4096
	DefaultMatVecK   = 4096
	DefaultMatMulM   = 1024
	DefaultMatMulK   = 1024
	DefaultMatMulN   = 128
)

// Limits enforced by Validate.
const (
	// MaxThreads bounds every thread count.
	MaxThreads = 1024
	// MaxDim bounds every matrix dimension.
	MaxDim = 1 << 20
	// MaxElems bounds the elements of one matrix and of one activation batch.
	MaxElems = 1 << 31
	// MaxColdBytes bounds Options.ColdBytes.
	MaxColdBytes = int64(1) << 40
)

// minCalls is the fewest timed calls of a row (and of each timed batch), whatever MinTime
// says.
const minCalls = 3

// batches is how many batches a row's MinTime is cut into; the fastest batch is reported.
const batches = 8

// Options selects what Run measures. A zero field means its default; a nil list means the
// default list, while a non-nil empty list is an error (it would measure nothing).
type Options struct {
	// DTypes are the weight dtypes; default tensor.DTypes (all five).
	DTypes []tensor.DType
	// Tiers are the kernel tiers; default kernels.Tiers() (those usable in this process).
	Tiers []kernels.Tier
	// ISAs are the simd tier's instruction-set paths, each measured as its own tier: a
	// less capable path shows what a CPU without the better one would run. Each must be one
	// this CPU supports (kernels.ISAs); default the best of them alone. They apply to the
	// simd tier only: set, they need it among Tiers.
	ISAs []kernels.ISA
	// Prefetch are the simd tier's prefetch settings (kernels.Config.Prefetch), each
	// measured as its own configuration on each of ISAs: l2, nta and off show which of
	// the MatVec kernels' software prefetches this CPU gains from; default auto alone (the
	// CPU family's choice, kernels.DetectPrefetch). Each at most once, auto not beside the
	// setting it stands for here; set, they need the simd tier among Tiers.
	Prefetch []kernels.Prefetch
	// Threads are the thread counts, each 1..MaxThreads; default 1..runtime.NumCPU().
	Threads []int
	// Ops are the measurements; default Ops() (all three).
	Ops []Op
	// MinTime is the least time each row is timed for (at least 3 calls are timed whatever
	// it says); default 300ms. It is cut into 8 batches of consecutive calls and the row
	// reports the fastest batch; between every two batches one trial of the row's roof, as
	// long as a batch, runs, and the row is divided by the best trial. The sweep of the
	// roofs before the rows runs shorter trials, a fraction of it.
	MinTime time.Duration
	// ColdBytes is the least weight bytes a cold MatVec pass streams; default 1 GiB. It
	// must hold at least one MatVec matrix of every selected dtype.
	ColdBytes int64
	// MatVecM and MatVecK are the MatVec weight shape (rows × columns); default 4096×4096.
	MatVecM, MatVecK int
	// MatMulM, MatMulK and MatMulN are the MatMul shape: an M×K weight matrix times N
	// activation rows; default 1024×1024×128.
	MatMulM, MatMulK, MatMulN int
	// Seed seeds the random weights and activations.
	Seed uint64
}

// withDefaults returns o with every zero field set to its default. Lists are copied.
func (o Options) withDefaults() Options {
	if o.DTypes == nil {
		o.DTypes = tensor.DTypes
	}
	if o.Tiers == nil {
		o.Tiers = kernels.Tiers()
	}
	if o.ISAs == nil {
		if isas := kernels.ISAs(); len(isas) > 0 {
			o.ISAs = isas[len(isas)-1:]
		}
	}
	if o.Prefetch == nil {
		o.Prefetch = []kernels.Prefetch{kernels.PrefetchAuto}
	}
	if o.Threads == nil {
		for t := 1; t <= runtime.NumCPU(); t++ {
			o.Threads = append(o.Threads, t)
		}
	}
	if o.Ops == nil {
		o.Ops = Ops()
	}
	o.DTypes = slices.Clone(o.DTypes)
	o.Tiers = slices.Clone(o.Tiers)
	o.ISAs = slices.Clone(o.ISAs)
	o.Prefetch = slices.Clone(o.Prefetch)
	o.Threads = slices.Clone(o.Threads)
	o.Ops = slices.Clone(o.Ops)
	if o.MinTime == 0 {
		o.MinTime = DefaultMinTime
	}
	if o.ColdBytes == 0 {
		o.ColdBytes = DefaultColdBytes
	}
	setDefault(&o.MatVecM, DefaultMatVecM)
	setDefault(&o.MatVecK, DefaultMatVecK)
	setDefault(&o.MatMulM, DefaultMatMulM)
	setDefault(&o.MatMulK, DefaultMatMulK)
	setDefault(&o.MatMulN, DefaultMatMulN)
	return o
}

func setDefault(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

// has reports whether op is selected.
func (o Options) has(op Op) bool { return slices.Contains(o.Ops, op) }

// Validate reports every problem of o at once (errors.Join), each naming the field, the
// value and what would be accepted. Zero fields and nil lists stand for their defaults.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("roofline: "+format, args...))
	}
	d := o.withDefaults()

	if o.DTypes != nil && len(o.DTypes) == 0 {
		bad("DTypes: empty list; accepted: one or more of %s (nil means all)", dtypeNames())
	}
	for i, dt := range d.DTypes {
		if !dt.Valid() {
			bad("DTypes[%d]: unknown dtype %v; accepted: %s", i, dt, dtypeNames())
		} else if slices.Index(d.DTypes, dt) < i {
			bad("DTypes[%d]: %s listed twice; accepted: each dtype once", i, dt)
		}
	}

	usable := kernels.Tiers()
	if o.Tiers != nil && len(o.Tiers) == 0 {
		bad("Tiers: empty list; accepted: one or more of %s (nil means all)", tierNames(usable))
	}
	for i, t := range d.Tiers {
		switch {
		case !slices.Contains(usable, t):
			bad("Tiers[%d]: tier %s is not usable in this process; accepted: %s", i, t, tierNames(usable))
		case slices.Index(d.Tiers, t) < i:
			bad("Tiers[%d]: %s listed twice; accepted: each tier once", i, t)
		}
	}

	paths := kernels.ISAs()
	switch {
	case o.ISAs != nil && len(o.ISAs) == 0:
		bad("ISAs: empty list; accepted: one or more of %s (nil means the best)", isaNames(paths))
	case o.ISAs != nil && !slices.Contains(d.Tiers, kernels.SIMD):
		bad("ISAs: %s given without the simd tier, the only one they apply to; accepted: simd among Tiers, or no ISAs", isaNames(o.ISAs))
	}
	for i, isa := range o.ISAs {
		switch {
		case !slices.Contains(paths, isa):
			bad("ISAs[%d]: %s is not a path of the simd tier on this CPU; accepted: %s", i, isa, isaNames(paths))
		case slices.Index(o.ISAs, isa) < i:
			bad("ISAs[%d]: %s listed twice; accepted: each path once", i, isa)
		}
	}

	switch {
	case o.Prefetch != nil && len(o.Prefetch) == 0:
		bad("Prefetch: empty list; accepted: one or more of %s (nil means auto)", kernels.PrefetchNames())
	case o.Prefetch != nil && !slices.Contains(d.Tiers, kernels.SIMD):
		bad("Prefetch: given without the simd tier, the only one it applies to; accepted: simd among Tiers, or no Prefetch")
	}
	for i, p := range o.Prefetch {
		switch {
		case p > kernels.PrefetchOff:
			bad("Prefetch[%d]: %s; accepted: %s", i, p, kernels.PrefetchNames())
		case slices.IndexFunc(o.Prefetch[:i], func(q kernels.Prefetch) bool { return q.Resolve() == p.Resolve() }) >= 0:
			bad("Prefetch[%d]: %s measures the same as a setting before it (auto is %s on this CPU); accepted: each setting once", i, p, kernels.DetectPrefetch())
		}
	}

	if o.Threads != nil && len(o.Threads) == 0 {
		bad("Threads: empty list; accepted: one or more counts in 1..%d (nil means 1..%d)", MaxThreads, runtime.NumCPU())
	}
	for i, t := range d.Threads {
		switch {
		case t < 1 || t > MaxThreads:
			bad("Threads[%d]: %d; accepted: 1..%d", i, t, MaxThreads)
		case slices.Index(d.Threads, t) < i:
			bad("Threads[%d]: %d listed twice; accepted: each count once", i, t)
		}
	}

	if o.Ops != nil && len(o.Ops) == 0 {
		bad("Ops: empty list; accepted: one or more of %s (nil means all)", opNames())
	}
	for i, op := range d.Ops {
		switch {
		case !op.valid():
			bad("Ops[%d]: unknown op %q; accepted: %s", i, op, opNames())
		case slices.Index(d.Ops, op) < i:
			bad("Ops[%d]: %s listed twice; accepted: each op once", i, op)
		}
	}

	if o.MinTime < 0 {
		bad("MinTime: %v; accepted: 0 (default %v) or more", o.MinTime, DefaultMinTime)
	}
	if o.ColdBytes < 0 || o.ColdBytes > MaxColdBytes {
		bad("ColdBytes: %d; accepted: 0 (default %d) up to %d", o.ColdBytes, DefaultColdBytes, MaxColdBytes)
	}

	var blockDTypes []string
	for _, dt := range d.DTypes {
		if dt.Quantized() {
			blockDTypes = append(blockDTypes, dt.String())
		}
	}
	mvShapeOK := true
	if d.has(OpMatVecHot) || d.has(OpMatVecCold) {
		n := len(errs)
		errs = append(errs, checkDim("MatVecM", o.MatVecM, nil)...)
		errs = append(errs, checkDim("MatVecK", o.MatVecK, blockDTypes)...)
		if len(errs) == n && int64(d.MatVecM)*int64(d.MatVecK) > MaxElems {
			bad("MatVecM×MatVecK: %d×%d; accepted: at most %d elements", d.MatVecM, d.MatVecK, int64(MaxElems))
		}
		mvShapeOK = len(errs) == n
	}
	if d.has(OpMatMul) {
		n := len(errs)
		errs = append(errs, checkDim("MatMulM", o.MatMulM, nil)...)
		errs = append(errs, checkDim("MatMulK", o.MatMulK, blockDTypes)...)
		errs = append(errs, checkDim("MatMulN", o.MatMulN, nil)...)
		for _, p := range [][2]int{{d.MatMulM, d.MatMulK}, {d.MatMulN, d.MatMulK}, {d.MatMulN, d.MatMulM}} {
			if len(errs) == n && int64(p[0])*int64(p[1]) > MaxElems {
				bad("MatMulM×MatMulK×MatMulN: %d×%d×%d; accepted: each matrix at most %d elements",
					d.MatMulM, d.MatMulK, d.MatMulN, int64(MaxElems))
				break
			}
		}
	}

	// The cold set must hold at least one matrix of each dtype, or cold would be hot.
	if mvShapeOK && d.has(OpMatVecCold) && o.ColdBytes >= 0 {
		var need int64
		var needDT tensor.DType
		for _, dt := range d.DTypes {
			if b := matrixBytes(dt, d.MatVecM, d.MatVecK); dt.Valid() && b > need {
				need, needDT = b, dt
			}
		}
		if d.ColdBytes < need {
			bad("ColdBytes: %d is below one %d×%d %s matrix (%d bytes); accepted: at least %d",
				d.ColdBytes, d.MatVecM, d.MatVecK, needDT, need, need)
		}
	}
	return errors.Join(errs...)
}

// checkDim checks one matrix dimension: 0 (default) or 1..MaxDim, and a multiple of tensor.QK
// when it is a row length and block dtypes are selected.
func checkDim(field string, v int, blockDTypes []string) []error {
	if v < 0 || v > MaxDim {
		return []error{fmt.Errorf("roofline: %s: %d; accepted: 0 (default) or 1..%d", field, v, MaxDim)}
	}
	if v > 0 && len(blockDTypes) > 0 && v%tensor.QK != 0 {
		return []error{fmt.Errorf("roofline: %s: %d is not a multiple of %d, which %s need; accepted: a multiple of %d",
			field, v, tensor.QK, strings.Join(blockDTypes, " and "), tensor.QK)}
	}
	return nil
}

// matrixBytes returns the bytes of an m×k matrix of dt (k already validated).
func matrixBytes(dt tensor.DType, m, k int) int64 {
	rb, err := dt.RowBytes(k)
	if err != nil {
		return 0
	}
	return int64(m) * int64(rb)
}

func dtypeNames() string {
	var s []string
	for _, dt := range tensor.DTypes {
		s = append(s, dt.String())
	}
	return strings.Join(s, ", ")
}

func tierNames(ts []kernels.Tier) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.String())
	}
	return strings.Join(s, ", ")
}

// isaNames lists ISA paths by name, or says there are none.
func isaNames(is []kernels.ISA) string {
	if len(is) == 0 {
		return "none here (the simd tier is not usable in this process)"
	}
	var s []string
	for _, i := range is {
		s = append(s, i.String())
	}
	return strings.Join(s, ", ")
}

// configs returns the kernel configurations Run measures, in its order, thread counts aside:
// the generic tier once, the simd tier once for each of ISAs and each of Prefetch. o must
// have its defaults.
func (o Options) configs() []kernels.Config {
	var cs []kernels.Config
	for _, t := range o.Tiers {
		if t != kernels.SIMD {
			cs = append(cs, kernels.Config{Tier: t})
			continue
		}
		for _, isa := range o.ISAs {
			for _, pf := range o.Prefetch {
				cs = append(cs, kernels.Config{Tier: t, ISA: isa, Prefetch: pf})
			}
		}
	}
	return cs
}

// EffectiveISAs returns the simd tier's paths Run measures with o: ISAs, or its default.
func (o Options) EffectiveISAs() []kernels.ISA { return o.withDefaults().ISAs }

// EffectivePrefetch returns the simd tier's prefetch settings Run measures with o, auto
// resolved to this CPU's choice (kernels.DetectPrefetch).
func (o Options) EffectivePrefetch() []kernels.Prefetch {
	ps := o.withDefaults().Prefetch
	for i, p := range ps {
		ps[i] = p.Resolve()
	}
	return ps
}

// RowCount returns the number of rows Run makes with o (valid): one per dtype, kernel
// configuration (a tier, and for simd each of its ISAs and prefetch settings), thread count
// and op.
func (o Options) RowCount() int {
	d := o.withDefaults()
	return len(d.DTypes) * len(d.configs()) * len(d.Threads) * len(d.Ops)
}

func opNames() string {
	var s []string
	for _, op := range Ops() {
		s = append(s, string(op))
	}
	return strings.Join(s, ", ")
}
