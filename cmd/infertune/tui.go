package main

import (
	"errors"
	"fmt"

	"github.com/infertune/infertune/cmd/infertune/tui"
	"github.com/infertune/infertune/reports/store"
	"github.com/spf13/cobra"
)

// tuiConfig is the tui section of the configuration.
type tuiConfig struct {
	// Watch opens the run with this ID and follows it while it runs (0: the run list).
	Watch int64 `mapstructure:"watch"`
}

func newTUICommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Browse the runs in the database in a terminal UI; --watch a run in progress",
		Long: `tui opens the runs of the database (--db) in a terminal UI: the run list, a run's trials
and the probes of each trial with their latency percentiles, and runs side by side (mark
them with space, compare with c). --watch ID opens one run and follows it while another
process (infertune tune) measures it. To watch a search you start, use tune --tui.

Keys: arrows or j/k move, enter opens, esc goes back, tab switches pane, s sorts,
space marks, c compares, q quits. It needs a terminal; NO_COLOR or --no-color turn
colour off.`,
		Example: `  infertune tui
  infertune tui --db other.db
  infertune tui --watch 12`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lc, err := loadConfig(gs, cmd, map[string]string{"tui.watch": "watch"}, nil)
			if err != nil {
				return err
			}
			if lc.TUI.Watch < 0 {
				return badInputf("--watch %d: accepted: a run ID from infertune report list", lc.TUI.Watch)
			}
			if err := needTerminal(gs, "infertune tui", "use infertune report list|show|compare in pipes and CI"); err != nil {
				return err
			}
			st, err := openStore(gs, lc)
			if err != nil {
				return err
			}
			defer st.Close()
			if id := lc.TUI.Watch; id > 0 {
				if _, err := st.Run(id); errors.Is(err, store.ErrNotFound) {
					return badInputf("--watch %d: no such run in %s; accepted: an ID from infertune report list", id, lc.DB)
				} else if err != nil {
					return withCode(exitInternal, err)
				}
			}
			if err := tui.RunBrowse(cmd.Context(), tuiOptions(gs, lc), tui.StoreSource{Store: st}, lc.TUI.Watch); err != nil {
				return withCode(exitInternal, fmt.Errorf("terminal UI: %w", err))
			}
			return nil
		}),
	}
	cmd.Flags().Int64("watch", 0, "open run `ID` and follow it while it runs")
	return cmd
}

// needTerminal refuses what (a flag or command) unless stdin and stdout are a terminal;
// instead says what to do without one.
func needTerminal(gs *globalState, what, instead string) error {
	if gs.stdinTTY && gs.stdoutTTY {
		return nil
	}
	return badInputf("%s: needs a terminal on stdin and stdout; %s", what, instead)
}

// tuiOptions sets the terminal UI on the process's streams, without colour under
// --no-color or NO_COLOR (https://no-color.org: any value but empty).
func tuiOptions(gs *globalState, lc *loadedConfig) tui.Options {
	noColor := lc.NoColor
	if v, ok := gs.lookupEnv("NO_COLOR"); ok && v != "" {
		noColor = true
	}
	return tui.Options{NoColor: noColor, Input: gs.stdin, Output: gs.stdout, AltScreen: true,
		Width: gs.tuiSize[0], Height: gs.tuiSize[1]}
}
