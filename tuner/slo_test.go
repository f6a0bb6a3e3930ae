package tuner

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseSLO(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []Term
	}{
		{"none", nil, nil},
		{"p99 equals", []string{"p99=50ms"}, []Term{
			{Raw: "p99=50ms", Metric: MetricLatency, Percentile: 99, Bound: 50 * time.Millisecond, AtMost: true}}},
		{"comma separated", []string{"p99<=50ms,rps>=200"}, []Term{
			{Raw: "p99<=50ms", Metric: MetricLatency, Percentile: 99, Bound: 50 * time.Millisecond, AtMost: true},
			{Raw: "rps>=200", Metric: MetricRPS, Value: 200}}},
		{"generation", []string{"ttft_p99=500ms,tpot_p99=50ms,fidelity>=0.97"}, []Term{
			{Raw: "ttft_p99=500ms", Metric: MetricTTFT, Percentile: 99, Bound: 500 * time.Millisecond, AtMost: true},
			{Raw: "tpot_p99=50ms", Metric: MetricTPOT, Percentile: 99, Bound: 50 * time.Millisecond, AtMost: true},
			{Raw: "fidelity>=0.97", Metric: MetricFidelity, Value: 0.97}}},
		{"repeated flags keep order", []string{"rps>=10", "p50<1s", "tps>5"}, []Term{
			{Raw: "rps>=10", Metric: MetricRPS, Value: 10},
			{Raw: "p50<1s", Metric: MetricLatency, Percentile: 50, Bound: time.Second, AtMost: true, Strict: true},
			{Raw: "tps>5", Metric: MetricTPS, Value: 5, Strict: true}}},
		{"every percentile", []string{"p50=1ms,p90=2ms,p95=3ms,p99.9=4ms,ttft_p50=5ms,tpot_p99.9=6ms"}, []Term{
			{Raw: "p50=1ms", Metric: MetricLatency, Percentile: 50, Bound: time.Millisecond, AtMost: true},
			{Raw: "p90=2ms", Metric: MetricLatency, Percentile: 90, Bound: 2 * time.Millisecond, AtMost: true},
			{Raw: "p95=3ms", Metric: MetricLatency, Percentile: 95, Bound: 3 * time.Millisecond, AtMost: true},
			{Raw: "p99.9=4ms", Metric: MetricLatency, Percentile: 99.9, Bound: 4 * time.Millisecond, AtMost: true},
			{Raw: "ttft_p50=5ms", Metric: MetricTTFT, Percentile: 50, Bound: 5 * time.Millisecond, AtMost: true},
			{Raw: "tpot_p99.9=6ms", Metric: MetricTPOT, Percentile: 99.9, Bound: 6 * time.Millisecond, AtMost: true}}},
		{"units", []string{"p50=250us,p90=250µs,p95=250μs,p99=1.5s,p99.9=0.0015ms"}, []Term{
			{Raw: "p50=250us", Metric: MetricLatency, Percentile: 50, Bound: 250 * time.Microsecond, AtMost: true},
			{Raw: "p90=250µs", Metric: MetricLatency, Percentile: 90, Bound: 250 * time.Microsecond, AtMost: true},
			{Raw: "p95=250μs", Metric: MetricLatency, Percentile: 95, Bound: 250 * time.Microsecond, AtMost: true},
			{Raw: "p99=1.5s", Metric: MetricLatency, Percentile: 99, Bound: 1500 * time.Millisecond, AtMost: true},
			{Raw: "p99.9=0.0015ms", Metric: MetricLatency, Percentile: 99.9, Bound: 1500 * time.Nanosecond, AtMost: true}}},
		{"sub-nanosecond rounds to nearest", []string{"p99=1.0004us,p50=0.0005us"}, []Term{
			{Raw: "p99=1.0004us", Metric: MetricLatency, Percentile: 99, Bound: 1000 * time.Nanosecond, AtMost: true},
			{Raw: "p50=0.0005us", Metric: MetricLatency, Percentile: 50, Bound: time.Nanosecond, AtMost: true}}},
		{"space and case", []string{"  P99 <= 50 MS ,  RPS >= 1e3 "}, []Term{
			{Raw: "P99 <= 50 MS", Metric: MetricLatency, Percentile: 99, Bound: 50 * time.Millisecond, AtMost: true},
			{Raw: "RPS >= 1e3", Metric: MetricRPS, Value: 1000}}},
		{"percentages", []string{"fidelity=97%,errors=0.1%"}, []Term{
			{Raw: "fidelity=97%", Metric: MetricFidelity, Value: 0.97},
			{Raw: "errors=0.1%", Metric: MetricErrors, Value: 0.001, AtMost: true}}},
		{"fractions and kld", []string{"fidelity>0.5,errors<0.01,kld=0.05"}, []Term{
			{Raw: "fidelity>0.5", Metric: MetricFidelity, Value: 0.5, Strict: true},
			{Raw: "errors<0.01", Metric: MetricErrors, Value: 0.01, AtMost: true, Strict: true},
			{Raw: "kld=0.05", Metric: MetricKLD, Value: 0.05, AtMost: true}}},
		{"range ends", []string{"fidelity>=1,errors<=0,kld<=0"}, []Term{
			{Raw: "fidelity>=1", Metric: MetricFidelity, Value: 1},
			{Raw: "errors<=0", Metric: MetricErrors, Value: 0, AtMost: true},
			{Raw: "kld<=0", Metric: MetricKLD, Value: 0, AtMost: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSLO(tt.specs...)
			if err != nil {
				t.Fatalf("ParseSLO(%q): %v", tt.specs, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseSLO(%q) = %v, want %v", tt.specs, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("term %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseSLOErrors(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []string // each must appear in the error, in the order given
		n     int      // the number of problems
	}{
		{"not a duration", []string{"p99=fast"},
			[]string{`slo term "p99=fast": value "fast" is not a duration; accepted: a duration above 0 with a unit us, ms or s`}, 1},
		{"unknown percentile", []string{"p101=5ms"},
			[]string{`slo term "p101=5ms": unknown percentile "p101"; accepted: p50, p90, p95, p99, p99.9`}, 1},
		{"unknown ttft percentile", []string{"ttft_p42=5ms"},
			[]string{`slo term "ttft_p42=5ms": unknown percentile "ttft_p42"; accepted: ttft_p50, ttft_p90, ttft_p95, ttft_p99, ttft_p99.9`}, 1},
		{"percentile missing", []string{"tpot<=5ms"},
			[]string{`slo term "tpot<=5ms": tpot needs a percentile; accepted: tpot_p50, tpot_p90`}, 1},
		{"rps negative", []string{"rps>=-1"},
			[]string{`slo term "rps>=-1": value "-1" must be above 0; accepted: requests per second above 0`}, 1},
		{"rps zero", []string{"rps>0"}, []string{`value "0" must be above 0`}, 1},
		{"tps with a unit", []string{"tps>=5/s"}, []string{`slo term "tps>=5/s": value "5/s": unexpected "/s"; accepted: output tokens per second`}, 1},
		{"missing unit", []string{"ttft_p99=5"},
			[]string{`slo term "ttft_p99=5": value "5" has no unit; accepted: a duration above 0 with a unit us, ms or s, such as 50ms`}, 1},
		{"unknown unit", []string{"p99=5m"}, []string{`slo term "p99=5m": unknown unit "m" in "5m"; accepted: a duration`}, 1},
		{"nanoseconds are not a unit", []string{"p99=5ns"}, []string{`unknown unit "ns"`}, 1},
		{"zero latency", []string{"p99<=0ms"}, []string{`value "0ms" must be above 0`}, 1},
		{"latency below a nanosecond", []string{"p99<=0.0001us"},
			[]string{`value "0.0001us" is out of range; accepted: a duration from 0.001us (1ns) to 9223372036.854775807s`}, 1},
		{"latency too long", []string{"p99<=9223372037s"}, []string{`value "9223372037s" is out of range`}, 1},
		{"unknown metric", []string{"latency_p99<=5ms"},
			[]string{`slo term "latency_p99<=5ms": unknown metric "latency_p99"; accepted: p50, p90, p95, p99, p99.9 (request latency), ttft_pNN and tpot_pNN (the same percentiles), rps, tps, fidelity, kld, errors`}, 1},
		{"no metric", []string{"<=5ms"}, []string{`slo term "<=5ms": no metric before "<="; accepted: p50`}, 1},
		{"no operator", []string{"p99 50ms"}, []string{`slo term "p99 50ms": no operator; accepted: METRIC OP VALUE with OP one of <=, <, >=, >, =`}, 1},
		{"unknown operator", []string{"p99==50ms"}, []string{`slo term "p99==50ms": unknown operator "=="; accepted: <=, <, >=, >, =`}, 1},
		{"not equal", []string{"rps!=5"}, []string{`unknown operator "!="`}, 1},
		{"no value", []string{"rps>="}, []string{`slo term "rps>=": no value after ">="; accepted: requests per second`}, 1},
		{"latency lower bound", []string{"p99>=5ms"},
			[]string{`slo term "p99>=5ms": a latency bound must be an upper bound; accepted: p99<=5ms, p99<5ms, p99=5ms`}, 1},
		{"ttft lower bound", []string{"ttft_p90>1s"}, []string{`accepted: ttft_p90<=1s, ttft_p90<1s, ttft_p90=1s`}, 1},
		{"rps upper bound", []string{"rps<=100"},
			[]string{`slo term "rps<=100": a throughput bound must be a lower bound; accepted: rps>=100, rps>100, rps=100`}, 1},
		{"fidelity upper bound", []string{"fidelity<0.9"}, []string{"a fidelity bound must be a lower bound"}, 1},
		{"errors lower bound", []string{"errors>=0.1"}, []string{"an errors bound must be an upper bound; accepted: errors<=0.1"}, 1},
		{"kld lower bound", []string{"kld>0.1"}, []string{"a kld bound must be an upper bound"}, 1},
		{"empty term", []string{"p99=50ms,,rps>=1"},
			[]string{`slo term "": term 2 of 3 in "p99=50ms,,rps>=1" is empty; accepted: terms METRIC OP VALUE separated by single commas`}, 1},
		{"trailing comma", []string{"p99=50ms,"}, []string{`term 2 of 2 in "p99=50ms," is empty`}, 1},
		{"empty spec", []string{" "}, []string{`slo term "": the SLO is empty`}, 1},
		{"duplicate", []string{"p99=50ms,rps>=1", "p99<40ms"},
			[]string{`slo term "p99<40ms": p99 is bounded twice (also by "p99=50ms"); accepted: one term per metric`}, 1},
		{"duplicate ttft", []string{"ttft_p99.9=1s,TTFT_P99.9<2s"}, []string{`ttft_p99.9 is bounded twice`}, 1},
		{"same percentile of other metrics", []string{"p99=1s,ttft_p99=1s,tpot_p99=1s,p99=2s"}, []string{"p99 is bounded twice"}, 1},
		{"fidelity above 1", []string{"fidelity>=1.5"},
			[]string{`slo term "fidelity>=1.5": value "1.5" is outside 0..1 (0%..100%); accepted: a top-1 agreement from 0 to 1 or 0% to 100%`}, 1},
		{"fidelity above 100%", []string{"fidelity>=101%"}, []string{`value "101%" is outside 0..1`}, 1},
		{"fidelity negative", []string{"fidelity>=-0.1"}, []string{`value "-0.1" is outside 0..1`}, 1},
		{"fidelity above all", []string{"fidelity>1"}, []string{`slo term "fidelity>1": can never be met, as fidelity is never above 1; accepted: a top-1 agreement`}, 1},
		{"errors above 1", []string{"errors<=2"}, []string{`slo term "errors<=2": value "2" is outside 0..1 (0%..100%); accepted: a share of requests`}, 1},
		{"errors below 0", []string{"errors<0%"}, []string{`can never be met, as errors is never below 0`}, 1},
		{"kld negative", []string{"kld<=-1"}, []string{`slo term "kld<=-1": value "-1" is below 0; accepted: a KL divergence in nats`}, 1},
		{"kld below 0", []string{"kld<0"}, []string{`can never be met, as kld is never below 0`}, 1},
		{"newline in a value", []string{"errors<0\n%,p90>0\n0"}, []string{`slo term "errors<0\n%": can never be met`, `slo term "p90>0\n0": a latency bound must be an upper bound; accepted: p90<=VALUE`}, 2},
		{"not a percentile", []string{"pinf<=5ms"}, []string{`unknown metric "pinf"`}, 1},
		{"wrong direction without value", []string{"p99>="}, []string{`slo term "p99>=": no value after ">="`}, 1},
		{"percent on rps", []string{"rps>=5%"}, []string{`unexpected "%"`}, 1},
		{"number out of range", []string{"rps>=1e999"}, []string{`value "1e999" is out of range`}, 1},
		{"every bad term reported", []string{"p99=fast,rps>=1,p101=5ms", "kld<0"},
			[]string{`"p99=fast"`, `"p101=5ms"`, `"kld<0"`}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSLO(tt.specs...)
			if err == nil {
				t.Fatalf("ParseSLO(%q) = %v, want an error", tt.specs, got)
			}
			if got != nil {
				t.Errorf("ParseSLO(%q) returned terms %v beside its error", tt.specs, got)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%s", w, msg)
				}
				rest = rest[i+len(w):]
			}
			if n := strings.Count(msg, "\n") + 1; n != tt.n {
				t.Errorf("%d problems, want %d:\n%s", n, tt.n, msg)
			}
			for _, e := range unjoinErrors(err) {
				if _, ok := errors.AsType[*TermError](e); !ok {
					t.Errorf("problem %v is a %T, want a *TermError", e, e)
				}
			}
		})
	}
}

// unjoinErrors returns the errors joined in err.
func unjoinErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestTermString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"p99=50ms", "p99<=50ms"},
		{"p99.9<1.5s", "p99.9<1.5s"},
		{"ttft_p50=0.5s", "ttft_p50<=500ms"},
		{"tpot_p90<=1500us", "tpot_p90<=1.5ms"},
		{"p95=0.0015ms", "p95<=1.5us"},
		{"p50=0.001us", "p50<=0.001us"},
		{"p50=60s", "p50<=60s"},
		{"p50=1.000000001s", "p50<=1.000000001s"},
		{"p50=9223372036.854775807s", "p50<=9223372036.854775807s"},
		{"rps=200", "rps>=200"},
		{"rps>2.5e6", "rps>2.5e+06"},
		{"tps>=1000", "tps>=1000"},
		{"fidelity=97%", "fidelity>=0.97"},
		{"fidelity>.5", "fidelity>0.5"},
		{"kld=0.05", "kld<=0.05"},
		{"errors<0.1%", "errors<0.001"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			terms, err := ParseSLO(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := terms[0].String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			checkRoundTrip(t, terms[0])
		})
	}
}

