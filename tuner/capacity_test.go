package tuner_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/tuner"
)

// TestCapacityMM1: against an M/M/1 queue (the sleep target with one server and
// exponential service of mean 1/μ) the sojourn time is exponential with rate μ−λ, so
// p99 ≤ L holds up to λ = μ − ln(100)/L. The search must land within 10% of it (in
// virtual time, where the queue is exact).
func TestCapacityMM1(t *testing.T) {
	if raceEnabled {
		t.Skip("capacity searches run without -race in make test (the detector makes them take minutes)")
	}
	cases := []struct {
		mu    float64
		bound time.Duration
		start float64 // in units of μ: below capacity ramps up, above it ramps down
	}{
		{1000, 20 * time.Millisecond, 0.1},
		{200, 100 * time.Millisecond, 0.1},
		{1000, 20 * time.Millisecond, 3},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("mu=%v/bound=%v/start=%vmu", c.mu, c.bound, c.start), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				target, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Exponential, Mean: time.Duration(1e9 / c.mu)}, 1, 7, loadgen.TimerClock{})
				if err != nil {
					t.Fatal(err)
				}
				terms, err := tuner.ParseSLO("p99<=" + c.bound.String())
				if err != nil {
					t.Fatal(err)
				}
				probe := loadgen.DefaultOptions(loadgen.Arrival{})
				probe.Clock = loadgen.TimerClock{}
				probe.Warmup = 2 * time.Second
				probe.Duration = 20 * time.Second
				probe.Grace = 5 * time.Second
				o := tuner.DefaultCapacityOptions(terms, probe)
				o.Start = c.mu * c.start
				got, err := tuner.FindCapacity(t.Context(), target, o)
				if err != nil {
					t.Fatal(err)
				}
				want := c.mu - math.Log(100)/c.bound.Seconds()
				t.Logf("μ %.0f/s, p99 ≤ %v: capacity %.1f/s (theory %.1f), %d probes, fail at %.1f", c.mu, c.bound, got.RPS, want, len(got.Probes), got.FailRPS)
				if math.Abs(got.RPS-want)/want > 0.10 {
					t.Errorf("capacity %.1f/s, theory %.1f/s: off by more than 10%%", got.RPS, want)
				}
				if (got.FailRPS-got.RPS)/got.RPS > 0.05 {
					t.Errorf("bracket [%.1f, %.1f] wider than 5%%", got.RPS, got.FailRPS)
				}
			})
		})
	}
}

// TestCapacityStopsAtVerifiableRate: against a target whose every request takes longer
// than the bound, the ramp down stops at the lowest rate at which the longest window (4 ×
// 5 s) holds the 459 requests a p99 pass needs, 22.95 req/s, instead of probing ever
// lower rates with ever longer windows; every probe's window stays within 20 s.
func TestCapacityStopsAtVerifiableRate(t *testing.T) {
	if raceEnabled {
		t.Skip("capacity searches run without -race in make test (the detector makes them take minutes)")
	}
	synctest.Test(t, func(t *testing.T) {
		target, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Deterministic, Mean: 30 * time.Millisecond}, 64, 7, loadgen.TimerClock{})
		if err != nil {
			t.Fatal(err)
		}
		terms, err := tuner.ParseSLO("p99<=20ms")
		if err != nil {
			t.Fatal(err)
		}
		probe := loadgen.DefaultOptions(loadgen.Arrival{})
		probe.Clock = loadgen.TimerClock{}
		probe.Warmup, probe.Duration, probe.Grace = time.Second, 5*time.Second, time.Second
		o := tuner.DefaultCapacityOptions(terms, probe)
		o.Start = 200 // start/16 is below the verifiable rate
		got, err := tuner.FindCapacity(t.Context(), target, o)
		if err != nil {
			t.Fatal(err)
		}
		if got.RPS != 0 || math.Abs(got.MinRate-22.95) > 0.01 {
			t.Fatalf("capacity %v, min rate %v; want 0 and 22.95", got.RPS, got.MinRate)
		}
		var rates []float64
		for _, p := range got.Probes {
			rates = append(rates, p.Rate)
			if p.Rate < got.MinRate || p.Result.Window > 20*time.Second {
				t.Errorf("probe at %.4g req/s ran %v: below the min rate or past the longest window", p.Rate, p.Result.Window)
			}
		}
		if want := []float64{200, 100, 50, 25}; !slices.Equal(rates, want) {
			t.Errorf("probed %v, want %v", rates, want)
		}
	})
}

