package tui

import (
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// MinWidth and MinHeight are the smallest terminal the screens must stay usable in.
const (
	MinWidth  = 80
	MinHeight = 24
)

// Options configure a program.
type Options struct {
	// NoColor draws without colour or emphasis (--no-color, NO_COLOR).
	NoColor bool
	// Input and Output replace the terminal (tests); nil means stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// AltScreen draws on the terminal's alternate screen, restored on exit.
	AltScreen bool
	// Width and Height give the screen's size when Output is not a terminal that can be
	// asked (tests); 0 means the terminal's own size.
	Width, Height int
}

// programOptions turns o into bubbletea options. Signals are the command's: its context
// ends a program.
func (o Options) programOptions() []tea.ProgramOption {
	opts := []tea.ProgramOption{tea.WithoutSignalHandler()}
	if o.Input != nil {
		opts = append(opts, tea.WithInput(o.Input))
	}
	if o.Output != nil {
		opts = append(opts, tea.WithOutput(o.Output))
	}
	if o.AltScreen {
		opts = append(opts, tea.WithAltScreen())
	}
	return opts
}

// Styles are the text styles of every screen. With NoColor every style renders its text
// unchanged, so golden files and pipes see plain text.
type Styles struct {
	Title    lipgloss.Style // a screen's title line
	Header   lipgloss.Style // table headers
	Selected lipgloss.Style // the row under the cursor
	Marked   lipgloss.Style // rows selected for compare
	Dim      lipgloss.Style // secondary text
	Pass     lipgloss.Style // verdicts that pass, the best config
	Fail     lipgloss.Style // verdicts that fail, errors
	Help     lipgloss.Style // the help line
}

// NewStyles returns the styles, plain when noColor.
func NewStyles(noColor bool) Styles {
	r := lipgloss.NewRenderer(io.Discard)
	if noColor {
		r.SetColorProfile(termenv.Ascii)
		plain := r.NewStyle()
		return Styles{Title: plain, Header: plain, Selected: plain, Marked: plain, Dim: plain, Pass: plain, Fail: plain, Help: plain}
	}
	r.SetColorProfile(termenv.ANSI256)
	return Styles{
		Title:    r.NewStyle().Bold(true),
		Header:   r.NewStyle().Bold(true).Underline(true),
		Selected: r.NewStyle().Reverse(true),
		Marked:   r.NewStyle().Foreground(lipgloss.Color("6")),
		Dim:      r.NewStyle().Foreground(lipgloss.Color("245")),
		Pass:     r.NewStyle().Foreground(lipgloss.Color("2")),
		Fail:     r.NewStyle().Foreground(lipgloss.Color("1")),
		Help:     r.NewStyle().Foreground(lipgloss.Color("245")),
	}
}

// Keys are the bindings every screen shares; each screen's help line lists the ones it uses.
type Keys struct {
	Up, Down, Enter, Back, Tab, Sort, Mark, Compare, Quit, Yes, No key.Binding
}

// DefaultKeys returns the bindings of the help line: arrows/j/k to move, enter to open,
// esc to go back, tab between panes, s to sort, space to mark a run, c to compare the
// marked runs, q to quit, and y/n to answer the quit question.
func DefaultKeys() Keys {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return Keys{
		Up:      b("↑/k", "up", "up", "k"),
		Down:    b("↓/j", "down", "down", "j"),
		Enter:   b("enter", "open", "enter"),
		Back:    b("esc", "back", "esc"),
		Tab:     b("tab", "pane", "tab"),
		Sort:    b("s", "sort", "s"),
		Mark:    b("space", "mark", " "),
		Compare: b("c", "compare", "c"),
		Quit:    b("q", "quit", "q", "ctrl+c"),
		Yes:     b("y", "yes", "y", "Y"),
		No:      b("n", "no", "n", "N", "esc"),
	}
}

// HelpLine renders bindings as "key desc · key desc", cut to width.
func HelpLine(st Styles, width int, bindings ...key.Binding) string {
	parts := make([]string, 0, len(bindings))
	for _, b := range bindings {
		h := b.Help()
		parts = append(parts, h.Key+" "+h.Desc)
	}
	return st.Help.Render(Cut(strings.Join(parts, " · "), width))
}

// Cut shortens s to at most width cells, ending in "…" when cut (escape sequences kept
// whole); width 0 or less leaves s as it is.
func Cut(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// Pad fills s with spaces to width cells (or cuts it).
func Pad(s string, width int) string {
	s = Cut(s, width)
	if w := lipgloss.Width(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// sendSize hands p the size of o, when o sets one.
func (o Options) sendSize(p *tea.Program) {
	if o.Width > 0 && o.Height > 0 {
		p.Send(tea.WindowSizeMsg{Width: o.Width, Height: o.Height})
	}
}
