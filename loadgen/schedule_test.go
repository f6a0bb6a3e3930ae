package loadgen

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestPoissonKS checks the inter-arrival times of the Poisson schedule against the
// exponential distribution with a Kolmogorov–Smirnov test at the 1% level.
func TestPoissonKS(t *testing.T) {
	const n = 20000
	const rate = 5000.0
	crit := 1.628 / math.Sqrt(n) // D_alpha for alpha = 0.01, large n
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 40} {
		s := newSchedule(Arrival{Kind: KindPoisson, Rate: rate}, seed)
		gaps := make([]float64, n)
		var prev time.Duration
		for i := range gaps {
			off, _ := s.next()
			gaps[i] = (off - prev).Seconds()
			prev = off
		}
		slices.Sort(gaps)
		var d float64
		for i, g := range gaps {
			cdf := 1 - math.Exp(-rate*g)
			d = max(d, math.Abs(cdf-float64(i)/n), math.Abs(float64(i+1)/n-cdf))
		}
		if d > crit {
			t.Errorf("seed %d: KS statistic %.5f over the 1%% critical value %.5f", seed, d, crit)
		}
	}
}

func TestScheduleSeeded(t *testing.T) {
	a := Arrival{Kind: KindPoisson, Rate: 1000}
	take := func(seed uint64) []time.Duration {
		s := newSchedule(a, seed)
		out := make([]time.Duration, 100)
		for i := range out {
			out[i], _ = s.next()
		}
		return out
	}
	if !slices.Equal(take(7), take(7)) {
		t.Fatal("the same seed gave two schedules")
	}
	if slices.Equal(take(7), take(8)) {
		t.Fatal("two seeds gave the same schedule")
	}
}

// TestConstantSchedule checks that offsets come from the index, not from summing gaps.
func TestConstantSchedule(t *testing.T) {
	s := newSchedule(Arrival{Kind: KindConstant, Rate: 3}, 1)
	for i := range 3_000_000 {
		off, _ := s.next()
		if want := time.Duration(float64(i) * 1e9 / 3); off != want {
			t.Fatalf("offset %d = %v, want %v", i, off, want)
		}
	}
}

func TestOversleepMargins(t *testing.T) {
	var o oversleeps
	for i := range 1000 {
		o.add(time.Duration(i%100) * time.Microsecond)
	}
	if o.low < 5*time.Microsecond || o.low > 15*time.Microsecond {
		t.Errorf("low margin %v, want about the 10th percentile (10µs)", o.low)
	}
	if o.high < 95*time.Microsecond {
		t.Errorf("high margin %v, want about the 99th percentile (99µs)", o.high)
	}
	if o.margin(time.Millisecond) != o.low || o.margin(longGap) != o.high {
		t.Error("margin does not pick low for short gaps and high for long ones")
	}
	o.add(time.Hour)
	for range oversleepN {
		o.add(time.Hour)
	}
	if o.high > maxMargin {
		t.Errorf("high margin %v above the cap %v", o.high, maxMargin)
	}
}
