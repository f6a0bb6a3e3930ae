package roofline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/tensor"
)

// hooks let tests observe a run from inside; the zero value observes nothing.
type hooks struct {
	// afterCall runs after every timed kernel call.
	afterCall func()
}

// Run measures the roofs, then every row opt selects, in the order dtype, tier, threads, op
// (matvec hot, matvec cold, matmul), calling progress (when not nil) after each row on the
// calling goroutine. It fails at once, with a nil Report, when opt does not validate.
//
// Each roof in Report.Roofs is the best of every measurement of it: the sweep before the rows
// (every working set at every thread count, 1 included) and the measurements next to each row
// that uses it. A row's PctOfRoof is against the roof measured
// right before and right after that row (Row.Roof), so that a row and its roof see the same
// neighbours on a shared machine, where bandwidth moves by tens of percent from one second to
// the next.
//
// Cancelling ctx stops Run between and within rows and roof trials: it returns the roofs and
// rows finished so far (a row cut short is dropped) together with ctx.Err().
func Run(ctx context.Context, opt Options, progress func(Row)) (*Report, error) {
	return run(ctx, opt, progress, hooks{})
}

func run(ctx context.Context, opt Options, progress func(Row), h hooks) (*Report, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	o := opt.withDefaults()
	r := &runner{o: o, progress: progress, hooks: h,
		rng: rand.New(rand.NewPCG(o.Seed, 0x726f6f666c696e65))}
	for _, dt := range o.DTypes {
		r.plans = append(r.plans, newPlan(o, dt))
	}
	r.rep = &Report{
		Host: thisHost(),
		Roofs: Roofs{
			ReadGBps:           map[int64]float64{},
			ReadGBpsByThreads:  map[int]map[int64]float64{},
			FMAGFlopsByThreads: map[int]float64{},
		},
		Rows: []Row{},
	}
	if err := ctx.Err(); err != nil {
		return r.rep, err
	}
	defer func() {
		r.buf = nil
		debug.FreeOSMemory() // the read buffer, up to the cold working set
	}()
	if err := r.measureRoofs(ctx); err != nil {
		return r.rep, err
	}
	for _, p := range r.plans {
		err := r.runDType(ctx, p)
		if o.has(OpMatVecCold) {
			debug.FreeOSMemory() // this dtype's cold cycle, before the next one's
		}
		if err != nil {
			return r.rep, err
		}
	}
	return r.rep, nil
}

// runner holds the state of one Run.
type runner struct {
	o        Options
	progress func(Row)
	hooks    hooks
	rng      *rand.Rand
	plans    []plan
	rep      *Report

	mvSrc, mmSrc []float32 // fp32 weights every dtype's matrices are made from
	x, xBatch    []float32 // activations: one MatVec vector, one MatMul batch
	buf          []byte    // the read roofs' buffer while rows run
}

// adjacentRoof measures the roof of one row (the read roof at its working set and thread
// count, or the FMA peak at its thread count), folds it into the report's roofs, and returns
// it.
func (r *runner) adjacentRoof(ctx context.Context, op Op, threads int, ws int64) (float64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	g := newGang(threads)
	defer g.close()
	if op == OpMatMul {
		return r.fmaRoof(ctx, g)
	}
	return r.readRoofAt(ctx, g, ws)
}

// fmaRoof measures the FMA peak on g's threads and folds it into the report's roofs.
func (r *runner) fmaRoof(ctx context.Context, g *gang) (float64, error) {
	peak, err := fmaPeak(ctx, g, fmaLoops(), roofTrialTime(r.o.MinTime))
	if err != nil {
		return 0, err
	}
	roofs := &r.rep.Roofs
	t := g.threads()
	roofs.FMAGFlopsByThreads[t] = max(roofs.FMAGFlopsByThreads[t], peak)
	roofs.FMAGFlops = roofs.FMAGFlopsByThreads[1]
	return peak, nil
}

// readRoofAt measures the read roof of ws bytes on g's threads and folds it into the
// report's roofs. The read buffer is kept, grown to the largest size asked for, until Run
// returns.
func (r *runner) readRoofAt(ctx context.Context, g *gang, ws int64) (float64, error) {
	if int64(len(r.buf)) < ws {
		r.buf = nil
		r.buf = readBuffer(ws)
	}
	gbps, err := readRoof(ctx, g, r.buf[:ws], sumLoops(), roofTrialTime(r.o.MinTime))
	if err != nil {
		return 0, err
	}
	roofs := &r.rep.Roofs
	t := g.threads()
	bySize := roofs.ReadGBpsByThreads[t]
	if bySize == nil {
		bySize = map[int64]float64{}
		roofs.ReadGBpsByThreads[t] = bySize
	}
	bySize[ws] = max(bySize[ws], gbps)
	roofs.ReadGBps = roofs.ReadGBpsByThreads[1]
	return gbps, nil
}

