package tuner

import (
	"testing"
	"time"
)

// TestPredictionUsesServiceSpread: two servers with the same mean service time, one where
// every request takes 8 ms and one where 95% take 5 ms and 5% take 65 ms (mean 8 ms). A
// p99 of 50 ms holds on the first up to a high load, and is broken on the second at
// any load by the slow requests alone: its prediction must be zero. (On the first, an M/D/1
// queue, the p99 sojourn reaches 50 ms near 68% load, 85 req/s.)
func TestPredictionUsesServiceSpread(t *testing.T) {
	terms, err := ParseSLO("p99<=50ms")
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Precision: "int8", MaxBatch: 1, Threads: 1, Tier: "simd"}
	flat := serviceCurve{sizes: []int{1}, times: []time.Duration{8 * time.Millisecond}}
	spread := flat
	for i := range singlePoints {
		d := 5 * time.Millisecond
		if i >= singlePoints*95/100 {
			d = 65 * time.Millisecond
		}
		spread.single = append(spread.single, d)
	}
	pFlat, pSpread := predictCapacity(c, flat, terms), predictCapacity(c, spread, terms)
	t.Logf("predicted capacity: %.1f req/s with a constant service time, %.1f with the spread", pFlat, pSpread)
	if pFlat < 75 || pFlat > 95 {
		t.Errorf("constant 8 ms service: predicted %.1f req/s, want 75-95 (M/D/1: about 85)", pFlat)
	}
	if pSpread != 0 {
		t.Errorf("5%% of requests over the bound alone: predicted %.1f req/s, want 0", pSpread)
	}
}

// TestTPSPricedAsReplicas: a tps term is priced as the request rate that yields it at the
// trial's measured tokens per request: 1000 tokens/s of 50-token replies is 20 req/s, two
// replicas of a config whose capacity is 12 req/s.
func TestTPSPricedAsReplicas(t *testing.T) {
	terms, err := ParseSLO("ttft_p99<=2s,tps>=1000")
	if err != nil {
		t.Fatal(err)
	}
	s := &searcher{o: Options{Terms: terms}}
	if got := s.requiredRPS(50); got != 20 {
		t.Errorf("required rate %v, want 20", got)
	}
	if got := s.requiredRPS(0); got != 0 {
		t.Errorf("without tokens per request: %v, want 0", got)
	}
	c, err := CostOf(Target{Name: "cpu-2t", Threads: 2, PricePerHour: 0.085}, 12, s.requiredRPS(50))
	if err != nil || c.Replicas != 2 {
		t.Errorf("cost %+v, %v; want 2 replicas", c, err)
	}
}