// checkRoundTrip checks that a term's String parses back to the same term.
func checkRoundTrip(t *testing.T, term Term) {
	t.Helper()
	s := term.String()
	again, err := ParseSLO(s)
	if err != nil {
		t.Fatalf("String() of %+v = %q, which does not parse: %v", term, s, err)
	}
	if len(again) != 1 {
		t.Fatalf("String() of %+v = %q, which parses to %d terms", term, s, len(again))
	}
	want := term
	want.Raw = s
	if again[0] != want {
		t.Fatalf("String() of %+v = %q, which parses to %+v", term, s, again[0])
	}
}

func TestValueVerdict(t *testing.T) {
	term := func(s string) Term {
		ts, err := ParseSLO(s)
		if err != nil {
			t.Fatal(err)
		}
		return ts[0]
	}
	tests := []struct {
		term     string
		measured float64
		want     Verdict
	}{
		{"rps>=200", 200, Pass},
		{"rps>=200", 199.9, Fail},
		{"rps>200", 200, Fail},
		{"rps>200", 200.1, Pass},
		{"tps=1000", 1000, Pass},
		{"fidelity>=0.97", 0.97, Pass},
		{"fidelity>=97%", 0.969, Fail},
		{"kld<=0.05", 0.05, Pass},
		{"kld<0.05", 0.05, Fail},
		{"kld=0.05", 0.06, Fail},
		{"errors<=0.1%", 0.001, Pass},
		{"errors<0.1%", 0.001, Fail},
		{"errors=0", 0, Pass},
		{"rps>=200", math.NaN(), Inconclusive},
		{"p99<=50ms", 0.01, Inconclusive},
	}
	for _, tt := range tests {
		if got := ValueVerdict(term(tt.term), tt.measured); got != tt.want {
			t.Errorf("ValueVerdict(%s, %g) = %v, want %v", tt.term, tt.measured, got, tt.want)
		}
	}
}

