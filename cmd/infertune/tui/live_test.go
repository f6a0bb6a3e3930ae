package tui

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/tuner"
)

// liveScript is a classify-like search as Feed hands it to the program: a baseline, two
// configs that each become the best, one pruned by fidelity and one that meets nothing.
type liveScript struct {
	terms                             []tuner.Term
	base, fp32b8, int8b8, q4, int8b32 tuner.Trial
	// batches in order; probe is the index of the first batch after the mid-run state of
	// the live_probe golden (trial 3's second probe in progress).
	batches []EventsMsg
	probe   int
}

func newLiveScript(t *testing.T) liveScript {
	t.Helper()
	terms, err := tuner.ParseSLO("p99<=50ms,fidelity>=0.97")
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	cpu := func(threads int) tuner.Target {
		return tuner.Target{Name: "cpu", Threads: threads, PricePerHour: 0.048 * float64(threads)}
	}
	measured := func(c tuner.Config, capacity float64, p50, p99 time.Duration) tuner.Trial {
		cost, err := tuner.CostOf(cpu(c.Threads), capacity, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tuner.Trial{Config: c, Target: cpu(c.Threads), Capacity: capacity, P50: p50, P99: p99, Cost: cost,
			Meets: true, Probes: 5, ProbeTime: 9 * time.Second}
	}
	s := liveScript{terms: terms}
	s.base = measured(tuner.Config{Precision: "fp32", MaxBatch: 1, Threads: 4, Tier: "avx2"}, 210, ms(8.1), ms(31.2))
	s.base.Baseline = true
	s.fp32b8 = measured(tuner.Config{Precision: "fp32", MaxBatch: 8, MaxQueueDelay: 2 * time.Millisecond, Threads: 4, Tier: "avx2"}, 356, ms(9.4), ms(24))
	s.int8b8 = measured(tuner.Config{Precision: "int8", MaxBatch: 8, MaxQueueDelay: 2 * time.Millisecond, Threads: 4, Tier: "avx2"}, 812, ms(11.6), ms(42.1))
	s.q4 = tuner.Trial{Config: tuner.Config{Precision: "q4_0", MaxBatch: 8, MaxQueueDelay: 2 * time.Millisecond, Threads: 4, Tier: "avx2"},
		Pruned: true, Reason: "fidelity>=0.97: measured 0.912", Miss: 0.06}
	s.int8b32 = tuner.Trial{Config: tuner.Config{Precision: "int8", MaxBatch: 32, MaxQueueDelay: 5 * time.Millisecond, Threads: 2, Tier: "avx2"},
		Reason: "p99<=50ms: p99 was 71.3ms at 5 req/s", Miss: 0.426, Probes: 2, ProbeTime: 4 * time.Second}

	result := func(rate, achieved float64, p50, p99 time.Duration, ok, failed int64) *loadgen.Result {
		return &loadgen.Result{Arrival: "poisson", Window: 2 * time.Second, Sent: ok + failed, OK: ok, Errors: failed,
			OfferedRPS: rate, AchievedRPS: achieved, Valid: true,
			Latency: loadgen.Summary{Count: ok, P50: p50, P90: p99 * 8 / 10, P95: p99 * 9 / 10, P99: p99, P999: p99 * 12 / 10, Max: p99 * 2}}
	}
	p99 := terms[0]
	live := func(c tuner.Config, rate float64, elapsed time.Duration, done, over int64, value time.Duration, v tuner.Verdict, need int64) tuner.ProbeLive {
		return tuner.ProbeLive{Config: c, Rate: rate, Elapsed: elapsed, Window: 2 * time.Second, Sent: done + 3, Done: done,
			OK: done - over, Failed: 0, Late: 0,
			Terms: []tuner.TermLive{{Term: p99, Value: value, P50: value / 3, Samples: done, Over: over, Verdict: v, Need: need}}}
	}
	probe := func(c tuner.Config, rate, achieved float64, p50, p99 time.Duration, ok int64, v tuner.Verdict, reason string) tuner.ProbeDone {
		return tuner.ProbeDone{Config: c, Probe: tuner.ProbeOutcome{Rate: rate, Result: result(rate, achieved, p50, p99, ok, 0),
			Verdict: v, Terms: []tuner.Verdict{v}, Reason: reason}}
	}
	b := func(events ...tuner.Event) { s.batches = append(s.batches, EventsMsg{Events: events}) }

	b(tuner.RunStarted{Workload: "classify", Terms: terms, Strategy: tuner.StrategyGrid, Configs: 5, Budget: 10 * time.Minute},
		tuner.TrialStarted{Index: 1, Total: 5, Config: s.base.Config})
	b(live(s.base.Config, 105, time.Second, 101, 0, ms(19.5), tuner.Inconclusive, 358))
	b(probe(s.base.Config, 105, 104.2, ms(7.9), ms(21.3), 620, tuner.Pass, ""),
		live(s.base.Config, 210, 1500*time.Millisecond, 300, 1, ms(30.8), tuner.Inconclusive, 363))
	b(probe(s.base.Config, 210, 208.9, ms(8.1), ms(31.2), 612, tuner.Pass, ""),
		probe(s.base.Config, 420, 371, ms(48), ms(112), 742, tuner.Fail, "p99<=50ms: fail (96 of 742 requests over 50ms)"),
		tuner.TrialDone{Trial: s.base}, tuner.BestChanged{Trial: s.base},
		tuner.TrialStarted{Index: 2, Total: 5, Config: s.fp32b8.Config})
	b(probe(s.fp32b8.Config, 356, 354.8, ms(9.4), ms(24), 713, tuner.Pass, ""),
		tuner.TrialDone{Trial: s.fp32b8}, tuner.BestChanged{Trial: s.fp32b8},
		tuner.TrialStarted{Index: 3, Total: 5, Config: s.int8b8.Config})
	b(live(s.int8b8.Config, 406, 800*time.Millisecond, 318, 0, ms(14.2), tuner.Inconclusive, 141))
	b(probe(s.int8b8.Config, 406, 404.1, ms(9.9), ms(15.7), 812, tuner.Pass, ""),
		live(s.int8b8.Config, 812, 600*time.Millisecond, 402, 2, ms(39.6), tuner.Inconclusive, 243))
	s.probe = len(s.batches)
	b(probe(s.int8b8.Config, 812, 809.3, ms(11.6), ms(42.1), 1620, tuner.Pass, ""),
		tuner.TrialDone{Trial: s.int8b8}, tuner.BestChanged{Trial: s.int8b8},
		tuner.TrialStarted{Index: 4, Total: 5, Config: s.q4.Config},
		tuner.TrialDone{Trial: s.q4},
		tuner.TrialStarted{Index: 5, Total: 5, Config: s.int8b32.Config})
	b(probe(s.int8b32.Config, 10, 9.9, ms(40.2), ms(88.4), 500, tuner.Fail, "p99<=50ms: fail (31 of 500 requests over 50ms)"),
		probe(s.int8b32.Config, 5, 5, ms(38.9), ms(71.3), 459, tuner.Fail, "p99<=50ms: fail (12 of 459 requests over 50ms)"),
		tuner.TrialDone{Trial: s.int8b32})
	res := tuner.Result{Trials: []tuner.Trial{s.base, s.fp32b8, s.int8b8, s.q4, s.int8b32}, ProbeTime: 31 * time.Second}
	res.Baseline, res.Best = &res.Trials[0], &res.Trials[2]
	b(tuner.RunDone{Result: res})
	return s
}

// liveClock returns a clock that moves on a second each time it is read: the model reads
// it once a message, so a script always shows the same times.
func liveClock() func() time.Time {
	t := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(7 * time.Second)
		return t
	}
}

