package loadgen

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Options configure a probe.
type Options struct {
	// Arrival is the arrival process.
	Arrival Arrival
	// Seed seeds the arrival process (and nothing else).
	Seed uint64
	// Warmup is sent but not recorded.
	Warmup time.Duration
	// Duration is the measurement window: the requests whose intended send time falls in
	// it are recorded.
	Duration time.Duration
	// Grace is how long requests still in flight at the end of the window may take to
	// finish; the rest are cut and counted as cut.
	Grace time.Duration
	// MaxInFlight bounds the requests in flight. A send that would exceed it is dropped
	// and counted as a failed request; the schedule is never delayed.
	MaxInFlight int
	// Timeout, when positive, ends a request that has not finished that long after its
	// intended send time; it is counted as a timeout, as is any error of the target that
	// wraps context.DeadlineExceeded (a deadline of its own).
	Timeout time.Duration
	// RawLimit bounds the raw latency samples kept for exact percentiles.
	RawLimit int
	// LateAfter is how far behind its intended time a send may start before it counts as
	// late (0: the LateAfter constant, 1 ms). A caller that judges latencies against a
	// bound may allow more: a send late by 1% of the bound moves no verdict.
	LateAfter time.Duration
	// Request builds the payload of request seq; nil sends empty requests. It runs on the
	// sending goroutine, before the send time is taken.
	Request func(seq int64) *Request
	// Stop, when set, is called with live statistics at least ten times a second during
	// the window; returning true ends the window there (Result.Stop = StopCondition).
	Stop func(*Live) bool
	// Clock paces the sends; nil means DefaultClock().
	Clock Clock
}

// DefaultOptions returns options with the defaults of `infertune bench loadgen`.
func DefaultOptions(a Arrival) Options {
	return Options{
		Arrival:     a,
		Seed:        1,
		Warmup:      time.Second,
		Duration:    10 * time.Second,
		Grace:       2 * time.Second,
		MaxInFlight: 10_000,
		RawLimit:    1 << 20,
	}
}

// lateAfter is the probe's lateness threshold.
func (o Options) lateAfter() time.Duration {
	if o.LateAfter > 0 {
		return o.LateAfter
	}
	return LateAfter
}

// MaxDuration bounds warm-up, window, grace, timeout and the lateness threshold.
const MaxDuration = 24 * time.Hour

// Validate reports every problem of the options at once.
func (o Options) Validate() error {
	var errs []error
	if err := o.Arrival.Validate(); err != nil {
		errs = append(errs, err)
	}
	dur := func(name string, d time.Duration, positive bool) {
		switch {
		case positive && d <= 0:
			errs = append(errs, fmt.Errorf("%s %v: want a duration above zero, at most %v", name, d, MaxDuration))
		case d < 0 || d > MaxDuration:
			errs = append(errs, fmt.Errorf("%s %v: want a duration in [0, %v]", name, d, MaxDuration))
		}
	}
	dur("duration", o.Duration, true)
	dur("warmup", o.Warmup, false)
	dur("grace", o.Grace, false)
	dur("timeout", o.Timeout, false)
	dur("late after", o.LateAfter, false)
	if o.MaxInFlight < 1 || o.MaxInFlight > MaxConcurrency {
		errs = append(errs, fmt.Errorf("max in flight %d: want an integer in [1, %d]", o.MaxInFlight, MaxConcurrency))
	}
	if o.Arrival.Kind == KindClosed && o.MaxInFlight < o.Arrival.Concurrency {
		errs = append(errs, fmt.Errorf("max in flight %d: below the closed-loop concurrency %d", o.MaxInFlight, o.Arrival.Concurrency))
	}
	if o.RawLimit < 0 || o.RawLimit > 1<<30 {
		errs = append(errs, fmt.Errorf("raw limit %d: want an integer in [0, %d]", o.RawLimit, 1<<30))
	}
	return errors.Join(errs...)
}

// StopReason says why a measurement window ended.
type StopReason string

// The reasons a window ends.
const (
	StopWindow    StopReason = "window"    // it ran its full duration
	StopCondition StopReason = "condition" // Options.Stop returned true
	StopCanceled  StopReason = "canceled"  // the context was cancelled
	StopTraceEnd  StopReason = "trace-end" // a trace ran out of offsets
)

