package sched

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// GenConfig configures a generation batcher: Continuous, or the Static baseline.
type GenConfig struct {
	// MaxSeqs is the most sequences in the running batch (max_seqs, >= 1).
	MaxSeqs int
	// MaxBatchedTokens is the most tokens one iteration feeds the model
	// (max_batched_tokens, >= 1): a decode counts one, a prefill chunk its length.
	MaxBatchedTokens int
	// KV sizes the paged KV cache.
	KV KVConfig
	// MaxQueue is the most sequences waiting (max_queue, >= 1); more are rejected at once
	// with ErrQueueFull.
	MaxQueue int
	// Context is the model's context: a request's prompt and output must fit in it.
	Context int
	// StaticWait is how long the Static batcher's oldest request waits for MaxSeqs requests
	// to gather before their batch starts anyway (>= 0; ignored by Continuous).
	StaticWait time.Duration
}

// Validate returns every problem of c at once, each naming the field, its value and what
// is accepted.
func (c GenConfig) Validate() error {
	var errs []error
	if c.MaxSeqs < 1 {
		errs = append(errs, fmt.Errorf("max_seqs is %d; want an integer >= 1", c.MaxSeqs))
	}
	if c.MaxBatchedTokens < 1 {
		errs = append(errs, fmt.Errorf("max_batched_tokens is %d; want an integer >= 1", c.MaxBatchedTokens))
	}
	if c.MaxQueue < 1 {
		errs = append(errs, fmt.Errorf("max_queue is %d; want an integer >= 1", c.MaxQueue))
	}
	if c.Context < 1 {
		errs = append(errs, fmt.Errorf("context is %d; want an integer >= 1", c.Context))
	}
	if c.StaticWait < 0 {
		errs = append(errs, fmt.Errorf("static_wait is %v; want a duration >= 0", c.StaticWait))
	}
	return errors.Join(append(errs, c.KV.Validate())...)
}

// GenStep is one sequence's share of an iteration: its tokens at positions Pos …
// Pos+len(Tokens)-1 (a prefill chunk, or the one token of a decode), and its KV blocks,
// which cover every position up to the last of the step. Sample is set when the step ends
// at the sequence's last known token: the iteration then returns the sequence's next token.
type GenStep struct {
	Seq    uint64
	Tokens []int32
	Pos    int
	Blocks []int
	Sample bool
}

// Iterate runs the model over one iteration's steps and returns the next token of each
// step with Sample set, in order. The steps and their slices belong to the batcher and are
// reused after it returns.
type Iterate func(steps []GenStep) ([]int32, error)

// GenRequest is one generation request.
type GenRequest struct {
	Prompt    []int32
	MaxTokens int
	// OnToken, when set, is called with each output token as it is produced (i counts from
	// 0), on the batcher's goroutine: it must return quickly.
	OnToken func(i int, tok int32)
}

// GenResult is what a request got.
type GenResult struct {
	Tokens []int32
	// QueueWait runs from the call to the first time the sequence was admitted.
	QueueWait time.Duration
	// Preempted counts the times the sequence lost its KV blocks and was recomputed.
	Preempted int
}

// GenMetrics is a snapshot of a generation batcher: gauges now, and counters that only
// grow.
type GenMetrics struct {
	Running, Waiting int // sequences now
	KVUsed, KVPeak   int // KV blocks held now, and at most
	Iterations       uint64
	Tokens           uint64 // tokens fed to the model, prefill and decode
	Generated        uint64 // output tokens
	Preemptions      uint64
	// Padding counts the static batcher's steps of sequences that had finished, run to
	// keep their batch whole until its longest sequence finishes.
	Padding  uint64
	Finished uint64 // requests answered, successfully or not
	Rejected uint64 // refused with ErrQueueFull
	// PeakTokensHeld is the most positions held in the KV cache at once, beside the blocks
	// held then (PeakBlocksHeld): paged blocks waste at most one partial block per sequence.
	PeakTokensHeld, PeakBlocksHeld, PeakSeqsHeld int
}

// ErrRequest marks a request refused for its own content (a prompt or output that cannot
// fit): callers count it as a client error, not a failure of the server.
var ErrRequest = errors.New("sched: request refused")

// seq is one request in a generation batcher, owned by the batcher's goroutine once taken
// from the queue.
type seq struct {
	id       uint64
	req      GenRequest
	all      []int32 // prompt, then the output so far
	computed int     // positions whose keys and values are in the cache
	table    BlockTable
	arrived  time.Time
	res      GenResult
	admitted bool
	stepped  bool // has a step in the iteration being built
	ctx      context.Context
	done     chan genOutcome // capacity 1
}

