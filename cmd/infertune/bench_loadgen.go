package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/reports"
	"github.com/spf13/cobra"
)

// benchLoadgenConfig is the bench.loadgen section of the configuration. Values that have
// a syntax of their own stay text until options reads them, so errors quote them.
type benchLoadgenConfig struct {
	// Arrival is the arrival process: poisson(RATE), constant(RATE), closed(N), trace(FILE).
	Arrival string `mapstructure:"arrival"`
	// Target is what the load drives: noop (returns at once) or sleep (a queue of servers).
	Target string `mapstructure:"target"`
	// Service is the sleep target's service time: det(DURATION) or exp(DURATION).
	Service string `mapstructure:"service"`
	// Servers is the sleep target's number of parallel servers.
	Servers int `mapstructure:"servers"`
	// Duration, Warmup and Grace shape the probe: the measurement window, the unrecorded
	// lead-in and how long requests in flight at the end may still finish.
	Duration string `mapstructure:"duration"`
	Warmup   string `mapstructure:"warmup"`
	Grace    string `mapstructure:"grace"`
	// Timeout ends a request that has not finished this long after its intended send (0: none).
	Timeout string `mapstructure:"timeout"`
	// MaxInFlight bounds the requests in flight; sends past it are dropped and counted.
	MaxInFlight int `mapstructure:"max_in_flight"`
	// Seed seeds the arrival process and the service times.
	Seed uint64 `mapstructure:"seed"`
	// Clock paces sends: precise (kernel sleeps with a learnt margin) or timer (the
	// runtime's timers, for comparison).
	Clock string `mapstructure:"clock"`
	// CheckQueueing runs the sleep target at 0.3, 0.6 and 0.9 of its capacity and compares
	// the measured mean wait with queueing theory.
	CheckQueueing bool `mapstructure:"check_queueing"`
}

func defaultBenchLoadgenConfig() benchLoadgenConfig {
	o := loadgen.DefaultOptions(loadgen.Arrival{})
	return benchLoadgenConfig{
		Arrival:     "poisson(50000)",
		Target:      "noop",
		Service:     "det(1ms)",
		Servers:     1,
		Duration:    o.Duration.String(),
		Warmup:      o.Warmup.String(),
		Grace:       o.Grace.String(),
		Timeout:     "0s",
		MaxInFlight: o.MaxInFlight,
		Seed:        o.Seed,
		Clock:       "precise",
	}
}

// loadgenRun is a resolved bench loadgen invocation.
type loadgenRun struct {
	opt        loadgen.Options
	target     string
	service    loadgen.Dist
	servers    int
	clockName  string
	checkQueue bool
}

// options reads the settings, collecting every problem. path resolves a trace file name
// against the working directory.
func (c benchLoadgenConfig) options(path func(string) string) (loadgenRun, error) {
	const p = "bench.loadgen."
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &fieldError{Key: p + key, Value: value, Problem: fmt.Sprintf(format, args...)})
	}
	r := loadgenRun{target: c.Target, servers: c.Servers, checkQueue: c.CheckQueueing, clockName: c.Clock}
	spec := c.Arrival
	if name, ok := strings.CutPrefix(strings.TrimSpace(spec), "trace("); ok {
		spec = "trace(" + path(strings.TrimSpace(strings.TrimSuffix(name, ")"))) + ")"
	}
	a, err := loadgen.ParseArrival(spec)
	if err != nil {
		errs = append(errs, &fieldError{Key: p + "arrival", Problem: err.Error()})
	}
	r.opt = loadgen.DefaultOptions(a)
	r.opt.Seed = c.Seed
	r.opt.MaxInFlight = c.MaxInFlight
	switch c.Target {
	case "noop", "sleep":
	default:
		bad("target", c.Target, "unknown target; accepted: noop, sleep")
	}
	if r.service, err = loadgen.ParseDist(c.Service); err != nil {
		errs = append(errs, &fieldError{Key: p + "service", Problem: err.Error()})
	}
	if c.Servers < 1 || c.Servers > loadgen.MaxServers {
		bad("servers", fmt.Sprint(c.Servers), "accepted: a whole number from 1 to %d", loadgen.MaxServers)
	}
	for _, d := range []struct {
		key, value string
		dst        *time.Duration
		positive   bool
	}{
		{"duration", c.Duration, &r.opt.Duration, true},
		{"warmup", c.Warmup, &r.opt.Warmup, false},
		{"grace", c.Grace, &r.opt.Grace, false},
		{"timeout", c.Timeout, &r.opt.Timeout, false},
	} {
		if v, err := parseDurationIn(d.value, 0, loadgen.MaxDuration, d.positive); err != nil {
			bad(d.key, d.value, "%v", err)
		} else {
			*d.dst = v
		}
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > loadgen.MaxConcurrency {
		bad("max_in_flight", fmt.Sprint(c.MaxInFlight), "accepted: a whole number from 1 to %d", loadgen.MaxConcurrency)
	} else if a.Kind == loadgen.KindClosed && c.MaxInFlight < a.Concurrency {
		bad("max_in_flight", fmt.Sprint(c.MaxInFlight), "below the closed-loop concurrency %d; accepted: at least %d", a.Concurrency, a.Concurrency)
	}
	switch c.Clock {
	case "precise":
		r.opt.Clock = loadgen.PreciseClock{}
	case "timer":
		r.opt.Clock = loadgen.TimerClock{}
	default:
		bad("clock", c.Clock, "unknown clock; accepted: precise, timer")
	}
	if c.CheckQueueing && r.service.Kind == loadgen.Deterministic && c.Servers != 1 {
		bad("servers", fmt.Sprint(c.Servers), "--check-queueing with det service has theory for 1 server (M/D/1); accepted: --servers 1, or an exp service (M/M/c)")
	}
	return r, errors.Join(errs...)
}

