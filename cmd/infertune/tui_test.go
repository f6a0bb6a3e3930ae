package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infertune/infertune/reports/store"
)

// TestTUINeedsATerminal: without a terminal, tune --tui and tui are refused with exit 2
// and a message saying what to do instead, before any database is touched.
func TestTUINeedsATerminal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	tests := []struct {
		name       string
		args       []string
		stdin, out bool
		want       []string
	}{
		{"tune, a pipe", tuneArgs(db, "--slo", "p99=50ms", "--tui"), false, false, []string{"--tui", "needs a terminal", "drop --tui"}},
		{"tune, stdout piped", tuneArgs(db, "--slo", "p99=50ms", "--tui"), true, false, []string{"--tui", "needs a terminal"}},
		{"tui, a pipe", []string{"tui", "--db", db}, false, false, []string{"infertune tui", "needs a terminal", "report list"}},
		{"tui, negative watch", []string{"tui", "--db", db, "--watch", "-1"}, true, true, []string{"--watch -1", "accepted:"}},
		{"tui, unknown watch", []string{"tui", "--db", db, "--watch", "7"}, true, true, []string{"--watch 7", "no such run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestState(t, tt.args...)
			ts.gs.stdinTTY, ts.gs.stdoutTTY = tt.stdin, tt.out
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, ts.stderr)
			}
			wantContains(t, "stderr", ts.stderr.String(), tt.want...)
		})
	}
}

// TestTuneTUIQuitStopsTheSearch: on a terminal, tune --tui shows the search live; q asks
// once, n keeps it going, and q then y stops it like Ctrl-C: exit 130, the run
// interrupted with its finished trials saved, and --resume finishes it.
func TestTuneTUIQuitStopsTheSearch(t *testing.T) {
	skipUnderRace(t)
	db := filepath.Join(t.TempDir(), "t.db")
	ts := newTestState(t, tuneArgs(db, "--slo", "p90=200ms", "--strategy", "grid", "--tui")...)
	keys, typist := io.Pipe()
	ts.gs.stdin, ts.gs.stdinTTY, ts.gs.stdoutTTY = keys, true, true
	ts.env["NO_COLOR"] = "1"
	ts.gs.tuiSize = [2]int{100, 30}
	go func() {
		defer typist.Close()
		// Wait for the first trial to finish (a stored trial the resume must keep), then
		// ask to quit, decline, and ask again and confirm.
		waitOutput := func(what string) bool {
			for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if strings.Contains(ts.stdout.String(), what) {
					return true
				}
			}
			t.Errorf("the terminal UI never showed %q; it wrote %d bytes, ending:\n%q", what, len(ts.stdout.String()),
				tail(ts.stdout.String(), 2000))
			return false
		}
		if !waitOutput("meets") {
			_, _ = io.WriteString(typist, "\x03") // ctrl+c: stop the search, end the test
			return
		}
		for _, k := range []string{"q", "n", "q", "y"} {
			if _, err := io.WriteString(typist, k); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	if code := ts.run(t); code != int(exitInterrupted) {
		t.Fatalf("exit %d, want 130; stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), "--resume 1")
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.Run(1)
	trials, _ := st.Trials(1)
	st.Close()
	if err != nil || run.Status != store.StatusInterrupted || len(trials) == 0 {
		t.Fatalf("run %+v, %d trials, %v", run, len(trials), err)
	}

	ts = newTestState(t, "tune", "--db", db, "--resume", "1", "--probe-window", "1s", "--probe-warmup", "100ms", "--json", "-")
	if code := ts.run(t); code != 0 {
		t.Fatalf("resume: exit %d; stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), "measured by the interrupted run")
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