type genOutcome struct {
	res GenResult
	err error
}

func (s *seq) pending() int   { return len(s.all) - s.computed }
func (s *seq) finished() bool { return len(s.all)-len(s.req.Prompt) >= s.req.MaxTokens }

// genCore is what Continuous and Static share: the queue that Generate feeds, request
// checks, the KV pool, steps and their outcome, and metrics.
type genCore struct {
	cfg  GenConfig
	it   Iterate
	pool *KVPool

	mu      sync.Mutex
	queue   []*seq
	closed  bool
	nextID  uint64
	metrics GenMetrics
	wake    chan struct{} // capacity 1
	stop    chan struct{} // closed by Close
	exited  chan struct{} // closed by the loop

	// Owned by the loop goroutine.
	steps []GenStep
	owner []*seq // the sequence of each step
}

func newGenCore(cfg GenConfig, it Iterate) (*genCore, error) {
	err := cfg.Validate()
	if it == nil {
		err = errors.Join(err, errors.New("iterate is nil; want a function"))
	}
	if err != nil {
		return nil, fmt.Errorf("sched: new generation batcher: %w", err)
	}
	pool, err := NewKVPool(cfg.KV)
	if err != nil {
		return nil, fmt.Errorf("sched: new generation batcher: %w", err)
	}
	return &genCore{cfg: cfg, it: it, pool: pool, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), exited: make(chan struct{})}, nil
}

// check refuses a request that can never run: an empty prompt, no output asked, more
// positions than the context, or more blocks than the whole cache.
func (g *genCore) check(r GenRequest) error {
	n := len(r.Prompt) + r.MaxTokens
	switch {
	case len(r.Prompt) == 0:
		return fmt.Errorf("%w: the prompt is empty; want at least one token", ErrRequest)
	case r.MaxTokens < 1:
		return fmt.Errorf("%w: max_tokens is %d; want at least 1", ErrRequest, r.MaxTokens)
	case len(r.Prompt) > g.cfg.Context:
		return fmt.Errorf("%w: a prompt of %d tokens is longer than the context of %d", ErrRequest, len(r.Prompt), g.cfg.Context)
	case n > g.cfg.Context:
		return fmt.Errorf("%w: %d prompt tokens and %d to generate make %d, more than the context of %d",
			ErrRequest, len(r.Prompt), r.MaxTokens, n, g.cfg.Context)
	case g.pool.BlocksFor(n) > g.pool.Blocks():
		return fmt.Errorf("%w: %d positions need %d KV blocks; the cache has %d", ErrRequest, n, g.pool.BlocksFor(n), g.pool.Blocks())
	}
	return nil
}

// Generate queues r, runs it to its end (MaxTokens output tokens) and returns its output,
// or an error: ErrRequest (wrapped) for a request that can never run, ErrQueueFull,
// ErrClosed, or ctx's error. A request whose context ends while it waits leaves the
// queue; one running is dropped at the next iteration.
func (g *genCore) Generate(ctx context.Context, r GenRequest) (GenResult, error) {
	if err := g.check(r); err != nil {
		return GenResult{}, err
	}
	s := &seq{req: r, all: slices.Clip(slices.Clone(r.Prompt)), arrived: time.Now(), ctx: ctx, done: make(chan genOutcome, 1)}
	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		return GenResult{}, ErrClosed
	case len(g.queue) >= g.cfg.MaxQueue:
		g.metrics.Rejected++
		g.mu.Unlock()
		return GenResult{}, ErrQueueFull
	}
	g.nextID++
	s.id = g.nextID
	g.queue = append(g.queue, s)
	g.mu.Unlock()
	g.poke()
	select {
	case o := <-s.done:
		return o.res, o.err
	case <-ctx.Done():
		g.poke() // the loop drops it
		return GenResult{}, ctx.Err()
	}
}

func (g *genCore) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// take moves up to n queued requests (all when n < 0) to the loop.
func (g *genCore) take(n int) []*seq {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n < 0 || n > len(g.queue) {
		n = len(g.queue)
	}
	out := slices.Clone(g.queue[:n])
	g.queue = slices.Delete(g.queue, 0, n)
	return out
}

func (g *genCore) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// dropCanceled answers the sequences of list whose callers gave up and returns the rest.
func (g *genCore) dropCanceled(list []*seq) []*seq {
	return slices.DeleteFunc(list, func(s *seq) bool {
		if s.ctx.Err() == nil {
			return false
		}
		g.finish(s, s.ctx.Err())
		return true
	})
}