// benchLoadgenBinds maps the bench.loadgen keys to their flags.
func benchLoadgenBinds() map[string]string {
	return map[string]string{
		"bench.loadgen.arrival":        "arrival",
		"bench.loadgen.target":         "target",
		"bench.loadgen.service":        "service",
		"bench.loadgen.servers":        "servers",
		"bench.loadgen.duration":       "duration",
		"bench.loadgen.warmup":         "warmup",
		"bench.loadgen.grace":          "grace",
		"bench.loadgen.timeout":        "timeout",
		"bench.loadgen.max_in_flight":  "max-in-flight",
		"bench.loadgen.seed":           "seed",
		"bench.loadgen.clock":          "clock",
		"bench.loadgen.check_queueing": "check-queueing",
	}
}

func newBenchLoadgenCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Measure the load generator itself: rate kept, send lag, CPU use",
		Long: `loadgen drives a built-in target with open-loop load and reports how well the generator
kept its schedule: offered and achieved rate, the share of sends that started over 1ms
late, the send-lag distribution (actual minus intended send time), the latency statistics
(counted from the intended send time), and the process's CPU use during the probe as a
percentage of one core. A probe with more than 1% late sends is invalid (exit 3).

Targets: noop returns at once; sleep holds each request for a service time (--service) on
one of --servers parallel servers behind a FIFO queue.

--check-queueing runs the sleep target at 0.3, 0.6 and 0.9 of its capacity under Poisson
arrivals and prints the measured mean wait beside queueing theory (M/D/1 for a det service
on one server, Erlang C for exp services); it exits 3 if 0.3 or 0.6 is off by over 10%.`,
		Example: `  infertune bench loadgen
  infertune bench loadgen --arrival 'poisson(10000)' --duration 10s --json -
  infertune bench loadgen --target sleep --service 'exp(2ms)' --servers 4 --arrival 'poisson(1500)'
  infertune bench loadgen --check-queueing --service 'det(1ms)'`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lc, err := loadConfig(gs, cmd, benchLoadgenBinds(), nil)
			if err != nil {
				return err
			}
			r, err := lc.Bench.Loadgen.options(gs.path)
			if err != nil {
				return lc.explain(err)
			}
			if r.checkQueue {
				return runCheckQueueing(gs, cmd, lc, r)
			}
			return runBenchLoadgen(gs, cmd, lc, r)
		}),
	}
	def := defaultBenchLoadgenConfig()
	f := cmd.Flags()
	f.String("arrival", def.Arrival, "arrival `PROCESS`: poisson(RATE), constant(RATE), closed(N) or trace(FILE); RATE in requests/s")
	f.String("target", def.Target, "`TARGET` to drive: noop or sleep")
	f.String("service", def.Service, "sleep target's service time `DIST`: det(DURATION) or exp(DURATION)")
	f.Int("servers", def.Servers, "sleep target's parallel servers `N`")
	f.String("duration", def.Duration, "measurement window (a `DURATION`)")
	f.String("warmup", def.Warmup, "unrecorded warm-up before the window (a `DURATION`)")
	f.String("grace", def.Grace, "time requests in flight at the end may still finish (a `DURATION`)")
	f.String("timeout", def.Timeout, "per-request timeout from the intended send, 0 for none (a `DURATION`)")
	f.Int("max-in-flight", def.MaxInFlight, "most requests in flight `N`; sends past it are dropped and counted")
	f.Uint64("seed", def.Seed, "`N` seeds the arrivals and service times")
	f.String("clock", def.Clock, "`CLOCK` pacing the sends: precise or timer")
	f.Bool("check-queueing", false, "compare the sleep target's mean wait with queueing theory at loads 0.3, 0.6, 0.9")
	return cmd
}

