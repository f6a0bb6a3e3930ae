package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The probes here are short (windows of at most 300 ms) so that the file runs in a few
// seconds. How well the generator kept its schedule depends on the machine's load, so a
// probe may come out invalid (exit 3); the tests accept that and check the report agrees.

// loadgenJSON is the part of the bench loadgen JSON report the tests read.
type loadgenJSON struct {
	Arrival       string  `json:"arrival"`
	Target        string  `json:"target"`
	Stop          string  `json:"stop"`
	WindowS       float64 `json:"window_s"`
	Sent          int64   `json:"sent"`
	OK            int64   `json:"ok"`
	Errors        int64   `json:"errors"`
	Rejects       int64   `json:"rejects"`
	Timeouts      int64   `json:"timeouts"`
	Drops         int64   `json:"drops"`
	Cut           int64   `json:"cut"`
	OfferedRPS    float64 `json:"offered_rps"`
	Valid         bool    `json:"valid"`
	InvalidReason string  `json:"invalid_reason"`
	ServiceMs     float64 `json:"service_ms"`
	Latency       struct {
		Count int64   `json:"count"`
		P50Ms float64 `json:"p50_ms"`
	} `json:"latency"`
}

// loadgenArgs is a bench loadgen command line.
func loadgenArgs(extra ...string) []string {
	return append([]string{"bench", "loadgen"}, extra...)
}

// wantProbeExit checks that a probe that ran exited 0, or 3 for an invalid one (a loaded
// machine can make the generator late), and returns the code.
func wantProbeExit(t *testing.T, ts *testState) int {
	t.Helper()
	code := ts.run(t)
	switch code {
	case int(exitOK):
	case int(exitInconclusive):
		wantContains(t, "stderr", ts.stderr.String(), "infertune: invalid probe:")
	default:
		t.Fatalf("exit %d, want 0 or 3; stdout:\n%s\nstderr:\n%s", code, ts.stdout, ts.stderr)
	}
	return code
}

// decodeLoadgen reads the JSON report on stdout, checks that every request of the window
// is accounted for and that the exit code agrees with the verdict.
func decodeLoadgen(t *testing.T, ts *testState, code int) loadgenJSON {
	t.Helper()
	var r loadgenJSON
	if err := json.Unmarshal([]byte(ts.stdout.String()), &r); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
	}
	if sum := r.OK + r.Errors + r.Rejects + r.Timeouts + r.Drops + r.Cut; r.Sent != sum {
		t.Errorf("sent %d != ok + errors + rejects + timeouts + drops + cut = %d: %+v", r.Sent, sum, r)
	}
	if r.Valid != (code == int(exitOK)) || r.Valid != (r.InvalidReason == "") {
		t.Errorf("exit %d with valid %v, invalid_reason %q", code, r.Valid, r.InvalidReason)
	}
	return r
}

func TestBenchLoadgen(t *testing.T) {
	probe := []string{"--arrival", "constant(2000)", "--duration", "300ms", "--warmup", "50ms", "--grace", "100ms"}

	t.Run("text", func(t *testing.T) {
		ts := newTestState(t, loadgenArgs(probe...)...)
		wantProbeExit(t, ts)
		out := ts.stdout.String()
		for _, label := range []string{"probe", "rate", "requests", "late sends", "send lag", "latency", "verdict"} {
			found := false
			for line := range strings.SplitSeq(out, "\n") {
				if strings.HasPrefix(line, label+" ") {
					found = true
				}
			}
			if !found {
				t.Errorf("stdout has no %q line:\n%s", label, out)
			}
		}
		wantContains(t, "stderr", ts.stderr.String(), "constant(2000) against noop")
	})

	t.Run("JSON on stdout", func(t *testing.T) {
		ts := newTestState(t, loadgenArgs(append(probe, "--json", "-")...)...)
		code := wantProbeExit(t, ts)
		var m map[string]any
		if err := json.Unmarshal([]byte(ts.stdout.String()), &m); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
		}
		for _, k := range []string{"host", "arrival", "target", "sent", "ok", "errors", "rejects", "timeouts", "drops", "cut",
			"offered_rps", "achieved_rps", "late_fraction", "lag_p50_us", "lag_p99_us", "lag_max_us",
			"cpu_pct", "valid", "invalid_reason", "latency"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON lacks %q:\n%s", k, ts.stdout)
			}
		}
		lat, _ := m["latency"].(map[string]any)
		for _, k := range []string{"count", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"} {
			if _, ok := lat[k]; !ok {
				t.Errorf("JSON latency lacks %q:\n%s", k, ts.stdout)
			}
		}
		r := decodeLoadgen(t, ts, code)
		if r.OfferedRPS <= 0 || r.Sent == 0 || r.Arrival != "constant(2000)" || r.Target != "noop" {
			t.Errorf("report %+v", r)
		}
		if strings.Contains(ts.stdout.String(), "verdict") {
			t.Errorf("--json - printed the text as well:\n%s", ts.stdout)
		}
	})

	t.Run("sleep target", func(t *testing.T) {
		ts := newTestState(t, loadgenArgs("--target", "sleep", "--service", "det(1ms)", "--servers", "2",
			"--arrival", "poisson(200)", "--duration", "300ms", "--warmup", "50ms", "--grace", "100ms", "--json", "-")...)
		code := wantProbeExit(t, ts)
		r := decodeLoadgen(t, ts, code)
		if r.Target != "sleep(det(1ms), servers=2)" {
			t.Errorf("target %q", r.Target)
		}
		if r.ServiceMs < 1.0 {
			t.Errorf("service_ms %v, want at least the 1ms service time", r.ServiceMs)
		}
		if r.Latency.Count > 0 && r.Latency.P50Ms < 1.0 {
			t.Errorf("latency p50 %vms is below the 1ms service time", r.Latency.P50Ms)
		}
	})

	t.Run("trace file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "offsets.txt")
		if err := os.WriteFile(path, []byte("0\n10ms\n0.02\n# comment\n30ms\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ts := newTestState(t, loadgenArgs("--arrival", "trace("+path+")", "--duration", "100ms", "--warmup", "0s", "--json", "-")...)
		code := wantProbeExit(t, ts)
		r := decodeLoadgen(t, ts, code)
		if r.Sent != 4 || r.Stop != "trace-end" {
			t.Errorf("sent %d, stop %q; want 4 sends, stop trace-end", r.Sent, r.Stop)
		}
	})
}