// LateLimit is the largest fraction of late sends a valid probe may have. A probe is
// invalid only when it has more, and at least LateMinCount of them: in a short or slow
// probe one stray late send (a thread the machine woke late once) would be over the
// fraction on its own, and says nothing of a generator that cannot keep up.
const (
	LateLimit    = 0.01
	LateMinCount = 2
)

// Result is what a probe measured.
type Result struct {
	Arrival string
	// Window is the measurement window actually run (shorter than asked when stopped).
	Window time.Duration
	Stop   StopReason
	// Sent counts the sends intended in the window; every one of them ends as exactly one
	// of OK, Errors, Rejects, Timeouts, Drops or Cut.
	Sent, OK, Errors, Rejects, Timeouts, Drops, Cut int64
	// Late counts sends that started more than LateAfter behind their intended time.
	Late         int64
	LateFraction float64
	LateAfter    time.Duration
	// OfferedRPS is Sent per second of window; AchievedRPS is OK per second.
	OfferedRPS, AchievedRPS float64
	// Lag is the distribution of send lag (actual minus intended send time).
	Lag Summary
	// Latency is the distribution of successful requests' latency, from the intended send
	// time to the end.
	Latency Summary
	// LatencyHistogram holds the same latencies, for storage and merging.
	LatencyHistogram *hdrhistogram.Histogram
	// TTFT (time to first token, from the intended send) and TPOT (mean time per output
	// token after the first) of streamed responses, and their histograms; OutputTokens
	// counts their tokens.
	TTFT, TPOT                   Summary
	TTFTHistogram, TPOTHistogram *hdrhistogram.Histogram
	OutputTokens                 int64
	TokensPerSecond              float64
	// QueueWait and Service are the means the target reported; Batch its mean batch size.
	QueueWait, Service time.Duration
	Batch              float64
	// Valid is false when the generator could not keep its schedule; InvalidReason says why.
	Valid         bool
	InvalidReason string
	// Wall and CPU are the probe's wall time and the process's CPU time during it (CPU is
	// -1 where the operating system does not report it).
	Wall, CPU time.Duration
	// InFlightPeak is the most requests in flight at once.
	InFlightPeak int64
}

// Failed returns the requests of the window that did not succeed.
func (r *Result) Failed() int64 { return r.Errors + r.Rejects + r.Timeouts + r.Drops + r.Cut }

// CPUPercent returns the process's CPU use during the probe as a percentage of one core
// (-1 when unknown).
func (r *Result) CPUPercent() float64 {
	if r.CPU < 0 || r.Wall <= 0 {
		return -1
	}
	return 100 * float64(r.CPU) / float64(r.Wall)
}

// liveEvery is the period of live statistics (at least ten per second).
const liveEvery = 50 * time.Millisecond

// Run runs one probe of target and returns what it measured. Cancelling ctx ends the
// probe within about 100 ms: requests in flight are cancelled and counted as cut, and the
// result holds everything measured until then. The error is non-nil only for invalid
// options. Run starts goroutines and waits for every one of them before it returns.
func Run(ctx context.Context, target Target, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if target == nil {
		return nil, errors.New("target: nil")
	}
	if o.Clock == nil {
		o.Clock = DefaultClock()
	}
	if o.Request == nil {
		o.Request = func(int64) *Request { return &Request{} }
	}
	p := &probe{o: o, target: target, rec: newRecorder(2*runtime.GOMAXPROCS(0), o.RawLimit, o.lateAfter())}
	return p.run(ctx), nil
}

type job struct {
	seq      int64
	intended time.Time
	inWindow bool
}

type probe struct {
	o      Options
	target Target
	rec    *recorder

	start, winStart, winEnd time.Time

	// reqCtx is the parent of every request's context; cutReqs cancels it.
	reqCtx  context.Context
	cutReqs context.CancelFunc
	cutting atomic.Bool // requests failing from now on were cut by the probe

	wg       sync.WaitGroup
	inFlight atomic.Int64
	peak     atomic.Int64

	mu        sync.Mutex
	stop      StopReason
	stoppedAt time.Time
}

func (p *probe) setStop(r StopReason, at time.Time) {
	p.mu.Lock()
	if p.stop == "" {
		p.stop, p.stoppedAt = r, at
	}
	p.mu.Unlock()
}

