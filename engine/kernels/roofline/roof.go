package roofline

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/infertune/infertune/engine/tensor"
)

// roofTrials is the number of timed trials of each roof per measurement; the fastest counts.
// Many short trials beat a few long ones on a shared machine: one of them likely runs
// undisturbed.
const roofTrials = 5

// roofTrialTime returns how long one roof trial lasts at least: MinTime/30, kept between
// 200µs and 10ms.
func roofTrialTime(minTime time.Duration) time.Duration {
	return min(max(minTime/30, 200*time.Microsecond), 10*time.Millisecond)
}

// fmaIters is the number of iterations of one call of the FMA loop: some tens of
// microseconds, short enough that the caller is soon at a preemption point again (assembly
// is never preempted asynchronously).
const fmaIters = 1 << 14

// fmaA and fmaB are the operands of the FMA peak loop; with accumulators starting at 1 they
// stay normal numbers however long the loop runs (the sum stops growing near 2^4).
const (
	fmaA = 1
	fmaB = 1.0 / (1 << 20)
)

// gang runs one function on several OS threads at once: worker 0 is the goroutine that calls
// run, workers 1..threads-1 are goroutines locked to their own OS threads. The gang's owner
// calls close, which stops them and waits for them to exit.
type gang struct {
	work   []chan func(worker int)
	done   sync.WaitGroup
	exited sync.WaitGroup
}

func newGang(threads int) *gang {
	g := &gang{}
	for w := 1; w < threads; w++ {
		ch := make(chan func(int), 1)
		g.work = append(g.work, ch)
		g.exited.Add(1)
		go func() {
			defer g.exited.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for f := range ch {
				f(w)
				g.done.Done()
			}
		}()
	}
	return g
}

// threads returns the number of workers, the caller included.
func (g *gang) threads() int { return len(g.work) + 1 }

// run calls f(w) on every worker w at once and returns when all are done.
func (g *gang) run(f func(worker int)) {
	g.done.Add(len(g.work))
	for _, ch := range g.work {
		ch <- f
	}
	f(0)
	g.done.Wait()
}

func (g *gang) close() {
	for _, ch := range g.work {
		close(ch)
	}
	g.exited.Wait()
}

// probe is a roof measured one trial at a time: a trial runs round reps times on every
// worker of g at once, and work is what one round does on all workers together (bytes read,
// or floating-point operations), so a trial's rate is reps·work over its time.
type probe struct {
	g     *gang
	round func(worker int)
	work  float64
	reps  int
}

// timed runs one trial and returns its time. Workers check ctx between rounds, so a cancel
// cuts a trial short; the time of a cut trial means nothing, and timed then returns ctx.Err().
func (p *probe) timed(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	p.g.run(func(w int) {
		for range p.reps {
			if ctx.Err() != nil {
				return
			}
			p.round(w)
		}
	})
	d := time.Since(start)
	return d, ctx.Err()
}

// warm runs one untimed round on every worker.
func (p *probe) warm(ctx context.Context) error {
	reps := p.reps
	p.reps = 1
	_, err := p.timed(ctx)
	p.reps = reps
	return err
}

// trial runs one trial and returns its rate in work per nanosecond (GB/s or GFLOP/s).
func (p *probe) trial(ctx context.Context) (float64, error) {
	d, err := p.timed(ctx)
	if err != nil {
		return 0, err
	}
	return p.work * float64(p.reps) / float64(max(d.Nanoseconds(), 1)), nil
}

// calibrate sets reps so that a trial lasts at least target, growing them from one; those
// trials warm caches and clocks up and are not counted.
func (p *probe) calibrate(ctx context.Context, target time.Duration) error {
	p.reps = 1
	for {
		d, err := p.timed(ctx)
		if err != nil {
			return err
		}
		if d >= target || p.reps >= 1<<30 {
			return nil
		}
		grow := 100
		if d > 0 {
			grow = min(grow, int(1.2*float64(target)/float64(d))+1)
		}
		p.reps *= max(grow, 2)
	}
}

// best calibrates p to target and returns the best rate of roofTrials trials.
func (p *probe) best(ctx context.Context, target time.Duration) (float64, error) {
	if err := p.calibrate(ctx, target); err != nil {
		return 0, err
	}
	best := 0.0
	for range roofTrials {
		rate, err := p.trial(ctx)
		if err != nil {
			return 0, err
		}
		best = max(best, rate)
	}
	return best, nil
}

// fmaProbes returns a probe of the FMA peak on g's threads for each loop, each thread on its
// own accumulators; work is in GFLOP (a rate in GFLOP/s).
func fmaProbes(g *gang, loops []fmaLoop) []*probe {
	var ps []*probe
	for _, loop := range loops {
		accs := make([][]float32, g.threads())
		for w := range accs {
			accs[w] = make([]float32, loop.lanes*loop.accs)
			for i := range accs[w] {
				accs[w][i] = 1
			}
		}
		ps = append(ps, &probe{g: g,
			round: func(w int) { loop.run(fmaIters, fmaA, fmaB, accs[w]) },
			work:  loop.flopsPerIter() * fmaIters * float64(g.threads())})
	}
	return ps
}

// readProbes returns a probe of how fast g's threads together read buf for each loop: each
// thread sums its own contiguous part (split), all threads at once; work is in bytes (a rate
// in GB/s).
func readProbes(g *gang, buf []byte, loops []sumLoop) []*probe {
	parts := split(buf, g.threads())
	var ps []*probe
	for _, loop := range loops {
		sink := make([]float32, len(parts))
		ps = append(ps, &probe{g: g,
			round: func(w int) {
				if w < len(parts) {
					sink[w] += readSum(parts[w], loop.sum)
				}
			},
			work: float64(len(buf))})
	}
	return ps
}

// bestOf returns the best rate of any of ps (each calibrated to target, best of roofTrials).
func bestOf(ctx context.Context, ps []*probe, target time.Duration) (float64, error) {
	best := 0.0
	for _, p := range ps {
		rate, err := p.best(ctx, target)
		if err != nil {
			return 0, err
		}
		best = max(best, rate)
	}
	return best, nil
}

// fmaPeak measures the FMA peak of g's threads together in GFLOP/s: each loop on every thread
// at once; the fastest loop counts.
func fmaPeak(ctx context.Context, g *gang, loops []fmaLoop, target time.Duration) (float64, error) {
	return bestOf(ctx, fmaProbes(g, loops), target)
}

// readRoof measures how fast g's threads together read buf in GB/s with each loop; the
// fastest loop counts.
func readRoof(ctx context.Context, g *gang, buf []byte, loops []sumLoop, target time.Duration) (float64, error) {
	return bestOf(ctx, readProbes(g, buf, loops), target)
}

// split cuts b into at most n contiguous parts of nearly equal size, each starting on a
// 64-byte boundary of b.
func split(b []byte, n int) [][]byte {
	chunk := (len(b) + n - 1) / n
	chunk = (chunk + 63) &^ 63
	var parts [][]byte
	for lo := 0; lo < len(b); lo += chunk {
		parts = append(parts, b[lo:min(lo+chunk, len(b))])
	}
	return parts
}

// readBuffer returns an aligned buffer of n bytes with every page written (a page never
// written reads as the shared zero page, from cache, and would inflate the roof).
func readBuffer(n int64) []byte {
	b := tensor.AlignedBytes(int(n))
	const seed = 4096
	f := tensor.AsF32(b[:min(int64(len(b)), seed)])
	for i := range f {
		f[i] = float32(i & 7)
	}
	for done := min(len(b), seed); done < len(b); done *= 2 {
		copy(b[done:], b[:done])
	}
	return b
}
