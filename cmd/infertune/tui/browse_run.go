package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/infertune/infertune/reports"
	"github.com/infertune/infertune/reports/store"
)

// browseRun is a run's detail: a header, the trials pane and the probes pane of the
// selected trial. A running run is read again every tick until it ends.
type browseRun struct {
	id     int64
	data   reports.Run
	loaded bool
	// failed reports that the first read of the run failed.
	failed bool
	// trials are the run's trials in the order shown.
	trials         []store.Trial
	sortBy         int // index into browseTrialSorts
	cursor, offset int
	// onProbes reports that keys move in the probes pane.
	onProbes bool
	// probes holds the probes read per trial; stale marks those of trials that were in
	// progress when read, shown until read again.
	probes           map[int64][]store.Probe
	stale            map[int64]bool
	unread           map[int64]bool // trials whose probes could not be read
	pcursor, poffset int
	// follow keeps the cursor on the trial in progress, and the probes pane on its latest
	// probe, until the user moves it.
	follow bool
}

func newBrowseRun(id int64) browseRun {
	return browseRun{id: id, probes: map[int64][]store.Probe{}, stale: map[int64]bool{}, unread: map[int64]bool{}}
}

// browseTrialSorts are the orders s cycles through in the trials pane, each with ties in
// trial order; gen names the column of generation runs.
var browseTrialSorts = []struct {
	name, gen string
	cmp       func(a, b store.Trial, gen bool) int
}{
	{"trial", "trial", func(a, b store.Trial, _ bool) int { return 0 }},
	{"capacity req/s", "tokens/s", func(a, b store.Trial, gen bool) int {
		if gen {
			return cmp.Compare(b.TokensPerSec, a.TokensPerSec)
		}
		return cmp.Compare(b.CapacityRPS, a.CapacityRPS)
	}},
	{"p99", "TTFT p99", func(a, b store.Trial, gen bool) int {
		if gen {
			return browseCheapest(float64(a.TTFTP99), float64(b.TTFTP99))
		}
		return browseCheapest(float64(a.P99), float64(b.P99))
	}},
	{"$/M req", "$/M tokens", func(a, b store.Trial, gen bool) int {
		if gen {
			return browseCheapest(a.CostPerMillionTokens, b.CostPerMillionTokens)
		}
		return browseCheapest(a.CostPerMillion, b.CostPerMillion)
	}},
	{"status", "status", func(a, b store.Trial, _ bool) int { return strings.Compare(a.Status, b.Status) }},
}

// selected returns the trial under the cursor.
func (r browseRun) selected() (store.Trial, bool) {
	if r.cursor < len(r.trials) {
		return r.trials[r.cursor], true
	}
	return store.Trial{}, false
}

// selectedProbes returns the probes read of the selected trial.
func (r browseRun) selectedProbes() []store.Probe {
	if t, ok := r.selected(); ok {
		return r.probes[t.ID]
	}
	return nil
}

