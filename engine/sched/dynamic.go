package sched

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrQueueFull is the error of a Do that found the batcher's queue full; the request was not
// queued. Callers count it as a reject.
var ErrQueueFull = errors.New("sched: queue full")

// ErrClosed is the error of a Do on a closed batcher, and of a request still queued when
// the batcher was closed.
var ErrClosed = errors.New("sched: batcher closed")

// DynamicConfig configures a Dynamic batcher. The zero value is not valid.
type DynamicConfig struct {
	// MaxBatch is the most requests per batch (max_batch, >= 1).
	MaxBatch int
	// MaxQueueDelay is how long the oldest queued request may wait for its batch to fill
	// (max_queue_delay, >= 0). 0 runs whatever is queued at once.
	MaxQueueDelay time.Duration
	// MaxQueue is the most requests waiting, not counting the batch running (max_queue,
	// >= 1). A request arriving at a full queue is rejected at once with ErrQueueFull.
	MaxQueue int
	// QueueTimeout, when positive, is the longest a request may wait in the queue
	// (queue_timeout, Triton's queue-policy timeout): one still queued then leaves the
	// queue, never runs, and fails with an error wrapping context.DeadlineExceeded. A
	// request whose batch has started runs to the end. 0 means no limit.
	QueueTimeout time.Duration
}

// Validate returns every problem of c at once (errors.Join), each naming the field, its
// value and what would be accepted; nil when c is valid.
func (c DynamicConfig) Validate() error {
	var errs []error
	if c.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("max_batch is %d; want an integer >= 1", c.MaxBatch))
	}
	if c.MaxQueueDelay < 0 {
		errs = append(errs, fmt.Errorf("max_queue_delay is %v; want a duration >= 0 (0 runs what is queued at once)", c.MaxQueueDelay))
	}
	if c.MaxQueue < 1 {
		errs = append(errs, fmt.Errorf("max_queue is %d; want an integer >= 1", c.MaxQueue))
	}
	if c.QueueTimeout < 0 {
		errs = append(errs, fmt.Errorf("queue_timeout is %v; want a duration >= 0 (0: none)", c.QueueTimeout))
	}
	return errors.Join(errs...)
}

// Stats is what one request saw in a batcher.
type Stats struct {
	// QueueWait runs from the call of Do to the start of the request's batch (for a request
	// that left the queue, to the moment it left).
	QueueWait time.Duration
	// Service is the run time of the request's batch; 0 if it never ran.
	Service time.Duration
	// BatchSize is the number of requests in the request's batch; 0 if it never ran.
	BatchSize int
}

// Metrics is a snapshot of a batcher's counters. The counters only grow; Queued and
// Running are gauges.
type Metrics struct {
	Queued    int    // requests waiting now
	Running   int    // requests in the batch running now
	Batches   uint64 // batches run (whatever their outcome)
	Requests  uint64 // requests run in those batches
	Failed    uint64 // requests whose batch failed: run returned an error, the wrong number of responses, or panicked
	Rejected  uint64 // Do calls refused with ErrQueueFull
	TimedOut  uint64 // requests that left before running because their context's deadline passed
	Canceled  uint64 // requests that left before running because their context was canceled
	Closed    uint64 // requests refused or dropped from the queue with ErrClosed
	Abandoned uint64 // requests whose Do returned on its context while their batch ran
}

// states of a pending request; each moves once out of queued, under Dynamic.mu.
const (
	stateQueued  = iota
	stateRunning // taken into a batch by the batcher, which delivers its result
	stateLeft    // removed by its own Do after its context ended; nothing is delivered
	stateClosed  // removed by Close, which delivered ErrClosed
)

type result[Resp any] struct {
	resp  Resp
	stats Stats
	err   error
}

type pending[Req, Resp any] struct {
	req    Req
	queued time.Time
	state  int
	done   chan result[Resp] // capacity 1: one send, never blocks
}

// Dynamic is a dynamic batcher (see the package documentation for its semantics). One
// goroutine, started by NewDynamic and stopped by Close, forms the batches and calls run;
// Do may be called from any number of goroutines.
type Dynamic[Req, Resp any] struct {
	cfg  DynamicConfig
	run  func(batch []Req) ([]Resp, error)
	wake chan struct{} // capacity 1: the queue may have changed what the batcher waits for

	// exited is closed by the batcher goroutine when it returns.
	exited chan struct{}

	// mu guards the fields below; it is held only for short critical sections, never while
	// run runs or while anyone waits.
	mu      sync.Mutex
	queue   []*pending[Req, Resp] // FIFO of stateQueued requests, oldest first
	closed  bool
	done    chan struct{} // closed by the first Close
	metrics Metrics
}

