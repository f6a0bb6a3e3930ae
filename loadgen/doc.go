// Package loadgen drives a Target with open-loop load and measures it honestly.
//
// It owns the Target interface, the arrival schedules (poisson, constant, closed, trace),
// the dispatcher that keeps the schedule when the target is slow, the recorder (per-shard
// HDR histograms plus raw samples under a bound) and the statistics of a probe. Latency
// counts from the intended send time, so queueing in the target or a stall in the
// generator shows in the percentiles instead of hiding (no coordinated omission).
//
// Percentiles are nearest-rank: the p-th percentile of n sorted samples x[1..n] is
// x[ceil(p/100*n)] (x[1] for p = 0), always an observed value. They are exact while the
// raw samples fit in Options.RawLimit, and read from the merged HDR histogram (three
// significant digits) beyond it; Summary.Exact says which.
//
// loadgen imports nothing else of this module.
package loadgen