func (p *probe) run(ctx context.Context) *Result {
	if _, precise := p.o.Clock.(PreciseClock); precise && p.o.Arrival.Kind != KindClosed {
		defer holdExtraPs(lookahead)()
	}
	cpu0, cpuOK := processCPU()
	p.start = p.o.Clock.Now()
	p.winStart = p.start.Add(p.o.Warmup)
	p.winEnd = p.winStart.Add(p.o.Duration)
	p.reqCtx, p.cutReqs = context.WithCancel(context.WithoutCancel(ctx))
	defer p.cutReqs()

	// The pacer's context ends the sending: the parent's cancellation or a stop condition.
	paceCtx, endPacing := context.WithCancel(ctx)
	defer endPacing()
	monitorDone := make(chan struct{})
	monitorQuit := make(chan struct{})
	go func() {
		defer close(monitorDone)
		p.monitor(monitorQuit, endPacing)
	}()

	if p.o.Arrival.Kind == KindClosed {
		p.closedLoop(paceCtx)
	} else {
		p.pace(paceCtx)
	}
	close(monitorQuit)
	<-monitorDone
	if ctx.Err() != nil {
		p.setStop(StopCanceled, p.o.Clock.Now())
	}
	p.setStop(StopWindow, p.winEnd)
	p.drain(ctx)
	wall := p.o.Clock.Now().Sub(p.start)
	cpu1, _ := processCPU()
	res := p.result()
	res.Wall = wall
	res.CPU = -1
	if cpuOK {
		res.CPU = cpu1 - cpu0
	}
	return res
}

func (p *probe) notePeak(n int64) {
	for {
		peak := p.peak.Load()
		if n <= peak || p.peak.CompareAndSwap(peak, n) {
			return
		}
	}
}

func (p *probe) serve(s *shard, j job) {
	req := p.o.Request(j.seq)
	req.Seq, req.Intended = j.seq, j.intended
	ctx := p.reqCtx
	if p.o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, j.intended.Add(p.o.Timeout))
		defer cancel()
	}
	sent := p.o.Clock.Now()
	resp, err := p.target.Do(ctx, req)
	end := p.o.Clock.Now()
	if !j.inWindow {
		return
	}
	o := outcome{intended: j.intended, sent: sent, end: end, resp: resp, err: err}
	if err != nil {
		o.cut = p.cutting.Load() && p.reqCtx.Err() != nil
		o.timedOut = ctx.Err() != nil && p.reqCtx.Err() == nil
	}
	p.rec.record(s, o)
}

// closedLoop keeps Concurrency requests in flight until the window ends or ctx ends.
func (p *probe) closedLoop(ctx context.Context) {
	var seq atomic.Int64
	n := p.o.Arrival.Concurrency
	p.wg.Add(n)
	for w := range n {
		go func() {
			defer p.wg.Done()
			s := p.rec.shard(w)
			for ctx.Err() == nil {
				now := p.o.Clock.Now()
				if !now.Before(p.winEnd) {
					return
				}
				j := job{seq: seq.Add(1) - 1, intended: now, inWindow: !now.Before(p.winStart)}
				if j.inWindow {
					p.rec.sent.Add(1)
				}
				p.notePeak(p.inFlight.Add(1))
				p.serve(s, j)
				p.inFlight.Add(-1)
			}
		}()
	}
	_ = p.o.Clock.Sleeper(false).SleepUntil(ctx, p.winEnd)
}

// drain waits for the requests in flight: up to Grace after the window, or not at all
// once ctx is cancelled. Whatever is left is cut.
func (p *probe) drain(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	if ctx.Err() == nil {
		t := time.NewTimer(p.o.Grace)
		select {
		case <-done:
			t.Stop()
			return
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	p.cutting.Store(true)
	p.cutReqs()
	<-done
}

// monitor hands live statistics to Options.Stop every liveEvery during the window.
func (p *probe) monitor(quit <-chan struct{}, endPacing context.CancelFunc) {
	if p.o.Stop == nil {
		return
	}
	tick := time.NewTicker(liveEvery)
	defer tick.Stop()
	live := &Live{Latency: NewHistogram(), TTFT: NewHistogram(), TPOT: NewHistogram()}
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
		}
		now := p.o.Clock.Now()
		if now.Before(p.winStart) {
			continue
		}
		c := p.rec.snapshot(live)
		live.Elapsed = min(now.Sub(p.winStart), p.o.Duration)
		live.Sent = p.rec.sent.Load()
		drops := p.rec.drops.Load()
		live.OK = c.ok
		live.Failed = c.errs + c.rejects + c.timeouts + c.cut + drops
		live.Done = live.OK + live.Failed
		live.Late = c.late
		if p.o.Stop(live) {
			p.setStop(StopCondition, now)
			endPacing()
			return
		}
	}
}

