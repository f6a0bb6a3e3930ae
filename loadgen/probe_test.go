package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infertune/infertune/loadgen"
)

// recording is a target that notes the time of every call, then serves in zero time.
type recording struct {
	mu    sync.Mutex
	calls []time.Time
	seqs  []int64
}

func (r *recording) Do(_ context.Context, req *loadgen.Request) (*loadgen.Response, error) {
	r.mu.Lock()
	r.calls = append(r.calls, time.Now())
	r.seqs = append(r.seqs, req.Seq)
	r.mu.Unlock()
	return &loadgen.Response{BatchSize: 1}, nil
}

func synctestOptions(a loadgen.Arrival, err error) loadgen.Options {
	if err != nil {
		panic(err)
	}
	o := loadgen.DefaultOptions(a)
	o.Clock = loadgen.TimerClock{}
	o.Warmup = 0
	o.Duration = time.Second
	o.Grace = time.Second
	return o
}

func mustRun(t *testing.T, ctx context.Context, target loadgen.Target, o loadgen.Options) *loadgen.Result {
	t.Helper()
	res, err := loadgen.Run(ctx, target, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.OK + res.Failed(); got != res.Sent {
		t.Fatalf("sent %d but ok+failed = %d", res.Sent, got)
	}
	return res
}

// TestConstantExactSendTimes: in virtual time, every send leaves exactly on schedule.
func TestConstantExactSendTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		o := synctestOptions(loadgen.Constant(1000))
		o.Warmup = 100 * time.Millisecond
		target := &recording{}
		res := mustRun(t, t.Context(), target, o)
		if len(target.calls) != 1100 {
			t.Fatalf("%d calls, want 1100 (100 warm-up + 1000)", len(target.calls))
		}
		for i, c := range target.calls {
			if want := start.Add(time.Duration(i) * time.Millisecond); !c.Equal(want) || target.seqs[i] != int64(i) {
				t.Fatalf("call %d (seq %d) at %v, want seq %d at %v", i, target.seqs[i], c.Sub(start), i, want.Sub(start))
			}
		}
		if res.Sent != 1000 || res.OK != 1000 || res.Late != 0 || res.Lag.Max != 0 || !res.Valid {
			t.Fatalf("result %+v", res)
		}
		if res.OfferedRPS != 1000 || res.AchievedRPS != 1000 || res.Stop != loadgen.StopWindow {
			t.Fatalf("offered %v achieved %v stop %v", res.OfferedRPS, res.AchievedRPS, res.Stop)
		}
	})
}

// stall is a one-server target that serves in zero time, except that the request with
// seq stallSeq holds the server for stallFor. Requests queue in arrival order.
type stall struct {
	server   chan struct{}
	stallSeq int64
	stallFor time.Duration
}

func newStall(seq int64, d time.Duration) *stall {
	s := &stall{server: make(chan struct{}, 1), stallSeq: seq, stallFor: d}
	return s
}

func (s *stall) Do(ctx context.Context, req *loadgen.Request) (*loadgen.Response, error) {
	select {
	case s.server <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.server }()
	if req.Seq == s.stallSeq {
		time.Sleep(s.stallFor)
	}
	return &loadgen.Response{BatchSize: 1}, nil
}

// TestCoordinatedOmission: a one-second stall during a 10 s constant-rate probe shows in
// the high percentiles as the whole queue that built up behind it, not as one slow request.
func TestCoordinatedOmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := synctestOptions(loadgen.Constant(100))
		o.Duration = 10 * time.Second
		res := mustRun(t, t.Context(), newStall(500, time.Second), o)
		if res.OK != 1000 {
			t.Fatalf("ok %d, want 1000", res.OK)
		}
		// The stalled request waits 1 s; the 99 sent during the stall wait 990 ms … 10 ms.
		if res.Latency.Max != time.Second {
			t.Errorf("max %v, want 1s", res.Latency.Max)
		}
		if over := loadgen.CountOver(res.LatencyHistogram, 5*time.Millisecond); over != 100 {
			t.Errorf("%d requests over 5ms, want 100 (the stalled one and the 99 behind it)", over)
		}
		// p99 is the 990th of 1000: the 11th slowest, which waited 900 ms.
		if res.Latency.P99 != 900*time.Millisecond {
			t.Errorf("p99 %v, want 900ms", res.Latency.P99)
		}
		if res.Latency.P90 != 0 || res.Latency.P95 != 500*time.Millisecond {
			t.Errorf("p90 %v p95 %v, want 0 and 500ms", res.Latency.P90, res.Latency.P95)
		}
	})
}

