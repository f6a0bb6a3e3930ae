package tuner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/infertune/infertune/loadgen"
)

// A Server is a target the search builds for one config and closes after it.
type Server interface {
	loadgen.Target
	Close() error
}

// A Factory builds the server of one config.
type Factory func(ctx context.Context, c Config) (Server, error)

// Strategies.
const (
	StrategyGrid  = "grid"
	StrategySmart = "smart"
)

// Options configure a search.
type Options struct {
	Workload string
	Terms    []Term
	Space    Space
	// Strategy is StrategyGrid or StrategySmart.
	Strategy string
	// Budget caps the search's wall time; the best so far is reported, marked cut short.
	Budget time.Duration
	// Capacity is the template of every capacity search (its Terms are set here).
	Capacity CapacityOptions
	// Targets prices a config by its thread count.
	Targets []Target
	// Baseline is always measured (fp32, batch 1, every thread), first.
	Baseline Config
	// Fidelity returns the top-1 agreement and KL divergence of a precision against fp32;
	// needed only with fidelity or kld terms.
	Fidelity func(precision string) (top1, kld float64, err error)
	// Bus receives the search's events (nil: none).
	Bus *Bus
	// Done holds trials an earlier, interrupted attempt finished, by Config.Key: they are
	// reported again and not re-measured.
	Done map[string]Trial
}

// Trial is one config's outcome.
type Trial struct {
	Config Config
	Target Target
	// Capacity is the highest rate that passed every latency term (0: none did).
	Capacity float64
	// P50 and P99 are those of the passing probe at Capacity.
	P50, P99 time.Duration
	Cost     Cost
	// Meets is true when the config meets every SLO (at Capacity, with Cost.Replicas).
	Meets bool
	// Baseline marks the fp32 / batch 1 / every-thread config.
	Baseline bool
	// Pruned is true when no load ran: Reason says why (a fidelity term).
	Pruned bool
	// Reason says which SLO bound the config: the term that failed just above Capacity,
	// or why it was pruned or missed.
	Reason string
	// Miss is how far the config missed its binding term when it meets nothing (0.2: 20%
	// over a latency bound at the lowest rate tried, or short of a fidelity bound).
	Miss float64
	// Predicted is the smart strategy's predicted capacity (0 for grid).
	Predicted float64
	// Top1 and KLD are the precision's fidelity, when measured.
	Top1, KLD float64
	// Probes and ProbeTime count the load spent on the trial.
	Probes    int
	ProbeTime time.Duration
	// Resumed marks a trial taken from Options.Done.
	Resumed bool
	// Partial marks a trial whose capacity search the budget ended after a probe had
	// passed: Capacity is the highest rate that passed, a lower bound.
	Partial bool
	// Generation, at Capacity: TTFT and TPOT p99, output tokens/s, and output tokens per
	// request (zero for request/response trials).
	TTFTP99, TPOTP99 time.Duration
	TokensPerSec     float64
	TokensPerRequest float64
}

// Result is the outcome of a search.
type Result struct {
	Trials []Trial
	// Best is the cheapest config meeting every SLO (ties: lower p99); nil when none does.
	Best *Trial
	// Baseline is the baseline trial; Closest the config nearest to meeting the SLOs when
	// none does.
	Baseline, Closest *Trial
	// CutShort is true when the budget ended the search.
	CutShort bool
	// ProbeTime is the wall time spent in probes.
	ProbeTime time.Duration
}

// Saving returns how much cheaper per million requests Best is than Baseline (0.7: 70%);
// 0 when either is missing or the baseline meets nothing.
func (r Result) Saving() float64 {
	if r.Best == nil || r.Baseline == nil || !r.Baseline.Meets || r.Baseline.Cost.PerMillion <= 0 {
		return 0
	}
	return 1 - r.Best.Cost.PerMillion/r.Baseline.Cost.PerMillion
}