// finish answers s and returns its blocks.
func (g *genCore) finish(s *seq, err error) {
	g.pool.Release(&s.table)
	s.res.Tokens = slices.Clone(s.all[len(s.req.Prompt):])
	s.done <- genOutcome{s.res, err}
	g.mu.Lock()
	g.metrics.Finished++
	g.mu.Unlock()
}

// addPadStep gives s, which has finished, a padding step (see Static): its last position
// again, sampled.
func (g *genCore) addPadStep(s *seq) {
	p := len(s.all) - 1
	g.steps = append(g.steps, GenStep{Seq: s.id, Tokens: s.all[p:], Pos: p, Blocks: s.table.Blocks, Sample: true})
	g.owner = append(g.owner, s)
	s.stepped = true
}

// addStep gives s a step of n tokens from its first uncomputed position, after its table
// has grown to hold them.
func (g *genCore) addStep(s *seq, n int) {
	g.steps = append(g.steps, GenStep{Seq: s.id, Tokens: s.all[s.computed : s.computed+n], Pos: s.computed,
		Blocks: s.table.Blocks, Sample: s.computed+n == len(s.all)})
	g.owner = append(g.owner, s)
	s.stepped = true
}

// call runs the iteration built, turning a panic of Iterate into an error: the
// iteration's sequences fail with it and the batcher goes on, as Dynamic does.
func (g *genCore) call(tokens int) (next []int32, err error) {
	defer func() {
		if v := recover(); v != nil {
			next, err = nil, panicError(v, fmt.Sprintf("iterate panicked on %d steps of %d tokens", len(g.steps), tokens))
		}
	}()
	return g.it(g.steps)
}

// runSteps runs the iteration built and applies its outcome; it returns the sequences
// that ended (finished, or failed with the iteration).
func (g *genCore) runSteps() (ended []*seq) {
	tokens := 0
	for _, st := range g.steps {
		tokens += len(st.Tokens)
	}
	next, err := g.call(tokens)
	want := 0
	for _, st := range g.steps {
		if st.Sample {
			want++
		}
	}
	if err == nil && len(next) != want {
		err = fmt.Errorf("sched: iterate returned %d tokens for %d sampled steps", len(next), want)
	}
	generated, padding := 0, 0
	for i, s := range g.owner {
		s.stepped = false
		if err != nil {
			g.finish(s, fmt.Errorf("sched: iteration failed: %w", err))
			ended = append(ended, s)
			continue
		}
		if s.finished() { // a padding step (see Static): its token is not the sequence's
			s.computed = len(s.all)
			next = next[1:]
			padding++
			continue
		}
		s.computed += len(g.steps[i].Tokens)
		if !g.steps[i].Sample {
			continue
		}
		tok := next[0]
		next = next[1:]
		if s.req.OnToken != nil {
			s.req.OnToken(len(s.all)-len(s.req.Prompt), tok)
		}
		s.all = append(s.all, tok)
		generated++
		if s.finished() {
			ended = append(ended, s)
		}
	}
	g.mu.Lock()
	g.metrics.Iterations++
	g.metrics.Tokens += uint64(tokens)
	g.metrics.Generated += uint64(generated)
	g.metrics.Padding += uint64(padding)
	g.mu.Unlock()
	g.steps, g.owner = g.steps[:0], g.owner[:0]
	return ended
}

// noteHeld records the cache's occupancy over the sequences holding blocks.
func (g *genCore) noteHeld(held []*seq) {
	tokens, blocks := 0, 0
	for _, s := range held {
		tokens += s.table.Tokens
		blocks += len(s.table.Blocks)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	m := &g.metrics
	m.KVUsed, m.KVPeak = g.pool.Used(), g.pool.PeakUsed()
	if tokens > m.PeakTokensHeld {
		m.PeakTokensHeld, m.PeakBlocksHeld = tokens, blocks
	}
	m.PeakSeqsHeld = max(m.PeakSeqsHeld, len(held))
}

func (g *genCore) snapshot(running, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.metrics.Running, g.metrics.Waiting = running, waiting+len(g.queue)
}

// Metrics returns a snapshot of the counters.
func (g *genCore) Metrics() GenMetrics {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.metrics
}

// Close stops the loop: requests queued or running fail with ErrClosed. It waits for the
// loop to exit and may be called more than once.
func (g *genCore) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.stop)
	}
	g.mu.Unlock()
	<-g.exited
}

