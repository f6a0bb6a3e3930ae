package kernels

import (
	"sync"
	"sync/atomic"
)

// pool is a persistent set of worker goroutines that share one parallel loop at a time.
//
// Ownership: newPool starts threads-1 goroutines; the goroutine that calls run is worker 0,
// so a pool of one thread starts none. close stops them and waits for them to exit. run may
// be called by one goroutine at a time (Kernels holds a mutex around it).
//
// Scheduling: the chunks of a loop are cut into one contiguous home range per worker, each
// with its own atomic counter. A worker claims chunks from its home range first and then
// from the others' ranges, so uneven progress (a thread slowed by a neighbour) is balanced,
// while in the common case worker w touches the same rows on every call: a weight matrix
// that fits in the caches then stays in the cache of the core that reads it (on CPUs whose
// cores do not share a last-level cache, a plain shared counter sends rows to a different
// core's cache on every call).
type pool struct {
	threads int
	nice    int         // niceness of the worker threads (0: unchanged)
	jobs    []chan *job // one per worker goroutine, capacity 1
	wg      sync.WaitGroup
}

// job is one parallel loop over chunks [0, chunks), split into home ranges.
type job struct {
	ranges []homeRange
	fn     func(chunk, worker int)
	done   sync.WaitGroup
}

// homeRange is the chunks [next, end) not yet claimed from one worker's home range.
type homeRange struct {
	next atomic.Int64
	end  int64
	_    [48]byte // keep each counter on its own cache line
}

func newPool(threads, nice int) *pool {
	p := &pool{threads: threads, nice: nice}
	for w := 1; w < threads; w++ {
		ch := make(chan *job, 1)
		p.jobs = append(p.jobs, ch)
		p.wg.Add(1)
		go p.work(ch, w)
	}
	return p
}

func (p *pool) work(ch <-chan *job, worker int) {
	defer p.wg.Done()
	_ = LowerThreadPriority(p.nice) // best effort: a failure only costs the generator priority
	for j := range ch {
		j.claim(worker)
		j.done.Done()
	}
}

// claim runs chunks of the worker's home range, then of the other ranges in turn, until
// none is left.
func (j *job) claim(worker int) {
	n := len(j.ranges)
	for i := range n {
		r := &j.ranges[(worker+i)%n]
		for {
			c := r.next.Add(1) - 1
			if c >= r.end {
				break
			}
			j.fn(int(c), worker)
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
	workers := min(p.threads, chunks)
	if workers == 1 {
		for c := range chunks {
			fn(c, 0)
		}
		return
	}
	j := &job{ranges: make([]homeRange, workers), fn: fn}
	for w := range workers {
		j.ranges[w].next.Store(int64(w * chunks / workers))
		j.ranges[w].end = int64((w + 1) * chunks / workers)
	}
	j.done.Add(workers - 1)
	for w := range workers - 1 {
		p.jobs[w] <- j
	}
	j.claim(0)
	j.done.Wait()
}

// close stops the workers and waits for them. The pool must not be used afterwards.
func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
	p.jobs = nil
	p.wg.Wait()
}
