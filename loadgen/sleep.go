package loadgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// DistKind names a service-time distribution.
type DistKind int

// The service-time distributions of the Sleep target.
const (
	// Deterministic service: every request takes exactly the mean (M/D/c).
	Deterministic DistKind = iota + 1
	// Exponential service with the given mean (M/M/c).
	Exponential
)

// A Dist is a service-time distribution.
type Dist struct {
	Kind DistKind
	Mean time.Duration
}

// MaxService bounds the mean service time of the Sleep target.
const MaxService = time.Minute

// ParseDist reads "det(DURATION)" or "exp(DURATION)", for example "det(2ms)".
func ParseDist(spec string) (Dist, error) {
	const accepted = "det(DURATION) or exp(DURATION), for example det(2ms)"
	s := strings.TrimSpace(spec)
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return Dist{}, fmt.Errorf("service %q: want %s", spec, accepted)
	}
	var d Dist
	switch strings.TrimSpace(s[:open]) {
	case "det", "deterministic":
		d.Kind = Deterministic
	case "exp", "exponential":
		d.Kind = Exponential
	default:
		return Dist{}, fmt.Errorf("service %q: unknown distribution; want %s", spec, accepted)
	}
	mean, err := time.ParseDuration(strings.TrimSpace(s[open+1 : len(s)-1]))
	if err != nil {
		return Dist{}, fmt.Errorf("service %q: mean is not a duration; want %s", spec, accepted)
	}
	d.Mean = mean
	return d, d.Validate()
}

// Validate reports whether d can be drawn from.
func (d Dist) Validate() error {
	if d.Kind != Deterministic && d.Kind != Exponential {
		return fmt.Errorf("service distribution %d: want det or exp", int(d.Kind))
	}
	if d.Mean <= 0 || d.Mean > MaxService {
		return fmt.Errorf("service mean %v: want a duration in (0, %v]", d.Mean, MaxService)
	}
	return nil
}

func (d Dist) String() string {
	if d.Kind == Exponential {
		return fmt.Sprintf("exp(%v)", d.Mean)
	}
	return fmt.Sprintf("det(%v)", d.Mean)
}

// Sleep is a target that holds each request for a service time drawn from a
// distribution, with a fixed number of parallel servers and a FIFO queue in front of
// them: under Poisson arrivals an M/D/c or M/M/c queue, whose mean wait theory gives
// (MD1Wait, MMcWait).
type Sleep struct {
	svc   Dist
	slots chan Sleeper // one per server; holding one is being served
	clock Clock

	mu  sync.Mutex
	rng *rand.Rand
}

// MaxServers bounds the servers of the Sleep target.
const MaxServers = 4096

// NewSleep returns a Sleep target. A nil clock means DefaultClock().
func NewSleep(svc Dist, servers int, seed uint64, clock Clock) (*Sleep, error) {
	if err := svc.Validate(); err != nil {
		return nil, err
	}
	if servers < 1 || servers > MaxServers {
		return nil, fmt.Errorf("servers %d: want an integer in [1, %d]", servers, MaxServers)
	}
	if clock == nil {
		clock = DefaultClock()
	}
	s := &Sleep{svc: svc, slots: make(chan Sleeper, servers), clock: clock,
		rng: rand.New(rand.NewPCG(seed, seed+1))}
	for range servers {
		s.slots <- clock.Sleeper(false)
	}
	return s, nil
}

// Do waits for a free server (in arrival order), then holds the request for one service
// time.
func (s *Sleep) Do(ctx context.Context, _ *Request) (*Response, error) {
	arrived := s.clock.Now()
	var sl Sleeper
	select {
	case sl = <-s.slots:
	case <-ctx.Done():
		return nil, fmt.Errorf("sleep target: waiting for a server: %w", ctx.Err())
	}
	defer func() { s.slots <- sl }()
	start := s.clock.Now()
	if err := sl.SleepUntil(ctx, start.Add(s.draw())); err != nil {
		return nil, fmt.Errorf("sleep target: serving: %w", err)
	}
	return &Response{Class: -1, QueueWait: start.Sub(arrived), Service: s.clock.Now().Sub(start), BatchSize: 1}, nil
}

func (s *Sleep) draw() time.Duration {
	if s.svc.Kind == Deterministic {
		return s.svc.Mean
	}
	s.mu.Lock()
	e := s.rng.ExpFloat64()
	s.mu.Unlock()
	return time.Duration(e * float64(s.svc.Mean))
}

// MD1Wait returns the mean time in queue of an M/D/1 queue at utilisation rho with
// service time service: rho*service / (2(1-rho)). rho must be in [0, 1).
func MD1Wait(rho float64, service time.Duration) time.Duration {
	return time.Duration(rho * float64(service) / (2 * (1 - rho)))
}

// ErlangC returns the probability that an arrival waits in an M/M/c queue with offered
// load a = lambda*service (in Erlangs), a < c.
func ErlangC(c int, a float64) float64 {
	// Erlang B by its stable recurrence, then C = B / (1 - (a/c)(1 - B)).
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	rho := a / float64(c)
	return b / (1 - rho*(1-b))
}

// MMcWait returns the mean time in queue of an M/M/c queue with arrival rate lambda (per
// second) and mean service time service: ErlangC(c, a) / (c*mu - lambda).
func MMcWait(c int, lambda float64, service time.Duration) time.Duration {
	mu := 1 / service.Seconds()
	a := lambda / mu
	if a >= float64(c) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ErlangC(c, a) / (float64(c)*mu - lambda) * 1e9)
}