func (r loadgenRun) newTarget() (loadgen.Target, error) {
	if r.target == "noop" {
		return loadgen.Noop{}, nil
	}
	return loadgen.NewSleep(r.service, r.servers, r.opt.Seed, r.opt.Clock)
}

// loadgenReport is the JSON of bench loadgen.
type loadgenReport struct {
	Host          benchHost     `json:"host"`
	Arrival       string        `json:"arrival"`
	Target        string        `json:"target"`
	Clock         string        `json:"clock"`
	WindowS       float64       `json:"window_s"`
	Stop          string        `json:"stop"`
	Sent          int64         `json:"sent"`
	OK            int64         `json:"ok"`
	Errors        int64         `json:"errors"`
	Rejects       int64         `json:"rejects"`
	Timeouts      int64         `json:"timeouts"`
	Drops         int64         `json:"drops"`
	Cut           int64         `json:"cut"`
	OfferedRPS    float64       `json:"offered_rps"`
	AchievedRPS   float64       `json:"achieved_rps"`
	LateFraction  float64       `json:"late_fraction"`
	LagP50us      float64       `json:"lag_p50_us"`
	LagP99us      float64       `json:"lag_p99_us"`
	LagMaxus      float64       `json:"lag_max_us"`
	CPUPct        float64       `json:"cpu_pct"`
	Valid         bool          `json:"valid"`
	InvalidReason string        `json:"invalid_reason"`
	Latency       latencyReport `json:"latency"`
	QueueWaitMs   float64       `json:"queue_wait_ms"`
	ServiceMs     float64       `json:"service_ms"`
	InFlightPeak  int64         `json:"in_flight_peak"`
}

