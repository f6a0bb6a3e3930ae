package tui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/infertune/infertune/reports"
	"github.com/infertune/infertune/reports/store"
	"github.com/infertune/infertune/tuner"
)

// TestMain runs the tests in UTC: the run list and headers write local times.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

// browseT0 is when the first run of the fake source started.
var browseT0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func browseConfigJSON(c tuner.Config) string {
	js, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(js)
}

func browseClassify(precision string, batch int, delay time.Duration, threads int) string {
	return browseConfigJSON(tuner.Config{Precision: precision, MaxBatch: batch, MaxQueueDelay: delay, Threads: threads, Tier: "standard"})
}

func browseChat(precision string, seqs, tokens, threads int) string {
	return browseConfigJSON(tuner.Config{Precision: precision, Batching: "continuous", MaxSeqs: seqs,
		MaxBatchedTokens: tokens, Threads: threads, Tier: "standard"})
}

// browseProbe is a finished probe of trial at rate req/s with latency percentiles from p50.
func browseProbe(trial int64, seq int, rate, achieved float64, p50 time.Duration, verdict string) store.Probe {
	return store.Probe{ID: trial*100 + int64(seq), TrialID: trial, Seq: seq, RateRPS: rate, AchievedRPS: achieved,
		Window: 10 * time.Second, P50: p50, P90: p50 * 2, P99: p50 * 3, P999: p50 * 4, Valid: true, Verdict: verdict,
		StartedAt: browseT0.Add(time.Duration(seq) * 15 * time.Second)}
}

// browseFake is a Source with fixed data: run 1 (classify, 4 trials, the baseline fp32 and
// the best int8), run 2 (classify on another host), run 3 (chat, a generation run) and run
// 4 (classify, running). Run 4 is read as running for its first running reads and done
// after; its trial in progress has one more probe at each read.
type browseFake struct {
	mu           sync.Mutex
	runs         []reports.Run
	probes       map[int64][]store.Probe
	runningReads int
	// errRuns, errLoad and errProbes fail the calls of that method.
	errRuns, errLoad, errProbes error
	// calls counts the calls: "runs", "load 4", "probes 42".
	calls map[string]int
}