// FuzzParseSLO checks that ParseSLO never panics, that every problem it reports names a
// term, and that every term it accepts prints as a canonical String that parses back to
// the same term. Seeds: testdata/fuzz/FuzzParseSLO and the cases below.
func FuzzParseSLO(f *testing.F) {
	for _, s := range []string{
		"p99=50ms",
		"p99<=50ms,rps>=200",
		"ttft_p99=500ms,tpot_p99=50ms,fidelity>=0.97",
		"p99.9<1.5µs, errors<=0.1%, kld=0.05, tps>1e3",
		"p99=fast,p101=5ms,rps>=-1,ttft_p99=5,,p99>=5ms",
		"fidelity>1,errors<0,p99=9223372036.854775808s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		terms, err := ParseSLO(spec)
		if err != nil {
			if terms != nil {
				t.Fatalf("ParseSLO(%q) returned terms beside its error", spec)
			}
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "slo term ") {
					t.Fatalf("problem %q does not name a term; error:\n%v", line, err)
				}
			}
			return
		}
		for _, term := range terms {
			checkRoundTrip(t, term)
			if isLatencyMetric(term.Metric) {
				if term.Bound <= 0 || term.Percentile <= 0 || term.Value != 0 || !term.AtMost {
					t.Fatalf("latency term %+v out of range", term)
				}
			} else if term.Percentile != 0 || term.Bound != 0 || math.IsNaN(term.Value) || math.IsInf(term.Value, 0) || term.Value < 0 {
				t.Fatalf("term %+v out of range", term)
			}
		}
	})
}