// TestMD1Wait: a sleep target with deterministic service under Poisson arrivals is an
// M/D/1 queue; its mean wait matches theory within 5%.
func TestMD1Wait(t *testing.T) {
	for _, rho := range []float64{0.5, 0.8} {
		t.Run(fmt.Sprintf("rho=%v", rho), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				service := 10 * time.Millisecond
				target, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Deterministic, Mean: service}, 1, 1, loadgen.TimerClock{})
				if err != nil {
					t.Fatal(err)
				}
				o := synctestOptions(loadgen.Poisson(rho / service.Seconds()))
				o.Warmup = 100 * time.Second
				o.Duration = 4000 * time.Second
				o.Grace = time.Minute
				res := mustRun(t, t.Context(), target, o)
				theory := loadgen.MD1Wait(rho, service)
				ratio := float64(res.QueueWait) / float64(theory)
				t.Logf("rho %.1f: %d requests, mean wait %v, theory %v, ratio %.3f", rho, res.OK, res.QueueWait, theory, ratio)
				if math.Abs(ratio-1) > 0.05 {
					t.Errorf("mean wait %v is %.1f%% off theory %v", res.QueueWait, 100*(ratio-1), theory)
				}
				if res.Service != service {
					t.Errorf("mean service %v, want %v", res.Service, service)
				}
			})
		})
	}
}

// slow holds every request for d, honouring cancellation.
type slow struct{ d time.Duration }

func (s slow) Do(ctx context.Context, _ *loadgen.Request) (*loadgen.Response, error) {
	select {
	case <-time.After(s.d):
		return &loadgen.Response{BatchSize: 1}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("slow: %w", ctx.Err())
	}
}

func TestDropsKeepTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := synctestOptions(loadgen.Constant(100))
		o.MaxInFlight = 5
		o.Grace = 2 * time.Second
		start := time.Now()
		res := mustRun(t, t.Context(), slow{time.Second}, o)
		if res.Sent != 100 || res.OK != 5 || res.Drops != 95 || res.Late != 0 {
			t.Fatalf("sent %d ok %d drops %d late %d; want 100, 5, 95, 0", res.Sent, res.OK, res.Drops, res.Late)
		}
		if res.InFlightPeak != 5 {
			t.Fatalf("peak in flight %d, want 5", res.InFlightPeak)
		}
		// The window ended on time: the last requests finished 1 s after their send.
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("probe took %v", el)
		}
	})
}

