package tui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/infertune/infertune/loadgen"
	"github.com/infertune/infertune/reports"
	"github.com/infertune/infertune/tuner"
)

// NewLive returns the live view's model; cancel stops the search (called at most once).
func NewLive(opts Options, cancel func()) tea.Model {
	if cancel == nil {
		cancel = func() {}
	}
	return liveModel{styles: NewStyles(opts.NoColor), keys: DefaultKeys(), cancel: cancel, now: time.Now}
}

// liveClockEvery is how often RunLive refreshes the header's clock between events.
const liveClockEvery = time.Second

// RunLive runs the live view on the terminal until the user quits. It feeds the program
// from events with Feed (reading events until the channel is closed, even after the
// program has ended, so the publisher never blocks), quits the program when ctx is done,
// and returns when both the program and the feed are over. cancel is called when the
// user confirms stopping the search, and when the program fails (a search nobody can see
// or stop should not run on); it is called at most once.
func RunLive(ctx context.Context, opts Options, events <-chan tuner.Event, cancel func()) error {
	stop := sync.OnceFunc(func() {
		if cancel != nil {
			cancel()
		}
	})
	p := tea.NewProgram(NewLive(opts, stop), opts.programOptions()...)
	ended := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { Feed(events, p.Send) })
	wg.Go(func() {
		opts.sendSize(p)
		tick := time.NewTicker(liveClockEvery)
		defer tick.Stop()
		for {
			select {
			case <-ended:
				return
			case <-ctx.Done():
				p.Quit()
				return
			case <-tick.C:
				p.Send(liveTickMsg{})
			}
		}
	})
	_, err := p.Run()
	close(ended)
	if err != nil {
		stop()
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("live view: %w", err)
	}
	return nil
}

// liveTickMsg refreshes the clock in the header.
type liveTickMsg struct{}

// liveState is where the live view stands: following a search, asking whether to stop
// it, or showing a search that is over.
type liveState int

const (
	liveRunning liveState = iota
	liveAsking
	liveOver
)

// livePane is one of the lower panes: the finished trials, the chart, the log.
type livePane int

const (
	liveTrialsPane livePane = iota
	liveChartPane
	liveLogPane
	livePaneCount
)

func (p livePane) String() string {
	return [...]string{"trials", "chart", "log"}[p]
}

// liveModel is the live view: the run header and the trial in progress on top, then the
// panes (trials table, chart, log) in one of three layouts, and the help line.
type liveModel struct {
	styles Styles
	keys   Keys
	cancel func()
	now    func() time.Time

	state         liveState
	stopped       bool // the user confirmed stopping the search
	width, height int
	pane          livePane // the pane shown (tabs) or focused (stacked, side by side)

	run      *tuner.RunStarted
	started  time.Time // when the run started, by now
	clock    time.Time // now, as of the latest message
	finished time.Time // when the run was done or ended (zero while it runs)
	result   *tuner.Result
	gen      bool // a generation space
	best     *tuner.Trial
	baseline *tuner.Trial

	trial  liveTrial
	trials liveTable
	log    liveLog
}

// liveTrial is the trial in progress (or the last one, once done).
type liveTrial struct {
	started      bool
	index, total int
	config       tuner.Config
	predicted    float64
	probes       int              // probes done
	live         *tuner.ProbeLive // the probe in progress, nil before its first snapshot
	last         *tuner.ProbeDone // the last probe done, shown until the next snapshot
	done         *tuner.Trial
}

func (m liveModel) Init() tea.Cmd { return nil }

func (m liveModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case liveTickMsg:
		m.clock = m.now()
	case EventsMsg:
		m.clock = m.now()
		for _, e := range msg.Events {
			m.apply(e)
		}
	case RunEndedMsg:
		m.clock = m.now()
		if m.state != liveOver {
			m.state = liveOver
			if m.finished.IsZero() {
				m.finished = m.clock
			}
			if m.result == nil {
				m.log.add("the search ended without a result")
			}
		}
	case tea.KeyMsg:
		if cmd := m.key(msg); cmd != nil {
			return m, cmd
		}
	}
	m.trials.scroll(m.layout().tableRows(), m.gen)
	m.log.clamp(m.layout().logH)
	return m, nil
}