// plan is what one dtype measures and the sizes of its working sets.
type plan struct {
	dt         tensor.DType
	mvBytes    int64 // one MatVec matrix
	coldCopies int   // matrices in the cold cycle
	mmBytes    int64 // the MatMul matrix
}

func newPlan(o Options, dt tensor.DType) plan {
	p := plan{dt: dt, mvBytes: matrixBytes(dt, o.MatVecM, o.MatVecK), mmBytes: matrixBytes(dt, o.MatMulM, o.MatMulK)}
	if p.mvBytes > 0 {
		p.coldCopies = int(max(1, (o.ColdBytes+p.mvBytes-1)/p.mvBytes))
	}
	return p
}

// workingSet returns the bytes a row of op cycles over.
func (p plan) workingSet(op Op) int64 {
	switch op {
	case OpMatVecHot:
		return p.mvBytes
	case OpMatVecCold:
		return p.mvBytes * int64(p.coldCopies)
	}
	return p.mmBytes
}

// roofSizes returns every working set a selected row uses, ascending.
func (r *runner) roofSizes() []int64 {
	var sizes []int64
	for _, p := range r.plans {
		for _, op := range r.o.Ops {
			sizes = append(sizes, p.workingSet(op))
		}
	}
	slices.Sort(sizes)
	return slices.Compact(sizes)
}

// roofThreads returns the thread counts of the rows and 1, ascending.
func (r *runner) roofThreads() []int {
	ts := append([]int{1}, r.o.Threads...)
	slices.Sort(ts)
	return slices.Compact(ts)
}

// measureRoofs measures the FMA peak and the read bandwidth at every working set, at every
// thread count, and raises r.rep.Roofs to them where they are higher.
func (r *runner) measureRoofs(ctx context.Context) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sizes := r.roofSizes()
	for _, t := range r.roofThreads() {
		g := newGang(t)
		_, err := r.fmaRoof(ctx, g)
		for _, ws := range sizes {
			if err != nil {
				break
			}
			_, err = r.readRoofAt(ctx, g, ws)
		}
		g.close()
		if err != nil {
			return err
		}
	}
	return nil
}

// gaussian returns n values drawn from the standard normal distribution.
func gaussian(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// runDType measures every row of one dtype. The cold matrices are copies of the hot one
// (their contents do not matter for bandwidth); they are garbage once it returns.
func (r *runner) runDType(ctx context.Context, p plan) error {
	o := r.o
	hot, cold, mm := o.has(OpMatVecHot), o.has(OpMatVecCold), o.has(OpMatMul)
	var mv, mmw *tensor.Matrix
	var cycle []*tensor.Matrix
	var err error
	if hot || cold {
		if r.mvSrc == nil {
			r.mvSrc = gaussian(r.rng, o.MatVecM*o.MatVecK)
			r.x = gaussian(r.rng, o.MatVecK)
		}
		if mv, err = tensor.FromF32(p.dt, o.MatVecM, o.MatVecK, r.mvSrc); err != nil {
			return fmt.Errorf("roofline: matvec weights: %w", err)
		}
	}
	if cold {
		cycle = make([]*tensor.Matrix, p.coldCopies)
		cycle[0] = mv
		for i := 1; i < len(cycle); i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, err := tensor.NewMatrix(p.dt, o.MatVecM, o.MatVecK)
			if err != nil {
				return fmt.Errorf("roofline: cold weights: %w", err)
			}
			copy(m.Data, mv.Data)
			cycle[i] = m
		}
	}
	if mm {
		if r.mmSrc == nil {
			r.mmSrc = gaussian(r.rng, o.MatMulM*o.MatMulK)
			r.xBatch = gaussian(r.rng, o.MatMulN*o.MatMulK)
		}
		if mmw, err = tensor.FromF32(p.dt, o.MatMulM, o.MatMulK, r.mmSrc); err != nil {
			return fmt.Errorf("roofline: matmul weights: %w", err)
		}
	}
	y := make([]float32, o.MatVecM)
	yBatch := make([]float32, o.MatMulN*o.MatMulM)

	for _, tier := range o.Tiers {
		for _, threads := range o.Threads {
			k, err := kernels.New(kernels.Config{Tier: tier, Threads: threads})
			if err != nil {
				return fmt.Errorf("roofline: %w", err)
			}
			for _, op := range Ops() {
				if !o.has(op) {
					continue
				}
				var call func(i int)
				warmCalls := 1
				switch op {
				case OpMatVecHot:
					call = func(int) { k.MatVec(y, mv, r.x) }
				case OpMatVecCold:
					call = func(i int) { k.MatVec(y, cycle[i%len(cycle)], r.x) }
					warmCalls = len(cycle)
				case OpMatMul:
					call = func(int) { k.MatMul(yBatch, mmw, r.xBatch, o.MatMulN) }
				}
				ws := p.workingSet(op)
				before, err := r.adjacentRoof(ctx, op, threads, ws)
				if err != nil {
					k.Close()
					return err
				}
				calls, elapsed, err := r.timeCalls(ctx, warmCalls, call)
				if err != nil {
					k.Close()
					return err
				}
				after, err := r.adjacentRoof(ctx, op, threads, ws)
				if err != nil {
					k.Close()
					return err
				}
				row := r.row(p, op, k, calls, elapsed, max(before, after))
				r.rep.Rows = append(r.rep.Rows, row)
				if r.progress != nil {
					r.progress(row)
				}
			}
			k.Close()
		}
	}
	return nil
}

