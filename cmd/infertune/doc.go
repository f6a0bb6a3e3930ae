// Command infertune finds the cheapest way to serve a model under latency SLOs on this
// hardware. See the README and `infertune --help`.
//
// This package owns the command line: one file per command, the configuration (flags over
// INFERTUNE_* environment variables over infertune.yaml over defaults, one viper instance
// per invocation, decoded strictly), and the one list of exit codes (exitcodes.go). It is
// the only package that reads os.Args, the environment and signals, calls os.Exit (in
// main.go only), or imports cobra and viper. Everything the commands take from the
// process comes through a globalState, so tests run the whole CLI in-process. Commands
// parse, build objects, call library code and turn errors into exit codes; they hold no
// business logic.
//
// Nothing imports this package.
package main