func newBrowseFake() *browseFake {
	xeon := store.Host{ID: 1, CPUModel: "Intel Xeon Gold 6338", Cores: 32, ISAFlags: "avx2 avx512f avx512_vnni", OS: "linux"}
	epyc := store.Host{ID: 2, CPUModel: "AMD EPYC 7763", Cores: 64, ISAFlags: "avx2", OS: "linux"}
	done := func(id, run int64, cfg string, capacity float64, p99 time.Duration, perM float64, verdict string) store.Trial {
		return store.Trial{ID: id, RunID: run, ConfigKey: cfg, Config: cfg, Status: store.StatusDone, CapacityRPS: capacity,
			P50: p99 / 3, P99: p99, CostPerHour: 0.5, CostPerMillion: perM, Replicas: 1, Verdict: verdict,
			StartedAt: browseT0, EndedAt: browseT0.Add(time.Minute)}
	}
	chat := func(id int64, cfg string, capacity float64, ttft, tpot time.Duration, tokens, perMTokens float64) store.Trial {
		t := done(id, 3, cfg, capacity, 4*time.Second, 0.5/3600/capacity*1e6, "pass")
		t.TTFTP99, t.TPOTP99, t.TokensPerSec, t.CostPerMillionTokens = ttft, tpot, tokens, perMTokens
		return t
	}
	baseline := done(11, 1, browseClassify("fp32", 1, 0, 4), 120, 38*time.Millisecond, 1.157, "pass")
	baseline.Note = "baseline"
	over := done(14, 1, browseClassify("int8", 32, 5*time.Millisecond, 4), 0, 72*time.Millisecond, 0, "fail")
	over.Note = "p99 over the SLO at every rate"
	running := store.Trial{ID: 42, RunID: 4, Config: browseClassify("int8", 8, 2*time.Millisecond, 8), Status: store.StatusRunning,
		StartedAt: browseT0.Add(2*time.Hour + time.Minute)}
	f := &browseFake{
		runs: []reports.Run{
			{Run: store.Run{ID: 1, HostID: 1, Workload: "classify", SLOs: "p99<=50ms", Strategy: "grid", Budget: 10 * time.Minute,
				Seed: 1, Status: store.StatusDone, StartedAt: browseT0, EndedAt: browseT0.Add(20 * time.Minute), BestTrialID: 13},
				Host: xeon, Trials: []store.Trial{baseline,
					done(12, 1, browseClassify("fp32", 8, 2*time.Millisecond, 4), 410, 45*time.Millisecond, 0.3388, "pass"),
					done(13, 1, browseClassify("int8", 8, 2*time.Millisecond, 4), 960, 41*time.Millisecond, 0.1447, "pass"),
					over}},
			{Run: store.Run{ID: 2, HostID: 2, Workload: "classify", SLOs: "p99<=50ms", Strategy: "bayes", Budget: 10 * time.Minute,
				Seed: 2, Status: store.StatusDone, StartedAt: browseT0.Add(30 * time.Minute), EndedAt: browseT0.Add(45 * time.Minute),
				BestTrialID: 22},
				Host: epyc, Trials: []store.Trial{
					done(21, 2, browseClassify("fp32", 8, 2*time.Millisecond, 8), 700, 44*time.Millisecond, 0.397, "pass"),
					done(22, 2, browseClassify("int8", 16, 2*time.Millisecond, 8), 1800, 47*time.Millisecond, 0.154, "pass")}},
			{Run: store.Run{ID: 3, HostID: 1, Workload: "chat", SLOs: "ttft_p99<=500ms,tpot_p99<=50ms", Strategy: "grid",
				Budget: 20 * time.Minute, Seed: 3, Status: store.StatusCutShort, StartedAt: browseT0.Add(time.Hour),
				EndedAt: browseT0.Add(80 * time.Minute), BestTrialID: 32},
				Host: xeon, Trials: []store.Trial{
					chat(31, browseChat("fp16", 8, 1024, 8), 3.2, 420*time.Millisecond, 38*time.Millisecond, 410, 0.8469),
					chat(32, browseChat("int8", 16, 2048, 8), 5.5, 380*time.Millisecond, 44*time.Millisecond, 720, 0.4823)}},
			{Run: store.Run{ID: 4, HostID: 1, Workload: "classify", SLOs: "p99<=50ms", Strategy: "grid", Budget: 10 * time.Minute,
				Seed: 4, Status: store.StatusRunning, StartedAt: browseT0.Add(2 * time.Hour), BestTrialID: 41},
				Host: xeon, Trials: []store.Trial{
					done(41, 4, browseClassify("fp32", 8, 2*time.Millisecond, 8), 650, 43*time.Millisecond, 0.2137, "pass"),
					running}},
		},
		probes:       map[int64][]store.Probe{},
		runningReads: 2,
		calls:        map[string]int{},
	}
	f.probes[11] = []store.Probe{
		browseProbe(11, 1, 100, 99.8, 9*time.Millisecond, "pass"),
		browseProbe(11, 2, 140, 131.2, 14*time.Millisecond, "fail"),
	}
	late := browseProbe(13, 4, 1200, 1105, 21*time.Millisecond, "fail")
	late.Valid, late.InvalidReason = false, "late sends 7%"
	f.probes[13] = []store.Probe{
		browseProbe(13, 1, 250, 249.6, 6*time.Millisecond, "pass"),
		browseProbe(13, 2, 500, 499.1, 8*time.Millisecond, "pass"),
		browseProbe(13, 3, 1000, 997.4, 13*time.Millisecond, "inconclusive"),
		late,
	}
	for seq, rate := range []float64{2, 4, 6} {
		p := browseProbe(32, seq+1, rate, rate*0.99, time.Second, "pass")
		p.TTFTP99, p.TPOTP99, p.OutputTokens = 300*time.Millisecond, 40*time.Millisecond, int64(rate*1300)
		f.probes[32] = append(f.probes[32], p)
	}
	f.probes[42] = []store.Probe{
		browseProbe(42, 1, 300, 299.5, 7*time.Millisecond, "pass"),
		browseProbe(42, 2, 600, 598.8, 9*time.Millisecond, "pass"),
		browseProbe(42, 3, 1200, 1190, 15*time.Millisecond, "pass"),
	}
	return f
}

// run returns run id as read now: run 4 ends once it has been read runningReads times.
func (f *browseFake) run(id int64) (reports.Run, bool) {
	i := slices.IndexFunc(f.runs, func(r reports.Run) bool { return r.Run.ID == id })
	if i < 0 {
		return reports.Run{}, false
	}
	r := f.runs[i]
	r.Trials = slices.Clone(r.Trials)
	if id == 4 && f.calls["load 4"] > f.runningReads {
		end := browseT0.Add(2*time.Hour + 5*time.Minute)
		r.Run.Status, r.Run.EndedAt, r.Run.BestTrialID = store.StatusDone, end, 42
		t := &r.Trials[1]
		t.Status, t.CapacityRPS, t.P99, t.CostPerMillion, t.Verdict, t.EndedAt = store.StatusDone, 1190, 45*time.Millisecond, 0.1168, "pass", end
	}
	return r, true
}

