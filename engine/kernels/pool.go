package kernels

import (
	"sync"
	"sync/atomic"
)

// pool is a persistent set of worker goroutines that share one parallel loop at a time.
//
// Ownership: New starts workers-1 goroutines; the goroutine that calls run is the last
// worker, so a pool of one thread starts none. Close stops them and waits for them to exit.
// run may be called by one goroutine at a time (Kernels holds a mutex around it).
type pool struct {
	threads int
	jobs    []chan *job // one per worker goroutine, capacity 1
	wg      sync.WaitGroup
}

// job is one parallel loop: chunks [0, chunks) claimed through next.
type job struct {
	next   atomic.Int64
	chunks int64
	fn     func(chunk, worker int)
	done   sync.WaitGroup
}

func newPool(threads int) *pool {
	p := &pool{threads: threads}
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
	for j := range ch {
		j.claim(worker)
		j.done.Done()
	}
}

// claim runs chunks until none is left.
func (j *job) claim(worker int) {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		j.fn(int(c), worker)
	}
}

// run calls fn(c, worker) once for every chunk c in [0, chunks), spread over the workers; the
// calling goroutine is worker 0. It returns when every chunk is done. Workers beyond the
// number of chunks are not woken.
func (p *pool) run(chunks int, fn func(chunk, worker int)) {
	if chunks <= 0 {
		return
	}
	helpers := min(len(p.jobs), chunks-1)
	if helpers == 0 {
		for c := range chunks {
			fn(c, 0)
		}
		return
	}
	j := &job{chunks: int64(chunks), fn: fn}
	j.done.Add(helpers)
	for w := range helpers {
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
