package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// ArrivalKind names an arrival process.
type ArrivalKind int

// The arrival processes.
const (
	// KindPoisson sends at exponentially distributed gaps with mean 1/rate.
	KindPoisson ArrivalKind = iota + 1
	// KindConstant sends request i at i/rate.
	KindConstant
	// KindClosed keeps a fixed number of requests in flight: each sends the next on
	// completion. It is closed-loop and has no schedule to fall behind.
	KindClosed
	// KindTrace sends at the offsets of a file.
	KindTrace
)

var arrivalNames = map[ArrivalKind]string{
	KindPoisson: "poisson", KindConstant: "constant", KindClosed: "closed", KindTrace: "trace",
}

func (k ArrivalKind) String() string {
	if s, ok := arrivalNames[k]; ok {
		return s
	}
	return fmt.Sprintf("ArrivalKind(%d)", int(k))
}

// MaxRate is the highest arrival rate accepted, in requests per second.
const MaxRate = 10_000_000

// MaxConcurrency is the highest closed-loop concurrency accepted.
const MaxConcurrency = 1_000_000

// An Arrival is a seeded arrival process. Build one with Poisson, Constant, Closed,
// Trace, ReadTrace or ParseArrival; the zero value is invalid.
type Arrival struct {
	Kind ArrivalKind
	// Rate is the mean arrival rate in requests per second (poisson, constant).
	Rate float64
	// Concurrency is the number of requests kept in flight (closed).
	Concurrency int
	// Offsets are the send times from the probe start, non-decreasing (trace).
	Offsets []time.Duration
	// Source names where the offsets came from (trace).
	Source string
}

// Poisson returns a Poisson process of the given rate in requests per second.
func Poisson(rate float64) (Arrival, error) {
	a := Arrival{Kind: KindPoisson, Rate: rate}
	return a, a.Validate()
}

// Constant returns evenly spaced sends at the given rate in requests per second.
func Constant(rate float64) (Arrival, error) {
	a := Arrival{Kind: KindConstant, Rate: rate}
	return a, a.Validate()
}

// Closed returns a closed loop of the given concurrency.
func Closed(concurrency int) (Arrival, error) {
	a := Arrival{Kind: KindClosed, Concurrency: concurrency}
	return a, a.Validate()
}

// Trace returns sends at the given offsets from the probe start.
func Trace(offsets []time.Duration, source string) (Arrival, error) {
	a := Arrival{Kind: KindTrace, Offsets: offsets, Source: source}
	return a, a.Validate()
}

// Validate reports whether the arrival can drive a probe.
func (a Arrival) Validate() error {
	switch a.Kind {
	case KindPoisson, KindConstant:
		if !(a.Rate > 0) || a.Rate > MaxRate || math.IsInf(a.Rate, 0) {
			return fmt.Errorf("%s rate %v: want a number of requests per second in (0, %d]", a.Kind, a.Rate, MaxRate)
		}
	case KindClosed:
		if a.Concurrency < 1 || a.Concurrency > MaxConcurrency {
			return fmt.Errorf("closed concurrency %d: want an integer in [1, %d]", a.Concurrency, MaxConcurrency)
		}
	case KindTrace:
		if len(a.Offsets) == 0 {
			return fmt.Errorf("trace %q: no offsets", a.Source)
		}
		for i, d := range a.Offsets {
			if d < 0 || (i > 0 && d < a.Offsets[i-1]) {
				return fmt.Errorf("trace %q: offset %d (%v) is negative or earlier than the one before", a.Source, i+1, d)
			}
		}
	default:
		return fmt.Errorf("arrival kind %d: want poisson, constant, closed or trace", int(a.Kind))
	}
	return nil
}

// String returns the arrival in the syntax ParseArrival reads.
func (a Arrival) String() string {
	switch a.Kind {
	case KindPoisson, KindConstant:
		return fmt.Sprintf("%s(%s)", a.Kind, strconv.FormatFloat(a.Rate, 'g', -1, 64))
	case KindClosed:
		return fmt.Sprintf("closed(%d)", a.Concurrency)
	case KindTrace:
		return fmt.Sprintf("trace(%s)", a.Source)
	}
	return a.Kind.String()
}

