package kernels

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infertune/infertune/engine/tensor"
)

func TestPoolRunsEveryChunkOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := newPool(threads, 0)
		for _, chunks := range []int{0, 1, 2, 3, 7, 64, 1000} {
			hits := make([]atomic.Int32, chunks)
			var badWorker atomic.Bool
			p.run(chunks, func(c, w int) {
				hits[c].Add(1)
				if w < 0 || w >= threads {
					badWorker.Store(true)
				}
				if c%7 == 0 {
					runtime.Gosched() // uneven progress: others steal
				}
			})
			for c := range hits {
				if n := hits[c].Load(); n != 1 {
					t.Fatalf("threads=%d chunks=%d: chunk %d ran %d times", threads, chunks, c, n)
				}
			}
			if badWorker.Load() {
				t.Fatalf("threads=%d: worker index out of range", threads)
			}
		}
		p.close()
	}
}

// TestPoolHomeRanges checks that, with no stealing needed, worker w runs the chunks of its
// home range, front to back: the property that keeps a matrix in the same core's cache
// across calls; and that it then takes the other ranges' chunks from their backs, leaving
// their owners' fronts (the rows they stream) alone.
func TestPoolHomeRanges(t *testing.T) {
	p := newPool(1, 0)
	defer p.close()
	j := &job{ranges: make([]homeRange, 3), fn: nil}
	for w := range 3 {
		j.ranges[w].set(w*9/3, (w+1)*9/3)
	}
	var got []int
	j.fn = func(c, _ int) { got = append(got, c) }
	j.claim(1)
	want := []int{3, 4, 5, 8, 7, 6, 2, 1, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("worker 1 claimed %v, want %v", got, want)
		}
	}
}

// TestParallelAndSerial: Parallel calls every index once, on workers in range, and a
// Serial Kernels per worker computes there what the pooled Kernels computes.
func TestParallelAndSerial(t *testing.T) {
	k := newKernels(t, Config{Tier: Generic, Threads: 3})
	serial := []*Kernels{k.Serial(), k.Serial(), k.Serial()}
	r := rand.New(rand.NewPCG(3, 3))
	w := randMatrix(t, r, tensor.Q8_0, 40, 64)
	const n = 5
	x := randVec(r, n*64)
	want := make([]float32, n*40)
	k.MatMul(want, w, x, n)
	got := make([][]float32, 24)
	var bad atomic.Bool
	k.Parallel(len(got), func(i, worker int) {
		if worker < 0 || worker >= 3 || got[i] != nil {
			bad.Store(true)
			return
		}
		got[i] = make([]float32, n*40)
		serial[worker].MatMul(got[i], w, x, n)
	})
	if bad.Load() {
		t.Fatal("a worker index out of range, or an index run twice")
	}
	for i, g := range got {
		if g == nil {
			t.Fatalf("index %d never ran", i)
		}
		for j := range g {
			if g[j] != want[j] {
				t.Fatalf("index %d: serial MatMul [%d] = %v, pooled %v", i, j, g[j], want[j])
			}
		}
	}
}

// TestPoolHandOff runs loops back to back (the workers find them while they spin), after
// pauses longer than spinTime (the workers have parked and are woken), and with plain
// non-atomic writes that the caller reads after run returns (run must order them); then
// close must stop spinning and parked workers alike, leaving no goroutine behind.
func TestPoolHandOff(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, threads := range []int{2, 4} {
		p := newPool(threads, 0)
		out := make([]int, 64)
		for round := range 40 {
			if round%4 == 3 {
				time.Sleep(3 * spinTime) // let the workers park
			}
			p.run(len(out), func(c, _ int) { out[c] = round*1000 + c })
			for c, v := range out {
				if v != round*1000+c {
					t.Fatalf("threads=%d round %d: out[%d] = %d, want %d", threads, round, c, v, round*1000+c)
				}
			}
		}
		p.close()
		// Close right after a loop (workers spinning) and after a pause (workers parked).
		for _, pause := range []time.Duration{0, 3 * spinTime} {
			q := newPool(threads, 0)
			q.run(threads, func(int, int) {})
			time.Sleep(pause)
			q.close()
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines left after close", after-before)
	}
}
