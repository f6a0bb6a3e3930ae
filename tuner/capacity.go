package tuner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/infertune/infertune/loadgen"
)

// CapacityOptions configure a capacity search.
type CapacityOptions struct {
	// Terms are the latency SLO terms a probe must pass (other metrics are ignored here).
	Terms []Term
	// Probe is the template of every probe: warm-up, window (the cap of a probe), grace,
	// clock, payloads. Its Arrival and Stop are set by the search.
	Probe loadgen.Options
	// Start is the first rate tried, in requests per second; MaxRate bounds the ramp up,
	// MinRate the ramp down when Start already fails (0: Start/16).
	Start, MaxRate, MinRate float64
	// Growth multiplies the rate while probes pass (2: doubling).
	Growth float64
	// Precision ends the bisection when (fail - pass) / pass is at most this (0.05).
	Precision float64
	// MinSamples is the least number of samples a probe takes before it may pass, even when
	// the SLO's own bound would allow fewer (0: the verdict's own minimum).
	MinSamples int64
	// MinPassWindow is the least window a probe observes before it may stop on a pass (a
	// fail may stop it at once); 0 means a quarter of the probe's window. The binomial
	// verdict treats requests as independent, but a queue's latencies are correlated over
	// its relaxation time (long near saturation): a short quiet stretch must not pass.
	MinPassWindow time.Duration
	// MaxWindow is the longest a probe's window may be lengthened to so that a low rate
	// still gathers the requests a verdict needs (0: four times Probe.Duration). Below the
	// rate at which MaxWindow holds them, no probe can pass, and the search does not go.
	MaxWindow time.Duration
	// OnProbe, when set, is called after each probe.
	OnProbe func(ProbeOutcome)
	// OnLive, when set, is called with the probe in progress at most every LiveEvery of
	// its window, from the probe's monitor goroutine: it must return quickly.
	OnLive func(ProbeLive)
}

// LiveEvery is the least window time between two ProbeLive snapshots of one probe.
const LiveEvery = 200 * time.Millisecond

// ProbeLive is a snapshot of the probe in progress, for displays.
type ProbeLive struct {
	// Config is the config under load (set by Search; zero from FindCapacity alone).
	Config Config
	// Rate is the offered rate; Elapsed the window so far, of at most Window.
	Rate            float64
	Elapsed, Window time.Duration
	// Sent, Done, OK, Failed and Late count the window's requests so far (loadgen.Live).
	Sent, Done, OK, Failed, Late int64
	// Terms follows each latency term, in the order of CapacityOptions.Terms.
	Terms []TermLive
}

// Achieved is the rate of finished requests over the window so far.
func (l ProbeLive) Achieved() float64 {
	if l.Elapsed <= 0 {
		return 0
	}
	return float64(l.Done) / l.Elapsed.Seconds()
}

// TermLive is one latency term of a probe in progress.
type TermLive struct {
	Term Term
	// Value is the term's percentile of the samples so far, P50 their median (0 before
	// the first).
	Value, P50 time.Duration
	// Samples counts the term's samples so far (failures included), Over those over the bound.
	Samples, Over int64
	Verdict       Verdict
	// Need is how many more samples the term needs to pass if none of them is over the
	// bound (0 once decided).
	Need int64
}

// DefaultCapacityOptions returns the defaults: start at 10 req/s, double, bisect to 5%.
func DefaultCapacityOptions(terms []Term, probe loadgen.Options) CapacityOptions {
	return CapacityOptions{Terms: terms, Probe: probe, Start: 10, MaxRate: 1e6, Growth: 2, Precision: 0.05}
}

// ProbeOutcome is one probe of a capacity search.
type ProbeOutcome struct {
	Rate    float64
	Result  *loadgen.Result
	Verdict Verdict
	// Terms holds each latency term's verdict, in the order of CapacityOptions.Terms.
	Terms []Verdict
	// Reason says why the probe failed or was inconclusive ("" when it passed).
	Reason string
}

