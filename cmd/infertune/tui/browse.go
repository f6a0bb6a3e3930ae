package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/infertune/infertune/reports"
	"github.com/infertune/infertune/reports/store"
)

// A Source is what the browser reads; StoreSource adapts a *store.Store. The browser calls
// it from commands, off the program's goroutine, possibly from several at once.
type Source interface {
	Runs() ([]store.RunSummary, error)
	Load(id int64) (reports.Run, error)
	Probes(trialID int64) ([]store.Probe, error)
}

// StoreSource reads a store.
type StoreSource struct{ Store *store.Store }

// Runs lists every run of the store, oldest first.
func (s StoreSource) Runs() ([]store.RunSummary, error) { return s.Store.Runs() }

// Load reads run id with its host and trials.
func (s StoreSource) Load(id int64) (reports.Run, error) { return reports.Load(s.Store, id) }

// Probes reads the probes of a trial in sequence order.
func (s StoreSource) Probes(trialID int64) ([]store.Probe, error) { return s.Store.Probes(trialID) }

// browseRefresh is how often the detail of a running run is read again.
const browseRefresh = time.Second

// NewBrowse returns the browser's model; watch > 0 opens that run's detail and refreshes it
// while it runs.
func NewBrowse(opts Options, src Source, watch int64) tea.Model {
	m := browseModel{
		src:    src,
		styles: NewStyles(opts.NoColor),
		keys:   DefaultKeys(),
		every:  browseRefresh,
		list:   browseList{marked: map[int64]bool{}},
	}
	if watch > 0 {
		m.screen = browseRunScreen
		m.run = newBrowseRun(watch)
	}
	return m
}

// RunBrowse runs the browser on the terminal until the user quits or ctx is done.
func RunBrowse(ctx context.Context, opts Options, src Source, watch int64) error {
	ended := make(chan struct{})
	m := NewBrowse(opts, src, watch).(browseModel)
	m.ended = ended
	p := tea.NewProgram(m, opts.programOptions()...)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		opts.sendSize(p)
		select {
		case <-ctx.Done():
			p.Quit()
		case <-ended:
		}
	}()
	_, err := p.Run()
	close(ended)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("browse runs: %w", err)
	}
	return nil
}

// browseScreen is the screen the browser shows.
type browseScreen int

const (
	browseListScreen browseScreen = iota
	browseRunScreen
	browseCompareScreen
)

// browseModel is the browser: a root model that holds one child model per screen and
// hands keys to the one shown. Store reads run in commands; their results come back as
// messages.
type browseModel struct {
	src    Source
	styles Styles
	keys   Keys
	// every is how often a running run's detail is read again; a wait for the next
	// refresh ends early, with no message, once ended is closed (RunBrowse closes it
	// when the program ends, so no wait outlives it).
	every         time.Duration
	ended         <-chan struct{}
	width, height int
	screen        browseScreen
	// status is the last error or hint; the next key clears it.
	status    string
	statusErr bool
	list      browseList
	run       browseRun
	compare   browseCompare
	// tickSeq numbers the refresh ticks; a tick whose number is not the latest is stale.
	tickSeq int
}

// Messages of the browser's commands.
type (
	browseRunsMsg struct {
		runs []store.RunSummary
		err  error
	}
	browseRunMsg struct {
		id  int64
		run reports.Run
		err error
	}
	browseProbesMsg struct {
		runID, trialID int64
		probes         []store.Probe
		err            error
	}
	browseCompareMsg struct {
		ids  []int64
		text string
		err  error
	}
	browseTickMsg struct{ seq int }
)

func browseLoadRuns(src Source) tea.Cmd {
	return func() tea.Msg {
		runs, err := src.Runs()
		return browseRunsMsg{runs: runs, err: err}
	}
}

func browseLoadRun(src Source, id int64) tea.Cmd {
	return func() tea.Msg {
		r, err := src.Load(id)
		return browseRunMsg{id: id, run: r, err: err}
	}
}

func browseLoadProbes(src Source, runID, trialID int64) tea.Cmd {
	return func() tea.Msg {
		ps, err := src.Probes(trialID)
		return browseProbesMsg{runID: runID, trialID: trialID, probes: ps, err: err}
	}
}

// browseLoadCompare reads the runs ids and writes them side by side as report compare
// does.
func browseLoadCompare(src Source, ids []int64) tea.Cmd {
	return func() tea.Msg {
		cols := make([]reports.CompareColumn, 0, len(ids))
		for _, id := range ids {
			r, err := src.Load(id)
			if err != nil {
				return browseCompareMsg{ids: ids, err: fmt.Errorf("compare: %w", err)}
			}
			cols = append(cols, reports.NewCompareColumn(r))
		}
		var b strings.Builder
		if err := reports.WriteCompare(&b, cols); err != nil {
			return browseCompareMsg{ids: ids, err: fmt.Errorf("compare: %w", err)}
		}
		return browseCompareMsg{ids: ids, text: b.String()}
	}
}

// Init reads the run list and, when watching, the watched run.
func (m browseModel) Init() tea.Cmd {
	if m.screen == browseRunScreen {
		return tea.Batch(browseLoadRuns(m.src), browseLoadRun(m.src, m.run.id))
	}
	return browseLoadRuns(m.src)
}

