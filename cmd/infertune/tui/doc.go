// Package tui is infertune's terminal UI, built on bubbletea v1: a live view of a search
// in progress (fed by the tuner's events) and a browser of the runs in a database (list,
// detail with probes, compare, and watch of a run another process is writing).
//
// The UI only renders. It never owns a run: a live view is handed the search's events and
// a function that cancels the search, which it calls once the user confirms quitting; the
// caller then saves and marks the run as it does on Ctrl-C. Events reach the program
// coalesced by Feed, at most about ten batches a second, whatever the request rate.
package tui