// closeAll answers every sequence the loop holds and every one queued with ErrClosed.
func (g *genCore) closeAll(held []*seq) {
	for _, s := range append(held, g.take(-1)...) {
		g.finish(s, ErrClosed)
	}
}

// wait blocks until a request may have arrived, timeout passes (when positive), or Close;
// it reports false on Close.
func (g *genCore) wait(timeout time.Duration) bool {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-g.wake:
		return true
	case <-tc:
		return true
	case <-g.stop:
		return false
	}
}

// Continuous is an iteration-level (continuous) batcher, as in Orca and vLLM. Every
// iteration it schedules the decodes of the running sequences first, then their
// remaining prefill chunks, then admits waiting sequences while MaxSeqs and
// MaxBatchedTokens allow (a long prompt is prefilled in chunks over several iterations);
// a sequence leaves the batch the iteration it finishes. When the KV cache has no block
// for a running sequence, the most recently admitted sequence not yet in the iteration is
// preempted: its blocks are freed and it waits at the head of the queue, to be recomputed
// (prompt and output so far) when it is admitted again. One goroutine, started by
// NewContinuous and stopped by Close, runs the loop and calls Iterate.
type Continuous struct {
	*genCore
	running []*seq // admission order
	waiting []*seq // taken from the queue; preempted sequences at the front
	order   []*seq // schedule's copy of running, reused
}

// NewContinuous checks cfg and starts the loop.
func NewContinuous(cfg GenConfig, it Iterate) (*Continuous, error) {
	core, err := newGenCore(cfg, it)
	if err != nil {
		return nil, err
	}
	c := &Continuous{genCore: core}
	go c.loop()
	return c, nil
}

func (c *Continuous) loop() {
	defer close(c.exited)
	for {
		c.waiting = append(c.waiting, c.take(-1)...)
		c.running, c.waiting = c.dropCanceled(c.running), c.dropCanceled(c.waiting)
		if len(c.running) == 0 && len(c.waiting) == 0 {
			c.snapshot(0, 0)
			if !c.wait(0) {
				c.closeAll(nil)
				return
			}
			continue
		}
		select {
		case <-c.stop:
			c.closeAll(append(c.running, c.waiting...))
			return
		default:
		}
		c.schedule()
		c.noteHeld(c.running) // a waiting sequence holds no blocks (preempt releases them)
		c.snapshot(len(c.running), len(c.waiting))
		for _, s := range c.runSteps() {
			c.running = slices.DeleteFunc(c.running, func(r *seq) bool { return r == s })
			if s.finished() {
				c.finish(s, nil)
			}
		}
	}
}

// schedule builds one iteration's steps.
func (c *Continuous) schedule() {
	budget := c.cfg.MaxBatchedTokens
	// Decodes first, in admission order, then the prefill chunks left. A sequence may be
	// preempted (to free blocks for an earlier one) before its turn: it is then skipped.
	c.order = append(c.order[:0], c.running...)
	for _, decode := range []bool{true, false} {
		for _, s := range c.order {
			if budget == 0 {
				break
			}
			// A sequence preempted since holds no blocks (and is no longer running).
			if s.stepped || (s.pending() == 1) != decode || len(s.table.Blocks) == 0 {
				continue
			}
			n := min(s.pending(), budget)
			if c.growOrPreempt(s, s.computed+n) {
				c.addStep(s, n)
				budget -= n
			}
		}
	}
	// Admissions, first come first served (preempted sequences come first).
	for len(c.waiting) > 0 && len(c.running) < c.cfg.MaxSeqs && budget > 0 {
		s := c.waiting[0]
		n := min(s.pending(), budget)
		if !c.pool.CanGrow(&s.table, s.computed+n) {
			break
		}
		if err := c.pool.Grow(&s.table, s.computed+n); err != nil {
			panic(fmt.Sprintf("sched: grow after CanGrow: %v", err)) // the pool's own contract broken
		}
		c.waiting = c.waiting[1:]
		if !s.admitted {
			s.admitted, s.res.QueueWait = true, time.Since(s.arrived)
		}
		c.running = append(c.running, s)
		c.addStep(s, n)
		budget -= n
	}
}

