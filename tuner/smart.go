package tuner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/infertune/infertune/loadgen"
)

// Smart strategy parameters.
const (
	// smartMargin: verification stops when the best verified cost is this much below the
	// predicted cost of every config not yet verified.
	smartMargin = 0.10
	// simRequests is the number of arrivals each simulated rate runs.
	simRequests = 4000
	// profileWindow is the closed-loop window that times a batch size; batches of one are
	// timed profileSingle times longer, for the spread of single requests' service times.
	profileWindow = 400 * time.Millisecond
	profileSingle = 5
	// singlePoints is the number of quantiles kept of single requests' service times.
	singlePoints = 200
)

// profileKey names a service-time profile: everything but the batching knobs.
type profileKey struct {
	Precision, Tier string
	Threads         int
}

// serviceCurve is S(b): the mean service time of a batch of b requests, measured at some
// sizes and interpolated linearly between them; and single, the distribution of a single
// request's service time (singlePoints quantiles, ascending; empty when not measured).
//
// Requests of one workload differ (a 256-token sentence takes ten times a 24-token one),
// and a p99 is set by the long ones: a simulation on the mean service time alone predicted
// 111 req/s for a classify config whose measured capacity was under 14. The simulation
// therefore draws each request's own service time from single, and a batch of k takes the
// sum of its requests' times scaled by the batching gain of the mean curve,
// S(k) / (k·S(1)).
type serviceCurve struct {
	sizes  []int
	times  []time.Duration
	single []time.Duration
}

// batch returns the service time of a batch of k requests, drawing their single service
// times with r.
func (c serviceCurve) batch(k int, r *rand.Rand) float64 {
	mean := c.at(k).Seconds()
	if len(c.single) == 0 {
		return mean
	}
	sum := 0.0
	for range k {
		sum += c.single[r.IntN(len(c.single))].Seconds()
	}
	return sum * mean / (float64(k) * c.at(1).Seconds())
}

func (c serviceCurve) at(b int) time.Duration {
	i := sort.SearchInts(c.sizes, b)
	switch {
	case i < len(c.sizes) && c.sizes[i] == b:
		return c.times[i]
	case i == 0:
		return c.times[0]
	case i == len(c.sizes):
		last := len(c.sizes) - 1
		return time.Duration(float64(c.times[last]) * float64(b) / float64(c.sizes[last]))
	}
	a, z := c.sizes[i-1], c.sizes[i]
	f := float64(b-a) / float64(z-a)
	return c.times[i-1] + time.Duration(f*float64(c.times[i]-c.times[i-1]))
}

// smart measures the baseline, prunes precisions by fidelity, profiles S(b) for each
// (precision, tier, threads) with short closed-loop probes, predicts each config's
// capacity by simulating its batcher, and verifies configs in order of predicted cost
// until the best verified one beats every prediction left by smartMargin.
func (s *searcher) smart(ctx context.Context, configs []Config) error {
	total := len(configs)
	// The baseline, always measured first.
	s.o.Bus.Publish(TrialStarted{Index: 1, Total: total, Config: configs[0]})
	t, err := s.measure(ctx, configs[0], 0)
	if err != nil {
		return err
	}
	s.finish(t)
	rest := configs[1:]

	// Fidelity and profiling.
	type candidate struct {
		c    Config
		tgt  Target
		pred float64
		cost Cost
	}
	curves := map[profileKey]*serviceCurve{}
	var cands []candidate
	for _, c := range rest {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, ok := s.o.Done[c.Key()]; ok {
			cands = append(cands, candidate{c: c})
			continue
		}
		probeT := Trial{Config: c}
		if s.pruneByFidelity(&probeT) {
			probeT.Target, _ = s.target(c.Threads)
			s.finish(probeT)
			continue
		}
		key := profileKey{c.Precision, c.Tier, c.Threads}
		curve := curves[key]
		if curve == nil {
			curve, err = s.profile(ctx, key, rest)
			if err != nil {
				return err
			}
			curves[key] = curve
		}
		pred := predictCapacity(c, *curve, s.o.Terms)
		tgt, ok := s.target(c.Threads)
		if !ok {
			return fmt.Errorf("search: no priced target with %d threads", c.Threads)
		}
		cand := candidate{c: c, tgt: tgt, pred: pred}
		if pred > 0 {
			cand.cost, _ = CostOf(tgt, pred, s.rpsSLO())
		} else {
			cand.cost.PerMillion = math.Inf(1)
		}
		cands = append(cands, cand)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].cost.PerMillion < cands[j].cost.PerMillion })

	// Predictions are calibrated by the verified configs: each measured capacity over its
	// prediction, the median of them scaling every prediction left. The simulation runs on
	// service times timed back to back, and a server that idles between requests serves
	// them slower (colder caches and clocks: a fifth slower here), so uncalibrated
	// predictions run high, and every config left would look cheap enough to verify.
	var ratios []float64
	if base := s.trials[0]; base.Capacity > 0 && !base.Partial {
		if curve := curves[profileKey{base.Config.Precision, base.Config.Tier, base.Config.Threads}]; curve != nil {
			if pred := predictCapacity(base.Config, *curve, s.o.Terms); pred > 0 {
				ratios = append(ratios, base.Capacity/pred)
			}
		}
	}
	for i, cand := range cands {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		pred, cost := cand.pred, cand.cost
		if k := median(ratios); k > 0 && pred > 0 {
			pred *= k
			cost, _ = CostOf(cand.tgt, pred, s.rpsSLO())
		}
		if s.best != nil && s.best.Cost.PerMillion*(1+smartMargin) < cost.PerMillion {
			break // every config left is predicted to cost more than the best verified
		}
		s.o.Bus.Publish(TrialStarted{Index: 2 + i, Total: total, Config: cand.c, Predicted: pred})
		t, err := s.measure(ctx, cand.c, pred)
		if t.Capacity > 0 && !t.Partial && !t.Resumed && cand.pred > 0 {
			ratios = append(ratios, t.Capacity/cand.pred)
		}
		if err != nil {
			return err
		}
		s.finish(t)
	}
	return nil
}

