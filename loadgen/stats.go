package loadgen

import (
	"math"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/montanaflynn/stats"
)

// Histograms record nanoseconds from 1 ns to an hour at three significant digits; longer
// values are recorded as an hour.
const (
	histLowest  = 1
	histHighest = int64(time.Hour)
	histDigits  = 3
)

// NewHistogram returns an empty histogram with the recorder's range and precision.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

func recordValue(h *hdrhistogram.Histogram, d time.Duration) {
	v := min(max(int64(d), 0), histHighest)
	_ = h.RecordValue(v) // in range by construction
}

// Percentiles reported in every Summary.
var summaryPercentiles = [...]float64{50, 90, 95, 99, 99.9}

// A Summary describes a distribution of durations.
type Summary struct {
	Count int64
	Mean  time.Duration
	P50   time.Duration
	P90   time.Duration
	P95   time.Duration
	P99   time.Duration
	P999  time.Duration
	Max   time.Duration
	// Exact is true when the percentiles are order statistics of every raw sample, false
	// when they come from the histogram (within 0.1%).
	Exact bool
}

// SummarizeSamples returns the summary of raw samples, with nearest-rank percentiles:
// the p-th percentile of n sorted samples x[1..n] is x[ceil(p/100*n)], an observed
// value. It sorts samples in place.
func SummarizeSamples(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{Exact: true}
	}
	slices.Sort(samples)
	f := make(stats.Float64Data, len(samples))
	var sum float64
	for i, d := range samples {
		f[i] = float64(d)
		sum += float64(d)
	}
	s := Summary{
		Count: int64(len(samples)),
		Mean:  time.Duration(math.Round(sum / float64(len(samples)))),
		Max:   samples[len(samples)-1],
		Exact: true,
	}
	dst := [...]*time.Duration{&s.P50, &s.P90, &s.P95, &s.P99, &s.P999}
	for i, p := range summaryPercentiles {
		v, err := stats.PercentileNearestRank(f, p)
		if err != nil { // impossible: input non-empty, p in range
			panic(err)
		}
		*dst[i] = time.Duration(v)
	}
	return s
}

// NearestRank returns the nearest-rank p-th percentile of sorted samples (see
// SummarizeSamples); 0 for none.
func NearestRank(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	r := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(r, 1), n)-1]
}

// SummarizeHistogram returns the summary of a histogram. Its percentiles are the
// histogram's value at each percentile: the highest value equivalent (within the
// histogram's precision) to the nearest-rank sample.
func SummarizeHistogram(h *hdrhistogram.Histogram) Summary {
	if h.TotalCount() == 0 {
		return Summary{}
	}
	v := h.ValueAtPercentiles(summaryPercentiles[:])
	return Summary{
		Count: h.TotalCount(),
		Mean:  time.Duration(math.Round(h.Mean())),
		P50:   time.Duration(v[50]),
		P90:   time.Duration(v[90]),
		P95:   time.Duration(v[95]),
		P99:   time.Duration(v[99]),
		P999:  time.Duration(v[99.9]),
		Max:   time.Duration(h.Max()),
	}
}

// CountOver returns how many values recorded in h exceed d, to the histogram's precision:
// values in the same bucket as d count as not over. It allocates nothing (a capacity
// search calls it for every term at every live tick, ten times a second, while the
// generator is sending): it binary-searches the ranks for the first value whose bucket
// lies wholly above d, each step one scan of the counts.
func CountOver(h *hdrhistogram.Histogram, d time.Duration) int64 {
	total := h.TotalCount()
	if total == 0 {
		return 0
	}
	// above reports whether the value of rank r (1-based) lies in a bucket wholly above d.
	above := func(r int64) bool {
		v := h.ValueAtPercentile(100 * float64(r) / float64(total)) // the bucket's highest value
		return v > int64(d) && !h.ValuesAreEquivalent(v, int64(d))
	}
	lo, hi := int64(1), total+1 // the first rank above d lies in [lo, hi]; total+1: none
	for lo < hi {
		mid := lo + (hi-lo)/2
		if above(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return total + 1 - lo
}
