package tui

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/infertune/infertune/reports/store"
)

// browseList is the run list: every run of the source, sorted by one column, with the runs
// marked for compare.
type browseList struct {
	runs           []store.RunSummary // in the order shown
	loaded         bool
	cursor, offset int
	sortBy         int // index into browseListSorts
	marked         map[int64]bool
}

// browseListSorts are the orders s cycles through, each with ties in id order.
var browseListSorts = []struct {
	name string
	cmp  func(a, b store.RunSummary) int
}{
	{"id", func(a, b store.RunSummary) int { return 0 }},
	{"started", func(a, b store.RunSummary) int { return a.StartedAt.Compare(b.StartedAt) }},
	{"status", func(a, b store.RunSummary) int { return strings.Compare(a.Status, b.Status) }},
	{"workload", func(a, b store.RunSummary) int { return strings.Compare(a.Workload, b.Workload) }},
	{"slos", func(a, b store.RunSummary) int { return strings.Compare(a.SLOs, b.SLOs) }},
	{"best $/M req", func(a, b store.RunSummary) int { return browseCheapest(a.BestCostPerMillion, b.BestCostPerMillion) }},
	{"cpu", func(a, b store.RunSummary) int { return strings.Compare(a.CPUModel, b.CPUModel) }},
}

// browseCheapest orders costs cheapest first, with unmeasured (0) costs last.
func browseCheapest(a, b float64) int {
	switch {
	case a == b:
		return 0
	case a == 0:
		return 1
	case b == 0:
		return -1
	}
	return cmp.Compare(a, b)
}

// set replaces the runs, keeping the cursor on the run it was on.
func (l *browseList) set(runs []store.RunSummary) {
	var at int64
	if l.cursor < len(l.runs) {
		at = l.runs[l.cursor].ID
	}
	l.runs, l.loaded = slices.Clone(runs), true
	l.sort(at)
}

// sort orders the runs by the current column and puts the cursor on run at (or keeps its
// row when that run is gone).
func (l *browseList) sort(at int64) {
	by := browseListSorts[l.sortBy].cmp
	slices.SortStableFunc(l.runs, func(a, b store.RunSummary) int {
		if c := by(a, b); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if i := slices.IndexFunc(l.runs, func(r store.RunSummary) bool { return r.ID == at }); i >= 0 {
		l.cursor = i
	}
	l.cursor = max(0, min(l.cursor, len(l.runs)-1))
}

// markedIDs returns the marked runs in id order.
func (l browseList) markedIDs() []int64 {
	return slices.Sorted(maps.Keys(l.marked))
}

// visible is the number of rows shown in a body of height lines.
func (l browseList) visible(height int) int { return height - 2 }

func (l browseList) help(k Keys) []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Enter, k.Sort, k.Mark, k.Compare, k.Quit}
}

// listKey handles a key on the run list.
func (m browseModel) listKey(msg tea.KeyMsg) (browseModel, tea.Cmd) {
	l := &m.list
	if next, ok := browseMove(m.keys, msg, l.cursor, len(l.runs)); ok {
		l.cursor = next
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.Enter):
		if len(l.runs) == 0 {
			return m, nil
		}
		id := l.runs[l.cursor].ID
		m.screen, m.run = browseRunScreen, newBrowseRun(id)
		return m, browseLoadRun(m.src, id)
	case key.Matches(msg, m.keys.Sort):
		l.sortBy = (l.sortBy + 1) % len(browseListSorts)
		if len(l.runs) > 0 {
			l.sort(l.runs[l.cursor].ID)
		}
	case key.Matches(msg, m.keys.Mark):
		if len(l.runs) == 0 {
			return m, nil
		}
		id := l.runs[l.cursor].ID
		if l.marked[id] {
			delete(l.marked, id)
		} else {
			l.marked[id] = true
		}
	case key.Matches(msg, m.keys.Compare):
		ids := l.markedIDs()
		if len(ids) < 2 {
			m.hint(fmt.Sprintf("mark two or more runs with space to compare them (%d marked)", len(ids)))
			return m, nil
		}
		m.screen, m.compare = browseCompareScreen, browseCompare{ids: ids}
		return m, browseLoadCompare(m.src, ids)
	}
	return m, nil
}

// view draws the run list in height lines of width cells.
func (l browseList) view(st Styles, width, height int) []string {
	title := fmt.Sprintf("runs (%d) · sorted by %s", len(l.runs), browseListSorts[l.sortBy].name)
	if n := len(l.marked); n > 0 {
		title += fmt.Sprintf(" · %d marked for compare", n)
	}
	out := []string{st.Title.Render(Cut(title, width))}
	switch {
	case !l.loaded:
		return append(out, st.Dim.Render("loading runs…"))
	case len(l.runs) == 0:
		return append(out, st.Dim.Render("no runs in this database"))
	}
	cols := []browseColumn{
		{head: "id", right: true},
		{head: "started", drop: 1},
		{head: "status"},
		{head: "workload"},
		{head: "slos", flex: true},
		{head: "strategy", drop: 3},
		{head: "trials", right: true, drop: 2},
		{head: "best $/M req", right: true},
		{head: "cpu", flex: true},
	}
	rows := make([][]string, len(l.runs))
	for i, r := range l.runs {
		rows[i] = []string{strconv.FormatInt(r.ID, 10), r.StartedAt.Local().Format(time.DateTime), r.Status,
			r.Workload, r.SLOs, r.Strategy, strconv.Itoa(r.Trials), browseNum(r.BestCostPerMillion), r.CPUModel}
	}
	head, lines := browseTable(cols, rows, width-2)
	out = append(out, st.Header.Render("  "+head))
	end := min(len(lines), l.offset+l.visible(height))
	for i := l.offset; i < end; i++ {
		cursor, mark := " ", " "
		if i == l.cursor {
			cursor = ">"
		}
		if l.marked[l.runs[i].ID] {
			mark = "*"
		}
		line := cursor + mark + lines[i]
		switch {
		case i == l.cursor:
			line = st.Selected.Render(line)
		case mark == "*":
			line = st.Marked.Render(line)
		}
		out = append(out, line)
	}
	return out
}
