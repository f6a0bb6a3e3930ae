package tui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/infertune/infertune/reports"
)

// chartPoint is one measured config on the cost-vs-latency chart: X its latency (the p99 the
// SLO bounds), Y its cost per million requests (per million output tokens for generation).
type chartPoint struct {
	X time.Duration
	Y float64
}

// Cells of the chart.
const (
	chartDot      = '•' // a measured config
	chartFrontier = '◆' // a config on the Pareto frontier
	chartJoin     = '·' // the frontier between two of its configs
	chartBound    = '│' // the SLO bound
)

// chartNoPoints is what an empty chart says.
const chartNoPoints = "no measured configs yet"

// chartPlot draws points as a character-cell scatter plot of exactly height lines of exactly
// width cells: cost up the y axis (from the cheapest config to the dearest, labelled with
// both), latency along the x axis (from 0 to the larger of the slowest config and the bound,
// labelled with both and with the bound), each config as "•", the Pareto frontier (the
// configs no other config matches or beats on both cost and latency) as "◆" joined by "·",
// and the bound, when above 0, as a vertical line of "│" at its x. Where several configs
// fall in one cell, a frontier one is drawn. Too small a size gets a short note instead.
func chartPlot(points []chartPoint, bound time.Duration, width, height int) []string {
	lines := make([]string, max(height, 0))
	blank := func() {
		for i := range lines {
			lines[i] = strings.Repeat(" ", max(width, 0))
		}
	}
	blank()
	if width <= 0 || height <= 0 {
		return lines
	}
	if len(points) == 0 {
		lines[(height-1)/2] = chartCenter(chartNoPoints, width)
		return lines
	}

	// The y labels: the dearest config at the top, the cheapest at the bottom.
	ylo, yhi := points[0].Y, points[0].Y
	xhi := max(bound, 0)
	for _, p := range points {
		ylo, yhi = min(ylo, p.Y), max(yhi, p.Y)
		xhi = max(xhi, p.X)
	}
	if yhi == ylo {
		// One cost: the configs sit in the middle of a range from 0 to twice it.
		ylo, yhi = 0, 2*yhi
		if yhi <= 0 {
			yhi = 1
		}
	}
	xhi = max(xhi, 1)
	top, bottom := chartMoney(yhi), chartMoney(ylo)
	labelW := max(len([]rune(top)), len([]rune(bottom)))
	rows, cols := height-2, width-labelW-1
	if rows < 2 || cols < 8 {
		lines[(height-1)/2] = chartCenter("too small", width)
		return lines
	}

	grid := make([][]rune, rows)
	for r := range grid {
		grid[r] = []rune(strings.Repeat(" ", cols))
	}
	col := func(x time.Duration) int {
		return int(math.Round(float64(x) / float64(xhi) * float64(cols-1)))
	}
	row := func(y float64) int {
		return int(math.Round((yhi - y) / (yhi - ylo) * float64(rows-1)))
	}
	boundCol := -1
	if bound > 0 {
		boundCol = col(bound)
		for r := range grid {
			grid[r][boundCol] = chartBound
		}
	}
	front := chartFrontierOf(points)
	for i, p := range front {
		if i == 0 {
			continue
		}
		q := front[i-1]
		c1, r1, c2, r2 := col(q.X), row(q.Y), col(p.X), row(p.Y)
		for c := c1 + 1; c < c2; c++ {
			r := r1 + int(math.Round(float64((r2-r1)*(c-c1))/float64(c2-c1)))
			if grid[r][c] == ' ' {
				grid[r][c] = chartJoin
			}
		}
	}
	for _, p := range points {
		if r, c := row(p.Y), col(p.X); grid[r][c] != chartFrontier {
			grid[r][c] = chartDot
		}
	}
	for _, p := range front {
		grid[row(p.Y)][col(p.X)] = chartFrontier
	}

	for r := range grid {
		label, axis := "", '│'
		switch r {
		case 0:
			label, axis = top, '┤'
		case rows - 1:
			label, axis = bottom, '┤'
		}
		lines[r] = fmt.Sprintf("%*s%c%s", labelW, label, axis, string(grid[r]))
	}
	axis := []rune(strings.Repeat("─", cols))
	if boundCol >= 0 {
		axis[boundCol] = '┴'
	}
	lines[rows] = strings.Repeat(" ", labelW) + "└" + string(axis)

	// The x labels: 0 at the left, the largest latency at the right, the bound under its
	// line where it fits between them.
	xl := []rune(strings.Repeat(" ", cols))
	put := func(s string, at int) bool {
		r := []rune(s)
		at = min(max(at, 0), cols-len(r))
		if at < 0 {
			return false
		}
		for i := max(at-1, 0); i < min(at+len(r)+1, cols); i++ {
			if xl[i] != ' ' {
				return false
			}
		}
		copy(xl[at:], r)
		return true
	}
	put("0", 0)
	put(reports.Duration(xhi), cols)
	if boundCol >= 0 && boundCol < cols-1 {
		s := reports.Duration(bound)
		put(s, boundCol-len([]rune(s))/2)
	}
	lines[rows+1] = strings.Repeat(" ", labelW+1) + string(xl)
	return lines
}

// chartFrontierOf returns the Pareto frontier of points, by ascending latency: the points
// that no other point matches or beats on both latency and cost while beating on one.
// Points that coincide are kept once.
func chartFrontierOf(points []chartPoint) []chartPoint {
	var front []chartPoint
	for i, p := range points {
		dominated := false
		for j, q := range points {
			if j != i && q.X <= p.X && q.Y <= p.Y && (q.X < p.X || q.Y < p.Y) {
				dominated = true
				break
			}
		}
		if !dominated && !slices.Contains(front, p) {
			front = append(front, p)
		}
	}
	slices.SortFunc(front, func(a, b chartPoint) int {
		return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(b.Y, a.Y))
	})
	return front
}

// chartMoney formats a cost in US dollars with three significant digits, without an
// exponent from 0.0001 up.
func chartMoney(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("$%.0f", v)
	}
	return fmt.Sprintf("$%.3g", v)
}

// chartCenter centres s in width cells.
func chartCenter(s string, width int) string {
	s = Cut(s, width)
	left := (width - len([]rune(s))) / 2
	return Pad(strings.Repeat(" ", max(left, 0))+s, width)
}
