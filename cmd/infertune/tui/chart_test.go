package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
)

const chartMs = time.Millisecond

// chartCells returns the plot's cells (the lines without the y labels and axis) and the
// column where the plot starts in each line.
func chartCells(t *testing.T, lines []string) (grid [][]rune, start int) {
	t.Helper()
	for _, l := range lines {
		if i := strings.IndexAny(l, "┤"); i >= 0 {
			start = len([]rune(l[:i])) + 1
			break
		}
	}
	if start == 0 {
		t.Fatalf("no y axis in\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines[:len(lines)-2] {
		grid = append(grid, []rune(l)[start:])
	}
	return grid, start
}

// chartFind returns the cells holding r, as row and column of the plot.
func chartFind(grid [][]rune, r rune) [][2]int {
	var at [][2]int
	for i, row := range grid {
		for j, c := range row {
			if c == r {
				at = append(at, [2]int{i, j})
			}
		}
	}
	return at
}

// TestChartPlotSize: whatever the points and the size, the plot is exactly height lines
// of exactly width cells.
func TestChartPlotSize(t *testing.T) {
	sets := map[string][]chartPoint{
		"none": nil,
		"one":  {{X: 20 * chartMs, Y: 0.1}},
		"many": {{X: 5 * chartMs, Y: 0.9}, {X: 20 * chartMs, Y: 0.1}, {X: 80 * chartMs, Y: 0.05}, {X: 30 * chartMs, Y: 1e4}},
		"zero": {{X: 0, Y: 0}, {X: 0, Y: 0}},
	}
	names := []string{"none", "one", "many", "zero"}
	for _, name := range names {
		for _, bound := range []time.Duration{0, 50 * chartMs} {
			for _, width := range []int{0, 1, 5, 12, 19, 20, 40, 137} {
				for _, height := range []int{0, 1, 2, 3, 4, 10, 33} {
					lines := chartPlot(sets[name], bound, width, height)
					if len(lines) != height {
						t.Fatalf("%s, %v, %d×%d: %d lines", name, bound, width, height, len(lines))
					}
					for i, l := range lines {
						if w := lipgloss.Width(l); w != width {
							t.Fatalf("%s, %v, %d×%d: line %d is %d cells: %q", name, bound, width, height, i, w, l)
						}
					}
				}
			}
		}
	}
}

// TestChartFrontier: the frontier is the points no other point matches or beats on both
// latency and cost, by ascending latency.
func TestChartFrontier(t *testing.T) {
	p := func(ms int, cost float64) chartPoint { return chartPoint{X: time.Duration(ms) * chartMs, Y: cost} }
	for _, tc := range []struct {
		name   string
		points []chartPoint
		want   []chartPoint
	}{
		{name: "none"},
		{name: "one", points: []chartPoint{p(10, 1)}, want: []chartPoint{p(10, 1)}},
		{name: "faster and cheaper wins", points: []chartPoint{p(10, 2), p(5, 1)}, want: []chartPoint{p(5, 1)}},
		{name: "a trade-off keeps both", points: []chartPoint{p(10, 1), p(5, 2)}, want: []chartPoint{p(5, 2), p(10, 1)}},
		{name: "same latency, dearer loses", points: []chartPoint{p(10, 1), p(10, 2)}, want: []chartPoint{p(10, 1)}},
		{name: "same cost, slower loses", points: []chartPoint{p(20, 1), p(10, 1)}, want: []chartPoint{p(10, 1)}},
		{name: "coinciding points once", points: []chartPoint{p(10, 1), p(10, 1)}, want: []chartPoint{p(10, 1)}},
		{
			name:   "a run",
			points: []chartPoint{p(31, 0.254), p(24, 0.15), p(42, 0.0657), p(45, 0.2), p(12, 0.9), p(40, 0.08)},
			want:   []chartPoint{p(12, 0.9), p(24, 0.15), p(40, 0.08), p(42, 0.0657)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := chartFrontierOf(tc.points); !slices.Equal(got, tc.want) {
				t.Errorf("frontier %v, want %v", got, tc.want)
			}
		})
	}
}

// TestChartPlot places points, the frontier and the bound on the grid.
func TestChartPlot(t *testing.T) {
	p := func(ms int, cost float64) chartPoint { return chartPoint{X: time.Duration(ms) * chartMs, Y: cost} }
	// Each plot is 43 columns (0..42) by 10 rows (0..9), right of labels of labelW cells.
	const height = 12
	for _, tc := range []struct {
		name     string
		labelW   int
		points   []chartPoint
		bound    time.Duration
		dots     [][2]int // "•" cells (row, column of the plot)
		frontier [][2]int // "◆" cells
		boundCol int      // -1: none
		labels   []string // in the lines
	}{
		{
			// The x axis runs from 0 to 100ms, the y axis from $0.1 to $1: the bound at 50ms
			// is in column 21.
			name:     "edges and bound",
			labelW:   4,
			points:   []chartPoint{p(0, 1), p(100, 0.1), p(100, 1)},
			bound:    50 * chartMs,
			dots:     [][2]int{{0, 42}},
			frontier: [][2]int{{0, 0}, {9, 42}},
			boundCol: 21,
			labels:   []string{"$1┤", "$0.1┤", " 0 ", "50ms", "100ms"},
		},
		{
			// The bound beyond every point sets the x axis: its line is in the last column.
			name:     "bound at the right",
			labelW:   4,
			points:   []chartPoint{p(10, 0.5), p(20, 0.2), p(30, 0.3)},
			bound:    40 * chartMs,
			dots:     [][2]int{{6, 32}},
			frontier: [][2]int{{0, 11}, {9, 21}},
			boundCol: 42,
			labels:   []string{"$0.5┤", "$0.2┤", "40ms"},
		},
		{
			// One point sits in the middle of a cost axis from 0 to twice its cost.
			name:     "one point",
			labelW:   2,
			points:   []chartPoint{p(25, 0.5)},
			bound:    50 * chartMs,
			frontier: [][2]int{{5, 21}},
			boundCol: 42,
			labels:   []string{"$1┤", "$0┤", "50ms"},
		},
		{
			name:     "no bound",
			labelW:   4,
			points:   []chartPoint{p(10, 0.5), p(20, 0.2)},
			frontier: [][2]int{{0, 21}, {9, 42}},
			boundCol: -1,
			labels:   []string{"20ms"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := chartPlot(tc.points, tc.bound, tc.labelW+1+43, height)
			text := strings.Join(lines, "\n")
			grid, _ := chartCells(t, lines)
			if len(grid) != height-2 || len(grid[0]) != 43 {
				t.Fatalf("plot of %d×%d cells:\n%s", len(grid[0]), len(grid), text)
			}
			if got := chartFind(grid, chartDot); !slices.Equal(got, tc.dots) {
				t.Errorf("dots at %v, want %v:\n%s", got, tc.dots, text)
			}
			if got := chartFind(grid, chartFrontier); !slices.Equal(got, tc.frontier) {
				t.Errorf("frontier at %v, want %v:\n%s", got, tc.frontier, text)
			}
			// The bound runs down its column, under any point drawn there.
			for r, row := range grid {
				for c, cell := range row {
					onBound := tc.boundCol >= 0 && c == tc.boundCol
					if cell == chartBound && !onBound {
						t.Errorf("bound at row %d, column %d, want column %d:\n%s", r, c, tc.boundCol, text)
					}
					if onBound && cell != chartBound && cell != chartDot && cell != chartFrontier {
						t.Errorf("row %d has %q in the bound's column:\n%s", r, cell, text)
					}
				}
			}
			if tc.boundCol >= 0 {
				if axis := []rune(lines[height-2]); axis[len(axis)-43+tc.boundCol] != '┴' {
					t.Errorf("no ┴ under the bound:\n%s", text)
				}
			}
			for _, l := range tc.labels {
				if !strings.Contains(text, l) {
					t.Errorf("no %q in\n%s", l, text)
				}
			}
			if len(tc.frontier) > 1 && !strings.ContainsRune(text, chartJoin) {
				t.Errorf("the frontier is not joined:\n%s", text)
			}
		})
	}
}

// TestChartPlotSmall: no points and too small a size each get a short note.
func TestChartPlotSmall(t *testing.T) {
	if got := strings.Join(chartPlot(nil, 50*chartMs, 40, 5), "\n"); !strings.Contains(got, chartNoPoints) {
		t.Errorf("no points:\n%s", got)
	}
	one := []chartPoint{{X: 10 * chartMs, Y: 1}}
	for _, size := range [][2]int{{10, 10}, {40, 3}, {8, 2}} {
		got := strings.Join(chartPlot(one, 50*chartMs, size[0], size[1]), "\n")
		if !strings.Contains(got, "too") {
			t.Errorf("%d×%d:\n%s", size[0], size[1], got)
		}
	}
	if got := chartPlot(one, 50*chartMs, 0, 0); len(got) != 0 {
		t.Errorf("0×0: %q", got)
	}
}

// TestChartMoney formats costs short.
func TestChartMoney(t *testing.T) {
	for v, want := range map[float64]string{0: "$0", 0.06568: "$0.0657", 1.5: "$1.5", 254: "$254", 12345.6: "$12346"} {
		if got := chartMoney(v); got != want {
			t.Errorf("chartMoney(%v) = %q, want %q", v, got, want)
		}
	}
}