// TestCapacityMM1RealTime is TestCapacityMM1 on the real clock: the sleep target holds
// each request for an exponential time on the precise clock, and the load generator paces
// real sends, so the figure includes every microsecond of the generator's and the
// machine's own lateness. It takes about two minutes and runs only when asked
// (INFERTUNE_REALTIME=1), on a quiet machine.
func TestCapacityMM1RealTime(t *testing.T) {
	if os.Getenv("INFERTUNE_REALTIME") != "1" || raceEnabled {
		t.Skip("set INFERTUNE_REALTIME=1 (and no -race) to run the real-time capacity search")
	}
	const mu, bound = 1000.0, 20 * time.Millisecond
	target, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Exponential, Mean: time.Duration(1e9 / mu)}, 1, 7, loadgen.PreciseClock{})
	if err != nil {
		t.Fatal(err)
	}
	terms, err := tuner.ParseSLO("p99<=" + bound.String())
	if err != nil {
		t.Fatal(err)
	}
	probe := loadgen.DefaultOptions(loadgen.Arrival{})
	probe.Warmup, probe.Duration, probe.Grace = time.Second, 10*time.Second, 2*time.Second
	o := tuner.DefaultCapacityOptions(terms, probe)
	o.Start = 100
	got, err := tuner.FindCapacity(t.Context(), target, o)
	if err != nil {
		t.Fatal(err)
	}
	want := mu - math.Log(100)/bound.Seconds()
	for _, p := range got.Probes {
		t.Logf("%.1f req/s: %s, p99 %v, late %.2f%%", p.Rate, p.Verdict, p.Result.Latency.P99, 100*p.Result.LateFraction)
	}
	t.Logf("μ %.0f/s, p99 ≤ %v: capacity %.1f/s (theory %.1f, %+.1f%%), %d probes in %v", mu, bound, got.RPS, want,
		100*(got.RPS/want-1), len(got.Probes), got.Elapsed.Round(time.Second))
	if math.Abs(got.RPS-want)/want > 0.10 {
		t.Errorf("capacity %.1f/s, theory %.1f/s: off by more than 10%%", got.RPS, want)
	}
}

// streamer turns the sleep target into a generation server: its first token comes when
// the request's service ends (so TTFT is the M/M/1 sojourn time) and nine more follow 5 ms
// apart (TPOT 5 ms).
type streamer struct{ *loadgen.Sleep }

func (s streamer) Do(ctx context.Context, req *loadgen.Request) (*loadgen.Response, error) {
	resp, err := s.Sleep.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	r := *resp
	first := time.Now()
	for i := range 10 {
		r.Tokens = append(r.Tokens, int32(i))
		r.TokenTimes = append(r.TokenTimes, first.Add(time.Duration(i)*5*time.Millisecond))
	}
	return &r, nil
}

// TestCapacityGenerationTerms: TTFT and TPOT terms are judged on their own samples. With
// TTFT the M/M/1 sojourn and TPOT a constant 5 ms, ttft_p99<=20ms,tpot_p99<=10ms binds at
// the M/M/1 capacity (769.7 req/s for μ = 1000/s), within 10%, and tpot_p99<=4ms holds at
// no rate.
func TestCapacityGenerationTerms(t *testing.T) {
	if raceEnabled {
		t.Skip("capacity searches run without -race in make test (the detector makes them take minutes)")
	}
	for _, c := range []struct {
		slo  string
		want float64
	}{{"ttft_p99<=20ms,tpot_p99<=10ms", 769.7}, {"tpot_p99<=4ms", 0}} {
		t.Run(c.slo, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sleep, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Exponential, Mean: time.Millisecond}, 1, 7, loadgen.TimerClock{})
				if err != nil {
					t.Fatal(err)
				}
				terms, err := tuner.ParseSLO(c.slo)
				if err != nil {
					t.Fatal(err)
				}
				probe := loadgen.DefaultOptions(loadgen.Arrival{})
				probe.Clock = loadgen.TimerClock{}
				probe.Warmup, probe.Duration, probe.Grace = 2*time.Second, 20*time.Second, 5*time.Second
				o := tuner.DefaultCapacityOptions(terms, probe)
				o.Start = 100
				got, err := tuner.FindCapacity(t.Context(), streamer{sleep}, o)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: capacity %.1f req/s (want %.1f), %d probes", c.slo, got.RPS, c.want, len(got.Probes))
				if c.want == 0 && got.RPS != 0 || c.want > 0 && math.Abs(got.RPS-c.want)/c.want > 0.10 {
					t.Errorf("capacity %.1f req/s, want %.1f", got.RPS, c.want)
				}
			})
		})
	}
}

