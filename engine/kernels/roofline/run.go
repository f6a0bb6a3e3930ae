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
	// afterTrial runs after every counted trial of a row's roof with its rate (the first
	// comes after choosing and calibrating the roof's loop, whose trials are not counted).
	afterTrial func(rate float64)
}

// Run measures the roofs, then every row opt selects, in the order dtype, tier, threads, op
// (matvec hot, matvec cold, matmul), calling progress (when not nil) after each row on the
// calling goroutine. It fails at once, with a nil Report, when opt does not validate.
//
// Each roof in Report.Roofs is the best of every measurement of it: the sweep before the rows
// (every working set at every thread count, 1 included) and the trials taken between the
// batches of each row that uses it. A row's PctOfRoof is against its own trials (Row.Roof;
// see timeRow), so that a row and its roof see the same neighbours on a shared machine,
// where bandwidth moves by tens of percent from one second to the next.
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

// fmaRoof measures the FMA peak on g's threads and folds it into the report's roofs.
func (r *runner) fmaRoof(ctx context.Context, g *gang) error {
	peak, err := fmaPeak(ctx, g, fmaLoops(), roofTrialTime(r.o.MinTime))
	if err != nil {
		return err
	}
	r.foldFMA(g.threads(), peak)
	return nil
}

// foldFMA raises the report's FMA peak at threads to peak.
func (r *runner) foldFMA(threads int, peak float64) {
	roofs := &r.rep.Roofs
	roofs.FMAGFlopsByThreads[threads] = max(roofs.FMAGFlopsByThreads[threads], peak)
	roofs.FMAGFlops = roofs.FMAGFlopsByThreads[1]
}

// readBuf returns the read roofs' buffer cut to ws bytes. The buffer is kept, grown to the
// largest size asked for, until Run returns.
func (r *runner) readBuf(ws int64) []byte {
	if int64(len(r.buf)) < ws {
		r.buf = nil
		r.buf = readBuffer(ws)
	}
	return r.buf[:ws]
}

// readRoofAt measures the read roof of ws bytes on g's threads and folds it into the
// report's roofs.
func (r *runner) readRoofAt(ctx context.Context, g *gang, ws int64) error {
	gbps, err := readRoof(ctx, g, r.readBuf(ws), sumLoops(), roofTrialTime(r.o.MinTime))
	if err != nil {
		return err
	}
	r.foldRead(g.threads(), ws, gbps)
	return nil
}

// foldRead raises the report's read roof at threads and ws bytes to gbps.
func (r *runner) foldRead(threads int, ws int64, gbps float64) {
	roofs := &r.rep.Roofs
	bySize := roofs.ReadGBpsByThreads[threads]
	if bySize == nil {
		bySize = map[int64]float64{}
		roofs.ReadGBpsByThreads[threads] = bySize
	}
	bySize[ws] = max(bySize[ws], gbps)
	roofs.ReadGBps = roofs.ReadGBpsByThreads[1]
}