func (f *browseFake) Runs() ([]store.RunSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["runs"]++
	if f.errRuns != nil {
		return nil, f.errRuns
	}
	var out []store.RunSummary
	for _, r := range f.runs {
		s := store.RunSummary{Run: r.Run, CPUModel: r.Host.CPUModel, Trials: len(r.Trials)}
		if b := r.Best(); b != nil {
			s.BestCostPerHour, s.BestCostPerMillion = b.CostPerHour, b.CostPerMillion
		}
		out = append(out, s)
	}
	return out, nil
}

func (f *browseFake) Load(id int64) (reports.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[fmt.Sprintf("load %d", id)]++
	if f.errLoad != nil {
		return reports.Run{}, f.errLoad
	}
	r, ok := f.run(id)
	if !ok {
		return reports.Run{}, fmt.Errorf("run %d: %w", id, store.ErrNotFound)
	}
	return r, nil
}

func (f *browseFake) Probes(trialID int64) ([]store.Probe, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[fmt.Sprintf("probes %d", trialID)]++
	if f.errProbes != nil {
		return nil, f.errProbes
	}
	ps := f.probes[trialID]
	if trialID == 42 {
		ps = ps[:min(len(ps), f.calls["load 4"])] // one more probe at each read of the run
	}
	return slices.Clone(ps), nil
}

func (f *browseFake) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[call]
}

// browseHarness drives the browser's model without a program: it runs the commands the
// model returns and hands their messages back to it, all but the refresh ticks, which it
// holds for the test to send.
type browseHarness struct {
	t     *testing.T
	m     browseModel
	ticks []browseTickMsg
	quit  bool
}

func newBrowseHarness(t *testing.T, src Source, watch int64, width, height int) *browseHarness {
	t.Helper()
	m, ok := NewBrowse(Options{NoColor: true}, src, watch).(browseModel)
	if !ok {
		t.Fatalf("NewBrowse returned %T", m)
	}
	m.every = 0 // a tick fires at once, and the harness holds it
	h := &browseHarness{t: t, m: m}
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	h.run(h.m.Init())
	return h
}

func (h *browseHarness) send(msg tea.Msg) {
	next, cmd := h.m.Update(msg)
	h.m = next.(browseModel)
	h.run(cmd)
}

func (h *browseHarness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case browseTickMsg:
		h.ticks = append(h.ticks, msg)
	case tea.QuitMsg:
		h.quit = true
	default:
		h.send(msg)
	}
}

// browseKeyMsg returns the key named: "up", "down", "left", "right", "enter", "esc",
// "tab", "space", or the runes of name.
func browseKeyMsg(name string) tea.KeyMsg {
	types := map[string]tea.KeyType{"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "space": tea.KeySpace, "ctrl+c": tea.KeyCtrlC}
	if t, ok := types[name]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(name)}
}

func (h *browseHarness) keys(names ...string) {
	for _, n := range names {
		h.send(browseKeyMsg(n))
	}
}

// tick sends the refresh tick the model scheduled last, and reports whether there was one.
func (h *browseHarness) tick() bool {
	if len(h.ticks) == 0 {
		return false
	}
	t := h.ticks[len(h.ticks)-1]
	h.ticks = nil
	h.send(t)
	return true
}

func (h *browseHarness) view() string { return h.m.View() }

// want fails unless the view holds every string of want.
func (h *browseHarness) want(want ...string) {
	h.t.Helper()
	v := h.view()
	for _, w := range want {
		if !strings.Contains(v, w) {
			h.t.Fatalf("the view lacks %q:\n%s", w, v)
		}
	}
}

// wantNot fails if the view holds a string of not.
func (h *browseHarness) wantNot(not ...string) {
	h.t.Helper()
	v := h.view()
	for _, w := range not {
		if strings.Contains(v, w) {
			h.t.Fatalf("the view holds %q:\n%s", w, v)
		}
	}
}

// cursorLine returns the last line of the view that starts with the cursor: the row
// under it in the list, the trials pane, or the probes pane when keys move there.
func (h *browseHarness) cursorLine() string {
	lines := strings.Split(h.view(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], ">") {
			return lines[i]
		}
	}
	h.t.Fatalf("no cursor in the view:\n%s", h.view())
	return ""
}

func (h *browseHarness) listIDs() []int64 {
	ids := make([]int64, len(h.m.list.runs))
	for i, r := range h.m.list.runs {
		ids[i] = r.ID
	}
	return ids
}

// browseFits fails unless every line of view is at most width cells and there are at most
// height lines.
func browseFits(t *testing.T, view string, width, height int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > height {
		t.Errorf("%d lines, more than %d:\n%s", len(lines), height, view)
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w > width {
			t.Errorf("line %d is %d cells, more than %d: %q", i+1, w, width, l)
		}
	}
}