// Search finds the cheapest config meeting the SLOs. The parent context's cancellation
// (Ctrl-C) stops it with ctx.Err() and the result so far; the budget stops it with the
// result so far marked CutShort and no error.
func Search(ctx context.Context, factory Factory, o Options) (Result, error) {
	if o.Strategy != StrategyGrid && o.Strategy != StrategySmart {
		return Result{}, fmt.Errorf("strategy %q: accepted: %s, %s", o.Strategy, StrategySmart, StrategyGrid)
	}
	configs := o.Space.Configs()
	if len(configs) == 0 {
		return Result{}, errors.New("search: the space is empty")
	}
	// The baseline first, then the space without it.
	configs = slices.DeleteFunc(configs, func(c Config) bool { return c == o.Baseline })
	configs = append([]Config{o.Baseline}, configs...)

	budgetCtx, cancel := context.WithCancel(ctx)
	if o.Budget > 0 {
		budgetCtx, cancel = context.WithTimeout(ctx, o.Budget)
	}
	defer cancel()
	o.Strategy = StrategyFor(o.Strategy, o.Space) // and RunStarted says so
	o.Bus.Publish(RunStarted{Workload: o.Workload, Terms: o.Terms, Strategy: o.Strategy, Configs: len(configs), Budget: o.Budget})
	s := &searcher{o: o, factory: factory, parent: ctx}
	var err error
	if o.Strategy == StrategyGrid {
		err = s.grid(budgetCtx, configs)
	} else {
		err = s.smart(budgetCtx, configs)
	}
	res := s.result()
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case budgetCtx.Err() != nil:
		res.CutShort, err = true, nil
	}
	o.Bus.Publish(RunDone{Result: res})
	return res, err
}

type searcher struct {
	o       Options
	factory Factory
	trials  []Trial
	best    *Trial
	probeT  time.Duration
	parent  context.Context // the search's context without the budget
}

func (s *searcher) grid(ctx context.Context, configs []Config) error {
	for i, c := range configs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.o.Bus.Publish(TrialStarted{Index: i + 1, Total: len(configs), Config: c})
		t, err := s.measure(ctx, c, 0)
		if err != nil {
			return err
		}
		s.finish(t)
	}
	return nil
}

// measure runs the trial of c (or takes it from Done, or prunes it by fidelity).
func (s *searcher) measure(ctx context.Context, c Config, predicted float64) (Trial, error) {
	if done, ok := s.o.Done[c.Key()]; ok {
		done.Resumed = true
		return done, nil
	}
	t := Trial{Config: c, Baseline: c == s.o.Baseline, Predicted: predicted}
	tgt, ok := s.target(c.Threads)
	if !ok {
		return t, fmt.Errorf("search: no priced target with %d threads", c.Threads)
	}
	t.Target = tgt
	if pruned := s.pruneByFidelity(&t); pruned {
		return t, nil
	}
	srv, err := s.factory(ctx, c)
	if err != nil {
		return t, fmt.Errorf("config %s: %w", c, err)
	}
	defer srv.Close()
	co := s.o.Capacity
	co.Terms = s.o.Terms
	if predicted <= 0 && !c.Generation() {
		// Without a prediction, start from a short closed-loop measure of the peak rate:
		// a ramp from a trickle would spend most of its time on rates far below capacity
		// (a p99 verdict needs at least 459 requests). A generation request lasts seconds,
		// longer than that measure: generation configs ramp from the default start.
		peak, spent, err := quickPeak(ctx, srv, c, s.o.Capacity.Probe)
		s.probeT += spent
		t.ProbeTime += spent
		if err != nil {
			return t, err
		}
		predicted = peak
	}
	if predicted > 0 {
		co.Start = max(predicted/2, 1)
	}
	co.OnProbe = func(p ProbeOutcome) { s.o.Bus.Publish(ProbeDone{Config: c, Probe: p}) }
	if s.o.Bus != nil {
		co.OnLive = func(l ProbeLive) {
			l.Config = c
			s.o.Bus.TryPublish(l) // a snapshot a full subscriber misses is replaced within 200 ms
		}
	}
	capRes, err := FindCapacity(ctx, srv, co)
	t.Probes = len(capRes.Probes)
	t.ProbeTime = capRes.Elapsed
	s.probeT += capRes.Elapsed
	if err != nil {
		// The budget ended the search: what passed so far still counts, as a lower bound
		// (an interruption leaves the trial to be measured again on resume). The trial
		// is returned like any other; the caller's next check of ctx ends the search.
		if capRes.RPS > 0 && s.parent.Err() == nil && ctx.Err() != nil {
			t.Partial = true
			return s.meets(t, capRes, co, tgt)
		}
		return t, err
	}
	return s.meets(t, capRes, co, tgt)
}