// rowRoof returns the probe of a row's roof on g's threads, calibrated so that one trial
// lasts at least target (one of the row's batches): the read roof at ws bytes for matvec,
// the FMA peak for matmul, with the loop that was fastest in one trial of each. Those
// choosing trials are not the roof's: counted with the row's, they would make the roof the
// best of more windows than the row (a loop chosen by its best trial of one, among nine
// read loops on AVX-512, and then seven more), which on a noisy host lifts it by itself.
func (r *runner) rowRoof(ctx context.Context, g *gang, op Op, ws int64, target time.Duration) (*probe, error) {
	var ps []*probe
	if op == OpMatMul {
		ps = fmaProbes(g, fmaLoops())
	} else {
		ps = readProbes(g, r.readBuf(ws), sumLoops())
	}
	var best *probe
	bestRate := 0.0
	for _, p := range ps {
		if err := p.calibrate(ctx, target); err != nil {
			return nil, err
		}
		rate, err := p.trial(ctx)
		if err != nil {
			return nil, err
		}
		if best == nil || rate > bestRate {
			best, bestRate = p, rate
		}
	}
	return best, nil
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
		err := r.fmaRoof(ctx, g)
		for _, ws := range sizes {
			if err != nil {
				break
			}
			err = r.readRoofAt(ctx, g, ws)
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

	for _, cfg := range o.configs() {
		for _, threads := range o.Threads {
			cfg.Threads = threads
			k, err := kernels.New(cfg)
			if err != nil {
				return fmt.Errorf("roofline: %w", err)
			}
			// MatVec reads the layout a model's runner prepacks (the same bytes in
			// another order: q8_0 and q4_0 superblock rows on VNNI; nothing elsewhere).
			var packed int64
			if cold {
				packed = k.PrepackMatVec(cycle...)
			} else if hot {
				packed = k.PrepackMatVec(mv)
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
				calls, elapsed, roof, err := r.timeRow(ctx, op, threads, p.workingSet(op), warmCalls, call)
				if err != nil {
					k.Close()
					return err
				}
				row := r.row(p, op, k, calls, elapsed, roof)
				r.rep.Rows = append(r.rep.Rows, row)
				if r.progress != nil {
					r.progress(row)
				}
			}
			k.Close()
			if packed > 0 {
				debug.FreeOSMemory() // the superblock rows, before the next Kernels makes its own
			}
		}
	}
	return nil
}

// timeRow times one row and its roof side by side: it makes warm untimed calls, then runs
// batches rounds, each one batch of consecutive calls of call(i) (i = 0, 1, …; at least
// minCalls calls and MinTime/batches long) and one trial of the row's roof (as long as a
// batch, of the loop rowRoof chooses before the first), the batch first in even rounds and
// the trial first in odd ones. Hot and matmul rows (rewarm) start every batch after a trial
// with one untimed call, and every trial after a batch with one untimed round of the roof,
// so that neither is timed on a cache the other has just filled; cold working sets are
// never in cache. It returns the
// fastest batch and the best trial. That compares the row with its roof like for like: the
// same statistic (the best of as many windows of the same length), in windows interleaved in
// time, so that neighbours on a shared machine, whose load moves by tens of percent from one
// second to the next, weigh on both alike. It checks ctx before every call and between the
// roof's rounds.
func (r *runner) timeRow(ctx context.Context, op Op, threads int, ws int64, warm int, call func(i int)) (calls int, elapsed time.Duration, roof float64, err error) {
	rewarm := op != OpMatVecCold
	runtime.LockOSThread() // the roof gang's worker 0
	defer runtime.UnlockOSThread()
	g := newGang(threads)
	defer g.close()
	for i := range warm {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, err
		}
		call(i)
	}
	batchTime := r.o.MinTime / batches
	var rp *probe
	roofTrial := func() error {
		var err error
		if rp == nil {
			rp, err = r.rowRoof(ctx, g, op, ws, batchTime)
		} else if rewarm {
			err = rp.warm(ctx)
		}
		if err != nil {
			return err
		}
		rate, err := rp.trial(ctx)
		if err != nil {
			return err
		}
		roof = max(roof, rate)
		if r.hooks.afterTrial != nil {
			r.hooks.afterTrial(rate)
		}
		return nil
	}
	total := 0
	batch := func() error {
		if rewarm && rp != nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			call(total) // untimed: the roof's trial has just filled the cache
			total++
		}
		start, n := time.Now(), 0
		for {
			if err := ctx.Err(); err != nil {
				if calls == 0 {
					calls, elapsed = n, time.Since(start)
				}
				return err
			}
			call(total)
			total++
			n++
			if r.hooks.afterCall != nil {
				r.hooks.afterCall()
			}
			if d := time.Since(start); n >= minCalls && d >= batchTime {
				if calls == 0 || d*time.Duration(calls) < elapsed*time.Duration(n) {
					calls, elapsed = n, d
				}
				return nil
			}
		}
	}
	for round := range batches {
		first, second := batch, roofTrial
		if round%2 == 1 {
			first, second = roofTrial, batch
		}
		if err := first(); err != nil {
			return calls, elapsed, roof, err
		}
		if err := second(); err != nil {
			return calls, elapsed, roof, err
		}
	}
	if op == OpMatMul {
		r.foldFMA(threads, roof)
	} else {
		r.foldRead(threads, ws, roof)
	}
	return calls, elapsed, roof, nil
}

// row builds the Row of one timed op.
func (r *runner) row(p plan, op Op, k *kernels.Kernels, calls int, elapsed time.Duration, roof float64) Row {
	o := r.o
	row := Row{
		DType:           p.dt.String(),
		Tier:            k.Tier().String(),
		ISA:             k.ISA().String(),
		Prefetch:        k.Prefetch().String(),
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