// ParseArrival reads "poisson(RATE)", "constant(RATE)", "closed(N)" or "trace(FILE)".
// RATE is in requests per second; FILE is read with ReadTrace.
func ParseArrival(spec string) (Arrival, error) {
	const accepted = "poisson(RATE), constant(RATE), closed(N) or trace(FILE)"
	s := strings.TrimSpace(spec)
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return Arrival{}, fmt.Errorf("arrival %q: want %s", spec, accepted)
	}
	name, arg := strings.TrimSpace(s[:open]), strings.TrimSpace(s[open+1:len(s)-1])
	switch name {
	case "poisson", "constant":
		rate, err := strconv.ParseFloat(strings.TrimSuffix(arg, "/s"), 64)
		if err != nil {
			return Arrival{}, fmt.Errorf("arrival %q: rate %q is not a number of requests per second", spec, arg)
		}
		if name == "poisson" {
			return Poisson(rate)
		}
		return Constant(rate)
	case "closed":
		n, err := strconv.Atoi(arg)
		if err != nil {
			return Arrival{}, fmt.Errorf("arrival %q: concurrency %q is not an integer", spec, arg)
		}
		return Closed(n)
	case "trace":
		if arg == "" {
			return Arrival{}, fmt.Errorf("arrival %q: want trace(FILE)", spec)
		}
		f, err := os.Open(arg)
		if err != nil {
			return Arrival{}, fmt.Errorf("arrival %q: %w", spec, err)
		}
		defer f.Close()
		return ReadTrace(f, arg)
	}
	return Arrival{}, fmt.Errorf("arrival %q: unknown process %q; want %s", spec, name, accepted)
}

// ReadTrace reads a trace: one send offset from the probe start per line, in seconds
// ("0.25") or with a unit ("250ms", "1.5s", "40us"), non-decreasing. Blank lines and
// lines starting with # are skipped. A bad line is an error naming its number.
func ReadTrace(r io.Reader, source string) (Arrival, error) {
	var offsets []time.Duration
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		d, err := parseOffset(text)
		if err != nil {
			return Arrival{}, fmt.Errorf("trace %s:%d: %q: %w", source, line, text, err)
		}
		if n := len(offsets); n > 0 && d < offsets[n-1] {
			return Arrival{}, fmt.Errorf("trace %s:%d: offset %v is earlier than the line before (%v); offsets must not decrease", source, line, d, offsets[n-1])
		}
		offsets = append(offsets, d)
	}
	if err := sc.Err(); err != nil {
		return Arrival{}, fmt.Errorf("trace %s: line %d: %w", source, line+1, err)
	}
	if len(offsets) == 0 {
		return Arrival{}, fmt.Errorf("trace %s: no offsets (want one per line, in seconds or with a unit)", source)
	}
	return Trace(offsets, source)
}

// maxOffset bounds trace offsets so that they add to a time without overflow.
const maxOffset = 100 * 24 * time.Hour

func parseOffset(s string) (time.Duration, error) {
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || f < 0 || f > maxOffset.Seconds() {
			return 0, fmt.Errorf("want seconds in [0, %v]", maxOffset.Seconds())
		}
		d = time.Duration(math.Round(f * 1e9))
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("want seconds (0.25) or a duration with a unit (250ms)")
		}
	}
	if d < 0 || d > maxOffset {
		return 0, fmt.Errorf("offset %v: want one in [0, %v]", d, maxOffset)
	}
	return d, nil
}

// A schedule yields the intended send offsets of one probe from its start. It is a pure
// function of the arrival and the seed: offset i is computed from the start, never from
// the time of the previous send.
type schedule struct {
	a   Arrival
	rng *rand.Rand
	i   int64
	sum float64 // seconds, Poisson
}

func newSchedule(a Arrival, seed uint64) *schedule {
	return &schedule{a: a, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// next returns the offset of the next send, or false when a trace is exhausted.
func (s *schedule) next() (time.Duration, bool) {
	i := s.i
	s.i++
	switch s.a.Kind {
	case KindConstant:
		return time.Duration(float64(i) * 1e9 / s.a.Rate), true
	case KindPoisson:
		s.sum += s.rng.ExpFloat64() / s.a.Rate
		return time.Duration(s.sum * 1e9), true
	case KindTrace:
		if i >= int64(len(s.a.Offsets)) {
			return 0, false
		}
		return s.a.Offsets[i], true
	}
	return 0, false
}
