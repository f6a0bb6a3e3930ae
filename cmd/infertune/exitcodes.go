package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// exitCode is the process exit status. This is the one list of them (DESIGN.md, Command
// line); scripts and CI depend on the numbers, so they never change meaning.
type exitCode int

const (
	// exitOK: the command succeeded, or a config meets every SLO.
	exitOK exitCode = 0
	// exitSLOFailed: no config meets the SLOs.
	exitSLOFailed exitCode = 1
	// exitBadInput: bad flags, arguments, SLOs, profiles, config or files.
	exitBadInput exitCode = 2
	// exitInconclusive: the measurement was inconclusive or invalid.
	exitInconclusive exitCode = 3
	// exitInternal: a bug or an unexpected failure of the machine.
	exitInternal exitCode = 4
	// exitInterrupted: stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
	exitInterrupted exitCode = 130
)

// exitError is an error that carries the exit code it ends the process with.
type exitError struct {
	code exitCode
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode attaches an exit code to err; nil stays nil.
func withCode(code exitCode, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// badInputf returns a bad-input (exit 2) error; the message should name what is wrong, the
// value given and what would be accepted.
func badInputf(format string, args ...any) error {
	return withCode(exitBadInput, fmt.Errorf(format, args...))
}

// codeOf returns the exit code for an error returned by a command action: the code it
// carries, 130 for a cancelled context, else 4 (an error nobody classified is a bug).
func codeOf(err error) exitCode {
	if err == nil {
		return exitOK
	}
	if ee, ok := errors.AsType[*exitError](err); ok {
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	return exitInternal
}

// action wraps a command's RunE so that every error it returns carries an exit code: its
// own, or the one codeOf gives. Errors without a code that reach execute therefore come
// from cobra (an unknown command, bad arguments), which is bad input.
func action(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		if err == nil {
			return nil
		}
		if _, ok := errors.AsType[*exitError](err); ok {
			return err
		}
		return &exitError{code: codeOf(err), err: err}
	}
}