// TestBrowseListNavigateAndSort: the list shows every run with host, workload, SLOs,
// status and best cost; the cursor moves and stops at the ends; s cycles the sort column,
// says which, and keeps the cursor on its run.
func TestBrowseListNavigateAndSort(t *testing.T) {
	h := newBrowseHarness(t, newBrowseFake(), 0, 100, 30)
	h.want("runs (4) · sorted by id", "best $/M req", "Intel Xeon Gold 6338", "AMD EPYC 7763", "classify", "chat",
		"ttft_p99<=500ms,tpot_p99<=50ms", "p99<=50ms", "running", "cut_short", "0.1447", "0.154")
	if got := h.cursorLine(); !strings.HasPrefix(got, ">  1 ") {
		t.Fatalf("cursor on %q, want run 1", got)
	}
	h.keys("k", "down", "j")
	if got := h.cursorLine(); !strings.HasPrefix(got, ">  3 ") {
		t.Fatalf("after k, ↓, j the cursor is on %q, want run 3", got)
	}
	h.keys("j", "j", "j")
	if got := h.cursorLine(); !strings.HasPrefix(got, ">  4 ") {
		t.Fatalf("past the end the cursor is on %q, want run 4", got)
	}
	h.keys("up")

	sorts := []struct {
		name string
		ids  []int64
	}{
		{"started", []int64{1, 2, 3, 4}},
		{"status", []int64{3, 1, 2, 4}},
		{"workload", []int64{3, 1, 2, 4}},
		{"slos", []int64{1, 2, 4, 3}},
		{"best $/M req", []int64{1, 2, 4, 3}},
		{"cpu", []int64{2, 1, 3, 4}},
		{"id", []int64{1, 2, 3, 4}},
	}
	for _, s := range sorts {
		h.keys("s")
		h.want("sorted by " + s.name)
		if got := h.listIDs(); !slices.Equal(got, s.ids) {
			t.Errorf("sorted by %s: %v, want %v", s.name, got, s.ids)
		}
		if got := h.cursorLine(); !strings.HasPrefix(got, ">  3 ") {
			t.Errorf("sorted by %s, the cursor is on %q, want run 3", s.name, got)
		}
	}
}

// TestBrowseRunDetail: enter opens a run's header and trials with the probes of the first
// trial; moving reads the probes of the trial selected; tab and enter go to the probes
// pane, esc back to the trials and then to the list; s sorts the trials.
func TestBrowseRunDetail(t *testing.T) {
	src := newBrowseFake()
	h := newBrowseHarness(t, src, 0, 100, 30)
	h.keys("enter")
	h.want("run 1 · classify · SLOs p99<=50ms · grid search", "host Intel Xeon Gold 6338 · 32 cores",
		"ended 2025-03-01 10:20:00 (started 2025-03-01 10:00:00) · status done",
		"best: $0.1447 per M req · 960 req/s · p99 41ms · int8 batch≤8 delay 2ms standard×4",
		"» trials (4) · sorted by trial", "config", "capacity req/s", "$/M req", "verdict",
		"fp32 batch≤1 delay 0s standard×4", "int8 batch≤32 delay 5ms standard×4",
		"probes of trial 11 (fp32 batch≤1 delay 0s standard×4) · 2", "achieved req/s", "p99.9", "131.2")
	if got := h.cursorLine(); !strings.Contains(got, "fp32 batch≤1") {
		t.Fatalf("cursor on %q, want the first trial", got)
	}

	h.keys("j", "j")
	h.want("probes of trial 13", "1200", "1105", "no", "fail (late sends 7%)", "inconclusive", "63ms", "84ms")
	if got := h.cursorLine(); !strings.HasPrefix(got, ">*") || !strings.Contains(got, "int8 batch≤8") {
		t.Fatalf("cursor on %q, want the best trial, marked *", got)
	}
	if n := src.count("probes 13"); n != 1 {
		t.Errorf("probes of trial 13 read %d times, want 1", n)
	}

	h.keys("tab")
	if !h.m.run.onProbes {
		t.Fatal("tab did not move to the probes pane")
	}
	if got := h.cursorLine(); !strings.HasPrefix(got, ">   1") {
		t.Fatalf("probes cursor on %q, want probe 1", got)
	}
	h.keys("j", "j")
	if got := h.cursorLine(); !strings.HasPrefix(got, ">   3") {
		t.Fatalf("probes cursor on %q, want probe 3", got)
	}
	h.keys("esc")
	if h.m.run.onProbes || h.m.screen != browseRunScreen {
		t.Fatal("esc in the probes pane did not go back to the trials")
	}
	h.keys("enter")
	if !h.m.run.onProbes {
		t.Fatal("enter on a trial did not open its probes")
	}
	h.keys("tab", "k", "k")
	h.want("probes of trial 11")
	if n := src.count("probes 11"); n != 1 {
		t.Errorf("probes of trial 11 read %d times, want 1 (kept once read)", n)
	}

	h.keys("s")
	h.want("sorted by capacity req/s")
	if got := h.m.run.trials[0].ID; got != 13 {
		t.Errorf("sorted by capacity, trial %d first, want 13", got)
	}
	if got := h.cursorLine(); !strings.Contains(got, "fp32 batch≤1") {
		t.Errorf("after sorting the cursor is on %q, want the trial it was on", got)
	}
	h.keys("s", "s")
	h.want("sorted by $/M req")
	if got := h.m.run.trials[3].ID; got != 14 {
		t.Errorf("sorted by cost, trial %d last, want 14 (unmeasured)", got)
	}

	runs := src.count("runs")
	h.keys("esc")
	if h.m.screen != browseListScreen {
		t.Fatal("esc in the trials pane did not go back to the list")
	}
	if src.count("runs") != runs+1 {
		t.Error("going back did not read the run list again")
	}
	h.want("runs (4)")
}