// key handles a key and returns tea.Quit when it quits.
func (m *liveModel) key(msg tea.KeyMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		if m.state != liveOver {
			m.stop()
		}
		return tea.Quit
	}
	if m.state == liveAsking {
		switch {
		case key.Matches(msg, m.keys.Yes):
			m.stop()
			return tea.Quit
		case key.Matches(msg, m.keys.No):
			m.state = liveRunning
		}
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		if m.state == liveOver {
			return tea.Quit
		}
		m.state = liveAsking
	case key.Matches(msg, m.keys.Tab):
		m.pane = (m.pane + 1) % livePaneCount
	case key.Matches(msg, m.keys.Sort):
		m.trials.cycleSort()
	case key.Matches(msg, m.keys.Up), key.Matches(msg, m.keys.Down):
		step := 1
		if key.Matches(msg, m.keys.Up) {
			step = -1
		}
		if m.pane == liveLogPane {
			m.log.back -= step
		} else {
			m.trials.move(step, m.gen)
		}
	}
	return nil
}

// stop cancels the search, once, and drops the question.
func (m *liveModel) stop() {
	if m.state == liveAsking {
		m.state = liveRunning
	}
	if !m.stopped {
		m.stopped = true
		m.cancel()
	}
}

// apply takes in one event of the search.
func (m *liveModel) apply(e tuner.Event) {
	switch e := e.(type) {
	case tuner.RunStarted:
		m.run, m.started = &e, m.clock
		budget := "no budget"
		if e.Budget > 0 {
			budget = "budget " + e.Budget.String()
		}
		m.log.add(fmt.Sprintf("run started: %s, %s, %d configs, %s search, %s", e.Workload,
			liveSLOs(e.Terms), e.Configs, e.Strategy, budget))
	case tuner.TrialStarted:
		m.trial = liveTrial{started: true, index: e.Index, total: e.Total, config: e.Config, predicted: e.Predicted}
		m.gen = m.gen || e.Config.Generation()
		m.log.add(fmt.Sprintf("trial %d/%d: %s%s", e.Index, e.Total, e.Config, livePredicted(e.Predicted)))
	case tuner.ProbeLive:
		m.trial.live, m.trial.last = &e, nil
	case tuner.ProbeDone:
		m.trial.probes++
		m.trial.live, m.trial.last = nil, &e
		m.log.add("  " + liveProbeOutcome(e.Probe, m.latencyTerms()))
	case tuner.TrialDone:
		t := e.Trial
		m.gen = m.gen || t.Config.Generation()
		if m.trial.started && m.trial.config == t.Config {
			m.trial.done = &t // a config pruned before any trial started is not this one
		}
		if t.Baseline {
			m.baseline = &t
		}
		m.trials.add(t, m.gen)
		m.log.add("  " + liveTrialOutcome(t, m.gen))
	case tuner.BestChanged:
		t := e.Trial
		m.best = &t
		m.trials.best = t.Config.Key()
		m.log.add(fmt.Sprintf("best: %s, %s", t.Config, liveCost(t, m.gen)))
	case tuner.RunDone:
		r := e.Result
		m.result, m.finished = &r, m.clock
		m.best, m.baseline = r.Best, r.Baseline
		m.trials.best = "" // the table marks the result's best, or none
		if r.Best != nil {
			m.trials.best = r.Best.Config.Key()
		}
		m.log.add(liveRunOutcome(r, m.gen))
	}
}

// latencyTerms returns the run's latency terms, which the probes check.
func (m liveModel) latencyTerms() []tuner.Term {
	if m.run == nil {
		return nil
	}
	var out []tuner.Term
	for _, t := range m.run.Terms {
		if liveLatency(t.Metric) {
			out = append(out, t)
		}
	}
	return out
}

// chartTerm returns the term whose bound the chart draws: the first on whole-request
// latency, or for generation also on the time to first token.
func (m liveModel) chartTerm() (tuner.Term, bool) {
	if m.run != nil {
		for _, t := range m.run.Terms {
			if t.Metric == tuner.MetricLatency || (m.gen && t.Metric == tuner.MetricTTFT) {
				return t, true
			}
		}
	}
	return tuner.Term{}, false
}

// The view.

// liveMode is how the panes share the space below the trial in progress.
type liveMode int

const (
	liveTabs    liveMode = iota // one pane at a time, tab cycles
	liveStacked                 // the three panes one above the other
	liveSide                    // trials over log on the left, chart on the right
)

// Sizes at which the layout changes.
const (
	liveStackedHeight = 30  // lines for the panes to stack
	liveSideWidth     = 150 // columns for the chart to go beside the trials
)

// liveLayout is the size of each pane's content (its title line excluded).
type liveLayout struct {
	mode           liveMode
	panes          int // lines for the panes, titles included
	tableW, tableH int
	chartW, chartH int
	logW, logH     int
	leftW          int // liveSide: the left column
}

// tableRows returns how many trials the table shows.
func (l liveLayout) tableRows() int { return max(l.tableH-1, 1) }

// blockHeight is the height of the trial in progress: a title, the probe, its terms.
func (m liveModel) blockHeight() int { return 2 + max(len(m.latencyTerms()), 1) }

