package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/tuner"
)

// scriptedSearch is the events of a search of two trials: one measured over two probes
// that becomes the best, one pruned.
func scriptedSearch() []tuner.Event {
	terms, _ := tuner.ParseSLO("p99<=50ms")
	c := tuner.Config{Precision: "int8", MaxBatch: 8, MaxQueueDelay: 2 * time.Millisecond, Threads: 2, Tier: "simd"}
	probe := func(rate float64, v tuner.Verdict) tuner.Event {
		return tuner.ProbeDone{Config: c, Probe: tuner.ProbeOutcome{Rate: rate, Verdict: v, Result: &loadgen.Result{OK: 500}}}
	}
	meets := tuner.Trial{Config: c, Meets: true, Capacity: 61.5}
	meets.Cost.PerMillion = 0.384
	pruned := tuner.Trial{Config: tuner.Config{Precision: "int4", MaxBatch: 1, Threads: 1, Tier: "simd"}, Pruned: true, Reason: "fidelity>=0.99: measured 0.97"}
	return []tuner.Event{
		tuner.RunStarted{Workload: "classify", Terms: terms, Strategy: "smart", Configs: 2, Budget: 3 * time.Minute},
		tuner.TrialStarted{Index: 1, Total: 2, Config: c},
		probe(40, tuner.Pass),
		probe(80, tuner.Fail),
		tuner.TrialDone{Trial: meets},
		tuner.BestChanged{Trial: meets},
		tuner.TrialDone{Trial: pruned},
	}
}

// TestTunePrinterCompact: on a terminal, a trial's probes redraw one status line (cut to
// the width) and the trial ends as one line; off a terminal every probe has its own line.
func TestTunePrinterCompact(t *testing.T) {
	var buf bytes.Buffer
	p := &tunePrinter{w: &buf, tty: true, width: 60}
	cut := false
	events := make(chan tuner.Event, 16)
	for _, e := range scriptedSearch() {
		events <- e
	}
	close(events)
	p.consume(events)
	out := buf.String()
	// What stays on screen: each \r\033[K erases the status line drawn before it.
	var screen []string
	for _, line := range strings.Split(out, "\n") {
		parts := strings.Split(line, "\r\033[K")
		if last := parts[len(parts)-1]; last != "" {
			screen = append(screen, last)
		}
		for _, status := range parts[:len(parts)-1] {
			if n := len([]rune(status)); n > 59 {
				t.Errorf("status line of %d columns on a 60-column terminal: %q", n, status)
			}
			cut = cut || strings.HasSuffix(status, "…")
		}
	}
	want := []string{
		"tune classify: p99<=50ms, smart search over 2 configs, budget 3m0s",
		"[1/2] int8 batch≤8 delay 2ms simd×2: meets: capacity 61.5 req/s, $0.384 per million requests",
		"  best so far: int8 batch≤8 delay 2ms simd×2, $0.384 per million requests",
		"  int4 batch≤1 delay 0s simd×1: pruned, fidelity>=0.99: measured 0.97",
	}
	if strings.Join(screen, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(screen, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out, "\r\033[K[1/2] 0s/3m0s int8 batch≤8 delay 2ms simd×2: probe 2, 80") || !cut {
		t.Errorf("no status line for the second probe, cut to the width, in %q", out)
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output ends inside a status line: %q", out)
	}

	buf.Reset()
	p = &tunePrinter{w: &buf}
	for _, e := range scriptedSearch() {
		p.print(e)
	}
	if strings.Contains(buf.String(), "\r") || strings.Count(buf.String(), "req/s: ") != 2 {
		t.Errorf("plain output:\n%s", buf.String())
	}
}