// meets fills t in from its capacity search: the capacity, the binding term, and the cost
// when some rate passed, or how far it missed.
func (s *searcher) meets(t Trial, capRes Capacity, co CapacityOptions, tgt Target) (Trial, error) {
	t.Capacity = capRes.RPS
	if capRes.Best != nil {
		r := capRes.Best.Result
		t.P50, t.P99 = r.Latency.P50, r.Latency.P99
		t.TTFTP99, t.TPOTP99, t.TokensPerSec = r.TTFT.P99, r.TPOT.P99, r.TokensPerSecond
		if r.OK > 0 {
			t.TokensPerRequest = float64(r.OutputTokens) / float64(r.OK)
		}
	}
	for _, p := range capRes.Probes {
		if p.Verdict != Pass && p.Rate == capRes.FailRPS {
			t.Reason = p.Reason
		}
	}
	if t.Capacity <= 0 {
		t.Reason, t.Miss = missAtLowest(capRes, s.o.Terms)
		if lowest := capRes.lowest(); lowest != nil && lowest.Rate/co.Growth < capRes.MinRate {
			t.Reason += fmt.Sprintf("; capacity below %.3g req/s (no lower rate tried: below %.3g req/s the longest probe, %v, holds too few requests for a verdict)",
				lowest.Rate, capRes.MinRate, co.maxWindow())
		}
		return t, nil
	}
	cost, err := CostOf(tgt, t.Capacity, s.requiredRPS(t.TokensPerRequest))
	if err != nil {
		return t, err
	}
	t.Cost = cost
	t.Meets = true
	if t.Partial {
		t.Reason = fmt.Sprintf("the budget ended its search: capacity at least %.4g req/s", t.Capacity)
	}
	return t, nil
}

// missAtLowest says how far the lowest-rate probe missed its first failing term.
func missAtLowest(c Capacity, terms []Term) (string, float64) {
	p := c.lowest()
	if p == nil {
		return "no probe ran", 0
	}
	if !p.Result.Valid {
		return p.Reason, 0
	}
	for i, t := range terms {
		if !isLatencyMetric(t.Metric) || i >= len(p.Terms) || p.Terms[i] == Pass {
			continue
		}
		got := percentileOf(resultHistogram(t, p.Result), t.Percentile)
		return fmt.Sprintf("%s: p%v was %v at %.3g req/s", t, t.Percentile, got, p.Rate), float64(got)/float64(t.Bound) - 1
	}
	return p.Reason, 0
}

// lowest returns the probe at the lowest rate (nil when none ran).
func (c Capacity) lowest() *ProbeOutcome {
	var p *ProbeOutcome
	for i := range c.Probes {
		if q := &c.Probes[i]; p == nil || q.Rate < p.Rate {
			p = q
		}
	}
	return p
}

func percentileOf(h *hdrhistogram.Histogram, p float64) time.Duration {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.ValueAtPercentile(p))
}

func (s *searcher) pruneByFidelity(t *Trial) bool {
	var terms []Term
	for _, term := range s.o.Terms {
		if term.Metric == MetricFidelity || term.Metric == MetricKLD {
			terms = append(terms, term)
		}
	}
	if len(terms) == 0 || s.o.Fidelity == nil {
		return false
	}
	top1, kld, err := s.o.Fidelity(t.Config.Precision)
	if err != nil {
		t.Pruned, t.Reason = true, fmt.Sprintf("fidelity: %v", err)
		return true
	}
	t.Top1, t.KLD = top1, kld
	for _, term := range terms {
		got := top1
		if term.Metric == MetricKLD {
			got = kld
		}
		if ValueVerdict(term, got) != Pass {
			t.Pruned = true
			t.Reason = fmt.Sprintf("%s: measured %.4g", term, got)
			if term.Value > 0 {
				t.Miss = math.Abs(got-term.Value) / term.Value
			}
			return true
		}
	}
	return false
}

