package tui

import (
	"testing"
	"testing/synctest"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/infertune/infertune/tuner"
)

// TestFeedCoalesces: a search that publishes a snapshot every millisecond for two seconds
// reaches the program in at most one batch per FeedEvery, with every other event in order
// and only the newest snapshot of each probe.
func TestFeedCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan tuner.Event)
		var msgs []tea.Msg
		done := make(chan struct{})
		go func() {
			defer close(done)
			Feed(events, func(m tea.Msg) { msgs = append(msgs, m) })
		}()
		const n = 2000
		events <- tuner.RunStarted{Workload: "classify"}
		for i := range n {
			events <- tuner.ProbeLive{Rate: float64(i)}
			if i%500 == 499 {
				events <- tuner.ProbeDone{Probe: tuner.ProbeOutcome{Rate: float64(i)}}
			}
			time.Sleep(time.Millisecond)
		}
		events <- tuner.ProbeLive{Rate: n}
		close(events)
		<-done

		if len(msgs) == 0 {
			t.Fatal("no messages")
		}
		if _, ok := msgs[len(msgs)-1].(RunEndedMsg); !ok {
			t.Fatalf("last message %T, want RunEndedMsg", msgs[len(msgs)-1])
		}
		batches := len(msgs) - 1
		if most := int(n*time.Millisecond/FeedEvery) + 2; batches > most {
			t.Errorf("%d batches in %v: more than one per %v", batches, n*time.Millisecond, FeedEvery)
		}
		var all []tuner.Event
		for _, m := range msgs[:batches] {
			b, ok := m.(EventsMsg)
			if !ok || len(b.Events) == 0 {
				t.Fatalf("message %T with %d events", m, len(b.Events))
			}
			lives := 0
			for _, e := range b.Events {
				if _, ok := e.(tuner.ProbeLive); ok {
					lives++
				}
			}
			if lives > 1 {
				t.Errorf("a batch holds %d snapshots", lives)
			}
			all = append(all, b.Events...)
		}
		if _, ok := all[0].(tuner.RunStarted); !ok {
			t.Errorf("first event %T", all[0])
		}
		dones, last := 0, -1.0
		for _, e := range all {
			switch e := e.(type) {
			case tuner.ProbeDone:
				dones++
			case tuner.ProbeLive:
				if e.Rate <= last {
					t.Errorf("snapshot %v after %v", e.Rate, last)
				}
				last = e.Rate
			}
		}
		if dones != n/500 || last != n {
			t.Errorf("%d probes done (want %d), last snapshot %v (want %d)", dones, n/500, last, n)
		}
		t.Logf("%d events in %d batches", n+n/500+2, batches)
	})
}
