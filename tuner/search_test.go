package tuner_test

import (
	"testing"
	"testing/synctest"
	"time"

	"context"
	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/tuner"
)

// sleepServer serves a config with an M/M/1 sleep target of mean service 1 ms.
type sleepServer struct{ *loadgen.Sleep }

func (sleepServer) Close() error { return nil }

func sleepFactory(_ context.Context, _ tuner.Config) (tuner.Server, error) {
	s, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Exponential, Mean: time.Millisecond}, 1, 7, loadgen.TimerClock{})
	return sleepServer{s}, err
}

// TestSearchBudgetKeepsPassedProbes: when the budget ends a trial's capacity search after a
// probe has passed, the trial is kept, meeting the SLO at the highest rate that passed (a
// lower bound, marked Partial), and the search is cut short without an error.
func TestSearchBudgetKeepsPassedProbes(t *testing.T) {
	if raceEnabled {
		t.Skip("capacity searches run without -race in make test (the detector makes them take minutes)")
	}
	synctest.Test(t, func(t *testing.T) {
		terms, err := tuner.ParseSLO("p99<=20ms")
		if err != nil {
			t.Fatal(err)
		}
		base := tuner.Config{Precision: "fp32", MaxBatch: 1, Threads: 1, Tier: "simd"}
		probe := loadgen.DefaultOptions(loadgen.Arrival{})
		probe.Clock = loadgen.TimerClock{}
		probe.Warmup, probe.Duration, probe.Grace = time.Second, 8*time.Second, time.Second
		o := tuner.Options{
			Workload: "mm1", Terms: terms, Strategy: tuner.StrategyGrid, Budget: 12 * time.Second,
			Space:    tuner.Space{Precisions: []string{"fp32"}, MaxBatch: []int{1}, MaxQueueDelays: []time.Duration{0}, Threads: []int{1}, Tiers: []string{"simd"}},
			Capacity: tuner.DefaultCapacityOptions(terms, probe),
			Targets:  []tuner.Target{{Name: "cpu-1t", Threads: 1, PricePerHour: 0.04}},
			Baseline: base,
		}
		res, err := tuner.Search(t.Context(), sleepFactory, o)
		if err != nil {
			t.Fatal(err)
		}
		if !res.CutShort || len(res.Trials) != 1 {
			t.Fatalf("cut short %v, %d trials; want a cut-short search with its one trial", res.CutShort, len(res.Trials))
		}
		tr := res.Trials[0]
		t.Logf("capacity %.1f req/s after %d probes: %s", tr.Capacity, tr.Probes, tr.Reason)
		if !tr.Partial || !tr.Meets || tr.Capacity <= 0 || res.Best == nil {
			t.Fatalf("trial partial %v meets %v capacity %v, best %v", tr.Partial, tr.Meets, tr.Capacity, res.Best)
		}
		// A lower bound of the M/M/1 capacity for p99 ≤ 20 ms, 769.7 req/s, within the 10%
		// a capacity search is held to (TestCapacityMM1).
		if tr.Capacity > 1.1*769.7 {
			t.Errorf("capacity %.1f req/s over 10%% above the theoretical 769.7", tr.Capacity)
		}
	})
}