// Capacity is the result of a capacity search.
type Capacity struct {
	// RPS is the highest rate whose probe passed; 0 when none did.
	RPS float64
	// Best is the passing probe at RPS (nil when none passed).
	Best *ProbeOutcome
	// FailRPS is the lowest rate that failed above RPS (0 if the ramp hit MaxRate).
	FailRPS float64
	Probes  []ProbeOutcome
	// MinRate is the lowest rate the search would probe: the larger of the asked MinRate
	// and the rate at which MaxWindow holds the requests a pass needs.
	MinRate float64
	// Elapsed is the wall time of the probes.
	Elapsed time.Duration
}

// FindCapacity ramps the arrival rate geometrically from Start while probes pass, then
// bisects between the highest pass and the lowest fail until they are within Precision.
// A probe passes when every latency term passes at 99% confidence (failed requests count
// as over every bound) and the probe is valid: an invalid probe (the generator could not
// keep its schedule) is never a pass. A probe ends as soon as every term's verdict is
// known, or at the end of its window; one still inconclusive there fails.
func FindCapacity(ctx context.Context, target loadgen.Target, o CapacityOptions) (c Capacity, err error) {
	if o.Start <= 0 || o.MaxRate < o.Start || o.Growth <= 1 || o.Precision <= 0 {
		return Capacity{}, fmt.Errorf("capacity search: start %v, max rate %v, growth %v, precision %v: want 0 < start <= max, growth > 1, precision > 0",
			o.Start, o.MaxRate, o.Growth, o.Precision)
	}
	var lat []Term
	for _, t := range o.Terms {
		if isLatencyMetric(t.Metric) {
			lat = append(lat, t)
		}
	}
	if len(lat) == 0 {
		return Capacity{}, errors.New("capacity search: no latency SLO term (such as p99<=50ms) to search against")
	}
	o.Terms = lat
	start := time.Now()
	probe := func(rate float64) (bool, error) {
		po, err := runProbe(ctx, target, o, rate)
		if err != nil {
			return false, err
		}
		c.Probes = append(c.Probes, po)
		if o.OnProbe != nil {
			o.OnProbe(po)
		}
		return po.Verdict == Pass, nil
	}
	// However the search ends, the capacity is its highest passing probe.
	defer func() {
		c.Elapsed = time.Since(start)
		for i := range c.Probes {
			if p := &c.Probes[i]; p.Verdict == Pass && p.Rate > c.RPS {
				c.RPS, c.Best = p.Rate, p
			}
		}
	}()

	lo, hi := 0.0, 0.0
	// When the start already fails, ramp down instead, to MinRate at the lowest.
	minRate := o.MinRate
	if minRate <= 0 {
		minRate = o.Start / 16
	}
	minRate = max(minRate, o.verifiableRate())
	c.MinRate = minRate
	// A start below the floor could never pass: start at the floor.
	first := max(o.Start, minRate)
	if pass, err := probe(first); err != nil || ctx.Err() != nil {
		return c, errors.Join(err, ctx.Err())
	} else if !pass {
		hi = first
		for rate := first / o.Growth; rate >= minRate; rate /= o.Growth {
			pass, err := probe(rate)
			if err != nil || ctx.Err() != nil {
				return c, errors.Join(err, ctx.Err())
			}
			if pass {
				lo = rate
				break
			}
			hi = rate
		}
	} else {
		lo = first
	}
	for rate := lo * o.Growth; lo > 0 && hi == 0; rate = math.Min(rate*o.Growth, o.MaxRate) {
		pass, err := probe(rate)
		if err != nil || ctx.Err() != nil {
			return c, errors.Join(err, ctx.Err())
		}
		if !pass {
			hi = rate
			break
		}
		lo = rate
		if rate >= o.MaxRate {
			return c, nil
		}
	}
	if lo == 0 {
		c.FailRPS = hi
		return c, nil // not even MinRate passed
	}
	for lo > 0 && (hi-lo)/lo > o.Precision {
		mid := (lo + hi) / 2
		pass, err := probe(mid)
		if err != nil || ctx.Err() != nil {
			return c, errors.Join(err, ctx.Err())
		}
		if pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	c.FailRPS = hi
	return c, nil
}

// maxWindow returns MaxWindow or its default.
func (o CapacityOptions) maxWindow() time.Duration {
	if o.MaxWindow > 0 {
		return max(o.MaxWindow, o.Probe.Duration)
	}
	return 4 * o.Probe.Duration
}

// toPass returns how many requests term t needs to pass with none over its bound (459
// for p99), or MinSamples when more. A probe's window holds twice that, so that a few may
// be over, and the longest window at least once (verifiableRate).
func (o CapacityOptions) toPass(t Term) int64 {
	return max(SamplesToPass(t.Percentile, 0), o.MinSamples)
}

// verifiableRate returns the lowest rate at which the longest window holds the requests
// every term needs to pass at all.
func (o CapacityOptions) verifiableRate() float64 {
	r := 0.0
	if w := o.maxWindow().Seconds(); w > 0 {
		for _, t := range o.Terms {
			r = max(r, float64(o.toPass(t))/w)
		}
	}
	return r
}

// runProbe runs one Poisson probe at rate, stopping as soon as every term is decided.
func runProbe(ctx context.Context, target loadgen.Target, o CapacityOptions, rate float64) (ProbeOutcome, error) {
	a, err := loadgen.Poisson(rate)
	if err != nil {
		return ProbeOutcome{}, err
	}
	opt := o.Probe
	opt.Arrival = a
	if opt.LateAfter == 0 {
		opt.LateAfter = LateAfter(o.Terms)
	}
	// The window must hold enough requests for a pass twice over, up to the longest window.
	for _, t := range o.Terms {
		if d := time.Duration(float64(2*o.toPass(t)) / rate * float64(time.Second)); d > opt.Duration {
			opt.Duration = min(d, o.maxWindow())
		}
	}
	maxN := int64(math.Ceil(rate * opt.Duration.Seconds()))
	verdicts := make([]Verdict, len(o.Terms))
	minPass := o.MinPassWindow
	if minPass <= 0 {
		minPass = o.Probe.Duration / 4
	}
	overs := make([]int64, len(o.Terms))
	lastLive := -LiveEvery
	opt.Stop = func(l *loadgen.Live) bool {
		decided, failed := true, false
		for i, t := range o.Terms {
			h := termHistogram(t, l.Latency, l.TTFT, l.TPOT)
			overs[i] = countOver(t, h)
			verdicts[i] = latencyVerdict(t, h.TotalCount(), overs[i], l.Failed, maxN, o.MinSamples)
			decided = decided && verdicts[i] != Inconclusive
			failed = failed || verdicts[i] == Fail
		}
		if o.OnLive != nil && l.Elapsed-lastLive >= LiveEvery {
			lastLive = l.Elapsed
			o.OnLive(probeLive(o, l, rate, opt.Duration, verdicts, overs))
		}
		return failed || (decided && l.Elapsed >= minPass)
	}
	res, err := loadgen.Run(ctx, target, opt)
	if err != nil {
		return ProbeOutcome{}, err
	}
	po := ProbeOutcome{Rate: rate, Result: res, Terms: make([]Verdict, len(o.Terms))}
	// The final verdicts, from everything the probe recorded (a window that ran to its end
	// is the cap: what has not passed by then fails).
	capN := res.OK + res.Failed()
	if res.Stop == loadgen.StopWindow {
		capN = 0
	}
	po.Verdict = Pass
	for i, t := range o.Terms {
		h := resultHistogram(t, res)
		v := latencyVerdict(t, sampleCount(h), countOver(t, h), res.Failed(), max(capN, res.OK+res.Failed()), o.MinSamples)
		if v == Inconclusive && res.Stop == loadgen.StopWindow {
			v = Fail // the window was the cap: what has not passed by then fails
		}
		po.Terms[i] = v
		if v != Pass && po.Verdict == Pass {
			po.Verdict = v
			po.Reason = fmt.Sprintf("%s: %s (%d of %d requests over %v)", t, v, over(t, res), res.OK+res.Failed(), t.Bound)
		}
	}
	switch {
	case res.Stop == loadgen.StopCanceled:
		// Cut by the caller (Ctrl-C, the budget): whatever it had not decided stays open.
		if po.Verdict != Fail {
			po.Verdict, po.Reason = Inconclusive, "cut short before its verdict"
		}
	case !res.Valid:
		po.Verdict = Fail
		po.Reason = "invalid probe: " + res.InvalidReason
	}
	return po, nil
}

// LateAfter is how late a probe's send may start before it counts against the probe's
// validity: 1 ms (loadgen.LateAfter), or 1% of the tightest latency bound among terms when
// that is more. A probe is invalid when over 1% of its sends are late, since an open-loop
// schedule the generator cannot keep offers less load than it claims. A send 1% of the
// bound late shifts that request's latency by 1% of the bound, and a probe's verdict by at
// most the 1% of requests allowed to be that late; holding a 2 s TTFT bound to
// millisecond sends would invalidate probes for lags a thousand times smaller than what
// they judge.
func LateAfter(terms []Term) time.Duration {
	tight := time.Duration(0)
	for _, t := range terms {
		if t.Percentile > 0 && t.Bound > 0 && (tight == 0 || t.Bound < tight) {
			tight = t.Bound
		}
	}
	return max(loadgen.LateAfter, tight/100)
}

// probeLive snapshots l for OnLive, with each term's verdict and samples over its bound
// as the Stop check just counted them.
func probeLive(o CapacityOptions, l *loadgen.Live, rate float64, window time.Duration, verdicts []Verdict, overs []int64) ProbeLive {
	pl := ProbeLive{Rate: rate, Elapsed: l.Elapsed, Window: window, Sent: l.Sent, Done: l.Done, OK: l.OK,
		Failed: l.Failed, Late: l.Late, Terms: make([]TermLive, len(o.Terms))}
	for i, t := range o.Terms {
		h := termHistogram(t, l.Latency, l.TTFT, l.TPOT)
		tl := TermLive{Term: t, Verdict: verdicts[i], Samples: h.TotalCount() + l.Failed, Over: overs[i] + l.Failed}
		if h.TotalCount() > 0 {
			tl.Value = time.Duration(h.ValueAtPercentile(t.Percentile))
			tl.P50 = time.Duration(h.ValueAtPercentile(50))
		}
		if tl.Verdict == Inconclusive {
			if need := SamplesToPass(t.Percentile, tl.Over); need > tl.Samples {
				tl.Need = need - tl.Samples
			}
			tl.Need = max(tl.Need, o.MinSamples-tl.Samples)
		}
		pl.Terms[i] = tl
	}
	return pl
}

func over(t Term, res *loadgen.Result) int64 {
	return countOver(t, resultHistogram(t, res)) + res.Failed()
}

// countOver counts the samples of h over t's bound (none in a nil histogram).
func countOver(t Term, h *hdrhistogram.Histogram) int64 {
	if h == nil {
		return 0
	}
	return loadgen.CountOver(h, t.Bound)
}

// termHistogram returns the histogram a latency term reads: whole requests' latency, or
// the time to their first token, or per output token after it.
func termHistogram(t Term, latency, ttft, tpot *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	switch t.Metric {
	case MetricTTFT:
		return ttft
	case MetricTPOT:
		return tpot
	}
	return latency
}

// resultHistogram is termHistogram of a probe's result.
func resultHistogram(t Term, r *loadgen.Result) *hdrhistogram.Histogram {
	return termHistogram(t, r.LatencyHistogram, r.TTFTHistogram, r.TPOTHistogram)
}

func sampleCount(h *hdrhistogram.Histogram) int64 {
	if h == nil {
		return 0
	}
	return h.TotalCount()
}

// latencyVerdict decides one latency term from the successful requests' samples of its
// metric (latency, TTFT or TPOT): ok of them, over of those above the bound, and a count of
// failures (which count as over every bound).
func latencyVerdict(t Term, ok, over, failed, maxN, minSamples int64) Verdict {
	n := ok + failed
	v := PercentileVerdict(t.Percentile, n, over+failed, maxN)
	if v == Pass && n < minSamples {
		return Inconclusive
	}
	return v
}
