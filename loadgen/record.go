package loadgen

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// A recorder collects the outcomes of the requests of a measurement window. Workers record
// into shards (HDR histograms are not safe for concurrent use); a shard's mutex is
// uncontended unless a live snapshot is being taken. Raw samples are kept while fewer
// than the raw limit have been taken, for exact order statistics.
type recorder struct {
	shards  []shard
	late    time.Duration // a send that starts more than this behind its time is late
	rawLeft atomic.Int64  // raw latency samples that may still be kept
	lagLeft atomic.Int64  // raw lag samples that may still be kept
	sent    atomic.Int64  // sends intended in the window (dispatched or dropped)
	drops   atomic.Int64  // sends dropped at the in-flight bound
}

type shard struct {
	mu sync.Mutex
	counts
	latency, lag, ttft, tpot *hdrhistogram.Histogram
	rawLatency, rawLag       []time.Duration
	rawTTFT, rawTPOT         []time.Duration
	_                        [64]byte // keep shards' locks on separate cache lines
}

// counts are the per-outcome counters of a shard.
type counts struct {
	ok, errs, rejects, timeouts, cut, late int64
	tokens                                 int64
	queueWait, service                     time.Duration
	batch                                  int64
}

func (c *counts) add(o counts) {
	c.ok += o.ok
	c.errs += o.errs
	c.rejects += o.rejects
	c.timeouts += o.timeouts
	c.cut += o.cut
	c.late += o.late
	c.tokens += o.tokens
	c.queueWait += o.queueWait
	c.service += o.service
	c.batch += o.batch
}

func newRecorder(shards int, rawLimit int, lateAfter time.Duration) *recorder {
	r := &recorder{shards: make([]shard, shards), late: lateAfter}
	for i := range r.shards {
		s := &r.shards[i]
		s.latency, s.lag, s.ttft, s.tpot = NewHistogram(), NewHistogram(), NewHistogram(), NewHistogram()
	}
	r.rawLeft.Store(int64(rawLimit))
	r.lagLeft.Store(int64(rawLimit))
	return r
}

func (r *recorder) shard(worker int) *shard { return &r.shards[worker%len(r.shards)] }

// LateAfter is how far behind its intended time a send may start before it counts as
// late, unless Options.LateAfter says otherwise.
const LateAfter = time.Millisecond

// outcome is one finished request of the window.
type outcome struct {
	intended, sent, end time.Time
	resp                *Response
	err                 error
	cut                 bool // the probe cut the request (grace over, or cancelled)
	timedOut            bool // the request's own timeout (Options.Timeout) expired
}

func (r *recorder) record(s *shard, o outcome) {
	lag := o.sent.Sub(o.intended)
	latency := o.end.Sub(o.intended)
	keepRaw := false
	if o.err == nil {
		keepRaw = r.rawLeft.Add(-1) >= 0
	}
	keepLag := r.lagLeft.Add(-1) >= 0
	s.mu.Lock()
	defer s.mu.Unlock()
	recordValue(s.lag, lag)
	if keepLag {
		s.rawLag = append(s.rawLag, lag)
	}
	if lag > r.late {
		s.late++
	}
	switch {
	case o.err == nil:
	case o.cut:
		s.cut++
		return
	case errors.Is(o.err, ErrRejected):
		s.rejects++
		return
	case o.timedOut || errors.Is(o.err, context.DeadlineExceeded):
		// The probe's timeout, or one of the target's own (an engine's request timeout).
		s.timeouts++
		return
	default:
		s.errs++
		return
	}
	s.ok++
	recordValue(s.latency, latency)
	if keepRaw {
		s.rawLatency = append(s.rawLatency, latency)
	}
	resp := o.resp
	if resp == nil {
		return
	}
	s.queueWait += resp.QueueWait
	s.service += resp.Service
	s.batch += int64(max(resp.BatchSize, 1))
	if n := len(resp.TokenTimes); n > 0 {
		s.tokens += int64(n)
		ttft := resp.TokenTimes[0].Sub(o.intended)
		recordValue(s.ttft, ttft)
		if keepRaw {
			s.rawTTFT = append(s.rawTTFT, ttft)
		}
		if n > 1 {
			tpot := resp.TokenTimes[n-1].Sub(resp.TokenTimes[0]) / time.Duration(n-1)
			recordValue(s.tpot, tpot)
			if keepRaw {
				s.rawTPOT = append(s.rawTPOT, tpot)
			}
		}
	}
}

// snapshot merges the shards' latency, TTFT and TPOT histograms into live's and returns
// the shards' counts, for live statistics.
func (r *recorder) snapshot(live *Live) counts {
	live.Latency.Reset()
	live.TTFT.Reset()
	live.TPOT.Reset()
	var c counts
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		live.Latency.Merge(s.latency)
		if s.ttft.TotalCount() > 0 { // only streamed responses have token times
			live.TTFT.Merge(s.ttft)
			live.TPOT.Merge(s.tpot)
		}
		c.add(s.counts)
		s.mu.Unlock()
	}
	return c
}

// A Live snapshot describes the measurement window so far. Probes hand one to
// Options.Stop at least ten times a second.
type Live struct {
	// Elapsed is the time since the window began.
	Elapsed time.Duration
	// Sent counts sends intended so far in the window; Done the requests finished, OK
	// those that succeeded, Failed the others (errors, rejects, timeouts, drops).
	Sent, Done, OK, Failed int64
	// Late counts sends that started more than the probe's LateAfter behind their
	// intended time.
	Late int64
	// Latency holds the latencies of the successful requests; TTFT and TPOT those of their
	// streamed tokens (empty for targets that stream none). They are reused between
	// calls: copy them to keep them.
	Latency, TTFT, TPOT *hdrhistogram.Histogram
}