// requiredRPS is the request rate the replicas must serve: the rps term's, or the tps
// term's divided by the output tokens per request (tokensPerRequest, measured at the
// trial's capacity), whichever is more; 0 without either.
func (s *searcher) requiredRPS(tokensPerRequest float64) float64 {
	r := s.rpsSLO()
	for _, t := range s.o.Terms {
		if t.Metric == MetricTPS && tokensPerRequest > 0 {
			r = max(r, t.Value/tokensPerRequest)
		}
	}
	return r
}

func (s *searcher) rpsSLO() float64 {
	for _, t := range s.o.Terms {
		if t.Metric == MetricRPS {
			return t.Value
		}
	}
	return 0
}

func (s *searcher) target(threads int) (Target, bool) {
	for _, t := range s.o.Targets {
		if t.Threads == threads {
			return t, true
		}
	}
	return Target{}, false
}

// finish records t and publishes it, and a new best when it is one.
func (s *searcher) finish(t Trial) {
	s.trials = append(s.trials, t)
	s.o.Bus.Publish(TrialDone{Trial: t})
	if t.Meets && (s.best == nil || better(t, *s.best)) {
		b := t
		s.best = &b
		s.o.Bus.Publish(BestChanged{Trial: b})
	}
}

// better orders passing trials: cheaper per million, then lower p99.
func better(a, b Trial) bool {
	if a.Cost.PerMillion != b.Cost.PerMillion {
		return a.Cost.PerMillion < b.Cost.PerMillion
	}
	return a.P99 < b.P99
}

func (s *searcher) result() Result {
	r := Result{Trials: slices.Clone(s.trials), ProbeTime: s.probeT}
	for i := range r.Trials {
		t := &r.Trials[i]
		if t.Baseline {
			r.Baseline = t
		}
		if t.Meets && (r.Best == nil || better(*t, *r.Best)) {
			r.Best = t
		}
	}
	if r.Best == nil {
		// The closest: the smallest miss among trials that measured or were pruned.
		cands := make([]*Trial, 0, len(r.Trials))
		for i := range r.Trials {
			cands = append(cands, &r.Trials[i])
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].Miss < cands[j].Miss })
		if len(cands) > 0 {
			r.Closest = cands[0]
		}
	}
	return r
}

// peakWindow is the closed-loop window that estimates a config's peak rate.
const peakWindow = 300 * time.Millisecond

// StrategyFor returns the strategy a search of space runs when asked for asked: asked, but
// that a generation space is searched as a grid (baseline first), since smart's
// predictions simulate the dynamic batcher.
func StrategyFor(asked string, space Space) string {
	if space.Generation() {
		return StrategyGrid
	}
	return asked
}

// quickPeak runs a closed loop of 2·MaxBatch requests against srv for peakWindow and
// returns the rate it achieved, and the time spent.
func quickPeak(ctx context.Context, srv loadgen.Target, c Config, tmpl loadgen.Options) (float64, time.Duration, error) {
	inFlight := 2 * c.MaxBatch // twice what one batch holds
	a, err := loadgen.Closed(inFlight)
	if err != nil {
		return 0, 0, err
	}
	opt := tmpl
	opt.Arrival, opt.Stop = a, nil
	opt.Warmup, opt.Duration = peakWindow/3, peakWindow
	opt.MaxInFlight = max(opt.MaxInFlight, inFlight)
	start := time.Now()
	res, err := loadgen.Run(ctx, srv, opt)
	if err != nil {
		return 0, time.Since(start), err
	}
	return res.AchievedRPS, time.Since(start), nil
}