func TestGraceCutsAndTimeouts(t *testing.T) {
	t.Run("cut", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := synctestOptions(loadgen.Constant(10))
			o.Grace = 500 * time.Millisecond
			start := time.Now()
			res := mustRun(t, t.Context(), slow{time.Hour}, o)
			if res.Cut != 10 || res.OK != 0 || res.Errors != 0 {
				t.Fatalf("cut %d ok %d errors %d; want 10, 0, 0", res.Cut, res.OK, res.Errors)
			}
			if el := time.Since(start); el != 1500*time.Millisecond {
				t.Fatalf("probe took %v, want the window plus the grace (1.5s)", el)
			}
		})
	})
	t.Run("timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := synctestOptions(loadgen.Constant(10))
			o.Timeout = 50 * time.Millisecond
			res := mustRun(t, t.Context(), slow{100 * time.Millisecond}, o)
			if res.Timeouts != 10 || res.OK != 0 || res.Cut != 0 {
				t.Fatalf("timeouts %d ok %d cut %d; want 10, 0, 0", res.Timeouts, res.OK, res.Cut)
			}
		})
	})
	t.Run("target deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := synctestOptions(loadgen.Constant(10))
			target := loadgen.TargetFunc(func(ctx context.Context, _ *loadgen.Request) (*loadgen.Response, error) {
				ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
				defer cancel()
				<-ctx.Done()
				return nil, fmt.Errorf("queued too long: %w", ctx.Err())
			})
			res := mustRun(t, t.Context(), target, o)
			if res.Timeouts != 10 || res.Errors != 0 {
				t.Fatalf("timeouts %d errors %d; want 10, 0", res.Timeouts, res.Errors)
			}
		})
	})
	t.Run("errors and rejects", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := synctestOptions(loadgen.Constant(10))
			target := loadgen.TargetFunc(func(_ context.Context, req *loadgen.Request) (*loadgen.Response, error) {
				switch req.Seq % 3 {
				case 0:
					return nil, fmt.Errorf("queue full: %w", loadgen.ErrRejected)
				case 1:
					return nil, errors.New("broken")
				}
				return &loadgen.Response{BatchSize: 1}, nil
			})
			res := mustRun(t, t.Context(), target, o)
			if res.Rejects != 4 || res.Errors != 3 || res.OK != 3 {
				t.Fatalf("rejects %d errors %d ok %d; want 4, 3, 3", res.Rejects, res.Errors, res.OK)
			}
		})
	})
}

func TestStopCondition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := synctestOptions(loadgen.Constant(1000))
		o.Duration = time.Minute
		var calls int
		o.Stop = func(l *loadgen.Live) bool {
			calls++
			return l.OK >= 2000
		}
		res := mustRun(t, t.Context(), &recording{}, o)
		if res.Stop != loadgen.StopCondition {
			t.Fatalf("stop %v, want condition", res.Stop)
		}
		// Checked every 50 ms: stopped within 50 ms of the 2000th request (2 s).
		if res.Window < 2*time.Second || res.Window > 2050*time.Millisecond {
			t.Fatalf("window %v, want 2s to 2.05s", res.Window)
		}
		if calls < 10*2 {
			t.Fatalf("Stop called %d times in 2 s, want at least 10 a second", calls)
		}
	})
}

func TestCancelReturnsWhatWasMeasured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		o := synctestOptions(loadgen.Constant(100))
		o.Warmup = time.Second
		o.Duration = time.Hour
		var cancelled time.Time
		go func() {
			time.Sleep(3 * time.Second)
			cancelled = time.Now()
			cancel()
		}()
		res := mustRun(t, ctx, slow{5 * time.Millisecond}, o)
		if took := time.Since(cancelled); took > 100*time.Millisecond {
			t.Fatalf("returned %v after the cancel, want within 100ms", took)
		}
		if res.Stop != loadgen.StopCanceled || res.Window != 2*time.Second {
			t.Fatalf("stop %v window %v, want canceled after 2s of window", res.Stop, res.Window)
		}
		if res.OK < 199 || res.OK+res.Cut != res.Sent {
			t.Fatalf("ok %d cut %d sent %d", res.OK, res.Cut, res.Sent)
		}
	})
}

func TestClosedLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		target, err := loadgen.NewSleep(loadgen.Dist{Kind: loadgen.Deterministic, Mean: 10 * time.Millisecond}, 4, 1, loadgen.TimerClock{})
		if err != nil {
			t.Fatal(err)
		}
		o := synctestOptions(loadgen.Closed(4))
		res := mustRun(t, t.Context(), target, o)
		if res.OK != 400 || res.AchievedRPS != 400 || res.Latency.Max != 10*time.Millisecond {
			t.Fatalf("ok %d achieved %v max %v; want 400, 400/s, 10ms", res.OK, res.AchievedRPS, res.Latency.Max)
		}
	})
}