// newLiveTest returns a live model at a size, with a fixed clock and a cancel that counts
// its calls.
func newLiveTest(width, height int) (liveModel, *atomic.Int32) {
	var cancels atomic.Int32
	m := NewLive(Options{NoColor: true}, func() { cancels.Add(1) }).(liveModel)
	m.now = liveClock()
	m = liveUpdate(m, tea.WindowSizeMsg{Width: width, Height: height})
	return m, &cancels
}

func liveUpdate(m liveModel, msgs ...tea.Msg) liveModel {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(liveModel)
	}
	return m
}

func liveKey(s string) tea.KeyMsg {
	switch s {
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func liveBatches(bs []EventsMsg) []tea.Msg {
	msgs := make([]tea.Msg, len(bs))
	for i, b := range bs {
		msgs[i] = b
	}
	return msgs
}

// liveCheckFits fails unless every line of view is at most width cells, there are at most
// height lines, and the help line is last.
func liveCheckFits(t *testing.T, view string, width, height int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > height {
		t.Errorf("%d lines in %d rows", len(lines), height)
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w > width {
			t.Errorf("line %d is %d cells wide, over %d: %q", i+1, w, width, l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "quit") && !strings.Contains(last, "y yes") {
		t.Errorf("last line %q is not the help line", last)
	}
}

// TestLiveHeaderAndProbe follows a run through its first trial: the header, "starting",
// the live probe with its samples to go, then the outcome of the probe.
func TestLiveHeaderAndProbe(t *testing.T) {
	s := newLiveScript(t)
	m, _ := newLiveTest(100, 30)
	if v := m.View(); !strings.Contains(v, "waiting for the search to start") {
		t.Errorf("before the run:\n%s", v)
	}
	m = liveUpdate(m, s.batches[0])
	v := m.View()
	for _, want := range []string{"classify", "p99<=50ms,fidelity>=0.97", "5 configs", "grid search",
		"running · budget 0s of 10m0s used · 0 of 5 configs done", "best: none yet", "trial 1/5 · fp32 batch≤1 delay 0s avx2×4", "starting"} {
		if !strings.Contains(v, want) {
			t.Errorf("after the start, no %q in\n%s", want, v)
		}
	}
	m = liveUpdate(m, s.batches[1])
	v = m.View()
	for _, want := range []string{"budget 7s of 10m0s used", "probe 1 · 105 req/s offered, 101 achieved · 1s / 2s · 104 sent, 0 failed",
		"p99  19.5ms / 50ms    … 358 samples to go · p50 6.5ms · 101 samples, 0 over"} {
		if !strings.Contains(v, want) {
			t.Errorf("during the probe, no %q in\n%s", want, v)
		}
	}
	if strings.Contains(v, "starting") {
		t.Errorf("still starting during the probe:\n%s", v)
	}
	m = liveUpdate(m, EventsMsg{Events: s.batches[2].Events[:1]})
	v = m.View()
	for _, want := range []string{"probe 105 req/s: pass · 104.2 req/s achieved · p99 21.3ms", "p99  21.3ms / 50ms    ✓ pass · 620 samples"} {
		if !strings.Contains(v, want) {
			t.Errorf("after the probe, no %q in\n%s", want, v)
		}
	}
}

// TestLiveTrialsAndBest: finished trials fill the table, and the best line gives the
// saving against the baseline.
func TestLiveTrialsAndBest(t *testing.T) {
	s := newLiveScript(t)
	m, _ := newLiveTest(100, 30)
	m = liveUpdate(m, liveBatches(s.batches[:5])...)
	v := m.View()
	if want := "best: $0.1498/M req, 41.0% cheaper than the baseline · fp32 batch≤8 delay 2ms avx2×4 · 356 req/s"; !strings.Contains(v, want) {
		t.Errorf("no %q in\n%s", want, v)
	}
	m = liveUpdate(m, liveBatches(s.batches[5:])...)
	v = m.View()
	for _, want := range []string{
		"best: $0.06568/M req, 74.1% cheaper than the baseline · int8 batch≤8 delay 2ms avx2×4 · 812 req/s",
		"fp32 batch≤1 delay 0s avx2×4 (baseline)", "pruned", "misses", "search done: 5 trials (4 measured, 1 pruned)",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q in\n%s", want, v)
		}
	}
	if got := len(m.trials.rows); got != 5 {
		t.Errorf("%d rows, want 5", got)
	}
	if m.status() != "done" {
		t.Errorf("status %q after RunDone, want done", m.status())
	}
}

// TestLiveSort: s cycles the table's order, shown in the tab bar and the column header.
func TestLiveSort(t *testing.T) {
	s := newLiveScript(t)
	m, _ := newLiveTest(100, 30)
	m = liveUpdate(m, liveBatches(s.batches)...)
	type want struct {
		shown string
		first string // the top row's config
		last  string
	}
	steps := []want{
		{"sort # ↑", s.base.Config.String(), s.int8b32.Config.String()},
		{"sort $/M req ↑", s.int8b8.Config.String(), s.int8b32.Config.String()},
		{"sort req/s ↓", s.int8b8.Config.String(), s.int8b32.Config.String()},
		{"sort p99 ↑", s.fp32b8.Config.String(), s.int8b32.Config.String()},
		{"sort config ↑", s.base.Config.String(), s.q4.Config.String()},
		{"sort verdict ↑", s.int8b8.Config.String(), s.int8b32.Config.String()},
		{"sort status ↑", s.base.Config.String(), s.q4.Config.String()},
		{"sort # ↑", s.base.Config.String(), s.int8b32.Config.String()},
	}
	for i, w := range steps {
		if i > 0 {
			m = liveUpdate(m, liveKey("s"))
		}
		rows := m.trials.sorted(m.gen)
		if got := rows[0].trial.Config.String(); got != w.first {
			t.Errorf("%s: first row %s, want %s", w.shown, got, w.first)
		}
		if got := rows[len(rows)-1].trial.Config.String(); got != w.last {
			t.Errorf("%s: last row %s, want %s", w.shown, got, w.last)
		}
		v := m.View()
		if !strings.Contains(v, w.shown) {
			t.Errorf("no %q in\n%s", w.shown, v)
		}
		// The cursor stays on the last trial whatever the order.
		if sel := rows[m.trials.cursor(rows)].trial.Config; sel != s.int8b32.Config {
			t.Errorf("%s: cursor on %s", w.shown, sel)
		}
	}
	// The cursor moves in the table and stops at its ends.
	m = liveUpdate(m, liveKey("up"), liveKey("k"))
	if rows := m.trials.sorted(m.gen); rows[m.trials.cursor(rows)].trial.Config != s.int8b8.Config {
		t.Errorf("cursor on %s after two up", rows[m.trials.cursor(rows)].trial.Config)
	}
	m = liveUpdate(m, liveKey("j"), liveKey("down"), liveKey("down"), liveKey("down"))
	if rows := m.trials.sorted(m.gen); m.trials.cursor(rows) != len(rows)-1 {
		t.Errorf("cursor at %d after moving past the end", m.trials.cursor(rows))
	}
}

// TestLiveQuit: while the run is live, q asks once and only y stops the search; ctrl+c
// stops it at once; once the run is over, q and ctrl+c quit without stopping anything.
func TestLiveQuit(t *testing.T) {
	s := newLiveScript(t)
	for _, tc := range []struct {
		name    string
		ended   bool
		keys    []string
		quit    bool  // the last key quits
		cancels int32 // calls of cancel
		asking  bool  // the question is shown at the end
	}{
		{name: "q asks", keys: []string{"q"}, asking: true},
		{name: "q then n", keys: []string{"q", "n"}},
		{name: "q then esc", keys: []string{"q", "esc"}},
		{name: "q then other keys", keys: []string{"q", "s", "j", "q"}, asking: true},
		{name: "q then y", keys: []string{"q", "y"}, quit: true, cancels: 1},
		{name: "q, n, q, y", keys: []string{"q", "n", "q", "y"}, quit: true, cancels: 1},
		{name: "q then ctrl+c", keys: []string{"q", "ctrl+c"}, quit: true, cancels: 1},
		{name: "ctrl+c", keys: []string{"ctrl+c"}, quit: true, cancels: 1},
		{name: "over: q", ended: true, keys: []string{"q"}, quit: true},
		{name: "over: ctrl+c", ended: true, keys: []string{"ctrl+c"}, quit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, cancels := newLiveTest(100, 30)
			m = liveUpdate(m, liveBatches(s.batches[:3])...)
			if tc.ended {
				m = liveUpdate(m, liveBatches(s.batches[3:])...)
				m = liveUpdate(m, RunEndedMsg{})
			}
			var cmd tea.Cmd
			for i, k := range tc.keys {
				var next tea.Model
				next, cmd = m.Update(liveKey(k))
				m = next.(liveModel)
				if i < len(tc.keys)-1 && cmd != nil {
					t.Fatalf("key %q of %q returned a command", k, tc.keys)
				}
			}
			quit := false
			if cmd != nil {
				_, quit = cmd().(tea.QuitMsg)
			}
			if quit != tc.quit {
				t.Errorf("quit %v, want %v", quit, tc.quit)
			}
			if got := cancels.Load(); got != tc.cancels {
				t.Errorf("cancel called %d times, want %d", got, tc.cancels)
			}
			v := m.View()
			if asking := strings.Contains(v, "stop the search? (y/n)"); asking != tc.asking {
				t.Errorf("asking %v, want %v:\n%s", asking, tc.asking, v)
			}
			liveCheckFits(t, v, 100, 30)
		})
	}
}

// TestLiveEnded: the end of the run dismisses the question, and the header says how the
// run ended.
func TestLiveEnded(t *testing.T) {
	s := newLiveScript(t)
	m, cancels := newLiveTest(100, 30)
	m = liveUpdate(m, liveBatches(s.batches)...)
	m = liveUpdate(m, liveKey("q"), RunEndedMsg{})
	v := m.View()
	if strings.Contains(v, "stop the search?") || !strings.Contains(v, "done · budget") {
		t.Errorf("after the end:\n%s", v)
	}
	if cancels.Load() != 0 {
		t.Error("cancel called")
	}

	cut := newLiveScript(t)
	last := cut.batches[len(cut.batches)-1].Events[0].(tuner.RunDone)
	last.Result.CutShort = true
	cut.batches[len(cut.batches)-1] = EventsMsg{Events: []tuner.Event{last}}
	m, _ = newLiveTest(100, 30)
	m = liveUpdate(m, liveBatches(cut.batches)...)
	m = liveUpdate(m, RunEndedMsg{})
	if v := m.View(); !strings.Contains(v, "cut short") || !strings.Contains(v, "the budget ended the search") {
		t.Errorf("cut short:\n%s", v)
	}

	// A search that ends without a RunDone (it failed) is over too.
	m, _ = newLiveTest(100, 30)
	m = liveUpdate(m, liveBatches(s.batches[:3])...)
	m = liveUpdate(m, RunEndedMsg{})
	if v := m.View(); !strings.Contains(v, "stopped · budget") || !slices.Contains(m.log.lines, "the search ended without a result") {
		t.Errorf("ended without a result:\n%s", v)
	}
	if _, cmd := m.Update(liveKey("q")); cmd == nil {
		t.Error("q does not quit once the run is over")
	}
}

// TestLiveSizes: every size from the smallest usable one up fits the terminal, keeps the
// header and the trial in progress, and ends with the help line; panes cycle with tab.
func TestLiveSizes(t *testing.T) {
	s := newLiveScript(t)
	gen := newLiveGenScript(t)
	for _, tc := range []struct {
		name          string
		width, height int
		script        []EventsMsg
		mode          liveMode
		color         bool
	}{
		{"80x24", 80, 24, s.batches, liveTabs, false},
		{"80x24 colour", 80, 24, s.batches, liveTabs, true},
		{"80x24 mid-probe", 80, 24, s.batches[:s.probe], liveTabs, false},
		{"80x24 generation", 80, 24, gen, liveTabs, false},
		{"100x30", 100, 30, s.batches, liveTabs, false},
		{"120x50", 120, 50, s.batches, liveStacked, false},
		{"120x50 colour", 120, 50, s.batches[:s.probe], liveStacked, true},
		{"120x50 generation", 120, 50, gen, liveStacked, false},
		{"200x40", 200, 40, s.batches, liveSide, false},
		{"200x40 colour", 200, 40, s.batches[:s.probe], liveSide, true},
		{"150x24", 150, 24, s.batches[:s.probe], liveSide, false},
		{"300x80", 300, 80, s.batches, liveSide, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newLiveTest(tc.width, tc.height)
			if tc.color {
				m.styles = NewStyles(false)
			}
			m = liveUpdate(m, liveBatches(tc.script)...)
			if got := m.layout().mode; got != tc.mode {
				t.Errorf("layout %d, want %d", got, tc.mode)
			}
			for _, keys := range [][]string{nil, {"tab"}, {"tab"}, {"q"}, {"n", "tab"}} {
				for _, k := range keys {
					m = liveUpdate(m, liveKey(k))
				}
				v := m.View()
				liveCheckFits(t, v, tc.width, tc.height)
				if lines := strings.Split(v, "\n"); len(lines) != tc.height {
					t.Errorf("%d lines, want the whole height %d", len(lines), tc.height)
				}
				v = ansi.Strip(v)
				if !strings.Contains(v, "infertune · ") || !strings.Contains(v, "\ntrial ") && !strings.Contains(v, "\nsearch done") {
					t.Errorf("pane %s: no header or trial in progress:\n%s", m.pane, v)
				}
			}
		})
	}
	// Resizing reflows: from large to the smallest and back.
	m, _ := newLiveTest(200, 60)
	m = liveUpdate(m, liveBatches(s.batches)...)
	for _, size := range [][2]int{{80, 24}, {200, 60}, {81, 25}, {80, 24}} {
		m = liveUpdate(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		liveCheckFits(t, m.View(), size[0], size[1])
	}
}

// TestLiveTooSmall: a terminal under 80×24 gets a short message and the help line.
func TestLiveTooSmall(t *testing.T) {
	s := newLiveScript(t)
	for _, size := range [][2]int{{60, 20}, {79, 24}, {80, 23}, {20, 2}} {
		m, _ := newLiveTest(size[0], size[1])
		m = liveUpdate(m, liveBatches(s.batches)...)
		v := m.View()
		if !strings.Contains(v, "terminal too small") {
			t.Errorf("%v: %q", size, v)
		}
		liveCheckFits(t, v, size[0], size[1])
		m = liveUpdate(m, liveKey("q"))
		if v := m.View(); !strings.Contains(v, "stop the search?") {
			t.Errorf("%v: no question: %q", size, v)
		}
	}
}

// TestLiveLog: the log keeps its newest lines, and scrolls back and forth in its pane.
func TestLiveLog(t *testing.T) {
	m, _ := newLiveTest(80, 24)
	for i := range 500 {
		m = liveUpdate(m, EventsMsg{Events: []tuner.Event{tuner.TrialStarted{Index: i + 1, Total: 500,
			Config: tuner.Config{Precision: "fp32", MaxBatch: i + 1, Threads: 1, Tier: "generic"}}}})
	}
	if n := len(m.log.lines); n != liveLogMax {
		t.Fatalf("%d log lines, want %d", n, liveLogMax)
	}
	if last := m.log.lines[len(m.log.lines)-1]; !strings.HasPrefix(last, "trial 500/500") {
		t.Errorf("newest line %q", last)
	}
	m = liveUpdate(m, liveKey("tab"), liveKey("tab"))
	v := m.View()
	if !strings.Contains(v, "trial 500/500: fp32 batch≤500") {
		t.Errorf("the log pane does not end with the newest event:\n%s", v)
	}
	m = liveUpdate(m, liveKey("up"), liveKey("up"))
	if v := m.View(); strings.Contains(v, "trial 500/500: fp32") || !strings.Contains(v, "trial 498/500: fp32") {
		t.Errorf("scrolled back two lines:\n%s", v)
	}
	for range 1000 {
		m = liveUpdate(m, liveKey("up"))
	}
	if v := m.View(); !strings.Contains(v, "trial 301/500: fp32") {
		t.Errorf("scrolled to the oldest line:\n%s", v)
	}
	// A new event into the full log drops its oldest line; a scrolled-back view stays put.
	for range 10 {
		m = liveUpdate(m, liveKey("down"))
	}
	m = liveUpdate(m, EventsMsg{Events: []tuner.Event{tuner.TrialStarted{Index: 501, Total: 501,
		Config: tuner.Config{Precision: "fp32", MaxBatch: 501, Threads: 1, Tier: "generic"}}}})
	if v := m.View(); !strings.Contains(v, "trial 311/500: fp32") || strings.Contains(v, "trial 310/500: fp32") || strings.Contains(v, "trial 501/501: fp32") {
		t.Errorf("the scrolled-back log moved when an event arrived:\n%s", v)
	}
	liveCheckFits(t, m.View(), 80, 24)
}

// liveGolden names a golden file testdata/<name>.golden.
type liveGolden struct {
	testing.TB
	name string
}

func (g liveGolden) Name() string { return g.name }

// TestLiveGolden runs the scripted search through the program at 100×30 and compares the
// screen at its end, on each pane, with testdata/live.golden, live_chart.golden and
// live_log.golden.
func TestLiveGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{name: "live"},
		{name: "live_chart", keys: []string{"tab"}},
		{name: "live_log", keys: []string{"tab", "tab"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLiveScript(t)
			var cancels atomic.Int32
			m := NewLive(Options{NoColor: true}, func() { cancels.Add(1) }).(liveModel)
			m.now = liveClock()
			tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
			for _, b := range s.batches {
				tm.Send(b)
			}
			tm.Send(RunEndedMsg{})
			for _, k := range tc.keys {
				tm.Send(liveKey(k))
			}
			tm.Send(liveKey("q"))
			final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(liveModel)
			if cancels.Load() != 0 {
				t.Error("quitting a finished run called cancel")
			}
			view := final.View()
			liveCheckFits(t, view, 100, 30)
			golden.RequireEqual(liveGolden{t, tc.name}, []byte(view))
		})
	}
}