// TestBrowseGenerationRun: a generation run's header and trials show TTFT and TPOT p99,
// tokens/s and $/M tokens; capacity is left out below about 120 columns.
func TestBrowseGenerationRun(t *testing.T) {
	h := newBrowseHarness(t, newBrowseFake(), 0, 100, 30)
	h.keys("j", "j", "enter")
	h.want("run 3 · chat", "status cut_short", "best: $0.4823 per M tokens · 720 tokens/s · TTFT p99 380ms · TPOT p99 44ms · int8 continuous",
		"TTFT p99", "TPOT p99", "tokens/s", "$/M tokens", "int8 continuous seqs≤16 tokens≤2048")
	h.keys("j")
	h.want("probes of trial 32", "300ms", "40ms")
	h.send(tea.WindowSizeMsg{Width: 160, Height: 40})
	h.want("capacity req/s", "int8 continuous seqs≤16 tokens≤2048 standard×8", "p99.9")
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	browseFits(t, h.view(), 80, 24)
	h.want("TTFT p99", "$/M tokens", "0.4823")
	h.wantNot("capacity req/s")
}

// TestBrowseCompare: c with fewer than two runs marked gives a hint; with two it shows
// what report compare writes for them; esc goes back to the list with the marks kept.
func TestBrowseCompare(t *testing.T) {
	src := newBrowseFake()
	h := newBrowseHarness(t, src, 0, 100, 30)
	h.keys("c")
	h.want("mark two or more runs with space to compare them (0 marked)")
	h.keys("space", "c")
	h.want("1 marked for compare", "mark two or more runs with space to compare them (1 marked)")
	if h.m.screen != browseListScreen {
		t.Fatal("compare opened with one run marked")
	}
	if got := h.cursorLine(); !strings.HasPrefix(got, ">* 1 ") {
		t.Errorf("the marked run shows %q, want *", got)
	}
	h.keys("j", "space", "j", "space", "space", "c")
	if h.m.screen != browseCompareScreen {
		t.Fatalf("c with runs 1 and 2 marked did not compare:\n%s", h.view())
	}
	r1, _ := src.Load(1)
	r2, _ := src.Load(2)
	var want strings.Builder
	if err := reports.WriteCompare(&want, []reports.CompareColumn{reports.NewCompareColumn(r1), reports.NewCompareColumn(r2)}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.m.compare.lines, "\n") + "\n"; got != want.String() {
		t.Fatalf("compare text:\n%s\nwant report compare's:\n%s", got, want.String())
	}
	h.want("compare runs 1, 2")
	for _, l := range strings.Split(strings.TrimRight(want.String(), "\n"), "\n") {
		h.want(strings.TrimRight(l, " "))
	}
	h.keys("esc")
	if h.m.screen != browseListScreen || len(h.m.list.marked) != 2 {
		t.Fatalf("esc: screen %d, %d marked", h.m.screen, len(h.m.list.marked))
	}
}

