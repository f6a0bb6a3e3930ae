package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// run executes the command line in gs and ends it through gs.exit.
func run(gs *globalState) {
	gs.exit(int(execute(gs, newRootCommand(gs))))
}

// execute runs root with gs's arguments and returns the exit code. It prints errors itself,
// one "infertune: " line per problem, and turns a panic into exit 4 with a one-line message
// instead of a Go stack trace.
func execute(gs *globalState, root *cobra.Command) (code exitCode) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(gs.stderr, "infertune: internal error: %v\n", p)
			fmt.Fprintln(gs.stderr, "infertune: this is a bug; please report it with the command line that caused it")
			code = exitInternal
		}
	}()
	root.SetArgs(gs.args)
	root.SetIn(gs.stdin)
	root.SetOut(gs.stdout)
	root.SetErr(gs.stderr)
	cmd, err := root.ExecuteContextC(gs.ctx)
	if err == nil {
		return exitOK
	}
	if _, ok := errors.AsType[*exitError](err); !ok {
		// Every action's error carries a code (see action), so this one comes from cobra
		// itself: an unknown command or arguments rejected before any action ran.
		err = withCode(exitBadInput, cobraError(cmd, err))
	}
	code = codeOf(err)
	printError(gs.stderr, err)
	if gs.ctx.Err() != nil && code != exitBadInput {
		code = exitInterrupted
	}
	return code
}

// printError writes err as "infertune: ..." lines, one per joined problem.
func printError(w io.Writer, err error) {
	for line := range strings.SplitSeq(strings.TrimRight(err.Error(), "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fmt.Fprintf(w, "infertune: %s\n", line)
	}
}

// newRootCommand builds the command tree. Each invocation gets its own tree, so no state
// survives between runs in one process (the tests run many).
func newRootCommand(gs *globalState) *cobra.Command {
	root := &cobra.Command{
		Use:   "infertune",
		Short: "Find the cheapest way to serve a model under latency SLOs on this hardware",
		Long: `infertune answers one question for the people who serve models: what is the cheapest
way to serve this model under these SLOs on this hardware? A built-in CPU inference engine
runs under an open-loop load generator while a tuner varies precision, batching and threads.

Settings come from flags, then INFERTUNE_* environment variables, then the config file
(infertune.yaml in the working directory, or --config), then defaults.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := defaultConfig()
	pf := root.PersistentFlags()
	pf.String("db", def.DB, "SQLite `FILE` that stores runs")
	pf.String("config", "", "config `FILE` (default: infertune.yaml in the working directory, if present)")
	pf.String("json", "", "write the result as JSON to `PATH`; - writes it to stdout in place of the text")
	pf.Bool("quiet", def.Quiet, "print no progress, only results and errors")
	pf.Bool("no-color", def.NoColor, "print no colour")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newVersionCommand(gs), newDoctorCommand(gs), newBenchCommand(gs))
	root.AddCommand(newProfilesCommand(gs))
	root.AddCommand(newTuneCommand(gs), newReportCommand(gs), newTUICommand(gs))
	return root
}

// flagError turns a flag-parsing error into bad input that says what is accepted.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "unknown flag") || strings.Contains(msg, "unknown shorthand flag") {
		return badInputf("%s for %q; accepted: %s", msg, cmd.CommandPath(), strings.Join(flagNames(cmd), ", "))
	}
	return badInputf("%s (see '%s --help')", msg, cmd.CommandPath())
}

// flagNames lists the visible flags cmd accepts, its own and inherited.
func flagNames(cmd *cobra.Command) []string {
	var names []string
	add := func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, "--"+f.Name)
		}
	}
	cmd.LocalFlags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	slices.Sort(names)
	return slices.Compact(names)
}

// cobraError rewrites cobra's own errors (an unknown command, with suggestions over several
// lines) as one line naming what was typed and what is accepted.
func cobraError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command ") || cmd == nil {
		return err
	}
	msg, _, _ = strings.Cut(msg, "\n")
	var typed string
	if _, err := fmt.Sscanf(strings.TrimPrefix(msg, "unknown command "), "%q", &typed); err == nil {
		if s := cmd.SuggestionsFor(typed); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
		}
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	if len(names) > 0 {
		msg += "; accepted: " + strings.Join(names, ", ")
	}
	return fmt.Errorf("%s", msg)
}

// noArgs rejects positional arguments on a command that takes none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasAvailableSubCommands() {
			var names []string
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, c.Name())
				}
			}
			return badInputf("unknown command %q for %q; accepted: %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))
		}
		return badInputf("unexpected argument %q: %q takes no arguments, only flags (see '%s --help')",
			args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}
