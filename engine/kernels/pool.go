package kernels

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool is a persistent set of worker goroutines that share one parallel loop at a time.
//
// Ownership: newPool starts threads-1 goroutines; the goroutine that calls run is worker 0,
// so a pool of one thread starts none. close stops them and waits for them to exit. run may
// be called by one goroutine at a time (Kernels holds a mutex around it).
//
// Scheduling: the chunks of a loop are cut into one contiguous home range per worker, each
// one atomic word. A worker claims chunks from the front of its home range first and then
// from the back of the others' ranges, so uneven progress (a thread slowed by a neighbour)
// is balanced without breaking the owner's streams, while in the common case worker w
// touches the same rows on every call: a weight matrix
// that fits in the caches then stays in the cache of the core that reads it (on CPUs whose
// cores do not share a last-level cache, a plain shared counter sends rows to a different
// core's cache on every call).
//
// Hand-off: neither side goes through the Go scheduler while loops come back to back. A
// worker that has finished a loop looks for the next one in its slot for up to spinTime,
// yielding its P every few looks, and only then parks on its wake channel; the caller, once
// its own chunks are done, looks at the job's count of workers still running until it is
// zero, yielding its P every few looks (it never parks: what it waits for is a chunk
// already under way, and a worker without a P can run on the caller's). Parking both
// sides (a channel send to wake a worker, a WaitGroup for the caller) cost about 100 µs a
// loop on two vCPUs: the Go scheduler queues
// a goroutine woken by a running one as the next to run on the waker's own P, and another
// P takes it from there only after a back-off, so the second thread joined a 150 µs loop
// 100 µs late and joined hardly any of a decode step's MatVecs of tens of microseconds.
// Measured here, two threads, against that: s15m decode of one sequence 320-350 -> 500-580
// tokens/s in fp32 and 670-810 -> 1,070-1,960 in int8 (one thread: 250-300 and 710-1,080,
// the same hour), 16 sequences a step 2,680-2,750 -> 2,830-3,560, a 4096×4096 q4_0 MatVec
// 20.7-22.3 -> 27.4-28.5 GB/s. The idle spin costs at most spinTime of a CPU after the last
// loop of a burst, on the workers' lowered priority.
type pool struct {
	threads int
	nice    int // niceness of the worker threads (0: unchanged)
	workers []*worker
	quit    atomic.Bool
	wg      sync.WaitGroup
}

// spinTime is how long an idle worker looks for the next loop before it parks: longer than
// the gaps between the loops of a decode step (attention and norms between its MatVecs);
// 200 µs measured no different.
const spinTime = 50 * time.Microsecond

// worker is the hand-off state of one worker goroutine.
type worker struct {
	slot   atomic.Pointer[job] // the next loop, taken by the worker
	parked atomic.Bool         // the worker waits on wake (or is about to)
	wake   chan struct{}       // capacity 1: a token for a parked worker
	_      [40]byte            // keep workers' hot fields on their own cache lines
}

// job is one parallel loop over chunks [0, chunks), split into home ranges.
type job struct {
	ranges []homeRange
	fn     func(chunk, worker int)
	left   atomic.Int32 // workers other than the caller still running the loop
}

// homeRange is the chunks not yet claimed from one worker's home range, [lo, hi) packed
// into one word (lo in the low 32 bits) so that its owner, which claims from the front,
// and the other workers, which claim from the back, each take a chunk with one
// compare-and-swap and never the same one.
type homeRange struct {
	span atomic.Uint64
	_    [56]byte // keep each range on its own cache line
}

// set makes the range the chunks [lo, hi).
func (r *homeRange) set(lo, hi int) { r.span.Store(uint64(hi)<<32 | uint64(lo)) }

// take claims the range's first chunk (the owner's next), or its last with fromBack (for a
// worker whose own range is done); ok is false when none is left.
func (r *homeRange) take(fromBack bool) (chunk int, ok bool) {
	for {
		s := r.span.Load()
		lo, hi := uint32(s), uint32(s>>32)
		if lo >= hi {
			return 0, false
		}
		next, at := s+1, lo
		if fromBack {
			next, at = s-1<<32, hi-1
		}
		if r.span.CompareAndSwap(s, next) {
			return int(at), true
		}
	}
}