func TestBenchLoadgenBadInput(t *testing.T) {
	badTrace := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(badTrace, []byte("0\nsoon\n5ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"negative rate", []string{"--arrival", "poisson(-5)"}, nil, []string{"--arrival", "-5"}},
		{"unknown process", []string{"--arrival", "gamma(3)"}, nil, []string{"--arrival", "gamma(3)", "poisson(RATE)"}},
		{"missing trace", []string{"--arrival", "trace(/nonexistent/file)"}, nil, []string{"--arrival", "/nonexistent/file"}},
		{"bad trace line", []string{"--arrival", "trace(" + badTrace + ")"}, nil, []string{"--arrival", badTrace + ":2:", `"soon"`}},
		{"duration 0", []string{"--duration", "0s"}, nil, []string{"--duration", `"0s"`, "accepted:"}},
		{"duration garbage", []string{"--duration", "banana"}, nil, []string{"--duration", `"banana"`, "accepted:"}},
		{"warmup negative", []string{"--warmup", "-1s"}, nil, []string{"--warmup", `"-1s"`, "accepted:"}},
		{"target", []string{"--target", "bogus"}, nil, []string{"--target", `"bogus"`, "noop", "sleep"}},
		{"service 0", []string{"--service", "det(0s)"}, nil, []string{"--service", "0s"}},
		{"service distribution", []string{"--service", "uniform(1ms)"}, nil, []string{"--service", "uniform(1ms)", "det(DURATION)"}},
		{"servers 0", []string{"--servers", "0"}, nil, []string{"--servers", `"0"`, "accepted:"}},
		{"max-in-flight 0", []string{"--max-in-flight", "0"}, nil, []string{"--max-in-flight", `"0"`, "accepted:"}},
		{"clock", []string{"--clock", "sundial"}, nil, []string{"--clock", `"sundial"`, "precise", "timer"}},
		{"check-queueing det on 2 servers", []string{"--check-queueing", "--service", "det(1ms)", "--servers", "2"}, nil,
			[]string{"--servers", `"2"`, "--check-queueing", "M/D/1"}},
		{"unknown flag", []string{"--frob"}, nil, []string{"--frob", "accepted:", "--arrival"}},
		{"environment", nil, map[string]string{"INFERTUNE_BENCH_LOADGEN_ARRIVAL": "bogus"},
			[]string{"INFERTUNE_BENCH_LOADGEN_ARRIVAL", `"bogus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A tiny probe first, so that an accidentally valid line finishes at once; the
			// case's own flags come after it and win.
			args := loadgenArgs(append([]string{"--duration", "10ms", "--warmup", "0s", "--grace", "0s"}, tt.args...)...)
			ts := newTestState(t, args...)
			for k, v := range tt.env {
				ts.env[k] = v
			}
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitBadInput, ts.stdout, ts.stderr)
			}
			stderr := ts.stderr.String()
			if !strings.HasPrefix(stderr, "infertune: ") {
				t.Errorf("stderr does not start with \"infertune: \":\n%s", stderr)
			}
			wantContains(t, "stderr", stderr, tt.want...)
			if strings.Contains(stderr, "Usage:") {
				t.Errorf("stderr holds the usage text:\n%s", stderr)
			}
			if out := ts.stdout.String(); out != "" {
				t.Errorf("bad input printed a report:\n%s", out)
			}
		})
	}
}

func TestBenchLoadgenCancelledBeforeStart(t *testing.T) {
	ts := newTestState(t, loadgenArgs("--arrival", "constant(2000)", "--duration", "300ms", "--warmup", "50ms")...)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ts.gs.ctx = ctx
	if code := ts.run(t); code != int(exitInterrupted) {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitInterrupted, ts.stdout, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), "infertune: interrupted")
}

func TestBenchLoadgenInterrupted(t *testing.T) {
	// A window of a minute, cancelled once it has run a little: the probe stops, reports
	// what it measured and exits 130.
	ts := newTestState(t, loadgenArgs("--arrival", "constant(2000)", "--duration", "1m", "--warmup", "50ms", "--json", "-")...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ts.gs.ctx = ctx
	stop := time.AfterFunc(250*time.Millisecond, cancel)
	defer stop.Stop()
	if code := ts.run(t); code != int(exitInterrupted) {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitInterrupted, ts.stdout, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), "infertune: interrupted after")
	var r loadgenJSON
	if err := json.Unmarshal([]byte(ts.stdout.String()), &r); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
	}
	if r.Stop != "canceled" || r.WindowS >= 60 {
		t.Errorf("stop %q, window %vs; want canceled before the minute", r.Stop, r.WindowS)
	}
	if sum := r.OK + r.Errors + r.Rejects + r.Timeouts + r.Drops + r.Cut; r.Sent != sum {
		t.Errorf("sent %d != ok + errors + rejects + timeouts + drops + cut = %d", r.Sent, sum)
	}
}