// TestBrowseCompareScrolls: compare text wider than the screen is cut to the width and
// scrolls sideways with ←/→/h/l, never past either end, with the row names kept in view.
func TestBrowseCompareScrolls(t *testing.T) {
	h := newBrowseHarness(t, newBrowseFake(), 0, 80, 24)
	h.keys("space", "j", "space", "j", "space", "j", "space", "c")
	wide := h.m.compare.wide
	if wide <= 80 {
		t.Fatalf("compare of 4 runs is %d cells wide; the test needs more than 80", wide)
	}
	// runs returns the run ids in view on the line of row "run".
	runs := func() string {
		for _, l := range strings.Split(h.view(), "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == "run" {
				return strings.Join(f[1:], " ")
			}
		}
		t.Fatalf("no row of run ids:\n%s", h.view())
		return ""
	}
	most := wide - 80
	h.want(fmt.Sprintf("scrolled 0 of %d columns", most), "output tokens/s")
	if got := runs(); got != "1 2" {
		t.Errorf("runs %q in view, want 1 2", got)
	}
	browseFits(t, h.view(), 80, 24)
	h.keys("right", "l")
	h.want(fmt.Sprintf("scrolled 16 of %d columns", most), "req/s per core")
	if got := runs(); !strings.HasPrefix(got, "2 ") {
		t.Errorf("scrolled by 16, runs %q in view, want 2 first", got)
	}
	browseFits(t, h.view(), 80, 24)
	for range wide {
		h.keys("l")
	}
	h.want(fmt.Sprintf("scrolled %d of %d columns", most, most), "$ per M tokens")
	if got := runs(); !strings.HasSuffix(got, "4") {
		t.Errorf("scrolled to the end, runs %q in view, want 4 last", got)
	}
	browseFits(t, h.view(), 80, 24)
	h.keys("h", "left")
	h.want(fmt.Sprintf("scrolled %d of %d columns", most-16, most))
	for range wide {
		h.keys("left")
	}
	h.want(fmt.Sprintf("scrolled 0 of %d columns", most))
}

// TestBrowseWatch: opened on a running run, the browser shows its trial in progress with
// the probes so far and reads both again at each tick; once the run has ended the header
// says so and the reads stop.
func TestBrowseWatch(t *testing.T) {
	src := newBrowseFake()
	h := newBrowseHarness(t, src, 4, 100, 30)
	h.want("run 4 · classify", "running since 2025-03-01 12:00:00 · refreshing every",
		"probes so far of trial 42, in progress (int8 batch≤8 delay 2ms standard×8) · 1")
	if got := h.cursorLine(); !strings.Contains(got, "int8 batch≤8") || !strings.Contains(got, "running") {
		t.Fatalf("cursor on %q, want the trial in progress", got)
	}
	if len(h.ticks) != 1 || src.count("load 4") != 1 || src.count("probes 42") != 1 {
		t.Fatalf("after opening: %d ticks, %d reads of the run, %d of its probes; want 1 each",
			len(h.ticks), src.count("load 4"), src.count("probes 42"))
	}

	h.tick()
	h.want("probes so far of trial 42, in progress (int8 batch≤8 delay 2ms standard×8) · 2", "598.8")
	if len(h.ticks) != 1 || src.count("load 4") != 2 || src.count("probes 42") != 2 {
		t.Fatalf("after a tick: %d ticks, %d reads of the run, %d of its probes; want 1, 2, 2",
			len(h.ticks), src.count("load 4"), src.count("probes 42"))
	}
	last := h.ticks[0]

	h.tick()
	h.want("ended 2025-03-01 12:05:00 (started 2025-03-01 12:00:00) · status done",
		"probes of trial 42 (int8 batch≤8 delay 2ms standard×8) · 3", "1190", "best: $0.1168 per M req · 1190 req/s · p99 45ms · int8 batch≤8 delay 2ms standard×8")
	h.wantNot("refreshing", "in progress")
	if len(h.ticks) != 0 || src.count("load 4") != 3 || src.count("probes 42") != 3 {
		t.Fatalf("once ended: %d ticks, %d reads of the run, %d of its probes; want 0, 3, 3",
			len(h.ticks), src.count("load 4"), src.count("probes 42"))
	}
	h.send(last)
	h.send(browseTickMsg{seq: h.m.tickSeq})
	if src.count("load 4") != 3 {
		t.Errorf("%d reads of the run after it ended, want 3", src.count("load 4"))
	}
}

// TestBrowseWatchStopsWhenLeft: esc from a watched run stops its refresh; reopening it from
// the list refreshes it again.
func TestBrowseWatchStopsWhenLeft(t *testing.T) {
	src := newBrowseFake()
	src.runningReads = 10
	h := newBrowseHarness(t, src, 4, 100, 30)
	h.keys("esc")
	if h.m.screen != browseListScreen {
		t.Fatal("esc did not go back to the list")
	}
	h.tick()
	if n := src.count("load 4"); n != 1 {
		t.Fatalf("%d reads of run 4 after leaving it, want 1", n)
	}
	h.keys("j", "j", "j", "enter")
	if len(h.ticks) != 1 || src.count("load 4") != 2 {
		t.Fatalf("reopened: %d ticks, %d reads", len(h.ticks), src.count("load 4"))
	}
	h.tick()
	if n := src.count("load 4"); n != 3 {
		t.Fatalf("%d reads of run 4 after a tick, want 3", n)
	}
}