// growOrPreempt grows s's table to n positions, preempting the most recently admitted
// sequences not yet in this iteration (s itself last) until the blocks are there. It
// reports false when s itself was preempted.
func (c *Continuous) growOrPreempt(s *seq, n int) bool {
	for !c.pool.CanGrow(&s.table, n) {
		victim := s
		for i := len(c.running) - 1; i >= 0; i-- {
			if r := c.running[i]; r != s && !r.stepped {
				victim = r
				break
			}
		}
		c.preempt(victim)
		if victim == s {
			return false
		}
	}
	if err := c.pool.Grow(&s.table, n); err != nil {
		panic(fmt.Sprintf("sched: grow after CanGrow: %v", err)) // the pool's own contract broken
	}
	return true
}

// preempt frees s's blocks and puts it at the head of the waiting sequences, to be
// recomputed from its first position.
func (c *Continuous) preempt(s *seq) {
	c.pool.Release(&s.table)
	s.computed = 0
	s.res.Preempted++
	c.running = slices.DeleteFunc(c.running, func(r *seq) bool { return r == s })
	c.waiting = slices.Insert(c.waiting, 0, s)
	c.mu.Lock()
	c.metrics.Preemptions++
	c.mu.Unlock()
}

// Static is the static batcher that continuous batching is measured against: it waits
// for MaxSeqs requests (or StaticWait after the oldest arrived), takes as many as the KV
// cache holds at their full length, and runs them together until the longest finishes;
// no request joins a batch that has started, and every request of a batch is answered
// when the batch ends. Prefills are chunked by MaxBatchedTokens like the continuous
// batcher's, and decodes come before prefill chunks in an iteration.
//
// The batch runs whole, as a server that pads a fixed batch runs it: a sequence that
// finished early keeps its slot, and every iteration until the longest finishes it takes
// a padding step, which recomputes its last position (the same keys and values again,
// within the cache it holds) and samples a token that is thrown away. Its slot so costs
// what a decode costs, as the padded rows of a batch do.
type Static struct {
	*genCore
	next []*seq // taken from the queue, not yet in a batch
}

// NewStatic checks cfg and starts the loop.
func NewStatic(cfg GenConfig, it Iterate) (*Static, error) {
	core, err := newGenCore(cfg, it)
	if err != nil {
		return nil, err
	}
	st := &Static{genCore: core}
	go st.loop()
	return st, nil
}

func (st *Static) loop() {
	defer close(st.exited)
	for {
		st.next = st.dropCanceled(append(st.next, st.take(-1)...))
		st.snapshot(0, len(st.next))
		if len(st.next) < st.cfg.MaxSeqs {
			var timeout time.Duration
			if len(st.next) > 0 {
				timeout = st.cfg.StaticWait - time.Since(st.next[0].arrived)
			}
			if len(st.next) == 0 || timeout > 0 {
				if !st.wait(timeout) {
					st.closeAll(st.next)
					return
				}
				continue
			}
		}
		select {
		case <-st.stop:
			st.closeAll(st.next)
			return
		default:
		}
		st.runBatch()
	}
}

// runBatch takes the next batch (up to MaxSeqs that fit the cache at full length) and
// runs it to its end.
func (st *Static) runBatch() {
	var batch []*seq
	for len(st.next) > 0 && len(batch) < st.cfg.MaxSeqs {
		s := st.next[0]
		if err := st.pool.Grow(&s.table, len(s.req.Prompt)+s.req.MaxTokens); err != nil {
			break
		}
		s.admitted, s.res.QueueWait = true, time.Since(s.arrived)
		batch = append(batch, s)
		st.next = st.next[1:]
	}
	st.noteHeld(batch)
	for {
		budget := st.cfg.MaxBatchedTokens
		active := 0
		for _, s := range batch {
			if !s.finished() && s.ctx.Err() == nil {
				active++
			}
		}
		if active == 0 {
			break
		}
		// Decodes and padding steps first, then prefill chunks, as Continuous orders them.
		for _, decode := range []bool{true, false} {
			for _, s := range batch {
				if s.ctx.Err() != nil || budget == 0 {
					continue
				}
				switch {
				case s.finished() && decode:
					st.addPadStep(s)
					budget--
				case !s.finished() && (s.pending() == 1) == decode:
					n := min(s.pending(), budget)
					st.addStep(s, n)
					budget -= n
				}
			}
		}
		st.snapshot(active, len(st.next)+st.queued())
		failed := false
		for _, s := range st.runSteps() {
			failed = failed || !s.finished() // the iteration failed: s was answered
			batch = slices.DeleteFunc(batch, func(r *seq) bool { return r == s && !s.finished() })
		}
		if failed {
			break
		}
	}
	for _, s := range batch {
		st.finish(s, s.ctx.Err())
	}
}