// TestCapacityLiveSnapshots: OnLive follows each probe in progress: at least LiveEvery of
// window apart, counts that only grow within a probe, the term's percentile so far, and
// the samples still needed, which fall to 0 once the term is decided.
func TestCapacityLiveSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Exponential service of mean 10 ms on 4 servers: far below the bound at these rates.
		target, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Exponential, Mean: 10 * time.Millisecond}, 4, 7, loadgen.TimerClock{})
		if err != nil {
			t.Fatal(err)
		}
		terms, err := tuner.ParseSLO("p99<=200ms")
		if err != nil {
			t.Fatal(err)
		}
		probe := loadgen.DefaultOptions(loadgen.Arrival{})
		probe.Clock = loadgen.TimerClock{}
		probe.Warmup, probe.Duration, probe.Grace = time.Second, 10*time.Second, 2*time.Second
		o := tuner.DefaultCapacityOptions(terms, probe)
		o.Start, o.MaxRate = 50, 100
		var lives []tuner.ProbeLive
		o.OnLive = func(l tuner.ProbeLive) { lives = append(lives, l) }
		got, err := tuner.FindCapacity(t.Context(), target, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(lives) < len(got.Probes) {
			t.Fatalf("%d snapshots for %d probes", len(lives), len(got.Probes))
		}
		sawNeed, sawDecided := false, false
		for i, l := range lives {
			if !slices.ContainsFunc(got.Probes, func(p tuner.ProbeOutcome) bool { return p.Rate == l.Rate }) {
				t.Errorf("snapshot %d: rate %v is no probe's", i, l.Rate)
			}
			if l.Window <= 0 || l.Elapsed > l.Window || len(l.Terms) != 1 {
				t.Fatalf("snapshot %d: elapsed %v of window %v, %d terms", i, l.Elapsed, l.Window, len(l.Terms))
			}
			tl := l.Terms[0]
			if tl.Samples != l.OK+l.Failed || tl.Over > tl.Samples || l.Done != l.OK+l.Failed || l.Done > l.Sent {
				t.Errorf("snapshot %d: sent %d done %d ok %d failed %d, samples %d over %d", i, l.Sent, l.Done, l.OK, l.Failed, tl.Samples, tl.Over)
			}
			if tl.Samples > 0 && (tl.P50 <= 0 || tl.P50 > tl.Value || tl.Value > time.Second) {
				t.Errorf("snapshot %d: p50 so far %v, p99 %v", i, tl.P50, tl.Value)
			}
			switch {
			case tl.Verdict != tuner.Inconclusive && tl.Need != 0:
				t.Errorf("snapshot %d: %s, yet %d samples to go", i, tl.Verdict, tl.Need)
			case tl.Verdict == tuner.Inconclusive && tl.Need <= 0:
				t.Errorf("snapshot %d: inconclusive with %d samples, yet none to go", i, tl.Samples)
			}
			sawNeed = sawNeed || tl.Need > 0
			sawDecided = sawDecided || tl.Verdict == tuner.Pass
			if i > 0 && lives[i-1].Rate == l.Rate && l.Elapsed > lives[i-1].Elapsed {
				prev := lives[i-1]
				if l.Elapsed-prev.Elapsed < tuner.LiveEvery || l.Sent < prev.Sent || l.Done < prev.Done {
					t.Errorf("snapshots %d, %d: %v then %v (%d then %d sent)", i-1, i, prev.Elapsed, l.Elapsed, prev.Sent, l.Sent)
				}
			}
		}
		if !sawNeed || !sawDecided {
			t.Errorf("no snapshot still needing samples (%v) or none passed (%v)", sawNeed, sawDecided)
		}
		t.Logf("%d probes, %d snapshots", len(got.Probes), len(lives))
	})
}

// TestLateAfter: 1 ms, or 1% of the tightest latency bound when that is more; terms
// without a latency bound do not count.
func TestLateAfter(t *testing.T) {
	for _, c := range []struct {
		slo  string
		want time.Duration
	}{
		{"p99<=50ms", time.Millisecond},
		{"p99<=20ms", time.Millisecond},
		{"p99<=500ms", 5 * time.Millisecond},
		{"ttft_p99<=2s,tpot_p99<=200ms", 2 * time.Millisecond},
		{"p99<=1s,p50<=300ms,rps>=10", 3 * time.Millisecond},
		{"rps>=10", time.Millisecond},
	} {
		terms, err := tuner.ParseSLO(c.slo)
		if err != nil {
			t.Fatal(err)
		}
		if got := tuner.LateAfter(terms); got != c.want {
			t.Errorf("%s: late after %v, want %v", c.slo, got, c.want)
		}
	}
}
