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

// fastestRound times round on every worker of g at once and returns the fastest time of one
// round in seconds. It first grows the number of rounds per trial until a trial lasts at least
// target (those trials warm caches and clocks up and are not counted), then keeps the best of
// roofTrials trials. It checks ctx between trials.
func fastestRound(ctx context.Context, g *gang, target time.Duration, round func(worker int)) (float64, error) {
	trial := func(reps int) time.Duration {
		start := time.Now()
		g.run(func(w int) {
			for range reps {
				round(w)
			}
		})
		return time.Since(start)
	}
	reps := 1
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		d := trial(reps)
		if d >= target || reps >= 1<<30 {
			break
		}
		grow := 100
		if d > 0 {
			grow = min(grow, int(1.2*float64(target)/float64(d))+1)
		}
		reps *= max(grow, 2)
	}
	best := 0.0
	for i := range roofTrials {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s := trial(reps).Seconds() / float64(reps)
		if i == 0 || s < best {
			best = s
		}
	}
	return best, nil
}

// fmaPeak measures the FMA peak of g's threads together in GFLOP/s: each loop on every thread
// at once, each thread on its own accumulators; the fastest loop counts.
func fmaPeak(ctx context.Context, g *gang, loops []fmaLoop, target time.Duration) (float64, error) {
	best := 0.0
	for _, loop := range loops {
		accs := make([][]float32, g.threads())
		for w := range accs {
			accs[w] = make([]float32, loop.lanes*loop.accs)
			for i := range accs[w] {
				accs[w][i] = 1
			}
		}
		s, err := fastestRound(ctx, g, target, func(w int) { loop.run(fmaIters, fmaA, fmaB, accs[w]) })
		if err != nil {
			return 0, err
		}
		best = max(best, loop.flopsPerIter()*fmaIters*float64(g.threads())/s/1e9)
	}
	return best, nil
}

// readRoof measures how fast g's threads together read buf in GB/s: each thread sums its own
// contiguous part (split) with each loop, all threads at once; the fastest loop counts.
func readRoof(ctx context.Context, g *gang, buf []byte, loops []sumLoop, target time.Duration) (float64, error) {
	parts := split(buf, g.threads())
	sink := make([]float32, len(parts))
	best := 0.0
	for _, loop := range loops {
		s, err := fastestRound(ctx, g, target, func(w int) {
			if w < len(parts) {
				sink[w] += readSum(parts[w], loop.sum)
			}
		})
		if err != nil {
			return 0, err
		}
		best = max(best, float64(len(buf))/s/1e9)
	}
	return best, nil
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
