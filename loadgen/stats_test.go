package loadgen_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/infertune/infertune/loadgen"
)

// TestNearestRankGolden pins the percentile definition with the textbook examples of the
// nearest-rank method: x[ceil(p/100*n)].
func TestNearestRankGolden(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	cases := []struct {
		name    string
		samples []time.Duration
		golden  map[float64]time.Duration
	}{
		{"five", ms(15, 20, 35, 40, 50), map[float64]time.Duration{
			5: 15 * time.Millisecond, 30: 20 * time.Millisecond, 40: 20 * time.Millisecond,
			50: 35 * time.Millisecond, 100: 50 * time.Millisecond}},
		{"ten", ms(3, 6, 7, 8, 8, 10, 13, 15, 16, 20), map[float64]time.Duration{
			25: 7 * time.Millisecond, 50: 8 * time.Millisecond, 75: 15 * time.Millisecond,
			90: 16 * time.Millisecond, 99: 20 * time.Millisecond, 100: 20 * time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for p, want := range tc.golden {
				if got := loadgen.NearestRank(tc.samples, p); got != want {
					t.Errorf("p%v = %v, want %v", p, got, want)
				}
			}
		})
	}
	// The summary (through montanaflynn/stats) agrees with the definition.
	s := loadgen.SummarizeSamples(ms(20, 3, 16, 8, 7, 15, 13, 10, 8, 6))
	want := loadgen.Summary{Count: 10, Mean: 10600 * time.Microsecond, P50: 8 * time.Millisecond,
		P90: 16 * time.Millisecond, P95: 20 * time.Millisecond, P99: 20 * time.Millisecond,
		P999: 20 * time.Millisecond, Max: 20 * time.Millisecond, Exact: true}
	if s != want {
		t.Fatalf("summary %+v, want %+v", s, want)
	}
}

// TestSummaryHistogramAgrees checks that percentiles read from the HDR histogram stay
// within its precision of the exact ones.
func TestSummaryHistogramAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := loadgen.NewHistogram()
	samples := make([]time.Duration, 100_000)
	for i := range samples {
		samples[i] = time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		_ = h.RecordValue(max(int64(samples[i]), 1))
	}
	exact := loadgen.SummarizeSamples(slices.Clone(samples))
	hist := loadgen.SummarizeHistogram(h)
	pairs := []struct {
		name string
		a, b time.Duration
	}{{"p50", exact.P50, hist.P50}, {"p90", exact.P90, hist.P90}, {"p99", exact.P99, hist.P99},
		{"p99.9", exact.P999, hist.P999}, {"max", exact.Max, hist.Max}, {"mean", exact.Mean, hist.Mean}}
	for _, p := range pairs {
		if rel := math.Abs(float64(p.a-p.b)) / float64(p.a); rel > 0.002 {
			t.Errorf("%s exact %v, histogram %v (%.3f%% apart)", p.name, p.a, p.b, 100*rel)
		}
	}
	if exact.Count != hist.Count || !exact.Exact || hist.Exact {
		t.Errorf("counts %d/%d, exact flags %v/%v", exact.Count, hist.Count, exact.Exact, hist.Exact)
	}
	if got, want := loadgen.CountOver(h, exact.P99), int64(1000); got < want-20 || got > want+20 {
		t.Errorf("CountOver(p99) = %d, want about %d", got, want)
	}
}

func TestQueueingTheory(t *testing.T) {
	// M/M/1 has C = rho; with c=2 and a=1 Erlang, C = 1/3.
	if c := loadgen.ErlangC(1, 0.7); math.Abs(c-0.7) > 1e-12 {
		t.Errorf("ErlangC(1, 0.7) = %v, want 0.7", c)
	}
	if c := loadgen.ErlangC(2, 1); math.Abs(c-1.0/3) > 1e-12 {
		t.Errorf("ErlangC(2, 1) = %v, want 1/3", c)
	}
	// M/M/1: Wq = rho/(mu-lambda) = 0.5/(100-50) s = 10 ms.
	if w := loadgen.MMcWait(1, 50, 10*time.Millisecond); w != 10*time.Millisecond {
		t.Errorf("MMcWait(1, 50/s, 10ms) = %v, want 10ms", w)
	}
	// M/D/1: half the M/M/1 wait.
	if w := loadgen.MD1Wait(0.5, 10*time.Millisecond); w != 5*time.Millisecond {
		t.Errorf("MD1Wait(0.5, 10ms) = %v, want 5ms", w)
	}
}

// TestCountOverMatchesBuckets holds CountOver to the plain count over the histogram's
// buckets (those whose lowest value exceeds d) for bounds in, between and beyond the
// recorded values, and checks that it allocates nothing.
func TestCountOverMatchesBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	h := loadgen.NewHistogram()
	for range 5000 {
		_ = h.RecordValue(int64(r.ExpFloat64() * float64(20*time.Millisecond)))
	}
	_ = h.RecordValues(int64(7*time.Millisecond), 40) // a tall bucket
	want := func(d time.Duration) int64 {
		var n int64
		for _, b := range h.Distribution() {
			if b.From > int64(d) {
				n += b.Count
			}
		}
		return n
	}
	for _, d := range []time.Duration{0, 1, time.Microsecond, 7 * time.Millisecond, 7*time.Millisecond + 1,
		20 * time.Millisecond, 99 * time.Millisecond, time.Second, time.Hour} {
		if got, w := loadgen.CountOver(h, d), want(d); got != w {
			t.Errorf("CountOver(%v) = %d, want %d", d, got, w)
		}
	}
	for range 200 {
		d := time.Duration(r.Int64N(int64(200 * time.Millisecond)))
		if got, w := loadgen.CountOver(h, d), want(d); got != w {
			t.Fatalf("CountOver(%v) = %d, want %d", d, got, w)
		}
	}
	if got := loadgen.CountOver(loadgen.NewHistogram(), time.Millisecond); got != 0 {
		t.Errorf("CountOver of an empty histogram = %d, want 0", got)
	}
	if a := testing.AllocsPerRun(20, func() { loadgen.CountOver(h, 20*time.Millisecond) }); a != 0 {
		t.Errorf("CountOver allocates %v times per call, want 0", a)
	}
}