// layout shares the lines under the trial in progress between the panes: side by side
// from liveSideWidth columns, else stacked from liveStackedHeight lines, else one at a time.
func (m liveModel) layout() liveLayout {
	w, h := m.width, m.height
	panes := h - 3 - 1 - m.blockHeight() - 1 // header, rule, trial in progress, help
	if m.state == liveAsking {
		panes--
	}
	panes = max(panes, 2)
	l := liveLayout{panes: panes}
	switch {
	case w >= liveSideWidth:
		l.mode = liveSide
		l.leftW = w * 11 / 20
		logLines := max(panes/3, 2)
		l.tableW, l.tableH = l.leftW, panes-logLines-1
		l.logW, l.logH = l.leftW, logLines-1
		l.chartW, l.chartH = w-l.leftW-1, panes-1
	case panes >= liveStackedHeight:
		l.mode = liveStacked
		chartLines, logLines := panes*3/10, panes/4
		l.tableW, l.tableH = w, panes-chartLines-logLines-1
		l.chartW, l.chartH = w, chartLines-1
		l.logW, l.logH = w, logLines-1
	default:
		l.mode = liveTabs
		l.tableW, l.tableH = w, panes-1
		l.chartW, l.chartH = w, panes-1
		l.logW, l.logH = w, panes-1
	}
	return l
}