// timeCalls makes warm untimed calls, then calls call(i) for i = 0, 1, … until MinTime has
// passed and at least minCalls calls were made, and returns the fastest batch: calls are
// timed in batches of consecutive calls (each at least minCalls calls and MinTime/batches
// long), and the batch with the lowest time per call is reported. That is the statistic of
// the roofs (the best pass), so a row and its roof are compared like for like; on a shared
// machine a mean over all calls mostly measures the neighbours. It checks ctx before every
// call.
func (r *runner) timeCalls(ctx context.Context, warm int, call func(i int)) (calls int, elapsed time.Duration, err error) {
	for i := range warm {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		call(i)
	}
	batchTime := r.o.MinTime / batches
	start := time.Now()
	batchStart, batchCalls := start, 0
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			if calls == 0 {
				calls, elapsed = batchCalls, time.Since(batchStart)
			}
			return calls, elapsed, err
		}
		call(total)
		total++
		batchCalls++
		if r.hooks.afterCall != nil {
			r.hooks.afterCall()
		}
		now := time.Now()
		if d := now.Sub(batchStart); batchCalls >= minCalls && d >= batchTime {
			if calls == 0 || d*time.Duration(calls) < elapsed*time.Duration(batchCalls) {
				calls, elapsed = batchCalls, d
			}
			batchStart, batchCalls = now, 0
		}
		if total >= minCalls && calls > 0 && now.Sub(start) >= r.o.MinTime {
			return calls, elapsed, nil
		}
	}
}

// row builds the Row of one timed op.
func (r *runner) row(p plan, op Op, k *kernels.Kernels, calls int, elapsed time.Duration, roof float64) Row {
	o := r.o
	row := Row{
		DType:           p.dt.String(),
		Tier:            k.Tier().String(),
		ISA:             k.ISA().String(),
		Threads:         k.Threads(),
		Op:              op.Kernel(),
		Cache:           op.Cache(),
		WorkingSetBytes: p.workingSet(op),
	}
	weightBytes := p.mvBytes
	if op == OpMatMul {
		row.M, row.K, row.N = o.MatMulM, o.MatMulK, o.MatMulN
		weightBytes = p.mmBytes
	} else {
		row.M, row.K, row.N = o.MatVecM, o.MatVecK, 1
	}
	row.NsPerCall = float64(elapsed.Nanoseconds()) / float64(max(calls, 1))
	if row.NsPerCall > 0 {
		// Operations (or bytes) per nanosecond are GFLOP/s (or GB/s).
		row.GFlops = 2 * float64(row.M) * float64(row.K) * float64(row.N) / row.NsPerCall
		row.GBps = float64(weightBytes) / row.NsPerCall
	}
	row.Roof = roof
	if roof > 0 {
		got := row.GBps
		if op == OpMatMul {
			got = row.GFlops
		}
		row.PctOfRoof = got / roof * 100
	}
	return row
}

// pctOfRoof returns the row's throughput as a percentage of its roof: GBps over the read roof
// at its threads and working set for matvec, GFlops over the FMA peak at its threads for
