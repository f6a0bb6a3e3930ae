package tuner

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Metric is what an SLO term bounds.
type Metric string

// Metrics an SLO term can bound.
const (
	// MetricLatency is the latency of a whole request, from its intended send time to its
	// response; a term bounds one of its percentiles (p99<=50ms).
	MetricLatency Metric = "latency"
	// MetricTTFT is the time to first output token of a generation (ttft_p99<=500ms).
	MetricTTFT Metric = "ttft"
	// MetricTPOT is the time per output token after the first (tpot_p99<=50ms).
	MetricTPOT Metric = "tpot"
	// MetricRPS is the rate of requests served, per second (rps>=200).
	MetricRPS Metric = "rps"
	// MetricTPS is the rate of output tokens, per second (tps>=1000).
	MetricTPS Metric = "tps"
	// MetricFidelity is the top-1 agreement with the fp32 model, 0..1 (fidelity>=0.97).
	MetricFidelity Metric = "fidelity"
	// MetricKLD is the mean KL divergence from the fp32 model, in nats (kld<=0.05).
	MetricKLD Metric = "kld"
	// MetricErrors is the share of requests that failed, 0..1 (errors<=0.001).
	MetricErrors Metric = "errors"
)

// isLatencyMetric reports whether m is bounded by a percentile and a duration.
func isLatencyMetric(m Metric) bool {
	return m == MetricLatency || m == MetricTTFT || m == MetricTPOT
}

// sloPercentiles are the percentiles a latency term can bound, as written after the p.
var sloPercentiles = []string{"50", "90", "95", "99", "99.9"}

// Term is one parsed SLO term, METRIC OP VALUE, such as p99<=50ms or rps>=200.
type Term struct {
	// Raw is the term as written, trimmed of surrounding space.
	Raw string
	// Metric is what the term bounds.
	Metric Metric
	// Percentile is the percentile bounded for a latency metric (50, 90, 95, 99 or 99.9);
	// 0 for the others.
	Percentile float64
	// Bound is the latency bound of a latency metric; 0 for the others.
	Bound time.Duration
	// Value is the bound of the other metrics: requests or output tokens per second, a
	// fidelity or an error share as a fraction 0..1 (97% is 0.97), a KL divergence in nats.
	Value float64
	// AtMost is true when the measured value must be at most the bound (<=, <, or = on
	// latencies, kld and errors), false when it must be at least the bound (>=, >, or = on
	// rps, tps and fidelity).
	AtMost bool
	// Strict is true for < and >: the measured value may not equal the bound.
	Strict bool
}

// String returns the term in canonical form, which ParseSLO reads back to the same term:
// the metric (p99, ttft_p99.9, rps, ...), the operator (<=, <, >= or >; = is written out as
// the bound it means) and the value (a duration in us, ms or s, exact to the nanosecond, or
// the shortest number that reads back to Value, fractions rather than percentages), such
// as "p99<=50ms", "rps>=200", "fidelity>=0.97".
// Name is the term's metric as written, without its bound: "p99", "ttft_p99", "rps".
func (t Term) Name() string { return t.Metric.name(t.Percentile) }

func (t Term) String() string {
	var b strings.Builder
	if isLatencyMetric(t.Metric) {
		if t.Metric != MetricLatency {
			b.WriteString(string(t.Metric) + "_")
		}
		b.WriteString("p" + strconv.FormatFloat(t.Percentile, 'f', -1, 64))
	} else {
		b.WriteString(string(t.Metric))
	}
	switch {
	case t.AtMost && t.Strict:
		b.WriteString("<")
	case t.AtMost:
		b.WriteString("<=")
	case t.Strict:
		b.WriteString(">")
	default:
		b.WriteString(">=")
	}
	if isLatencyMetric(t.Metric) {
		b.WriteString(formatBound(t.Bound))
	} else {
		b.WriteString(strconv.FormatFloat(t.Value, 'g', -1, 64))
	}
	return b.String()
}

