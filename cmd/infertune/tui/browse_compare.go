package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// browseCompare shows marked runs side by side: the text of report compare, scrolled left
// and right when wider than the screen, with the row names kept in view, and up and down
// when taller.
type browseCompare struct {
	ids    []int64
	lines  []string
	wide   int // the widest line, in cells
	names  int // the width of the row names' column, in cells
	loaded bool
	// top is the first line shown, left the number of cells scrolled past the names.
	top, left int
}

// browseScrollStep is how many cells ←/→ scroll the compare text.
const browseScrollStep = 8

// browseSideKeys returns the bindings that scroll the compare text sideways.
func browseSideKeys() (left, right key.Binding) {
	return key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "left")),
		key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "right"))
}

func (c browseCompare) help(k Keys) []key.Binding {
	left, right := browseSideKeys()
	return []key.Binding{k.Up, k.Down, left, right, k.Back, k.Quit}
}

// visible is the number of text lines shown in a body of height lines.
func (c browseCompare) visible(height int) int { return height - 2 }

// clamp keeps the window inside the text for a screen width cells wide.
func (c *browseCompare) clamp(width, visible int) {
	c.top = max(0, min(c.top, len(c.lines)-max(visible, 1)))
	c.left = max(0, min(c.left, c.wide-width))
}

// compareKey handles a key on the compare screen.
func (m browseModel) compareKey(msg tea.KeyMsg) (browseModel, tea.Cmd) {
	c := &m.compare
	left, right := browseSideKeys()
	switch {
	case key.Matches(msg, m.keys.Up):
		c.top--
	case key.Matches(msg, m.keys.Down):
		c.top++
	case key.Matches(msg, left):
		c.left -= browseScrollStep
	case key.Matches(msg, right):
		c.left += browseScrollStep
	case key.Matches(msg, m.keys.Back):
		m.screen = browseListScreen
	}
	return m, nil
}

// compareLoaded shows the compare text read for the runs marked.
func (m browseModel) compareLoaded(msg browseCompareMsg) browseModel {
	if m.screen != browseCompareScreen || !slices.Equal(msg.ids, m.compare.ids) {
		return m
	}
	if msg.err != nil {
		m.fail(msg.err)
		m.screen = browseListScreen
		return m
	}
	c := &m.compare
	c.lines, c.wide, c.loaded = strings.Split(strings.TrimRight(msg.text, "\n"), "\n"), 0, true
	for _, l := range c.lines {
		c.wide = max(c.wide, lipgloss.Width(l))
	}
	c.names = browseNamesWidth(c.lines[0])
	return m
}

// browseNamesWidth returns where the values start on the first line of the compare text
// ("run" and the run ids): the width of its column of row names.
func browseNamesWidth(first string) int {
	name := strings.IndexByte(first, ' ')
	if name < 0 {
		return 0
	}
	return lipgloss.Width(first[:name]) + len(first[name:]) - len(strings.TrimLeft(first[name:], " "))
}

// view draws the compare text in height lines of width cells.
func (c browseCompare) view(st Styles, width, height int) []string {
	ids := make([]string, len(c.ids))
	for i, id := range c.ids {
		ids[i] = strconv.FormatInt(id, 10)
	}
	title := "compare runs " + strings.Join(ids, ", ")
	if !c.loaded {
		return []string{st.Title.Render(Cut(title, width)), st.Dim.Render("reading runs…")}
	}
	if c.wide > width {
		title += fmt.Sprintf(" · scrolled %d of %d columns, ←/→", c.left, c.wide-width)
	}
	out := []string{st.Title.Render(Cut(title, width)), ""}
	names := min(c.names, width/2)
	end := min(len(c.lines), c.top+c.visible(height))
	for _, l := range c.lines[c.top:end] {
		l = ansi.Cut(l, 0, names) + ansi.Cut(l, names+c.left, c.left+width)
		out = append(out, strings.TrimRight(l, " "))
	}
	return out
}