// TestBrowseSourceErrors: a source that fails shows the error in the status line and
// leaves the browser usable.
func TestBrowseSourceErrors(t *testing.T) {
	boom := errors.New("database is locked")
	tests := []struct {
		name  string
		set   func(f *browseFake)
		keys  []string
		want  []string
		watch int64
	}{
		{"run list", func(f *browseFake) { f.errRuns = boom }, nil,
			[]string{"error: database is locked", "runs (0)", "no runs in this database"}, 0},
		{"run", func(f *browseFake) { f.errLoad = boom }, []string{"enter"},
			[]string{"error: database is locked", "could not read run 1; esc goes back"}, 0},
		{"watched run", func(f *browseFake) { f.errLoad = boom }, nil,
			[]string{"error: database is locked", "could not read run 3"}, 3},
		{"probes", func(f *browseFake) { f.errProbes = boom }, []string{"enter"},
			[]string{"error: database is locked", "run 1 · classify", "could not read the probes"}, 0},
		{"compare", func(f *browseFake) { f.errLoad = boom }, []string{"space", "j", "space", "c"},
			[]string{"error: compare: database is locked", "runs (4)"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newBrowseFake()
			tt.set(src)
			h := newBrowseHarness(t, src, tt.watch, 100, 30)
			h.keys(tt.keys...)
			h.want(tt.want...)
			browseFits(t, h.view(), 100, 30)
			h.keys("s")
			h.wantNot("database is locked")
		})
	}
}

// TestBrowseWatchReadError: a failed read of a watched run shows the error and the
// refresh goes on.
func TestBrowseWatchReadError(t *testing.T) {
	src := newBrowseFake()
	src.runningReads = 10
	h := newBrowseHarness(t, src, 4, 100, 30)
	src.mu.Lock()
	src.errLoad = errors.New("database is locked")
	src.mu.Unlock()
	h.tick()
	h.want("error: database is locked", "running since")
	if len(h.ticks) != 1 {
		t.Fatalf("%d ticks after a failed read, want 1", len(h.ticks))
	}
	src.mu.Lock()
	src.errLoad = nil
	src.mu.Unlock()
	h.tick()
	h.want("probes so far of trial 42, in progress (int8 batch≤8 delay 2ms standard×8) · 3")
}

// TestBrowseResize: at 80×24 every screen fits, lines at most 80 cells and at most 24
// lines; with many probes the cursor stays visible; below 80×24 the browser says the
// terminal is too small and shows the help line.
func TestBrowseResize(t *testing.T) {
	src := newBrowseFake()
	for i := range 30 {
		src.probes[12] = append(src.probes[12], browseProbe(12, i+1, float64(10*(i+1)), float64(10*(i+1)), time.Millisecond, "pass"))
	}
	screens := []struct {
		name string
		keys []string
		want []string
	}{
		{"list", nil, []string{"runs (4)", "AMD EPYC"}},
		{"run", []string{"enter", "j", "tab"}, []string{"probes of trial 12", "achieved req/s"}},
		{"generation run", []string{"j", "j", "enter", "j", "tab"}, []string{"probes of trial 32", "TTFT p99"}},
		{"compare", []string{"space", "j", "space", "j", "space", "c"}, []string{"compare runs 1, 2, 3", "req/s per core"}},
	}
	for _, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			h := newBrowseHarness(t, src, 0, 120, 40)
			h.keys(s.keys...)
			for _, size := range [][2]int{{80, 24}, {100, 30}, {200, 60}, {80, 24}} {
				h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				h.want(s.want...)
				browseFits(t, h.view(), size[0], size[1])
				if n := len(strings.Split(h.view(), "\n")); n != size[1] {
					t.Errorf("%d lines at %dx%d, want the help line on the last", n, size[0], size[1])
				}
			}
			for _, size := range [][2]int{{60, 20}, {79, 24}, {80, 23}} {
				h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				h.want("terminal too small (need 80×24)", "q quit")
				browseFits(t, h.view(), size[0], size[1])
			}
		})
	}

	t.Run("scrolling probes", func(t *testing.T) {
		h := newBrowseHarness(t, src, 0, 80, 24)
		h.keys("enter", "j", "tab")
		for i := range 30 {
			h.want(fmt.Sprintf("> %3d", i+1))
			browseFits(t, h.view(), 80, 24)
			h.keys("j")
		}
		h.want(">  30")
		for range 30 {
			h.keys("k")
		}
		h.want(">   1")
	})
}