// TestLiveGoldenProbe compares the screen in the middle of a probe with
// testdata/live_probe.golden.
func TestLiveGoldenProbe(t *testing.T) {
	s := newLiveScript(t)
	m := NewLive(Options{NoColor: true}, func() { t.Error("cancel called") }).(liveModel)
	m.now = liveClock()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	for _, b := range s.batches[:s.probe] {
		tm.Send(b)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).View()
	liveCheckFits(t, view, 100, 30)
	golden.RequireEqual(liveGolden{t, "live_probe"}, []byte(view))
}

// newLiveGenScript is a short generation search: a ttft term and two configs.
func newLiveGenScript(t *testing.T) []EventsMsg {
	t.Helper()
	terms, err := tuner.ParseSLO("ttft_p99<=500ms,tpot_p99<=50ms,tps>=100")
	if err != nil {
		t.Fatal(err)
	}
	trial := func(c tuner.Config, capacity float64, ttft, tpot time.Duration, tokensPerReq float64) tuner.Trial {
		cost, err := tuner.CostOf(tuner.Target{Threads: c.Threads, PricePerHour: 0.05 * float64(c.Threads)}, capacity, 100/tokensPerReq)
		if err != nil {
			t.Fatal(err)
		}
		return tuner.Trial{Config: c, Capacity: capacity, P50: ttft * 3, P99: ttft * 8, TTFTP99: ttft, TPOTP99: tpot,
			TokensPerSec: capacity * tokensPerReq, TokensPerRequest: tokensPerReq, Cost: cost, Meets: true}
	}
	a := trial(tuner.Config{Precision: "fp32", Batching: "static", MaxSeqs: 1, MaxBatchedTokens: 512, Threads: 4, Tier: "avx2"},
		2.1, 310*time.Millisecond, 22*time.Millisecond, 64)
	a.Baseline = true
	c := trial(tuner.Config{Precision: "int8", Batching: "continuous", MaxSeqs: 8, MaxBatchedTokens: 2048, Threads: 2, Tier: "avx2"},
		6.4, 420*time.Millisecond, 31*time.Millisecond, 64)
	return []EventsMsg{
		{Events: []tuner.Event{tuner.RunStarted{Workload: "chat", Terms: terms, Strategy: tuner.StrategyGrid, Configs: 2},
			tuner.TrialStarted{Index: 1, Total: 2, Config: a.Config}}},
		{Events: []tuner.Event{tuner.ProbeLive{Config: a.Config, Rate: 2, Elapsed: 3 * time.Second, Window: 8 * time.Second,
			Sent: 6, Done: 5, OK: 5, Terms: []tuner.TermLive{
				{Term: terms[0], Value: 280 * time.Millisecond, Samples: 5, Verdict: tuner.Inconclusive, Need: 454},
				{Term: terms[1], Value: 20 * time.Millisecond, Samples: 320, Verdict: tuner.Inconclusive, Need: 139}}}}},
		{Events: []tuner.Event{tuner.TrialDone{Trial: a}, tuner.BestChanged{Trial: a},
			tuner.TrialStarted{Index: 2, Total: 2, Config: c.Config}, tuner.TrialDone{Trial: c}, tuner.BestChanged{Trial: c}}},
	}
}