// sortTrials orders the trials by the current column and puts the cursor on trial at (or
// keeps its row when that trial is gone).
func (r *browseRun) sortTrials(at int64) {
	gen, by := r.data.Generation(), browseTrialSorts[r.sortBy].cmp
	r.trials = slices.Clone(r.data.Trials)
	slices.SortStableFunc(r.trials, func(a, b store.Trial) int {
		if c := by(a, b, gen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if i := slices.IndexFunc(r.trials, func(t store.Trial) bool { return t.ID == at }); i >= 0 {
		r.cursor = i
	}
	r.cursor = max(0, min(r.cursor, len(r.trials)-1))
}

// panes splits a body of height lines into the header and the heights of the two panes.
func (r browseRun) panes(height int) (header, trials, probes int) {
	header = 4
	probes = (height - header) / 2
	return header, height - header - probes, probes
}

// visible returns the number of trial and probe rows shown in a body of height lines.
func (r browseRun) visible(height int) (trials, probes int) {
	_, t, p := r.panes(height)
	return t - 2, p - 2
}

func (r browseRun) help(k Keys) []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Enter, k.Tab, k.Sort, k.Back, k.Quit}
}

// loadProbes reads the probes of the selected trial unless they are read and current.
func (m browseModel) loadProbes() tea.Cmd {
	t, ok := m.run.selected()
	if !ok {
		return nil
	}
	if _, read := m.run.probes[t.ID]; read && !m.run.stale[t.ID] {
		return nil
	}
	return browseLoadProbes(m.src, m.run.id, t.ID)
}

// runKey handles a key on a run's detail.
func (m browseModel) runKey(msg tea.KeyMsg) (browseModel, tea.Cmd) {
	r := &m.run
	if r.onProbes {
		if next, ok := browseMove(m.keys, msg, r.pcursor, len(r.selectedProbes())); ok {
			r.pcursor, r.follow = next, false
			return m, nil
		}
	} else if next, ok := browseMove(m.keys, msg, r.cursor, len(r.trials)); ok {
		if next != r.cursor {
			r.cursor, r.pcursor, r.poffset = next, 0, 0
		}
		r.follow = false
		return m, m.loadProbes()
	}
	switch {
	case key.Matches(msg, m.keys.Enter):
		if _, ok := r.selected(); ok {
			r.onProbes = true
		}
	case key.Matches(msg, m.keys.Tab):
		if _, ok := r.selected(); ok {
			r.onProbes = !r.onProbes
		}
	case key.Matches(msg, m.keys.Back):
		if r.onProbes {
			r.onProbes = false
			return m, nil
		}
		m.screen = browseListScreen
		m.tickSeq++ // no refresh of a run no longer shown
		return m, browseLoadRuns(m.src)
	case key.Matches(msg, m.keys.Sort):
		r.sortBy = (r.sortBy + 1) % len(browseTrialSorts)
		if t, ok := r.selected(); ok {
			r.sortTrials(t.ID)
		}
	}
	return m, nil
}

// runLoaded shows a run read for the detail; while the run is running it schedules the
// next read.
func (m browseModel) runLoaded(msg browseRunMsg) (browseModel, tea.Cmd) {
	r := &m.run
	if m.screen != browseRunScreen || msg.id != r.id {
		return m, nil // a read for a detail no longer shown
	}
	if msg.err != nil {
		m.fail(msg.err)
		if !r.loaded {
			r.failed = true
			return m, nil
		}
		if r.data.Run.Status == store.StatusRunning {
			return m, m.tick() // try again on the next tick
		}
		return m, nil
	}
	first := !r.loaded
	at, _ := r.selected()
	for _, t := range r.data.Trials {
		if t.EndedAt.IsZero() {
			r.stale[t.ID] = true
		}
	}
	r.data, r.loaded, r.failed = msg.run, true, false
	for _, t := range r.data.Trials {
		if t.EndedAt.IsZero() {
			r.stale[t.ID] = true
		}
	}
	r.sortTrials(at.ID)
	running := r.data.Run.Status == store.StatusRunning
	if first {
		r.follow = running
	}
	if r.follow {
		i := slices.IndexFunc(r.trials, func(t store.Trial) bool { return t.EndedAt.IsZero() })
		if i >= 0 && r.trials[i].ID != at.ID {
			r.cursor, r.pcursor, r.poffset = i, 0, 0
		}
	}
	if !running {
		return m, m.loadProbes()
	}
	return m, tea.Batch(m.loadProbes(), m.tick())
}

// probesLoaded keeps the probes read of a trial of the run shown.
func (m browseModel) probesLoaded(msg browseProbesMsg) browseModel {
	r := &m.run
	if msg.runID != r.id {
		return m
	}
	if msg.err != nil {
		m.fail(msg.err)
		if _, read := r.probes[msg.trialID]; !read {
			r.unread[msg.trialID] = true
		}
		return m
	}
	r.probes[msg.trialID] = msg.probes
	delete(r.stale, msg.trialID)
	delete(r.unread, msg.trialID)
	if t, ok := r.selected(); ok && t.ID == msg.trialID {
		if r.follow {
			r.pcursor = len(msg.probes) - 1
		}
		r.pcursor = max(0, min(r.pcursor, len(msg.probes)-1))
	}
	return m
}

// view draws the detail in height lines of width cells.
func (r browseRun) view(st Styles, every time.Duration, width, height int) []string {
	line := func(style func(...string) string, s string) string { return style(Cut(s, width)) }
	if !r.loaded {
		note := fmt.Sprintf("reading run %d…", r.id)
		if r.failed {
			note = fmt.Sprintf("could not read run %d; esc goes back to the list", r.id)
		}
		return []string{line(st.Title.Render, fmt.Sprintf("run %d", r.id)), line(st.Dim.Render, note)}
	}
	run, host, gen := r.data.Run, r.data.Host, r.data.Generation()
	out := []string{
		line(st.Title.Render, fmt.Sprintf("run %d · %s · SLOs %s · %s search", run.ID, run.Workload, run.SLOs, run.Strategy)),
		line(st.Dim.Render, fmt.Sprintf("host %s · %d cores", host.CPUModel, host.Cores)),
	}
	started := run.StartedAt.Local().Format(time.DateTime)
	switch {
	case run.Status == store.StatusRunning:
		out = append(out, line(st.Pass.Render, fmt.Sprintf("running since %s · refreshing every %v", started, every)))
	case !run.EndedAt.IsZero():
		out = append(out, line(st.Dim.Render, fmt.Sprintf("ended %s (started %s) · status %s",
			run.EndedAt.Local().Format(time.DateTime), started, run.Status)))
	default:
		out = append(out, line(st.Dim.Render, fmt.Sprintf("started %s · status %s", started, run.Status)))
	}
	best := "best: none yet"
	if t := r.data.Best(); t != nil {
		// The figures first: the config, cut on a narrow screen, is in the trials pane too.
		best = fmt.Sprintf("best: $%s per M req · %s req/s · p99 %s · %s", browseNum(t.CostPerMillion),
			browseNum(t.CapacityRPS), browseDur(t.P99), reports.ConfigText(t.Config))
		if gen {
			best = fmt.Sprintf("best: $%s per M tokens · %s tokens/s · TTFT p99 %s · TPOT p99 %s · %s",
				browseNum(t.CostPerMillionTokens), browseNum(t.TokensPerSec), browseDur(t.TTFTP99), browseDur(t.TPOTP99),
				reports.ConfigText(t.Config))
		}
	}
	out = append(out, line(st.Pass.Render, best))

	_, trialsH, probesH := r.panes(height)
	trials := r.trialsPane(st, gen, width, trialsH)
	for len(trials) < trialsH {
		trials = append(trials, "")
	}
	return append(append(out, trials...), r.probesPane(st, gen, width, probesH)...)
}

// browsePaneTitle marks the title of the pane keys move in.
func browsePaneTitle(st Styles, focus bool, title string, width int) string {
	if focus {
		return st.Title.Render(Cut("» "+title, width))
	}
	return st.Dim.Render(Cut("  "+title, width))
}

// trialsPane draws the trials table in height lines.
func (r browseRun) trialsPane(st Styles, gen bool, width, height int) []string {
	sortName := browseTrialSorts[r.sortBy].name
	if gen {
		sortName = browseTrialSorts[r.sortBy].gen
	}
	out := []string{browsePaneTitle(st, !r.onProbes,
		fmt.Sprintf("trials (%d) · sorted by %s · * best", len(r.trials), sortName), width)}
	if len(r.trials) == 0 {
		return append(out, st.Dim.Render("  no trials yet"))
	}
	cols := []browseColumn{{head: "config", flex: true}, {head: "status"}, {head: "capacity req/s", right: true}}
	if gen {
		cols[2].drop = 1
		cols = append(cols, browseColumn{head: "TTFT p99", right: true}, browseColumn{head: "TPOT p99", right: true},
			browseColumn{head: "tokens/s", right: true}, browseColumn{head: "$/M tokens", right: true})
	} else {
		cols = append(cols, browseColumn{head: "p99", right: true}, browseColumn{head: "$/M req", right: true})
	}
	cols = append(cols, browseColumn{head: "verdict"})
	rows := make([][]string, len(r.trials))
	for i, t := range r.trials {
		row := []string{reports.ConfigText(t.Config), t.Status, browseNum(t.CapacityRPS)}
		if gen {
			row = append(row, browseDur(t.TTFTP99), browseDur(t.TPOTP99), browseNum(t.TokensPerSec), browseNum(t.CostPerMillionTokens))
		} else {
			row = append(row, browseDur(t.P99), browseNum(t.CostPerMillion))
		}
		rows[i] = append(row, t.Verdict)
	}
	head, lines := browseTable(cols, rows, width-2)
	out = append(out, st.Header.Render("  "+head))
	end := min(len(lines), r.offset+height-2)
	for i := r.offset; i < end; i++ {
		t := r.trials[i]
		cursor, best := " ", " "
		if i == r.cursor {
			cursor = ">"
		}
		if t.ID == r.data.Run.BestTrialID {
			best = "*"
		}
		line := cursor + best + lines[i]
		switch {
		case i == r.cursor && !r.onProbes:
			line = st.Selected.Render(line)
		case i == r.cursor:
			line = st.Marked.Render(line)
		case best == "*":
			line = st.Pass.Render(line)
		case t.Status == store.StatusFailed || t.Status == store.StatusPruned:
			line = st.Dim.Render(line)
		}
		out = append(out, line)
	}
	return out
}

// probesPane draws the probes of the selected trial in height lines.
func (r browseRun) probesPane(st Styles, gen bool, width, height int) []string {
	t, ok := r.selected()
	if !ok {
		return nil
	}
	probes, read := r.probes[t.ID]
	title := fmt.Sprintf("probes of trial %d (%s)", t.ID, reports.ConfigText(t.Config))
	if t.EndedAt.IsZero() {
		title = fmt.Sprintf("probes so far of trial %d, in progress (%s)", t.ID, reports.ConfigText(t.Config))
	}
	out := []string{browsePaneTitle(st, r.onProbes, fmt.Sprintf("%s · %d", title, len(probes)), width)}
	switch {
	case !read && r.unread[t.ID]:
		return append(out, st.Fail.Render("  could not read the probes"))
	case !read:
		return append(out, st.Dim.Render("  reading probes…"))
	case len(probes) == 0:
		return append(out, st.Dim.Render("  no probes yet"))
	}
	cols := []browseColumn{
		{head: "seq", right: true},
		{head: "rate", right: true},
		{head: "achieved req/s", right: true},
		{head: "p50", right: true},
		{head: "p90", right: true, drop: 1},
		{head: "p99", right: true},
		{head: "p99.9", right: true, drop: 2},
	}
	if gen {
		cols = append(cols, browseColumn{head: "TTFT p99", right: true}, browseColumn{head: "TPOT p99", right: true})
	}
	cols = append(cols, browseColumn{head: "valid"}, browseColumn{head: "verdict", flex: true})
	rows := make([][]string, len(probes))
	for i, p := range probes {
		row := []string{strconv.Itoa(p.Seq), browseNum(p.RateRPS), browseNum(p.AchievedRPS),
			browseDur(p.P50), browseDur(p.P90), browseDur(p.P99), browseDur(p.P999)}
		if gen {
			row = append(row, browseDur(p.TTFTP99), browseDur(p.TPOTP99))
		}
		valid, verdict := "yes", p.Verdict
		if !p.Valid {
			valid = "no"
			if p.InvalidReason != "" {
				verdict += " (" + p.InvalidReason + ")"
			}
		}
		rows[i] = append(row, valid, verdict)
	}
	head, lines := browseTable(cols, rows, width-2)
	out = append(out, st.Header.Render("  "+head))
	end := min(len(lines), r.poffset+height-2)
	for i := r.poffset; i < end; i++ {
		cursor := " "
		if r.onProbes && i == r.pcursor {
			cursor = ">"
		}
		line := cursor + " " + lines[i]
		switch {
		case cursor == ">":
			line = st.Selected.Render(line)
		case probes[i].Verdict == "fail" || !probes[i].Valid:
			line = st.Fail.Render(line)
		}
		out = append(out, line)
	}
	return out
}
