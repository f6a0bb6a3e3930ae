package tui

import (
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/infertune/infertune/tuner"
)

// FeedEvery is how often Feed hands the program a batch of events: ten times a second.
const FeedEvery = 100 * time.Millisecond

// EventsMsg carries the events of a search published since the previous batch, in order,
// with the probe-in-progress snapshots coalesced: only the latest ProbeLive is kept, and
// none that a ProbeDone after it made stale.
type EventsMsg struct{ Events []tuner.Event }

// RunEndedMsg follows the last EventsMsg once the search's event channel is closed.
type RunEndedMsg struct{}

// Feed reads events until the channel is closed and hands them to send in batches, at most
// one EventsMsg every FeedEvery, then a RunEndedMsg. Reading never waits
// on send, so a slow display never slows the search that publishes the events. Feed
// returns once the last message is sent.
func Feed(events <-chan tuner.Event, send func(tea.Msg)) {
	var (
		mu      sync.Mutex
		pending []tuner.Event
		closed  = make(chan struct{})
	)
	go func() {
		defer close(closed)
		for e := range events {
			mu.Lock()
			pending = coalesce(pending, e)
			mu.Unlock()
		}
	}()
	tick := time.NewTicker(FeedEvery)
	defer tick.Stop()
	flush := func() {
		mu.Lock()
		batch := pending
		pending = nil
		mu.Unlock()
		if len(batch) > 0 {
			send(EventsMsg{Events: batch})
		}
	}
	for {
		select {
		case <-tick.C:
			flush()
		case <-closed:
			flush()
			send(RunEndedMsg{})
			return
		}
	}
}

// coalesce appends e to pending, keeping at most one ProbeLive: the newest, and none once
// the probe it follows is done.
func coalesce(pending []tuner.Event, e tuner.Event) []tuner.Event {
	switch e.(type) {
	case tuner.ProbeLive, tuner.ProbeDone, tuner.TrialDone:
		out := pending[:0]
		for _, p := range pending {
			if _, live := p.(tuner.ProbeLive); !live {
				out = append(out, p)
			}
		}
		pending = out
	}
	return append(pending, e)
}