func (m liveModel) View() string {
	if m.width == 0 || m.height == 0 {
		return "starting…"
	}
	help := []key.Binding{m.keys.Up, m.keys.Down, m.keys.Tab, m.keys.Sort, m.keys.Quit}
	if m.state == liveAsking {
		help = []key.Binding{m.keys.Yes, m.keys.No}
	}
	helpLine := HelpLine(m.styles, m.width, help...)
	question := m.styles.Title.Render(Cut("stop the search? (y/n)", m.width))
	if m.width < MinWidth || m.height < MinHeight {
		lines := []string{Cut(fmt.Sprintf("terminal too small (need %d×%d)", MinWidth, MinHeight), m.width)}
		if m.state == liveAsking {
			lines = append(lines, question)
		} else {
			helpLine = HelpLine(m.styles, m.width, m.keys.Quit)
		}
		lines = append(lines, helpLine)
		return strings.Join(lines[max(len(lines)-m.height, 0):], "\n")
	}
	lay := m.layout()
	lines := m.headerView()
	lines = append(lines, m.styles.Dim.Render(strings.Repeat("─", m.width)))
	lines = append(lines, m.trialView()...)
	lines = append(lines, m.panesView(lay)...)
	if m.state == liveAsking {
		lines = append(lines, question)
	}
	lines = append(lines, helpLine)
	// Plain lines end at their last character (styled ones keep their padding inside the
	// style, where it shows).
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// headerView returns the header: the run, where it stands, and the best config so far.
func (m liveModel) headerView() []string {
	w := m.width
	if m.run == nil {
		return []string{m.styles.Title.Render(Cut("infertune · waiting for the search to start", w)), "", ""}
	}
	r := m.run
	end := m.finished
	if end.IsZero() {
		end = m.clock
	}
	used := max(end.Sub(m.started), 0).Round(time.Second)
	budget := fmt.Sprintf("%v, no budget", used)
	if r.Budget > 0 {
		budget = fmt.Sprintf("budget %v of %v used", used, r.Budget)
	}
	run := fmt.Sprintf("infertune · %s · %s · %d configs · %s search", r.Workload, liveSLOs(r.Terms), r.Configs, r.Strategy)
	status := fmt.Sprintf("%s · %s · %d of %d configs done", m.status(), budget, len(m.trials.rows), r.Configs)
	return []string{m.styles.Title.Render(Cut(run, w)), Cut(status, w), m.bestLine()}
}

// status says where the run stands.
func (m liveModel) status() string {
	switch {
	case m.stopped:
		return "stopped"
	case m.result != nil && m.result.CutShort:
		return "cut short"
	case m.result != nil:
		return "done"
	case m.state == liveOver:
		return "stopped"
	}
	return "running"
}

// bestLine returns the best config so far and its saving against the baseline.
func (m liveModel) bestLine() string {
	w := m.width
	if m.best == nil {
		s := "best: none yet"
		if m.result != nil {
			s = "best: no config meets the SLOs"
			if c := m.result.Closest; c != nil {
				s += fmt.Sprintf("; closest %s (missed by %.0f%%)", c.Config, 100*c.Miss)
			}
		}
		return m.styles.Dim.Render(Cut(s, w))
	}
	b := *m.best
	s := "best: " + liveCost(b, m.gen)
	switch base := m.baseline; {
	case b.Baseline:
		s += ", the baseline itself"
	case base == nil:
		s += ", baseline not measured yet"
	case !base.Meets:
		s += ", the baseline misses the SLOs"
	default:
		saving := tuner.Result{Best: &b, Baseline: base}.Saving()
		s += fmt.Sprintf(", %.1f%% cheaper than the baseline", 100*saving)
	}
	s += fmt.Sprintf(" · %s · %s · %s", b.Config, liveCapacity(b), liveLatencies(b, m.gen))
	return m.styles.Pass.Render(Cut(s, w))
}

// trialView returns the block of the trial in progress: a title line, the probe line, and
// a line per latency term.
func (m liveModel) trialView() []string {
	w, n := m.width, m.blockHeight()
	lines := make([]string, 0, n)
	add := func(st lipgloss.Style, s string) { lines = append(lines, st.Render(Cut(s, w))) }
	terms := m.latencyTerms()
	tr := m.trial
	switch {
	case m.result != nil:
		r := m.result
		measured, pruned := 0, 0
		for _, t := range r.Trials {
			if t.Pruned {
				pruned++
			} else {
				measured++
			}
		}
		add(m.styles.Title, fmt.Sprintf("search %s: %d trials (%d measured, %d pruned), %v under load",
			m.status(), len(r.Trials), measured, pruned, r.ProbeTime.Round(time.Second)))
		switch {
		case r.CutShort:
			add(m.styles.Dim, "  the budget ended the search: the best so far stands")
		case m.state != liveOver:
			add(m.styles.Dim, "  closing…")
		}
	case !tr.started:
		add(m.styles.Dim, "no trial yet")
	default:
		head := fmt.Sprintf("trial %d/%d · %s%s", tr.index, tr.total, tr.config, livePredicted(tr.predicted))
		if tr.done != nil {
			head += " · " + liveTrialOutcome(*tr.done, m.gen)
		}
		add(m.styles.Title, head)
		lines = append(lines, m.probeView(terms)...)
	}
	for len(lines) < n {
		lines = append(lines, "")
	}
	return lines[:n]
}

// probeView returns the probe line and the term lines of the trial in progress.
func (m liveModel) probeView(terms []tuner.Term) []string {
	w, tr := m.width, m.trial
	nameW := 0
	for _, t := range terms {
		nameW = max(nameW, len(t.Name()))
	}
	termLine := func(t tuner.Term, value time.Duration, v tuner.Verdict, decided bool, detail string) string {
		val := "-"
		if value > 0 {
			val = reports.Duration(value)
		}
		s := fmt.Sprintf("  %-*s %7s / %-6s", nameW, t.Name(), val, reports.Duration(t.Bound))
		if !decided {
			return Cut(s, w)
		}
		s += "  " + liveMark(v) + " " + detail
		st := m.styles.Dim
		switch v {
		case tuner.Pass:
			st = m.styles.Pass
		case tuner.Fail:
			st = m.styles.Fail
		}
		return st.Render(Cut(s, w))
	}
	var lines []string
	switch {
	case tr.live != nil:
		l := tr.live
		probe := fmt.Sprintf("  probe %d · %.4g req/s offered, %.4g achieved · %s / %s · %d sent, %d failed",
			tr.probes+1, l.Rate, l.Achieved(), reports.Duration(l.Elapsed), reports.Duration(l.Window), l.Sent, l.Failed)
		if l.Late > 0 {
			probe += fmt.Sprintf(", %d late", l.Late)
		}
		lines = append(lines, Cut(probe, w))
		for _, tl := range l.Terms {
			detail := tl.Verdict.String()
			if tl.Verdict == tuner.Inconclusive && tl.Need > 0 {
				detail = fmt.Sprintf("%d samples to go", tl.Need)
			}
			detail += fmt.Sprintf(" · p50 %s · %d samples, %d over", reports.Duration(tl.P50), tl.Samples, tl.Over)
			lines = append(lines, termLine(tl.Term, tl.Value, tl.Verdict, true, detail))
		}
	case tr.last != nil:
		p := tr.last.Probe
		lines = append(lines, Cut("  "+liveProbeOutcome(p, terms), w))
		for i, t := range terms {
			if i >= len(p.Terms) || p.Result == nil {
				lines = append(lines, termLine(t, 0, 0, false, ""))
				continue
			}
			n := p.Result.OK + p.Result.Failed()
			lines = append(lines, termLine(t, liveTermValue(t, p.Result), p.Terms[i], true,
				fmt.Sprintf("%s · %d samples", p.Terms[i], n)))
		}
	case tr.done != nil:
		lines = append(lines, "")
	default:
		lines = append(lines, Cut("  starting", w))
		for _, t := range terms {
			lines = append(lines, termLine(t, 0, 0, false, ""))
		}
	}
	return lines
}

// panesView returns the lower panes, exactly lay.panes lines.
func (m liveModel) panesView(lay liveLayout) []string {
	var lines []string
	switch lay.mode {
	case liveTabs:
		lines = append(lines, m.tabBar(m.width))
		switch m.pane {
		case liveTrialsPane:
			lines = append(lines, m.trials.view(m.styles, m.gen, lay.tableW, lay.tableH)...)
		case liveChartPane:
			lines = append(lines, m.chartView(lay.chartW, lay.chartH)...)
		case liveLogPane:
			lines = append(lines, m.log.view(m.styles, lay.logW, lay.logH)...)
		}
	case liveStacked:
		lines = append(lines, m.paneTitle(liveTrialsPane, m.width))
		lines = append(lines, m.trials.view(m.styles, m.gen, lay.tableW, lay.tableH)...)
		lines = append(lines, m.paneTitle(liveChartPane, m.width))
		lines = append(lines, m.chartView(lay.chartW, lay.chartH)...)
		lines = append(lines, m.paneTitle(liveLogPane, m.width))
		lines = append(lines, m.log.view(m.styles, lay.logW, lay.logH)...)
	case liveSide:
		left := []string{m.paneTitle(liveTrialsPane, lay.leftW)}
		left = append(left, m.trials.view(m.styles, m.gen, lay.tableW, lay.tableH)...)
		left = append(left, m.paneTitle(liveLogPane, lay.leftW))
		left = append(left, m.log.view(m.styles, lay.logW, lay.logH)...)
		right := []string{m.paneTitle(liveChartPane, lay.chartW)}
		right = append(right, m.chartView(lay.chartW, lay.chartH)...)
		sep := m.styles.Dim.Render("│")
		for i := range lay.panes {
			l, r := "", ""
			if i < len(left) {
				l = left[i]
			}
			if i < len(right) {
				r = right[i]
			}
			lines = append(lines, liveFit(l, lay.leftW)+sep+r)
		}
	}
	for len(lines) < lay.panes {
		lines = append(lines, "")
	}
	return lines[:lay.panes]
}

// liveFit pads a rendered line to width cells (it is already at most width).
func liveFit(s string, width int) string {
	if n := width - lipgloss.Width(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// tabBar names the panes, the shown one in brackets, and what the shown one holds.
func (m liveModel) tabBar(width int) string {
	var tabs []string
	for p := range livePaneCount {
		if p == m.pane {
			tabs = append(tabs, "["+p.String()+"]")
		} else {
			tabs = append(tabs, " "+p.String()+" ")
		}
	}
	left := strings.Join(tabs, " ")
	right := m.paneInfo(m.pane)
	gap := width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 2 {
		return m.styles.Title.Render(Cut(left+"  "+right, width))
	}
	return m.styles.Title.Render(left + strings.Repeat(" ", gap) + right)
}

// paneTitle is a pane's title in the stacked and side-by-side layouts, marked when focused.
func (m liveModel) paneTitle(p livePane, width int) string {
	mark := "  "
	st := m.styles.Dim
	if p == m.pane {
		mark, st = "▸ ", m.styles.Title
	}
	return st.Render(Cut(mark+p.String()+" · "+m.paneInfo(p), width))
}

// paneInfo says what a pane holds: the trials' sort, the chart's axes, the log's length.
func (m liveModel) paneInfo(p livePane) string {
	switch p {
	case liveTrialsPane:
		s := liveSorts[m.trials.sort]
		return fmt.Sprintf("sort %s %s · %d finished", s.title(m.gen), s.arrow(), len(m.trials.rows))
	case liveChartPane:
		s := liveCostUnit(m.gen) + " vs " + m.chartAxis() + " · ◆ Pareto frontier"
		if t, ok := m.chartTerm(); ok {
			s += " · │ " + t.String()
		}
		return s
	}
	return fmt.Sprintf("%d events", len(m.log.lines))
}

// chartAxis names the chart's x axis.
func (m liveModel) chartAxis() string {
	if t, ok := m.chartTerm(); ok && t.Metric == tuner.MetricTTFT {
		return "ttft p99"
	}
	return "p99"
}

// chartView plots the measured trials.
func (m liveModel) chartView(width, height int) []string {
	t, _ := m.chartTerm()
	var points []chartPoint
	for _, r := range m.trials.rows {
		if !liveMeasured(r.trial) {
			continue
		}
		x := r.trial.P99
		if t.Metric == tuner.MetricTTFT {
			x = r.trial.TTFTP99
		}
		points = append(points, chartPoint{X: x, Y: liveCostValue(r.trial, m.gen)})
	}
	return chartPlot(points, t.Bound, width, height)
}

// The trials table.

// liveRow is one finished trial, n in the order they finished.
type liveRow struct {
	n     int
	trial tuner.Trial
}

// liveTable is the table of finished trials: sorted by one of liveSorts, with a cursor on
// one trial (sel, by n) and the rows from offset shown.
type liveTable struct {
	rows   []liveRow
	best   string // the best config's key
	sort   int
	sel    int
	offset int
}

// liveSort is a way to order the table, by one column in its natural direction.
type liveSort struct {
	column int // index into the columns
	desc   bool
}

// liveSorts are the orders s cycles through: finishing order, cheapest first, highest
// capacity first, lowest p99 first, by config, by verdict, by status.
var liveSorts = []liveSort{{column: 0}, {column: 4}, {column: 2, desc: true}, {column: 3}, {column: 1}, {column: 5}, {column: 6}}

func (s liveSort) title(gen bool) string { return liveColumns(gen)[s.column].title }

func (s liveSort) arrow() string {
	if s.desc {
		return "↓"
	}
	return "↑"
}

// liveColumn is a column of the table: width 0 takes what the others leave.
type liveColumn struct {
	title string
	width int
	right bool
}

func liveColumns(gen bool) []liveColumn {
	p99, cost := "p99", "$/M req"
	if gen {
		p99, cost = "ttft p99", "$/M tok"
	}
	return []liveColumn{
		{title: "#", width: 3, right: true},
		{title: "config"},
		{title: "req/s", width: 8, right: true},
		{title: p99, width: 9, right: true},
		{title: cost, width: 9, right: true},
		{title: "verdict", width: 7},
		{title: "status", width: 8},
	}
}

// cells returns the row's cells, in column order.
func (r liveRow) cells(gen bool, best bool) []string {
	t := r.trial
	config := t.Config.String()
	if t.Baseline {
		config += " (baseline)"
	}
	capacity, p99, cost := "-", "-", "-"
	if liveMeasured(t) {
		capacity = fmt.Sprintf("%.4g", t.Capacity)
		if t.Partial {
			capacity = "≥" + capacity
		}
		p99 = reports.Duration(liveP99(t, gen))
		cost = fmt.Sprintf("%.4g", liveCostValue(t, gen))
	}
	verdict := "misses"
	switch {
	case best:
		verdict = "best"
	case t.Meets:
		verdict = "meets"
	}
	return []string{fmt.Sprint(r.n), config, capacity, p99, cost, verdict, liveStatus(t)}
}

// add appends a finished trial. The first is selected; a cursor on the last row in
// finishing order follows the new one.
func (t *liveTable) add(tr tuner.Trial, gen bool) {
	rows := t.sorted(gen)
	follow := t.sort == 0 && len(rows) > 0 && rows[len(rows)-1].n == t.sel
	t.rows = append(t.rows, liveRow{n: len(t.rows) + 1, trial: tr})
	switch {
	case t.sel == 0:
		t.sel = t.sorted(gen)[0].n
	case follow:
		t.sel = len(t.rows)
	}
}

// cycleSort moves to the next order; the cursor stays on its trial.
func (t *liveTable) cycleSort() { t.sort = (t.sort + 1) % len(liveSorts) }

// move moves the cursor step rows.
func (t *liveTable) move(step int, gen bool) {
	rows := t.sorted(gen)
	if len(rows) == 0 {
		return
	}
	at := min(max(t.cursor(rows)+step, 0), len(rows)-1)
	t.sel = rows[at].n
}

// cursor returns the position of the selected trial in rows (0 when none is).
func (t liveTable) cursor(rows []liveRow) int {
	return max(slices.IndexFunc(rows, func(r liveRow) bool { return r.n == t.sel }), 0)
}

// scroll keeps the cursor within the visible rows.
func (t *liveTable) scroll(visible int, gen bool) {
	rows := t.sorted(gen)
	at := t.cursor(rows)
	t.offset = min(t.offset, at)
	if at >= t.offset+visible {
		t.offset = at - visible + 1
	}
	t.offset = max(min(t.offset, len(rows)-visible), 0)
}

// sorted returns the rows in the table's order: rows without the sorted value (pruned,
// or no rate passed) after the others, and ties in finishing order.
func (t liveTable) sorted(gen bool) []liveRow {
	rows := slices.Clone(t.rows)
	s := liveSorts[t.sort]
	slices.SortStableFunc(rows, func(a, b liveRow) int {
		c := 0
		switch s.column {
		case 1:
			c = strings.Compare(a.trial.Config.String(), b.trial.Config.String())
		case 2, 3, 4:
			ma, mb := liveMeasured(a.trial), liveMeasured(b.trial)
			if ma != mb {
				if ma {
					return -1
				}
				return 1
			}
			if ma {
				switch s.column {
				case 2:
					c = cmp.Compare(a.trial.Capacity, b.trial.Capacity)
				case 3:
					c = cmp.Compare(liveP99(a.trial, gen), liveP99(b.trial, gen))
				case 4:
					c = cmp.Compare(liveCostValue(a.trial, gen), liveCostValue(b.trial, gen))
				}
			}
		case 5:
			c = cmp.Compare(t.verdictRank(a.trial), t.verdictRank(b.trial))
		case 6:
			c = cmp.Compare(liveStatusRank(a.trial), liveStatusRank(b.trial))
		}
		if s.desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.n, b.n))
	})
	return rows
}

// verdictRank orders verdicts: best, meets, misses.
func (t liveTable) verdictRank(tr tuner.Trial) int {
	switch {
	case tr.Meets && tr.Config.Key() == t.best:
		return 0
	case tr.Meets:
		return 1
	}
	return 2
}

// view returns the table's header and rows, exactly height lines of at most width cells.
func (t liveTable) view(st Styles, gen bool, width, height int) []string {
	if height <= 0 {
		return nil
	}
	cols := liveColumns(gen)
	fixed := 2 // the cursor mark
	for _, c := range cols {
		fixed += c.width + 1
	}
	configW := max(width-fixed, 6)
	sortBy := liveSorts[t.sort]
	line := func(cells []string, sorted bool) string {
		var b strings.Builder
		for i, c := range cols {
			w := c.width
			if w == 0 {
				w = configW
			}
			cell := cells[i]
			if sorted && i == sortBy.column {
				cell += sortBy.arrow()
			}
			if i > 0 {
				b.WriteString(" ")
			}
			if c.right {
				cell = Cut(cell, w)
				b.WriteString(strings.Repeat(" ", max(w-lipgloss.Width(cell), 0)) + cell)
			} else {
				b.WriteString(Pad(cell, w))
			}
		}
		return b.String()
	}
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	lines := []string{st.Header.Render(Cut("  "+line(titles, true), width))}
	rows := t.sorted(gen)
	if len(rows) == 0 {
		lines = append(lines, st.Dim.Render(Cut("  no finished trials yet", width)))
	}
	at := t.cursor(rows)
	for i := t.offset; i < len(rows) && len(lines) < height; i++ {
		r := rows[i]
		best := r.trial.Meets && r.trial.Config.Key() == t.best
		s := Pad("  "+line(r.cells(gen, best), false), width)
		switch {
		case i == at:
			lines = append(lines, st.Selected.Render("›"+s[len(" "):]))
		case best:
			lines = append(lines, st.Pass.Render(s))
		case r.trial.Pruned || !r.trial.Meets:
			lines = append(lines, st.Dim.Render(s))
		default:
			lines = append(lines, s)
		}
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return lines[:height]
}

// The log.

// liveLogMax is how many lines the log keeps.
const liveLogMax = 200

// liveLog is the event log, newest last; back is how many lines it is scrolled back from
// the newest.
type liveLog struct {
	lines []string
	back  int
}

func (l *liveLog) add(s string) {
	if len(l.lines) == liveLogMax {
		l.lines = slices.Delete(l.lines, 0, 1)
	}
	if l.back > 0 {
		l.back++ // stay on the lines shown, also when the oldest line was dropped
	}
	l.lines = append(l.lines, s)
}

// clamp keeps the scroll within the lines.
func (l *liveLog) clamp(height int) {
	l.back = min(max(l.back, 0), max(len(l.lines)-height, 0))
}

// view returns the lines shown, exactly height lines of at most width cells.
func (l liveLog) view(st Styles, width, height int) []string {
	if height <= 0 {
		return nil
	}
	end := len(l.lines) - l.back
	start := max(end-height, 0)
	lines := make([]string, 0, height)
	for _, s := range l.lines[start:end] {
		lines = append(lines, Cut(s, width))
	}
	if len(l.lines) == 0 {
		lines = append(lines, st.Dim.Render(Cut("no events yet", width)))
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return lines
}

// Text of trials, probes and runs, shared by the panes and the log.

func liveLatency(m tuner.Metric) bool {
	return m == tuner.MetricLatency || m == tuner.MetricTTFT || m == tuner.MetricTPOT
}

func liveSLOs(terms []tuner.Term) string {
	s := make([]string, len(terms))
	for i, t := range terms {
		s[i] = t.String()
	}
	return strings.Join(s, ",")
}

func livePredicted(rps float64) string {
	if rps <= 0 {
		return ""
	}
	return fmt.Sprintf(" · predicted %.4g req/s", rps)
}

// liveMeasured reports whether some rate passed the trial's probes, which gives it a
// capacity, a latency and a cost.
func liveMeasured(t tuner.Trial) bool { return t.Capacity > 0 && !t.Pruned }

// liveCostValue is the trial's cost per million requests, or for generation per million
// output tokens.
func liveCostValue(t tuner.Trial, gen bool) float64 {
	if gen {
		return t.Cost.PerMillionTokens(t.TokensPerRequest)
	}
	return t.Cost.PerMillion
}

func liveCostUnit(gen bool) string {
	if gen {
		return "$/M tokens"
	}
	return "$/M req"
}

func liveCost(t tuner.Trial, gen bool) string {
	return fmt.Sprintf("$%.4g%s", liveCostValue(t, gen), strings.TrimPrefix(liveCostUnit(gen), "$"))
}

// liveP99 is the latency the table shows: p99, or for generation the time to first token's.
func liveP99(t tuner.Trial, gen bool) time.Duration {
	if gen {
		return t.TTFTP99
	}
	return t.P99
}

func liveCapacity(t tuner.Trial) string {
	s := fmt.Sprintf("%.4g req/s", t.Capacity)
	if t.Partial {
		s = "≥" + s
	}
	return s
}

func liveLatencies(t tuner.Trial, gen bool) string {
	if gen {
		return fmt.Sprintf("ttft p99 %s · tpot p99 %s · %.4g tokens/s", reports.Duration(t.TTFTP99),
			reports.Duration(t.TPOTP99), t.TokensPerSec)
	}
	return "p99 " + reports.Duration(t.P99)
}

func liveStatus(t tuner.Trial) string {
	switch {
	case t.Pruned:
		return "pruned"
	case t.Resumed:
		return "resumed"
	case t.Partial:
		return "partial"
	}
	return "measured"
}

func liveStatusRank(t tuner.Trial) int {
	return slices.Index([]string{"measured", "partial", "resumed", "pruned"}, liveStatus(t))
}

// liveTrialOutcome sums up a finished trial: meets with its capacity and cost, or why not.
func liveTrialOutcome(t tuner.Trial, gen bool) string {
	var s string
	switch {
	case t.Pruned:
		s = "pruned: " + t.Reason
	case t.Meets:
		s = fmt.Sprintf("meets: %s, %s, %s", liveCapacity(t), strings.ReplaceAll(liveLatencies(t, gen), " · ", ", "), liveCost(t, gen))
	default:
		s = "misses: " + t.Reason
	}
	if t.Resumed {
		s += " (resumed)"
	}
	return s
}

// liveProbeOutcome sums up a finished probe: its rate and verdict, the rate achieved and
// the latencies, or why it failed.
func liveProbeOutcome(p tuner.ProbeOutcome, terms []tuner.Term) string {
	s := fmt.Sprintf("probe %.4g req/s: %s", p.Rate, p.Verdict)
	if r := p.Result; r != nil {
		s += fmt.Sprintf(" · %.4g req/s achieved", r.AchievedRPS)
		for _, t := range terms {
			s += fmt.Sprintf(" · %s %s", t.Name(), reports.Duration(liveTermValue(t, r)))
		}
	}
	if p.Reason != "" {
		s += " · " + p.Reason
	}
	return s
}

// liveRunOutcome sums up a finished search.
func liveRunOutcome(r tuner.Result, gen bool) string {
	s := fmt.Sprintf("search done: %d trials", len(r.Trials))
	if r.CutShort {
		s = fmt.Sprintf("search cut short by the budget: %d trials", len(r.Trials))
	}
	if r.Best != nil {
		return s + fmt.Sprintf(", best %s, %s", r.Best.Config, liveCost(*r.Best, gen))
	}
	return s + ", no config meets the SLOs"
}

// liveTermValue is a latency term's percentile in a probe's result: the summaries hold
// p50, p90, p95, p99 and p99.9 of request latency, time to first token and time per token.
func liveTermValue(t tuner.Term, r *loadgen.Result) time.Duration {
	s := r.Latency
	switch t.Metric {
	case tuner.MetricTTFT:
		s = r.TTFT
	case tuner.MetricTPOT:
		s = r.TPOT
	}
	switch t.Percentile {
	case 50:
		return s.P50
	case 90:
		return s.P90
	case 95:
		return s.P95
	case 99.9:
		return s.P999
	}
	return s.P99
}

// liveMark is a verdict's mark.
func liveMark(v tuner.Verdict) string {
	switch v {
	case tuner.Pass:
		return "✓"
	case tuner.Fail:
		return "✗"
	}
	return "…"
}
