package host

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// NoisyCV is the coefficient of variation above which a machine is called noisy.
const NoisyCV = 0.05

// Noise is the result of a noise check: the same fixed CPU-bound loop timed several times.
type Noise struct {
	// Runs is the number of timed runs.
	Runs int `json:"runs"`
	// Median is the median time of one run.
	Median time.Duration `json:"median_ns"`
	// CV is the coefficient of variation of the run times: standard deviation over mean.
	CV float64 `json:"cv"`
	// Noisy reports CV > NoisyCV.
	Noisy bool `json:"noisy"`
}

// Verdict returns a one-line judgement: "quiet" or "noisy" with the figures behind it.
func (n Noise) Verdict() string {
	if n.Noisy {
		return fmt.Sprintf("noisy: run-to-run variation %.1f%% > %.0f%%; stop other work or pin CPUs before measuring",
			n.CV*100, NoisyCV*100)
	}
	return fmt.Sprintf("quiet: run-to-run variation %.1f%% <= %.0f%%", n.CV*100, NoisyCV*100)
}

// CheckNoise times a fixed CPU-bound loop, calibrated to take about each, runs times on the
// calling goroutine, and summarizes the spread. It returns ctx's error when ctx ends first.
func CheckNoise(ctx context.Context, runs int, each time.Duration) (Noise, error) {
	if runs < 2 {
		return Noise{}, fmt.Errorf("noise check: runs %d: need at least 2", runs)
	}
	if each <= 0 {
		return Noise{}, fmt.Errorf("noise check: duration %v: must be positive", each)
	}
	var sink uint64
	// Calibrate: double the loop until one pass takes a measurable time, then scale it.
	n := uint64(1 << 12)
	var took time.Duration
	for {
		start := time.Now()
		sink ^= spin(n)
		took = time.Since(start)
		if took >= each/8 || n >= 1<<40 {
			break
		}
		n *= 2
	}
	if took > 0 {
		n = max(1, uint64(float64(n)*float64(each)/float64(took)))
	}
	sink ^= spin(n) // warm-up at the final size
	samples := make([]time.Duration, runs)
	for i := range samples {
		if err := ctx.Err(); err != nil {
			return Noise{}, fmt.Errorf("noise check: %w", err)
		}
		start := time.Now()
		sink ^= spin(n)
		samples[i] = time.Since(start)
	}
	runtime.KeepAlive(sink)
	return Summarize(samples), nil
}

// Summarize computes the median and coefficient of variation of run times.
func Summarize(samples []time.Duration) Noise {
	out := Noise{Runs: len(samples)}
	if len(samples) == 0 {
		return out
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	if len(s)%2 == 1 {
		out.Median = s[len(s)/2]
	} else {
		out.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	mean := sum / float64(len(s))
	var ss float64
	for _, d := range s {
		ss += (float64(d) - mean) * (float64(d) - mean)
	}
	if len(s) > 1 && mean > 0 {
		out.CV = math.Sqrt(ss/float64(len(s)-1)) / mean
	}
	out.Noisy = out.CV > NoisyCV
	return out
}

// spin runs n steps of an xorshift generator: integer work that stays in registers, so its
// time depends on the core's clock and on what else runs on it, not on memory.
//
//go:noinline
func spin(n uint64) uint64 {
	x := uint64(0x9e3779b97f4a7c15)
	for i := uint64(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
