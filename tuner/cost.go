package tuner

import (
	"fmt"
	"math"
	"strconv"

	"github.com/infertune/infertune/profiles"
)

// Target is where a trial runs and what an hour of it costs.
type Target struct {
	// Name names the target, such as cpu-2t.
	Name string
	// Threads is the number of inference threads the target runs.
	Threads int
	// PricePerHour is what an hour of the target costs, in US dollars.
	PricePerHour float64
}

// LocalTargets returns the targets of a per-thread hardware profile on a machine with numCPU
// CPUs: cpu-1t, cpu-2t, ... cpu-<numCPU>t, where cpu-Nt runs N threads and costs N times
// the profile's price per vCPU-hour. It returns none for numCPU below 1.
func LocalTargets(hw profiles.Hardware, numCPU int) []Target {
	if numCPU < 1 {
		return nil
	}
	out := make([]Target, numCPU)
	for i := range out {
		threads := i + 1
		out[i] = Target{
			Name:         "cpu-" + strconv.Itoa(threads) + "t",
			Threads:      threads,
			PricePerHour: float64(threads) * hw.PricePerVCPUHour,
		}
	}
	return out
}

// Cost is what serving a workload on a target costs.
type Cost struct {
	// Replicas is the number of copies of the target that serve the required rate.
	Replicas int
	// PerHour is the price of the replicas for an hour, in US dollars.
	PerHour float64
	// PerMillion is the price of serving a million requests, in US dollars.
	PerMillion float64
}

// maxReplicas bounds the replicas CostOf computes, far above any real deployment, so that
// the count fits an int.
const maxReplicas = 1 << 40

// replicaSlack is how far above a whole number a ratio of rates may be and still count as
// that number, so that float rounding (3/0.3 is 10.000000000000002) adds no replica.
const replicaSlack = 1e-9

// CostOf prices a target that serves capacityRPS requests per second under the SLOs.
//
// With an rps SLO of R (rpsSLO > 0): replicas = ceil(R / capacity), per hour = replicas ×
// the target's price, per million = per hour / (R × 3600) × 1e6, since the replicas serve
// R requests a second. Without one (rpsSLO = 0): one replica, priced per million at its
// capacity. A ratio R / capacity within a relative 1e-9 above a whole number counts as
// that number.
//
// It is an error for capacityRPS to be 0 or less or not finite, for rpsSLO to be negative
// or not finite, for the price to be negative or not finite, or for the replicas to pass
// 2^40.
func CostOf(t Target, capacityRPS float64, rpsSLO float64) (Cost, error) {
	if !(capacityRPS > 0) || math.IsInf(capacityRPS, 0) {
		return Cost{}, fmt.Errorf("cost of %s: capacity %g requests/s: accepted: a rate above 0", t.Name, capacityRPS)
	}
	if !(rpsSLO >= 0) || math.IsInf(rpsSLO, 0) {
		return Cost{}, fmt.Errorf("cost of %s: rps SLO %g: accepted: 0 (none) or a rate above 0", t.Name, rpsSLO)
	}
	if !(t.PricePerHour >= 0) || math.IsInf(t.PricePerHour, 0) {
		return Cost{}, fmt.Errorf("cost of %s: price %g per hour: accepted: 0 or more US dollars", t.Name, t.PricePerHour)
	}
	if rpsSLO == 0 {
		return Cost{Replicas: 1, PerHour: t.PricePerHour, PerMillion: t.PricePerHour / (capacityRPS * 3600) * 1e6}, nil
	}
	ratio := rpsSLO / capacityRPS
	if ratio > maxReplicas {
		return Cost{}, fmt.Errorf("cost of %s: %g requests/s at %g each needs over %d replicas", t.Name, rpsSLO, capacityRPS, int64(maxReplicas))
	}
	n := math.Ceil(ratio)
	if n > 1 && ratio-(n-1) <= replicaSlack*ratio {
		n--
	}
	n = max(n, 1)
	perHour := n * t.PricePerHour
	return Cost{Replicas: int(n), PerHour: perHour, PerMillion: perHour / (rpsSLO * 3600) * 1e6}, nil
}

// PerMillionTokens is the price of a million output tokens of generation, when each
// request generates tokensPerRequest on average: PerMillion / tokensPerRequest (0 when
// tokensPerRequest is not positive). A tps SLO of T tokens/s is priced by CostOf as an
// rps SLO of T / tokensPerRequest.
func (c Cost) PerMillionTokens(tokensPerRequest float64) float64 {
	if !(tokensPerRequest > 0) {
		return 0
	}
	return c.PerMillion / tokensPerRequest
}
