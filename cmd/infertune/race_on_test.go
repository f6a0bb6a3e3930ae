//go:build race

package main

// raceEnabled reports a -race build: end-to-end tunes skip there (the detector slows the
// load generator several times over, so its probes come out invalid) and run in make
// test's separate pass without it.
const raceEnabled = true