type latencyReport struct {
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	Exact  bool    `json:"exact"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func us(d time.Duration) float64 { return float64(d) / 1e3 }

func newLoadgenReport(r loadgenRun, res *loadgen.Result) loadgenReport {
	return probeReport(res, r.targetName(), r.clockName)
}

// probeReport is the JSON view of a probe's result and of this host, shared by the bench
// commands.
func probeReport(res *loadgen.Result, target, clock string) loadgenReport {
	l := res.Latency
	return loadgenReport{
		Host:    thisHost(),
		Arrival: res.Arrival, Target: target, Clock: clock,
		WindowS: res.Window.Seconds(), Stop: string(res.Stop),
		Sent: res.Sent, OK: res.OK, Errors: res.Errors, Rejects: res.Rejects,
		Timeouts: res.Timeouts, Drops: res.Drops, Cut: res.Cut,
		OfferedRPS: res.OfferedRPS, AchievedRPS: res.AchievedRPS, LateFraction: res.LateFraction,
		LagP50us: us(res.Lag.P50), LagP99us: us(res.Lag.P99), LagMaxus: us(res.Lag.Max),
		CPUPct: res.CPUPercent(), Valid: res.Valid, InvalidReason: res.InvalidReason,
		Latency: latencyReport{Count: l.Count, MeanMs: ms(l.Mean), P50Ms: ms(l.P50), P90Ms: ms(l.P90),
			P95Ms: ms(l.P95), P99Ms: ms(l.P99), P999Ms: ms(l.P999), MaxMs: ms(l.Max), Exact: l.Exact},
		QueueWaitMs: ms(res.QueueWait), ServiceMs: ms(res.Service), InFlightPeak: res.InFlightPeak,
	}
}

func (r loadgenRun) targetName() string {
	if r.target == "sleep" {
		return fmt.Sprintf("sleep(%s, servers=%d)", r.service, r.servers)
	}
	return r.target
}

func runBenchLoadgen(gs *globalState, cmd *cobra.Command, lc *loadedConfig, r loadgenRun) error {
	target, err := r.newTarget()
	if err != nil {
		return withCode(exitBadInput, err)
	}
	pr := &progress{w: gs.stderr, tty: gs.stderrTTY, quiet: lc.Quiet}
	pr.start(fmt.Sprintf("%s against %s: warm-up %v, window %v", r.opt.Arrival, r.targetName(), r.opt.Warmup, r.opt.Duration))
	res, err := loadgen.Run(cmd.Context(), target, r.opt)
	pr.done()
	if err != nil {
		return withCode(exitBadInput, err)
	}
	rep := newLoadgenReport(r, res)
	return finishProbe(gs, cmd, "bench loadgen", rep, res, func(w io.Writer) error { return writeLoadgenText(w, rep, res) })
}

// finishProbe writes a probe's report (JSON where --json asks, text otherwise) and turns
// the probe's end into the exit code: 130 when interrupted, 3 when invalid.
func finishProbe(gs *globalState, cmd *cobra.Command, what string, rep any, res *loadgen.Result, text func(io.Writer) error) error {
	textDue, err := emitJSON(gs, cmd, rep)
	if err != nil {
		return err
	}
	if textDue {
		if err := text(gs.stdout); err != nil {
			return fmt.Errorf("%s: write: %w", what, err)
		}
	}
	switch {
	case res.Stop == loadgen.StopCanceled:
		return withCode(exitInterrupted, fmt.Errorf("interrupted after %.1fs of the window", res.Window.Seconds()))
	case !res.Valid:
		return withCode(exitInconclusive, fmt.Errorf("invalid probe: %s", res.InvalidReason))
	}
	return nil
}

func writeLoadgenText(w io.Writer, rep loadgenReport, res *loadgen.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "probe\t%s against %s, window %.3gs (%s), clock %s\n", rep.Arrival, rep.Target, rep.WindowS, rep.Stop, rep.Clock)
	pct := 0.0
	if rep.OfferedRPS > 0 {
		pct = 100 * rep.AchievedRPS / rep.OfferedRPS
	}
	fmt.Fprintf(tw, "rate\toffered %.1f req/s, achieved %.1f req/s (%.2f%%)\n", rep.OfferedRPS, rep.AchievedRPS, pct)
	fmt.Fprintf(tw, "requests\t%d sent: %d ok, %d errors, %d rejects, %d timeouts, %d drops, %d cut; peak in flight %d\n",
		rep.Sent, rep.OK, rep.Errors, rep.Rejects, rep.Timeouts, rep.Drops, rep.Cut, rep.InFlightPeak)
	fmt.Fprintf(tw, "late sends\t%.3f%% started over %v late\n", 100*rep.LateFraction, res.LateAfter)
	fmt.Fprintf(tw, "send lag\tp50 %s  p99 %s  max %s\n", reports.Duration(res.Lag.P50), reports.Duration(res.Lag.P99), reports.Duration(res.Lag.Max))
	l := res.Latency
	how := "exact"
	if !l.Exact {
		how = "from the histogram"
	}
	fmt.Fprintf(tw, "latency\tmean %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s (%d requests, %s)\n",
		reports.Duration(l.Mean), reports.Duration(l.P50), reports.Duration(l.P90), reports.Duration(l.P95), reports.Duration(l.P99), reports.Duration(l.P999), reports.Duration(l.Max), l.Count, how)
	if res.Service > 0 {
		fmt.Fprintf(tw, "target\tmean queue wait %s, mean service %s\n", reports.Duration(res.QueueWait), reports.Duration(res.Service))
	}
	if rep.CPUPct >= 0 {
		fmt.Fprintf(tw, "cpu\t%.1f%% of one core (process CPU time ÷ wall time)\n", rep.CPUPct)
	}
	verdict := "valid"
	if !rep.Valid {
		verdict = "invalid: " + rep.InvalidReason
	}
	fmt.Fprintf(tw, "verdict\t%s\n", verdict)
	return tw.Flush()
}

// queueRow is one load level of --check-queueing.
type queueRow struct {
	Rho           float64 `json:"rho"`
	RateRPS       float64 `json:"rate_rps"`
	MeasuredRho   float64 `json:"measured_rho"`
	WaitMs        float64 `json:"wait_ms"`
	TheoryMs      float64 `json:"theory_ms"`
	Ratio         float64 `json:"ratio"`
	Requests      int64   `json:"requests"`
	Valid         bool    `json:"valid"`
	InvalidReason string  `json:"invalid_reason"`
}

// checkLevels are the loads of --check-queueing; the first checkGated are held to
// checkTolerance (near saturation the mean wait converges too slowly for a short probe).
var checkLevels = []float64{0.3, 0.6, 0.9}

const (
	checkGated     = 2
	checkTolerance = 0.10
)

func runCheckQueueing(gs *globalState, cmd *cobra.Command, lc *loadedConfig, r loadgenRun) error {
	model := fmt.Sprintf("M/M/%d (Erlang C)", r.servers)
	if r.service.Kind == loadgen.Deterministic {
		model = "M/D/1"
	}
	pr := &progress{w: gs.stderr, tty: gs.stderrTTY, quiet: lc.Quiet, total: len(checkLevels)}
	var rows []queueRow
	for _, rho := range checkLevels {
		rate := rho * float64(r.servers) / r.service.Mean.Seconds()
		a, err := loadgen.Poisson(rate)
		if err != nil {
			return withCode(exitBadInput, fmt.Errorf("--check-queueing at rho %.1f: %w", rho, err))
		}
		opt := r.opt
		opt.Arrival = a
		target, err := loadgen.NewSleep(r.service, r.servers, r.opt.Seed, r.opt.Clock)
		if err != nil {
			return withCode(exitBadInput, err)
		}
		pr.start(fmt.Sprintf("rho %.1f: %s against sleep(%s, servers=%d) for %v", rho, a, r.service, r.servers, opt.Duration))
		res, err := loadgen.Run(cmd.Context(), target, opt)
		pr.done()
		if err != nil {
			return withCode(exitBadInput, err)
		}
		if res.Stop == loadgen.StopCanceled {
			return withCode(exitInterrupted, errors.New("interrupted"))
		}
		// Theory at the load actually run: the rate sent and the mean service measured.
		lambda := res.OfferedRPS
		mrho := lambda * res.Service.Seconds() / float64(r.servers)
		var theory time.Duration
		if r.service.Kind == loadgen.Deterministic {
			theory = loadgen.MD1Wait(mrho, res.Service)
		} else {
			theory = loadgen.MMcWait(r.servers, lambda, res.Service)
		}
		row := queueRow{Rho: rho, RateRPS: rate, MeasuredRho: mrho, WaitMs: ms(res.QueueWait), TheoryMs: ms(theory),
			Requests: res.OK, Valid: res.Valid, InvalidReason: res.InvalidReason, Ratio: math.NaN()}
		if theory > 0 {
			row.Ratio = float64(res.QueueWait) / float64(theory)
		}
		rows = append(rows, row)
	}
	out := struct {
		Host    benchHost  `json:"host"`
		Model   string     `json:"model"`
		Service string     `json:"service"`
		Servers int        `json:"servers"`
		Rows    []queueRow `json:"rows"`
	}{Model: model, Service: r.service.String(), Servers: r.servers, Rows: rows}
	out.Host = thisHost()
	for i := range out.Rows { // JSON has no NaN
		if math.IsNaN(out.Rows[i].Ratio) {
			out.Rows[i].Ratio = 0
		}
	}
	textDue, err := emitJSON(gs, cmd, out)
	if err != nil {
		return err
	}
	if textDue {
		tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(gs.stdout, "%s, service %s, %d server(s); theory at the measured rate and mean service\n", model, r.service, r.servers)
		fmt.Fprintln(tw, "rho\trate req/s\tmeasured rho\trequests\tmean wait\ttheory\tratio\t")
		for _, q := range rows {
			fmt.Fprintf(tw, "%.1f\t%.1f\t%.3f\t%d\t%.4gms\t%.4gms\t%.3f\t\n", q.Rho, q.RateRPS, q.MeasuredRho, q.Requests, q.WaitMs, q.TheoryMs, q.Ratio)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("bench loadgen: write: %w", err)
		}
	}
	var off []string
	for i, q := range rows {
		if !q.Valid {
			off = append(off, fmt.Sprintf("rho %.1f invalid: %s", q.Rho, q.InvalidReason))
		} else if i < checkGated && !(math.Abs(q.Ratio-1) <= checkTolerance) {
			off = append(off, fmt.Sprintf("rho %.1f measured/theory %.3f (limit ±%.0f%%)", q.Rho, q.Ratio, 100*checkTolerance))
		}
	}
	if len(off) > 0 {
		return withCode(exitInconclusive, fmt.Errorf("queueing check: %s", strings.Join(off, "; ")))
	}
	return nil
}