// formatBound writes a duration exactly in the largest of s, ms and us that is at most d,
// with as many decimals as it needs: 50ms, 1.5s, 0.001us.
func formatBound(d time.Duration) string {
	unit, name, digits := time.Microsecond, "us", 3
	switch {
	case d >= time.Second:
		unit, name, digits = time.Second, "s", 9
	case d >= time.Millisecond:
		unit, name, digits = time.Millisecond, "ms", 6
	}
	s := strconv.FormatInt(int64(d/unit), 10)
	if frac := int64(d % unit); frac != 0 {
		f := strconv.FormatInt(frac, 10)
		f = strings.Repeat("0", digits-len(f)) + f
		s += "." + strings.TrimRight(f, "0")
	}
	return s + name
}

// TermError is a problem with one SLO term: the term as written and what is wrong with it,
// including what would be accepted.
type TermError struct {
	Term    string
	Problem string
}

func (e *TermError) Error() string {
	return fmt.Sprintf("slo term %q: %s", e.Term, e.Problem)
}

// sloMetricsAccepted lists the metrics for an error message.
const sloMetricsAccepted = "p50, p90, p95, p99, p99.9 (request latency), ttft_pNN and tpot_pNN " +
	"(the same percentiles), rps, tps, fidelity, kld, errors"