// NewDynamic checks cfg and starts the batcher goroutine, which runs until Close.
//
// run is called with one batch at a time, never concurrently, holding 1 to cfg.MaxBatch
// requests in arrival order, and returns one response per request, in the same order, or an
// error for the whole batch. The batch slice belongs to the batcher and is reused: run must
// not keep it after returning.
func NewDynamic[Req, Resp any](cfg DynamicConfig, run func(batch []Req) ([]Resp, error)) (*Dynamic[Req, Resp], error) {
	err := cfg.Validate()
	if run == nil {
		err = errors.Join(err, errors.New("run is nil; want a function"))
	}
	if err != nil {
		return nil, fmt.Errorf("sched: new dynamic batcher: %w", err)
	}
	d := &Dynamic[Req, Resp]{
		cfg:    cfg,
		run:    run,
		wake:   make(chan struct{}, 1),
		exited: make(chan struct{}),
		queue:  make([]*pending[Req, Resp], 0, cfg.MaxQueue),
		done:   make(chan struct{}),
	}
	go d.loop()
	return d, nil
}

// Do queues req and waits for its response, returning what the request saw with it.
//
// Do fails at once with ErrQueueFull when MaxQueue requests are waiting, and with ErrClosed
// after Close. If ctx ends while the request is queued, the request leaves the queue, never
// runs, and Do returns an error wrapping ctx.Err(). If ctx ends while its batch runs, Do
// returns an error wrapping ctx.Err() without waiting, and the response is dropped.
//
// The Stats are filled in whenever the request's batch delivered, failed batches included.
// A request that left the queue (ctx ended, or Close) reports only its QueueWait; a Do that
// was refused, or returned on ctx while its batch ran, reports zero Stats.
func (d *Dynamic[Req, Resp]) Do(ctx context.Context, req Req) (Resp, Stats, error) {
	var zero Resp
	d.mu.Lock()
	if d.closed {
		d.metrics.Closed++
		d.mu.Unlock()
		return zero, Stats{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		d.countLeft(err)
		d.mu.Unlock()
		return zero, Stats{}, fmt.Errorf("sched: queue request: %w", err)
	}
	if len(d.queue) >= d.cfg.MaxQueue {
		d.metrics.Rejected++
		d.mu.Unlock()
		return zero, Stats{}, fmt.Errorf("sched: %d requests waiting: %w", d.cfg.MaxQueue, ErrQueueFull)
	}
	p := &pending[Req, Resp]{req: req, queued: time.Now(), done: make(chan result[Resp], 1)}
	d.queue = append(d.queue, p)
	// The batcher waits either for a first request or for a full batch; no other arrival
	// changes its decision.
	signal := len(d.queue) == 1 || len(d.queue) >= d.cfg.MaxBatch
	d.mu.Unlock()
	if signal {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}

	var queueTimeout <-chan time.Time
	if d.cfg.QueueTimeout > 0 {
		t := time.NewTimer(d.cfg.QueueTimeout)
		defer t.Stop()
		queueTimeout = t.C
	}
	for waiting := true; waiting; {
		select {
		case r := <-p.done:
			return r.resp, r.stats, r.err
		case <-ctx.Done():
			waiting = false
		case <-queueTimeout:
			d.mu.Lock()
			if p.state == stateQueued {
				if i := slices.Index(d.queue, p); i >= 0 {
					d.queue = slices.Delete(d.queue, i, i+1)
				}
				p.state = stateLeft
				d.metrics.TimedOut++
				d.mu.Unlock()
				return zero, Stats{QueueWait: time.Since(p.queued)}, fmt.Errorf("sched: queued past the queue timeout of %v: %w", d.cfg.QueueTimeout, context.DeadlineExceeded)
			}
			d.mu.Unlock()
			queueTimeout = nil // its batch has started: it runs to the end
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	switch p.state {
	case stateQueued:
		if i := slices.Index(d.queue, p); i >= 0 {
			d.queue = slices.Delete(d.queue, i, i+1)
		}
		p.state = stateLeft
		d.countLeft(ctx.Err())
		return zero, Stats{QueueWait: time.Since(p.queued)}, fmt.Errorf("sched: queued request: %w", ctx.Err())
	default:
		select {
		case r := <-p.done: // delivered as ctx ended: the response wins
			return r.resp, r.stats, r.err
		default:
		}
		d.metrics.Abandoned++
		return zero, Stats{}, fmt.Errorf("sched: running request: %w", ctx.Err())
	}
}

// countLeft counts a request that left before running because of err; d.mu is held.
func (d *Dynamic[Req, Resp]) countLeft(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		d.metrics.TimedOut++
	} else {
		d.metrics.Canceled++
	}
}

// Close stops the batcher: requests still queued get ErrClosed at once, a batch already
// running finishes and delivers its responses, and later Do calls get ErrClosed. Close
// returns once the batcher goroutine has exited; it is idempotent and always returns nil.
func (d *Dynamic[Req, Resp]) Close() error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		now := time.Now()
		for _, p := range d.queue {
			p.state = stateClosed
			p.done <- result[Resp]{stats: Stats{QueueWait: now.Sub(p.queued)}, err: ErrClosed}
		}
		d.metrics.Closed += uint64(len(d.queue))
		clear(d.queue)
		d.queue = d.queue[:0]
		close(d.done)
	}
	d.mu.Unlock()
	<-d.exited
	return nil
}