func newPool(threads, nice int) *pool {
	p := &pool{threads: threads, nice: nice}
	for w := 1; w < threads; w++ {
		wk := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, wk)
		p.wg.Add(1)
		go p.work(wk, w)
	}
	return p
}

func (p *pool) work(wk *worker, id int) {
	defer p.wg.Done()
	_ = LowerThreadPriority(p.nice) // best effort: a failure only costs the generator priority
	for {
		j := p.next(wk)
		if j == nil {
			return
		}
		j.claim(id)
		j.left.Add(-1)
	}
}

// next returns wk's next loop, or nil once the pool is closing: it looks for one for up to
// spinTime, yielding its P every few looks, then parks until run or close wakes it.
// parked is set before the last look at the slot and run stores the slot before it reads
// parked (both sequentially consistent), so either the worker sees the loop or run sees the
// worker parked and wakes it; a token left over from a wake that was not needed only makes
// the worker look once more.
func (p *pool) next(wk *worker) *job {
	start := time.Now()
	for i := 1; ; i++ {
		if wk.slot.Load() != nil {
			if j := wk.slot.Swap(nil); j != nil {
				return j
			}
		}
		if p.quit.Load() {
			return nil
		}
		if i%64 == 0 {
			if time.Since(start) > spinTime {
				break
			}
			runtime.Gosched()
		}
	}
	for {
		wk.parked.Store(true)
		if j := wk.slot.Swap(nil); j != nil {
			wk.parked.Store(false)
			return j
		}
		if p.quit.Load() {
			return nil
		}
		<-wk.wake
		wk.parked.Store(false)
	}
}

// claim runs the chunks of the worker's home range front to back, then those left in the
// other ranges in turn, each from its back, until none is left. Taken from the back, the
// chunks a slower owner has not reached leave the rows it streams whole: taken from the
// front, every stolen chunk broke the owner's streams of rows and its hardware
// prefetchers started again.
func (j *job) claim(worker int) {
	n := len(j.ranges)
	for c, ok := j.ranges[worker].take(false); ok; c, ok = j.ranges[worker].take(false) {
		j.fn(c, worker)
	}
	for i := 1; i < n; i++ {
		r := &j.ranges[(worker+i)%n]
		for c, ok := r.take(true); ok; c, ok = r.take(true) {
			j.fn(c, worker)
		}
	}
}

// run calls fn(c, worker) once for every chunk c in [0, chunks), spread over the workers; the
// calling goroutine is worker 0. It returns when every chunk is done. Workers beyond the
// number of chunks are not woken.
func (p *pool) run(chunks int, fn func(chunk, worker int)) {
	if chunks <= 0 {
		return
	}
	if chunks > math.MaxUint32 {
		panic(fmt.Sprintf("kernels: pool: %d chunks, more than a home range holds", chunks))
	}
	workers := min(p.threads, chunks)
	if workers == 1 {
		for c := range chunks {
			fn(c, 0)
		}
		return
	}
	j := &job{ranges: make([]homeRange, workers), fn: fn}
	for w := range workers {
		j.ranges[w].set(w*chunks/workers, (w+1)*chunks/workers)
	}
	j.left.Store(int32(workers - 1))
	for _, wk := range p.workers[:workers-1] {
		wk.slot.Store(j)
		if wk.parked.Load() {
			select {
			case wk.wake <- struct{}{}:
			default: // a token is already there
			}
		}
	}
	j.claim(0)
	for i := 1; j.left.Load() > 0; i++ {
		if i%64 == 0 {
			runtime.Gosched() // a worker without a P can run on this one
		}
	}
}

// close stops the workers and waits for them. The pool must not be used afterwards.
func (p *pool) close() {
	p.quit.Store(true)
	for _, wk := range p.workers {
		select {
		case wk.wake <- struct{}{}:
		default:
		}
	}
	p.wg.Wait()
	p.workers = nil
}
