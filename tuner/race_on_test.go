//go:build race

package tuner_test

// raceEnabled reports a -race build: the capacity searches skip there (the detector slows
// their thousands of simulated requests twentyfold) and make test runs them without it.
const raceEnabled = true
