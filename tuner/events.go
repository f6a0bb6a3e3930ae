package tuner

import (
	"sync"
	"time"
)

// An Event is something a search publishes: RunStarted, TrialStarted, ProbeLive,
// ProbeDone, TrialDone, BestChanged or RunDone.
type Event interface{ event() }

// RunStarted opens a search.
type RunStarted struct {
	Workload string
	Terms    []Term
	Strategy string
	Configs  int
	Budget   time.Duration
}

// TrialStarted begins the measurement of one config (Index of Total).
type TrialStarted struct {
	Index, Total int
	Config       Config
	// Predicted is the capacity the smart strategy expects (0 for grid).
	Predicted float64
}

// ProbeDone reports one probe of the trial in progress.
type ProbeDone struct {
	Config Config
	Probe  ProbeOutcome
}

// TrialDone reports a finished (or pruned) trial.
type TrialDone struct{ Trial Trial }

// BestChanged reports a new cheapest passing config.
type BestChanged struct{ Trial Trial }

// RunDone closes a search.
type RunDone struct{ Result Result }

func (RunStarted) event()   {}
func (TrialStarted) event() {}
func (ProbeLive) event()    {}
func (ProbeDone) event()    {}
func (TrialDone) event()    {}
func (BestChanged) event()  {}
func (RunDone) event()      {}

// A Bus hands every event of a search to each subscriber, in order. Subscribers read
// their channel until it is closed; Publish blocks until each has room (a subscriber that
// must not slow the search, such as a display, drains into its own buffer).
type Bus struct {
	mu     sync.Mutex
	subs   []chan Event
	closed bool
}

// Subscribe returns a channel that receives every event published from now on, closed
// by Close.
func (b *Bus) Subscribe(buffer int) <-chan Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan Event, buffer)
	if b.closed {
		close(ch)
		return ch
	}
	b.subs = append(b.subs, ch)
	return ch
}

// Publish sends e to every subscriber.
func (b *Bus) Publish(e Event) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.subs {
		ch <- e
	}
}

// TryPublish sends e to every subscriber that has room, dropping it for the others, and
// never blocks: for snapshots (ProbeLive) that the next one replaces, published from
// where waiting would delay the search.
func (b *Bus) TryPublish(e Event) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Close closes every subscriber's channel.
func (b *Bus) Close() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for _, ch := range b.subs {
		close(ch)
	}
}