// result merges the shards into the probe's result.
func (p *probe) result() *Result {
	lat, lag, ttft, tpot := NewHistogram(), NewHistogram(), NewHistogram(), NewHistogram()
	var c counts
	var rawLat, rawLag, rawTTFT, rawTPOT []time.Duration
	for i := range p.rec.shards {
		s := &p.rec.shards[i]
		s.mu.Lock()
		lat.Merge(s.latency)
		lag.Merge(s.lag)
		ttft.Merge(s.ttft)
		tpot.Merge(s.tpot)
		c.add(s.counts)
		rawLat = append(rawLat, s.rawLatency...)
		rawLag = append(rawLag, s.rawLag...)
		rawTTFT = append(rawTTFT, s.rawTTFT...)
		rawTPOT = append(rawTPOT, s.rawTPOT...)
		s.mu.Unlock()
	}
	window := p.o.Duration
	if p.stop != StopWindow {
		window = min(max(p.stoppedAt.Sub(p.winStart), 0), p.o.Duration)
	}
	r := &Result{
		Arrival:          p.o.Arrival.String(),
		Window:           window,
		Stop:             p.stop,
		Sent:             p.rec.sent.Load(),
		OK:               c.ok,
		Errors:           c.errs,
		Rejects:          c.rejects,
		Timeouts:         c.timeouts,
		Drops:            p.rec.drops.Load(),
		Cut:              c.cut,
		Late:             c.late,
		LateAfter:        p.rec.late,
		OutputTokens:     c.tokens,
		LatencyHistogram: lat,
		TTFTHistogram:    ttft,
		TPOTHistogram:    tpot,
		Lag:              SummarizeHistogram(lag),
		InFlightPeak:     p.peak.Load(),
	}
	// Requests still unaccounted for (none unless a target ignored its context) are cut.
	if missing := r.Sent - (r.OK + r.Errors + r.Rejects + r.Timeouts + r.Drops + r.Cut); missing > 0 {
		r.Cut += missing
	}
	if int64(len(rawLag)) == lag.TotalCount() {
		r.Lag = SummarizeSamples(rawLag)
	}
	exact := c.ok <= int64(p.o.RawLimit)
	r.Latency, r.TTFT, r.TPOT = SummarizeHistogram(lat), SummarizeHistogram(ttft), SummarizeHistogram(tpot)
	if exact {
		r.Latency, r.TTFT, r.TPOT = SummarizeSamples(rawLat), SummarizeSamples(rawTTFT), SummarizeSamples(rawTPOT)
	}
	if secs := window.Seconds(); secs > 0 {
		r.OfferedRPS = float64(r.Sent) / secs
		r.AchievedRPS = float64(r.OK) / secs
		r.TokensPerSecond = float64(r.OutputTokens) / secs
	}
	if c.ok > 0 {
		r.QueueWait = c.queueWait / time.Duration(c.ok)
		r.Service = c.service / time.Duration(c.ok)
		r.Batch = float64(c.batch) / float64(c.ok)
	}
	dispatched := r.Sent - r.Drops
	if dispatched > 0 {
		r.LateFraction = float64(r.Late) / float64(dispatched)
	}
	switch {
	case r.Sent == 0:
		r.InvalidReason = "no sends in the measurement window"
	case r.LateFraction > LateLimit && r.Late >= LateMinCount:
		r.InvalidReason = fmt.Sprintf("generator saturated: %.2f%% of sends started over %v late (limit %.0f%%)",
			100*r.LateFraction, r.LateAfter, 100*LateLimit)
	}
	r.Valid = r.InvalidReason == ""
	return r
}
