package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling: a second Ctrl-C ends the
		// process at once instead of waiting for the command to wrap up.
		<-ctx.Done()
		stop()
	}()
	wd, err := os.Getwd()
	if err != nil {
		wd = "."
	}
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	width := 0
	if tty {
		width, _, _ = term.GetSize(int(os.Stderr.Fd()))
	}
	run(&globalState{
		ctx:         ctx,
		args:        os.Args[1:],
		stdin:       os.Stdin,
		stdout:      os.Stdout,
		stderr:      os.Stderr,
		stderrTTY:   tty,
		stderrWidth: width,
		stdinTTY:    term.IsTerminal(int(os.Stdin.Fd())),
		stdoutTTY:   term.IsTerminal(int(os.Stdout.Fd())),
		lookupEnv:   os.LookupEnv,
		workDir:     wd,
		exit: func(code int) {
			stop()
			os.Exit(code)
		},
	})
}