// TestBrowseQuit: q and ctrl+c quit at once on every screen.
func TestBrowseQuit(t *testing.T) {
	for _, keys := range [][]string{{"q"}, {"ctrl+c"}, {"enter", "q"}, {"enter", "tab", "q"}, {"space", "j", "space", "c", "q"}} {
		h := newBrowseHarness(t, newBrowseFake(), 0, 100, 30)
		h.keys(keys...)
		if !h.quit {
			t.Errorf("%q did not quit", keys)
		}
	}
}

// TestBrowseStoreSource: the browser reads a real store through StoreSource.
func TestBrowseStoreSource(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, err := st.UpsertHost(store.Host{Fingerprint: "h1", CPUModel: "Test CPU", Cores: 8})
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.CreateRun(store.Run{HostID: host, Workload: "classify", SLOs: "p99<=50ms", Strategy: "grid"})
	if err != nil {
		t.Fatal(err)
	}
	trial, err := st.AddTrial(store.Trial{RunID: id, ConfigKey: "a", Config: browseClassify("int8", 8, 2*time.Millisecond, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddProbe(store.Probe{TrialID: trial, Seq: 1, RateRPS: 250, AchievedRPS: 248.5, P99: 12 * time.Millisecond,
		Valid: true, Verdict: "pass"}); err != nil {
		t.Fatal(err)
	}
	h := newBrowseHarness(t, StoreSource{Store: st}, 0, 100, 30)
	h.want("runs (1)", "Test CPU", "running")
	h.keys("enter")
	h.want("run 1 · classify", "host Test CPU · 8 cores", "int8 batch≤8 delay 2ms standard×4",
		"probes so far of trial 1, in progress", "248.5", "12ms")
	if len(h.ticks) != 1 {
		t.Errorf("%d ticks for a running run, want 1", len(h.ticks))
	}
}

// TestRunBrowse: RunBrowse returns when the user quits, and when its context is done.
func TestRunBrowse(t *testing.T) {
	t.Run("q", func(t *testing.T) {
		var out bytes.Buffer
		err := RunBrowse(context.Background(), Options{NoColor: true, Input: strings.NewReader("q"), Output: &out}, newBrowseFake(), 0)
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("context", func(t *testing.T) {
		keys, typist := io.Pipe()
		defer typist.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := RunBrowse(ctx, Options{NoColor: true, Input: keys, Output: io.Discard}, newBrowseFake(), 4)
		if err != nil {
			t.Fatal(err)
		}
	})
}

// browseNamedTB is a test under another name: golden names its file after it.
type browseNamedTB struct {
	testing.TB
	name string
}

func (b browseNamedTB) Name() string { return b.name }

// browseGolden compares view with testdata/name.golden; go test -update rewrites it.
func browseGolden(t *testing.T, name, view string) {
	t.Helper()
	golden.RequireEqual(browseNamedTB{TB: t, name: name}, []byte(view))
}

// browseProgram starts the browser in a 100×30 terminal without colour and waits for the
// run list.
func browseProgram(t *testing.T) *teatest.TestModel {
	t.Helper()
	tm := teatest.NewTestModel(t, NewBrowse(Options{NoColor: true}, newBrowseFake(), 0), teatest.WithInitialTermSize(100, 30))
	browseWaitFor(t, tm, "AMD EPYC 7763")
	return tm
}

// browseWaitFor waits until the program has drawn s.
func browseWaitFor(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// browseFinalView quits the program and returns its last view.
func browseFinalView(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	tm.Send(browseKeyMsg("q"))
	return tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).View()
}

// TestBrowseGoldenList: the run list.
func TestBrowseGoldenList(t *testing.T) {
	tm := browseProgram(t)
	browseGolden(t, "browse_list", browseFinalView(t, tm))
}

// TestBrowseGoldenRun: a run's detail with the best trial selected and its probes open.
func TestBrowseGoldenRun(t *testing.T) {
	tm := browseProgram(t)
	tm.Send(browseKeyMsg("enter"))
	browseWaitFor(t, tm, "int8 batch≤32")
	tm.Type("jj")
	browseWaitFor(t, tm, "late sends")
	tm.Send(browseKeyMsg("tab"))
	tm.Type("j")
	browseGolden(t, "browse_run", browseFinalView(t, tm))
}

// TestBrowseGoldenCompare: runs 1 and 2 side by side.
func TestBrowseGoldenCompare(t *testing.T) {
	tm := browseProgram(t)
	tm.Type(" j c")
	browseWaitFor(t, tm, "req/s per core")
	browseGolden(t, "browse_compare", browseFinalView(t, tm))
}