func TestStreamedResponses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		target := loadgen.TargetFunc(func(ctx context.Context, req *loadgen.Request) (*loadgen.Response, error) {
			resp := &loadgen.Response{BatchSize: 1}
			time.Sleep(20 * time.Millisecond) // prefill
			for range req.MaxTokens {
				time.Sleep(5 * time.Millisecond)
				resp.TokenTimes = append(resp.TokenTimes, time.Now())
			}
			return resp, nil
		})
		o := synctestOptions(loadgen.Constant(10))
		o.Request = func(int64) *loadgen.Request { return &loadgen.Request{MaxTokens: 9} }
		res := mustRun(t, t.Context(), target, o)
		if res.TTFT.P99 != 25*time.Millisecond || res.TPOT.P50 != 5*time.Millisecond {
			t.Fatalf("ttft p99 %v tpot p50 %v; want 25ms, 5ms", res.TTFT.P99, res.TPOT.P50)
		}
		if res.OutputTokens != 90 || res.TokensPerSecond != 90 {
			t.Fatalf("tokens %d (%v/s), want 90", res.OutputTokens, res.TokensPerSecond)
		}
	})
}

func TestLateSendsInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A clock whose sleeper always wakes 2 ms late stands for a saturated generator.
		o := synctestOptions(loadgen.Constant(100))
		o.Clock = lateClock{2 * time.Millisecond}
		res := mustRun(t, t.Context(), &recording{}, o)
		if res.Valid || res.Late != res.Sent || !strings.Contains(res.InvalidReason, "late") {
			t.Fatalf("valid %v late %d/%d reason %q", res.Valid, res.Late, res.Sent, res.InvalidReason)
		}
		if res.Lag.P50 != 2*time.Millisecond {
			t.Fatalf("lag p50 %v, want 2ms", res.Lag.P50)
		}
	})
}

// TestLateAfterOption: with LateAfter at 3 ms, sends 2 ms late are on time, and the probe
// valid; the result says which threshold it used.
func TestLateAfterOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := synctestOptions(loadgen.Constant(100))
		o.Clock = lateClock{2 * time.Millisecond}
		o.LateAfter = 3 * time.Millisecond
		res := mustRun(t, t.Context(), &recording{}, o)
		if !res.Valid || res.Late != 0 || res.LateAfter != 3*time.Millisecond || res.Lag.P50 != 2*time.Millisecond {
			t.Fatalf("valid %v (%q), late %d after %v, lag p50 %v", res.Valid, res.InvalidReason, res.Late, res.LateAfter, res.Lag.P50)
		}
	})
}

// TestOneLateSendIsNotSaturation: in a probe of ten sends, one late send is 10% of them
// but counts only as late; a second makes the probe invalid.
func TestOneLateSendIsNotSaturation(t *testing.T) {
	for _, c := range []struct {
		late  int64
		valid bool
	}{{1, true}, {2, false}} {
		synctest.Test(t, func(t *testing.T) {
			o := synctestOptions(loadgen.Constant(10))
			o.Warmup, o.Duration = 0, time.Second
			left := &atomic.Int64{}
			left.Store(c.late)
			o.Clock = lateFirstClock{left}
			res := mustRun(t, t.Context(), &recording{}, o)
			if res.Sent != 10 || res.Late != c.late || res.Valid != c.valid {
				t.Fatalf("%d late sends: sent %d late %d valid %v (%q), want valid %v",
					c.late, res.Sent, res.Late, res.Valid, res.InvalidReason, c.valid)
			}
		})
	}
}

// lateFirstClock's sleepers wake 2 ms late while left is positive, then on time.
type lateFirstClock struct{ left *atomic.Int64 }

func (lateFirstClock) Now() time.Time { return time.Now() }
func (c lateFirstClock) Sleeper(bool) loadgen.Sleeper {
	return lateFirstSleeper(c)
}

type lateFirstSleeper struct{ left *atomic.Int64 }

