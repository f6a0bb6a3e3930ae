package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/infertune/infertune/reports"
)

// browseColumn is one column of a browser table.
type browseColumn struct {
	head string
	// right aligns the column right (numbers).
	right bool
	// flex lets the column shrink when the table is wider than the screen.
	flex bool
	// drop orders the columns left out when the table is wider than the screen: the
	// highest first; columns with 0 stay.
	drop int
}

// The widths a flexible column shrinks to: first to browseFlexFair before any column is
// left out, then down to browseFlexMin.
const (
	browseFlexFair = 24
	browseFlexMin  = 12
)

// browseTable lays out a table in width cells: a header line and one line per row, with
// column widths taken from every row so that they do not change while scrolling. When the
// natural widths do not fit it shrinks the flexible columns to browseFlexFair, leaves out
// droppable columns, shrinks the flexible columns to browseFlexMin, narrows the gaps, and
// at last cuts the lines; flexible columns then take back what room is left.
func browseTable(cols []browseColumn, rows [][]string, width int) (head string, lines []string) {
	natural := make([]int, len(cols))
	for i, c := range cols {
		natural[i] = lipgloss.Width(c.head)
		for _, r := range rows {
			natural[i] = max(natural[i], lipgloss.Width(r[i]))
		}
	}
	widths := slices.Clone(natural)
	keep := make([]bool, len(cols))
	for i := range keep {
		keep[i] = true
	}
	gap := 2
	total := func() int {
		t, n := 0, 0
		for i, w := range widths {
			if keep[i] {
				t += w
				n++
			}
		}
		return t + gap*max(0, n-1)
	}
	shrink := func(least int) {
		for i, c := range cols {
			if over := total() - width; c.flex && over > 0 {
				widths[i] = max(min(widths[i], least), widths[i]-over)
			}
		}
	}
	shrink(browseFlexFair)
	for total() > width {
		drop := -1
		for i, c := range cols {
			if keep[i] && c.drop > 0 && (drop < 0 || c.drop >= cols[drop].drop) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		keep[drop] = false
	}
	shrink(browseFlexMin)
	if total() > width {
		gap = 1
	}
	for i, c := range cols {
		if room := width - total(); c.flex && keep[i] && room > 0 {
			widths[i] = min(natural[i], widths[i]+room)
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		first := true
		for i, c := range cols {
			if !keep[i] {
				continue
			}
			if !first {
				b.WriteString(strings.Repeat(" ", gap))
			}
			first = false
			cell := Cut(cells[i], widths[i])
			pad := strings.Repeat(" ", widths[i]-lipgloss.Width(cell))
			if c.right {
				b.WriteString(pad + cell)
			} else {
				b.WriteString(cell + pad)
			}
		}
		return strings.TrimRight(Cut(b.String(), width), " ")
	}
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.head
	}
	head = line(heads)
	lines = make([]string, len(rows))
	for i, r := range rows {
		lines[i] = line(r)
	}
	return head, lines
}

// browseNum writes a measured number with four significant digits, "-" when unmeasured.
func browseNum(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.4g", v)
}

// browseDur writes a measured duration as the reports do, "-" when unmeasured.
func browseDur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return reports.Duration(d)
}
