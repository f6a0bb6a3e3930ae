package main

import (
	"context"
	"io"
	"path/filepath"
)

// globalState is everything a command may take from the process: arguments, standard
// streams, environment, working directory, the signal context and the exit function.
// main builds it from the real process; tests build one with buffers, a map for the
// environment and an exit function that records the code, and run the whole CLI in-process.
type globalState struct {
	// ctx is cancelled on SIGINT or SIGTERM.
	ctx context.Context
	// args are the command-line arguments after the program name.
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stderrTTY reports that stderr is a terminal, so progress may redraw one status line
	// instead of printing a line per step.
	stderrTTY bool
	// stderrWidth is the terminal's width in columns when stderrTTY (0: unknown).
	stderrWidth int
	// stdinTTY and stdoutTTY report that stdin and stdout are a terminal, which the
	// terminal UI needs.
	stdinTTY, stdoutTTY bool
	// tuiSize, when set, is the terminal UI's screen size (tests, whose stdout is no
	// terminal to ask).
	tuiSize [2]int
	// lookupEnv reads an environment variable, like os.LookupEnv.
	lookupEnv func(key string) (string, bool)
	// workDir is the directory that relative paths (--config, --json, --db) resolve against.
	workDir string
	// exit ends the process with a code; run calls it exactly once, last.
	exit func(code int)
}

// path resolves p against the working directory.
func (gs *globalState) path(p string) string {
	if p == "" || p == "-" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(gs.workDir, p)
}