// Snapshot returns the batcher's counters now.
func (d *Dynamic[Req, Resp]) Snapshot() Metrics {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.metrics
	m.Queued = len(d.queue)
	return m
}

// loop is the batcher goroutine: it forms a batch, runs it, delivers, and repeats until
// Close.
func (d *Dynamic[Req, Resp]) loop() {
	defer close(d.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	batch := make([]*pending[Req, Resp], 0, d.cfg.MaxBatch)
	reqs := make([]Req, 0, d.cfg.MaxBatch)
	for {
		var wait time.Duration
		var ok bool
		batch, wait, ok = d.next(batch[:0])
		if !ok {
			return
		}
		if len(batch) > 0 {
			reqs = d.runBatch(batch, reqs[:0])
			clear(batch)
			continue
		}
		var expired <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			expired = timer.C
		}
		select {
		case <-d.wake:
		case <-expired:
		case <-d.done:
		}
		timer.Stop()
	}
}

// next takes the next batch into batch when one is due. When none is, it returns an empty
// batch and how long to wait for the oldest request's delay (0: until woken). ok is false
// once the batcher is closed.
func (d *Dynamic[Req, Resp]) next(batch []*pending[Req, Resp]) (_ []*pending[Req, Resp], wait time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return batch, 0, false
	}
	n := len(d.queue)
	if n == 0 {
		return batch, 0, true
	}
	if n < d.cfg.MaxBatch {
		if left := d.cfg.MaxQueueDelay - time.Since(d.queue[0].queued); left > 0 {
			return batch, left, true
		}
	}
	n = min(n, d.cfg.MaxBatch)
	for _, p := range d.queue[:n] {
		p.state = stateRunning
		batch = append(batch, p)
	}
	rest := copy(d.queue, d.queue[n:])
	clear(d.queue[rest:])
	d.queue = d.queue[:rest]
	d.metrics.Running = n
	return batch, 0, true
}

// runBatch calls run on batch, delivers a result to every request of it and returns reqs
// (cleared) for reuse.
func (d *Dynamic[Req, Resp]) runBatch(batch []*pending[Req, Resp], reqs []Req) []Req {
	for _, p := range batch {
		reqs = append(reqs, p.req)
	}
	start := time.Now()
	resps, err := d.call(reqs)
	service := time.Since(start)
	if err == nil && len(resps) != len(batch) {
		err = fmt.Errorf("sched: run returned %d responses for a batch of %d", len(resps), len(batch))
	}
	// Count before delivering, so that a caller holding its response sees its batch counted.
	d.mu.Lock()
	d.metrics.Running = 0
	d.metrics.Batches++
	d.metrics.Requests += uint64(len(batch))
	if err != nil {
		d.metrics.Failed += uint64(len(batch))
	}
	d.mu.Unlock()

	for i, p := range batch {
		r := result[Resp]{stats: Stats{QueueWait: start.Sub(p.queued), Service: service, BatchSize: len(batch)}, err: err}
		if err == nil {
			r.resp = resps[i]
		}
		p.done <- r
	}
	clear(reqs)
	return reqs[:0]
}

// panicError turns the value of a recovered panic into an error: what happened, then the
// value (wrapped when it is an error).
func panicError(v any, what string) error {
	if e, ok := v.(error); ok {
		return fmt.Errorf("sched: %s: %w", what, e)
	}
	return fmt.Errorf("sched: %s: %v", what, v)
}

// call runs one batch, turning a panic of run into an error.
func (d *Dynamic[Req, Resp]) call(reqs []Req) (resps []Resp, err error) {
	defer func() {
		if v := recover(); v != nil {
			resps, err = nil, panicError(v, fmt.Sprintf("run panicked on a batch of %d", len(reqs)))
		}
	}()
	resps, err = d.run(reqs)
	if err != nil {
		err = fmt.Errorf("sched: run batch of %d: %w", len(reqs), err)
	}
	return resps, err
}
