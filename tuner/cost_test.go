package tuner

import (
	"math"
	"strings"
	"testing"

	"github.com/infertune/infertune/profiles"
)

func TestLocalTargets(t *testing.T) {
	hw, err := profiles.LookupHardware("local-cpu")
	if err != nil {
		t.Fatal(err)
	}
	if got := LocalTargets(hw, 0); got != nil {
		t.Errorf("LocalTargets(0 CPUs) = %v, want none", got)
	}
	if got := LocalTargets(hw, -3); got != nil {
		t.Errorf("LocalTargets(-3 CPUs) = %v, want none", got)
	}
	got := LocalTargets(hw, 4)
	want := []Target{
		{Name: "cpu-1t", Threads: 1, PricePerHour: 0.0425},
		{Name: "cpu-2t", Threads: 2, PricePerHour: 0.085},
		{Name: "cpu-3t", Threads: 3, PricePerHour: 0.1275},
		{Name: "cpu-4t", Threads: 4, PricePerHour: 0.17},
	}
	if len(got) != len(want) {
		t.Fatalf("LocalTargets(4 CPUs) = %v, want %v", got, want)
	}
	for i := range got {
		if got[i].Name != want[i].Name || got[i].Threads != want[i].Threads || !closeRel(got[i].PricePerHour, want[i].PricePerHour, 1e-15) {
			t.Errorf("target %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := len(LocalTargets(hw, 192)); n != 192 {
		t.Errorf("LocalTargets(192 CPUs) has %d targets", n)
	}
}

func TestCostOf(t *testing.T) {
	cpu1 := Target{Name: "cpu-1t", Threads: 1, PricePerHour: 0.0425}
	cpu4 := Target{Name: "cpu-4t", Threads: 4, PricePerHour: 0.36}
	tests := []struct {
		name     string
		target   Target
		capacity float64
		rps      float64
		want     Cost
	}{
		// 0.0425 / (50 × 3600) × 1e6 = 0.0425 / 0.18 = 0.236111...
		{"no rps SLO: at capacity", cpu1, 50, 0, Cost{Replicas: 1, PerHour: 0.0425, PerMillion: 0.0425 / 0.18}},
		// 0.36 / (1000 × 3600) × 1e6 = 0.1
		{"no rps SLO, 1000 rps", cpu4, 1000, 0, Cost{Replicas: 1, PerHour: 0.36, PerMillion: 0.1}},
		// ceil(200/100) = 2; 0.72 / (200 × 3600) × 1e6 = 1
		{"rps SLO, whole replicas", cpu4, 100, 200, Cost{Replicas: 2, PerHour: 0.72, PerMillion: 1}},
		// ceil(250/100) = 3; 1.08 / (250 × 3600) × 1e6 = 1.2
		{"rps SLO, rounded up", cpu4, 100, 250, Cost{Replicas: 3, PerHour: 1.08, PerMillion: 1.2}},
		// ceil(201/100) = 3; 1.08 / (201 × 3600) × 1e6 = 1.4925373...
		{"rps SLO, just over", cpu4, 100, 201, Cost{Replicas: 3, PerHour: 1.08, PerMillion: 1.08 / 0.7236}},
		// ceil(50/100) = 1; priced at the SLO's rate, not the capacity: 0.36 / 0.18 = 2
		{"rps SLO below capacity", cpu4, 100, 50, Cost{Replicas: 1, PerHour: 0.36, PerMillion: 2}},
		// 3 / 0.3 is 10.000000000000002 in float64; it counts as 10.
		{"float noise adds no replica", cpu1, 0.3, 3, Cost{Replicas: 10, PerHour: 0.425, PerMillion: 0.425 / 0.0108}},
		{"a real excess adds one", cpu1, 0.3, 3.000001, Cost{Replicas: 11, PerHour: 0.4675, PerMillion: 0.4675 / (3.000001 * 3600) * 1e6}},
		{"free target", Target{Name: "free", Threads: 1}, 10, 100, Cost{Replicas: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CostOf(tt.target, tt.capacity, tt.rps)
			if err != nil {
				t.Fatal(err)
			}
			if got.Replicas != tt.want.Replicas || !closeRel(got.PerHour, tt.want.PerHour, 1e-12) ||
				!closeRel(got.PerMillion, tt.want.PerMillion, 1e-12) {
				t.Errorf("CostOf(%+v, %g, %g) = %+v, want %+v", tt.target, tt.capacity, tt.rps, got, tt.want)
			}
		})
	}
}

func TestCostOfErrors(t *testing.T) {
	cpu := Target{Name: "cpu-2t", Threads: 2, PricePerHour: 0.085}
	tests := []struct {
		name     string
		target   Target
		capacity float64
		rps      float64
		want     string
	}{
		{"zero capacity", cpu, 0, 100, "cost of cpu-2t: capacity 0 requests/s: accepted: a rate above 0"},
		{"negative capacity", cpu, -5, 0, "capacity -5 requests/s"},
		{"NaN capacity", cpu, math.NaN(), 0, "capacity NaN requests/s"},
		{"infinite capacity", cpu, math.Inf(1), 0, "capacity +Inf requests/s"},
		{"negative rps", cpu, 10, -1, "cost of cpu-2t: rps SLO -1: accepted: 0 (none) or a rate above 0"},
		{"NaN rps", cpu, 10, math.NaN(), "rps SLO NaN"},
		{"negative price", Target{Name: "x", PricePerHour: -1}, 10, 0, "cost of x: price -1 per hour: accepted: 0 or more US dollars"},
		{"too many replicas", cpu, 1e-9, 1e6, "needs over 1099511627776 replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CostOf(tt.target, tt.capacity, tt.rps)
			if err == nil {
				t.Fatalf("CostOf = %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestPerMillionTokens(t *testing.T) {
	c, err := CostOf(Target{Name: "cpu-2t", Threads: 2, PricePerHour: 0.085}, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 4 requests/s of 48 tokens: 691,200 tokens an hour for $0.085.
	if got, want := c.PerMillionTokens(48), 0.085/(4*48*3600)*1e6; math.Abs(got-want) > 1e-12 {
		t.Errorf("per million tokens %v, want %v", got, want)
	}
	if c.PerMillionTokens(0) != 0 || c.PerMillionTokens(-1) != 0 {
		t.Errorf("no tokens per request: want 0")
	}
}