// Update handles keys, resizes and the results of the commands.
func (m browseModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		if key.Matches(msg, m.keys.Quit) {
			return m, tea.Quit
		}
		m.status, m.statusErr = "", false
		switch m.screen {
		case browseListScreen:
			m, cmd = m.listKey(msg)
		case browseRunScreen:
			m, cmd = m.runKey(msg)
		case browseCompareScreen:
			m, cmd = m.compareKey(msg)
		}
	case browseRunsMsg:
		if msg.err != nil {
			m.fail(msg.err)
			m.list.loaded = true
			break
		}
		m.list.set(msg.runs)
	case browseRunMsg:
		m, cmd = m.runLoaded(msg)
	case browseProbesMsg:
		m = m.probesLoaded(msg)
	case browseCompareMsg:
		m = m.compareLoaded(msg)
	case browseTickMsg:
		if msg.seq == m.tickSeq && m.screen == browseRunScreen && m.run.data.Run.Status == store.StatusRunning {
			m.tickSeq++ // each tick reads once
			cmd = browseLoadRun(m.src, m.run.id)
		}
	}
	m.scroll()
	return m, cmd
}

// fail shows err in the status line.
func (m *browseModel) fail(err error) {
	m.status, m.statusErr = "error: "+err.Error(), true
}

// hint shows a one-line hint in the status line.
func (m *browseModel) hint(s string) {
	m.status, m.statusErr = s, false
}

// tick schedules the next refresh of the run shown, dropping any tick scheduled before.
func (m *browseModel) tick() tea.Cmd {
	m.tickSeq++
	seq, every, ended := m.tickSeq, m.every, m.ended
	return func() tea.Msg {
		t := time.NewTimer(every)
		defer t.Stop()
		select {
		case <-t.C:
			return browseTickMsg{seq: seq}
		case <-ended:
			return nil
		}
	}
}

// bodyHeight is the number of lines above the status and help lines.
func (m browseModel) bodyHeight() int { return m.height - 2 }

// scroll keeps the cursor of every table inside its window.
func (m *browseModel) scroll() {
	m.list.offset = browseScroll(m.list.offset, m.list.cursor, m.list.visible(m.bodyHeight()), len(m.list.runs))
	tv, pv := m.run.visible(m.bodyHeight())
	m.run.offset = browseScroll(m.run.offset, m.run.cursor, tv, len(m.run.trials))
	m.run.poffset = browseScroll(m.run.poffset, m.run.pcursor, pv, len(m.run.selectedProbes()))
	m.compare.clamp(m.width, m.compare.visible(m.bodyHeight()))
}

// browseScroll returns the first of n rows to show in a window of visible rows, moved from
// offset no more than it takes to keep row cursor in the window.
func browseScroll(offset, cursor, visible, n int) int {
	visible = max(visible, 1)
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+visible {
		offset = cursor - visible + 1
	}
	return max(0, min(offset, n-visible))
}

// browseMove moves cursor by one row up or down within n rows; ok reports a move key.
func browseMove(keys Keys, msg tea.KeyMsg, cursor, n int) (next int, ok bool) {
	switch {
	case key.Matches(msg, keys.Up):
		return max(0, cursor-1), true
	case key.Matches(msg, keys.Down):
		return max(0, min(n-1, cursor+1)), true
	}
	return cursor, false
}

// View draws the screen shown in exactly the terminal's height, each line at most its
// width, or a note when the terminal is smaller than MinWidth×MinHeight.
func (m browseModel) View() string {
	if m.width == 0 || m.height == 0 {
		return "loading…"
	}
	var help []key.Binding
	switch m.screen {
	case browseListScreen:
		help = m.list.help(m.keys)
	case browseRunScreen:
		help = m.run.help(m.keys)
	case browseCompareScreen:
		help = m.compare.help(m.keys)
	}
	if m.width < MinWidth || m.height < MinHeight {
		out := append([]string{Cut(fmt.Sprintf("terminal too small (need %d×%d)", MinWidth, MinHeight), m.width)},
			browseHelpLines(m.styles, m.width, help)...)
		return strings.Join(out[:min(len(out), max(m.height, 1))], "\n")
	}
	helpLine := HelpLine(m.styles, m.width, help...)
	var body []string
	switch m.screen {
	case browseListScreen:
		body = m.list.view(m.styles, m.width, m.bodyHeight())
	case browseRunScreen:
		body = m.run.view(m.styles, m.every, m.width, m.bodyHeight())
	case browseCompareScreen:
		body = m.compare.view(m.styles, m.width, m.bodyHeight())
	}
	body = body[:min(len(body), m.bodyHeight())]
	for len(body) < m.bodyHeight() {
		body = append(body, "")
	}
	status := m.styles.Dim.Render(Cut(m.status, m.width))
	if m.statusErr {
		status = m.styles.Fail.Render(Cut(m.status, m.width))
	}
	return strings.Join(append(body, status, helpLine), "\n")
}

// browseHelpLines renders bindings as help lines of at most width cells, as many as it
// takes.
func browseHelpLines(st Styles, width int, bindings []key.Binding) []string {
	var lines []string
	from, cells := 0, 0
	for i, b := range bindings {
		h := b.Help()
		w := lipgloss.Width(h.Key + " " + h.Desc)
		if i > from && cells+3+w > width {
			lines = append(lines, HelpLine(st, width, bindings[from:i]...))
			from, cells = i, 0
		}
		if i > from {
			cells += 3 // " · "
		}
		cells += w
	}
	return append(lines, HelpLine(st, width, bindings[from:]...))
}