// ParseSLO parses SLO specs: each a comma-separated list of terms METRIC OP VALUE, as given
// by one --slo flag. Terms keep the order written across specs; no specs give no terms.
//
// OP is <=, <, >=, > or =, which means "at most" for latencies, kld and errors and "at
// least" for rps, tps and fidelity; a latency, kld or errors term must be an upper bound
// and an rps, tps or fidelity term a lower one. Metrics: p50, p90, p95, p99, p99.9 (request
// latency), ttft_pNN and tpot_pNN (the same percentiles), rps, tps, fidelity (0..1, or
// 0..100%), kld (nats, 0 or more) and errors (0..1, or 0..100%). Latency values need a unit:
// us (or µs), ms or s. Metric names and units are read without regard to case, and space
// around the operator and before a unit is allowed. A metric (with its percentile) may be
// bounded once.
//
// Every bad term is reported, one *TermError each, joined with errors.Join; each names the
// term as written and what would be accepted.
func ParseSLO(specs ...string) ([]Term, error) {
	var terms []Term
	var errs []error
	seen := map[string]string{} // metric and percentile → the term that bounds it
	for _, spec := range specs {
		parts := strings.Split(spec, ",")
		for i, part := range parts {
			raw := strings.TrimSpace(part)
			if raw == "" {
				what := fmt.Sprintf("term %d of %d in %q is empty", i+1, len(parts), spec)
				if strings.TrimSpace(spec) == "" {
					what = "the SLO is empty"
				}
				errs = append(errs, &TermError{Term: raw, Problem: what +
					"; accepted: terms METRIC OP VALUE separated by single commas, such as p99<=50ms,rps>=200"})
				continue
			}
			t, err := parseTerm(raw)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			key := t.Metric.name(t.Percentile)
			if first, ok := seen[key]; ok {
				errs = append(errs, &TermError{Term: raw, Problem: fmt.Sprintf(
					"%s is bounded twice (also by %q); accepted: one term per metric", key, first)})
				continue
			}
			seen[key] = raw
			terms = append(terms, t)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return terms, nil
}

// name returns the metric as a term writes it: p99, ttft_p99.9, rps.
func (m Metric) name(percentile float64) string {
	if !isLatencyMetric(m) {
		return string(m)
	}
	p := "p" + strconv.FormatFloat(percentile, 'f', -1, 64)
	if m == MetricLatency {
		return p
	}
	return string(m) + "_" + p
}

// parseTerm parses one trimmed, non-empty term.
func parseTerm(raw string) (Term, error) {
	bad := func(format string, args ...any) (Term, error) {
		return Term{}, &TermError{Term: raw, Problem: fmt.Sprintf(format, args...)}
	}
	at := strings.IndexAny(raw, "<>=!")
	if at < 0 {
		return bad("no operator; accepted: METRIC OP VALUE with OP one of <=, <, >=, >, =, such as p99<=50ms")
	}
	name := strings.ToLower(strings.TrimSpace(raw[:at]))
	rest := raw[at:]
	opLen := len(rest) - len(strings.TrimLeft(rest, "<>=!"))
	op, value := rest[:opLen], strings.TrimSpace(rest[opLen:])

	t := Term{Raw: raw}
	if name == "" {
		return bad("no metric before %q; accepted: %s", op, sloMetricsAccepted)
	}
	var ok bool
	if t.Metric, t.Percentile, ok = parseMetric(name); !ok {
		if prefix, _, found := strings.Cut(name, "_p"); found && (prefix == "ttft" || prefix == "tpot") {
			return bad("unknown percentile %q; accepted: %s", name, percentileNames(prefix+"_p"))
		}
		switch name {
		case string(MetricTTFT), string(MetricTPOT):
			return bad("%s needs a percentile; accepted: %s", name, percentileNames(name+"_p"))
		case string(MetricLatency), "p":
			return bad("%s needs a percentile; accepted: %s", name, percentileNames("p"))
		}
		if percentileRE.MatchString(name) {
			return bad("unknown percentile %q; accepted: %s", name, percentileNames("p"))
		}
		return bad("unknown metric %q; accepted: %s", name, sloMetricsAccepted)
	}

	upper := isLatencyMetric(t.Metric) || t.Metric == MetricKLD || t.Metric == MetricErrors
	switch op {
	case "<=", "<":
		t.AtMost, t.Strict = true, op == "<"
	case ">=", ">":
		t.AtMost, t.Strict = false, op == ">"
	case "=":
		t.AtMost = upper
	default:
		return bad("unknown operator %q; accepted: <=, <, >=, >, =", op)
	}
	if value == "" {
		return bad("no value after %q; accepted: %s", op, valueAccepted(t.Metric))
	}
	if t.AtMost != upper {
		key := t.Metric.name(t.Percentile)
		why := "a latency bound must be an upper bound"
		switch t.Metric {
		case MetricKLD:
			why = "a kld bound must be an upper bound"
		case MetricErrors:
			why = "an errors bound must be an upper bound"
		case MetricRPS, MetricTPS:
			why = "a throughput bound must be a lower bound"
		case MetricFidelity:
			why = "a fidelity bound must be a lower bound"
		}
		ops := []string{">=", ">", "="}
		if upper {
			ops = []string{"<=", "<", "="}
		}
		shown := value
		if strings.ContainsFunc(shown, unicode.IsControl) {
			shown = "VALUE"
		}
		var forms []string
		for _, o := range ops {
			forms = append(forms, key+o+shown)
		}
		return bad("%s; accepted: %s", why, strings.Join(forms, ", "))
	}

	num, unit, ok := splitNumber(value)
	if !ok {
		what := "a number"
		if isLatencyMetric(t.Metric) {
			what = "a duration"
		}
		return bad("value %q is not %s; accepted: %s", value, what, valueAccepted(t.Metric))
	}
	unit = strings.ToLower(unit)
	switch t.Metric {
	case MetricLatency, MetricTTFT, MetricTPOT:
		if unit == "" {
			return bad("value %q has no unit; accepted: %s", value, valueAccepted(t.Metric))
		}
		var ns int64
		switch unit {
		case "us", "µs", "μs": // u, the micro sign, the Greek mu
			ns = 1e3
		case "ms":
			ns = 1e6
		case "s":
			ns = 1e9
		default:
			return bad("unknown unit %q in %q; accepted: %s", unit, value, valueAccepted(t.Metric))
		}
		if num.Sign() <= 0 {
			return bad("value %q must be above 0; accepted: %s", value, valueAccepted(t.Metric))
		}
		d, ok := durationOf(num, ns)
		if !ok {
			return bad("value %q is out of range; accepted: a duration from 0.001us (1ns) to %s", value,
				formatBound(math.MaxInt64))
		}
		t.Bound = d
		return t, nil
	}

	switch {
	case unit == "%" && (t.Metric == MetricFidelity || t.Metric == MetricErrors):
		num.Quo(num, big.NewRat(100, 1))
	case unit != "":
		return bad("value %q: unexpected %q; accepted: %s", value, unit, valueAccepted(t.Metric))
	}
	v, _ := num.Float64()
	if math.IsInf(v, 0) {
		return bad("value %q is out of range; accepted: %s", value, valueAccepted(t.Metric))
	}
	t.Value = v
	switch t.Metric {
	case MetricRPS, MetricTPS:
		if !(v > 0) {
			return bad("value %q must be above 0; accepted: %s", value, valueAccepted(t.Metric))
		}
	case MetricKLD:
		if v < 0 {
			return bad("value %q is below 0; accepted: %s", value, valueAccepted(t.Metric))
		}
	case MetricFidelity, MetricErrors:
		if v < 0 || v > 1 {
			return bad("value %q is outside 0..1 (0%%..100%%); accepted: %s", value, valueAccepted(t.Metric))
		}
	}
	// A strict bound at the end of the metric's range can never be met.
	if t.Strict && ((t.AtMost && v == 0) || (t.Metric == MetricFidelity && v == 1)) {
		where := "above"
		if t.AtMost {
			where = "below"
		}
		return bad("can never be met, as %s is never %s %s; accepted: %s", t.Metric, where,
			strconv.FormatFloat(v, 'g', -1, 64), valueAccepted(t.Metric))
	}
	return t, nil
}

// parseMetric reads a lowercase metric name: p99, ttft_p99.9, rps.
func parseMetric(name string) (Metric, float64, bool) {
	switch m := Metric(name); m {
	case MetricRPS, MetricTPS, MetricFidelity, MetricKLD, MetricErrors:
		return m, 0, true
	}
	m, p := MetricLatency, name
	if prefix, pct, ok := strings.Cut(name, "_"); ok {
		if prefix != string(MetricTTFT) && prefix != string(MetricTPOT) {
			return "", 0, false
		}
		m, p = Metric(prefix), pct
	}
	digits, ok := strings.CutPrefix(p, "p")
	if !ok || !slices.Contains(sloPercentiles, digits) {
		return "", 0, false
	}
	v, _ := strconv.ParseFloat(digits, 64)
	return m, v, true
}

// percentileNames lists the accepted percentiles with a prefix: p50, p90, ...
func percentileNames(prefix string) string {
	names := make([]string, len(sloPercentiles))
	for i, p := range sloPercentiles {
		names[i] = prefix + p
	}
	return strings.Join(names, ", ")
}

// valueAccepted says what a metric's value may be.
func valueAccepted(m Metric) string {
	switch m {
	case MetricRPS:
		return "requests per second above 0, such as rps>=200"
	case MetricTPS:
		return "output tokens per second above 0, such as tps>=1000"
	case MetricFidelity:
		return "a top-1 agreement from 0 to 1 or 0% to 100%, such as fidelity>=0.97 or fidelity>=97%"
	case MetricKLD:
		return "a KL divergence in nats, 0 or more, such as kld<=0.05"
	case MetricErrors:
		return "a share of requests from 0 to 1 or 0% to 100%, such as errors<=0.001 or errors<=0.1%"
	}
	return "a duration above 0 with a unit us, ms or s, such as 50ms"
}

// percentileRE matches what looks like a latency percentile, such as p101.
var percentileRE = regexp.MustCompile(`^p[0-9][0-9.]*$`)

// numberRE matches a decimal number at the start of a value. The exponent is kept short
// so that reading it exactly stays cheap.
var numberRE = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?`)

// splitNumber splits a value into its number, read exactly, and what follows it, trimmed:
// a unit, a % or nothing.
func splitNumber(value string) (*big.Rat, string, bool) {
	loc := numberRE.FindStringIndex(value)
	if loc == nil {
		return nil, "", false
	}
	num, ok := new(big.Rat).SetString(value[:loc[1]])
	if !ok {
		return nil, "", false
	}
	return num, strings.TrimSpace(value[loc[1]:]), true
}

// durationOf returns num units of ns nanoseconds, rounded to the nearest nanosecond, and
// whether it is above 0 and fits a time.Duration.
func durationOf(num *big.Rat, ns int64) (time.Duration, bool) {
	if num.Sign() <= 0 {
		return 0, false
	}
	v := new(big.Rat).Mul(num, big.NewRat(ns, 1))
	// Round half up: floor(v + 1/2).
	v.Add(v, big.NewRat(1, 2))
	i := new(big.Int).Quo(v.Num(), v.Denom())
	if !i.IsInt64() || i.Int64() < 1 {
		return 0, false
	}
	return time.Duration(i.Int64()), true
}