// median returns the median of xs (0 when empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// profile measures S(b) for key at every max_batch of the space: a closed loop of b
// requests against a server whose batches hold b, timed for profileWindow.
func (s *searcher) profile(ctx context.Context, key profileKey, configs []Config) (*serviceCurve, error) {
	var sizes []int
	for _, c := range configs {
		if c.Precision == key.Precision && c.Tier == key.Tier && c.Threads == key.Threads {
			sizes = append(sizes, c.MaxBatch)
		}
	}
	sizes = append(sizes, 1)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	curve := &serviceCurve{}
	for _, b := range sizes {
		cfg := Config{Precision: key.Precision, MaxBatch: b, MaxQueueDelay: 50 * time.Millisecond, Threads: key.Threads, Tier: key.Tier}
		srv, err := s.factory(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", cfg, err)
		}
		a, _ := loadgen.Closed(b)
		opt := s.o.Capacity.Probe
		opt.Arrival, opt.Stop = a, nil
		opt.Warmup, opt.Duration = profileWindow/4, profileWindow
		if b == 1 {
			opt.Duration *= profileSingle
		}
		opt.MaxInFlight = max(opt.MaxInFlight, b)
		start := time.Now()
		res, err := loadgen.Run(ctx, srv, opt)
		s.probeT += time.Since(start)
		_ = srv.Close()
		if err != nil {
			return nil, err
		}
		service := res.Service
		if res.OK == 0 || service <= 0 {
			// Not one batch finished in the window: at least that slow. Its configs are
			// predicted to be the worst and verified last, if at all.
			service = opt.Warmup + opt.Duration
		}
		curve.sizes = append(curve.sizes, b)
		curve.times = append(curve.times, service)
		// One request at a time, each alone in its batch: its latency is its service time.
		if h := res.LatencyHistogram; b == 1 && h != nil && h.TotalCount() > 0 {
			for i := range singlePoints {
				q := 100 * (float64(i) + 0.5) / singlePoints
				curve.single = append(curve.single, time.Duration(h.ValueAtQuantile(q)))
			}
		}
	}
	return curve, nil
}

// predictCapacity returns the highest Poisson rate at which a simulation of c's batcher
// with service curve s meets every latency term (by the terms' percentiles of simulated
// sojourn times), or 0 when even a trickle does not.
func predictCapacity(c Config, s serviceCurve, terms []Term) float64 {
	meets := func(rate float64) bool {
		lat := simulateBatcher(c, s, rate, simRequests, 1)
		slices.Sort(lat)
		for _, t := range terms {
			if t.Metric == MetricLatency && loadgen.NearestRank(lat, t.Percentile) > t.Bound {
				return false
			}
		}
		return true
	}
	peak := float64(c.MaxBatch) / s.at(c.MaxBatch).Seconds() // the most the server can do
	lo, hi := 0.0, peak
	if !meets(peak / 100) {
		return 0
	}
	lo = peak / 100
	for (hi-lo)/lo > 0.01 {
		mid := (lo + hi) / 2
		if meets(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// simulateBatcher runs n Poisson arrivals at rate through a dynamic batcher (max_batch,
// max_queue_delay of c; batch service times from s, one batch at a time) and returns the
// sojourn time of each request.
func simulateBatcher(c Config, s serviceCurve, rate float64, n int, seed uint64) []time.Duration {
	r := rand.New(rand.NewPCG(seed, 0x51))
	arr := make([]float64, n)
	t := 0.0
	for i := range arr {
		t += r.ExpFloat64() / rate
		arr[i] = t
	}
	delay := c.MaxQueueDelay.Seconds()
	free := 0.0
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; {
		oldest := arr[i]
		ready := oldest + delay // the oldest has waited its delay
		if j := i + c.MaxBatch - 1; j < n {
			ready = min(ready, arr[j]) // or the batch is full
		}
		start := max(free, ready)
		k := i
		for k < n && k-i < c.MaxBatch && arr[k] <= start {
			k++
		}
		end := start + s.batch(k-i, r)
		for j := i; j < k; j++ {
			out = append(out, time.Duration((end-arr[j])*1e9))
		}
		free, i = end, k
	}
	return out
}