// TestLiveGeneration: a generation run shows time-to-first-token and cost per million
// output tokens.
func TestLiveGeneration(t *testing.T) {
	m, _ := newLiveTest(120, 40)
	m = liveUpdate(m, liveBatches(newLiveGenScript(t))...)
	v := m.View()
	m = liveUpdate(m, liveKey("tab"))
	v += m.View()
	for _, want := range []string{"ttft p99", "$/M tok", "tokens/s", "$/M tokens vs ttft p99", "│ ttft_p99<=500ms"} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q in\n%s", want, v)
		}
	}
	if m.gen != true {
		t.Error("not a generation run")
	}
}

// TestRunLive: the program quits when the context ends, after the user confirms stopping
// (calling cancel once), and RunLive returns only once the events are closed.
func TestRunLive(t *testing.T) {
	s := newLiveScript(t)
	t.Run("context", func(t *testing.T) {
		ctx, stop := context.WithCancel(t.Context())
		events := make(chan tuner.Event)
		done := make(chan error, 1)
		var cancels atomic.Int32
		go func() {
			done <- RunLive(ctx, Options{NoColor: true, Input: strings.NewReader(""), Output: io.Discard}, events, func() { cancels.Add(1) })
		}()
		for _, b := range s.batches[:3] {
			for _, e := range b.Events {
				events <- e
			}
		}
		stop()
		// The program is over, but RunLive keeps reading until the events are closed.
		for _, b := range s.batches[3:] {
			for _, e := range b.Events {
				events <- e
			}
		}
		close(events)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if cancels.Load() != 0 {
			t.Error("cancel called")
		}
	})
	t.Run("confirmed quit", func(t *testing.T) {
		in, typed := io.Pipe()
		defer in.Close()
		events := make(chan tuner.Event, 1)
		done := make(chan error, 1)
		var cancels atomic.Int32
		go func() {
			done <- RunLive(t.Context(), Options{NoColor: true, Input: in, Output: io.Discard}, events, func() {
				if cancels.Add(1) == 1 {
					close(events) // the search ends and its bus closes
				}
			})
		}()
		events <- tuner.RunStarted{Workload: "classify", Terms: s.terms, Strategy: tuner.StrategySmart, Configs: 3}
		for _, k := range []string{"q", "y"} {
			if _, err := typed.Write([]byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := cancels.Load(); got != 1 {
			t.Errorf("cancel called %d times, want 1", got)
		}
	})
}