func (s lateFirstSleeper) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if s.left.Add(-1) >= 0 {
		d += 2 * time.Millisecond
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type lateClock struct{ by time.Duration }

func (lateClock) Now() time.Time { return time.Now() }
func (c lateClock) Sleeper(bool) loadgen.Sleeper {
	return lateSleeper{c.by}
}

type lateSleeper struct{ by time.Duration }

func (s lateSleeper) SleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-time.After(time.Until(t) + s.by):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestOptionsValidate(t *testing.T) {
	a, _ := loadgen.Poisson(10)
	cases := []struct {
		name    string
		mod     func(*loadgen.Options)
		mention string
	}{
		{"zero duration", func(o *loadgen.Options) { o.Duration = 0 }, "duration 0s"},
		{"negative warmup", func(o *loadgen.Options) { o.Warmup = -time.Second }, "warmup -1s"},
		{"negative grace", func(o *loadgen.Options) { o.Grace = -1 }, "grace -1ns"},
		{"negative late after", func(o *loadgen.Options) { o.LateAfter = -time.Millisecond }, "late after -1ms"},
		{"in flight", func(o *loadgen.Options) { o.MaxInFlight = 0 }, "max in flight 0"},
		{"unknown arrival", func(o *loadgen.Options) { o.Arrival = loadgen.Arrival{} }, "arrival kind 0"},
		{"negative rate", func(o *loadgen.Options) { o.Arrival.Rate = -3 }, "rate -3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := loadgen.DefaultOptions(a)
			tc.mod(&o)
			_, err := loadgen.Run(t.Context(), loadgen.Noop{}, o)
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.mention)
			}
		})
	}
}

// TestPreciseClockProbe runs a short real-time probe on the default clock. It asserts
// accounting only, never speed.
func TestPreciseClockProbe(t *testing.T) {
	a, _ := loadgen.Poisson(2000)
	o := loadgen.DefaultOptions(a)
	o.Warmup = 20 * time.Millisecond
	o.Duration = 200 * time.Millisecond
	res := mustRun(t, t.Context(), loadgen.Noop{}, o)
	if res.Sent < 200 || res.OK != res.Sent {
		t.Fatalf("sent %d ok %d", res.Sent, res.OK)
	}
	if res.Lag.Count != res.Sent || res.Lag.P50 < 0 {
		t.Fatalf("lag %+v", res.Lag)
	}
}

// TestSlowTargetKeepsSchedule: when every request holds its worker for 50 ms, the pacing
// workers hand on the schedule and every send still leaves on time.
func TestSlowTargetKeepsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := synctestOptions(loadgen.Poisson(1000))
		res := mustRun(t, t.Context(), slow{50 * time.Millisecond}, o)
		if res.Lag.Max != 0 || res.Drops != 0 || res.OK != res.Sent {
			t.Fatalf("lag max %v drops %d ok %d of %d", res.Lag.Max, res.Drops, res.OK, res.Sent)
		}
		if res.InFlightPeak < 40 || res.Latency.Max != 50*time.Millisecond {
			t.Fatalf("peak in flight %d, latency max %v; want about 50 and 50ms", res.InFlightPeak, res.Latency.Max)
		}
	})
}

// TestPoissonSendTimesKS: the actual send times of a Poisson probe (virtual time, so
// exactly the schedule) have exponential gaps by a Kolmogorov–Smirnov test at the 1% level.
func TestPoissonSendTimesKS(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const rate = 1000.0
				o := synctestOptions(loadgen.Poisson(rate))
				o.Seed = seed
				o.Duration = 10 * time.Second
				target := &recording{}
				start := time.Now()
				mustRun(t, t.Context(), target, o)
				n := len(target.calls)
				gaps := make([]float64, n)
				prev := start
				for i, c := range target.calls {
					gaps[i] = c.Sub(prev).Seconds()
					prev = c
				}
				slices.Sort(gaps)
				var d float64
				for i, g := range gaps {
					cdf := 1 - math.Exp(-rate*g)
					d = max(d, math.Abs(cdf-float64(i)/float64(n)), math.Abs(float64(i+1)/float64(n)-cdf))
				}
				if crit := 1.628 / math.Sqrt(float64(n)); d > crit {
					t.Errorf("%d gaps: KS statistic %.5f over the 1%% critical value %.5f", n, d, crit)
				}
			})
		})
	}
}
