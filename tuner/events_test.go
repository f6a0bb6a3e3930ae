package tuner_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/infertune/infertune/tuner"
)

// TestBusDeliversInOrder: every subscriber gets every event, in order, and its channel is
// closed by Close; publishing from one goroutine while subscribers read is race-free.
func TestBusDeliversInOrder(t *testing.T) {
	bus := &tuner.Bus{}
	const n = 1000
	subs := []<-chan tuner.Event{bus.Subscribe(0), bus.Subscribe(8), bus.Subscribe(n)}
	got := make([][]int, len(subs))
	var wg sync.WaitGroup
	for i, ch := range subs {
		wg.Go(func() {
			for e := range ch {
				got[i] = append(got[i], e.(tuner.TrialStarted).Index)
			}
		})
	}
	for i := range n {
		bus.Publish(tuner.TrialStarted{Index: i})
	}
	bus.Close()
	bus.Close() // idempotent
	wg.Wait()
	for s, g := range got {
		if len(g) != n {
			t.Fatalf("subscriber %d got %d events, want %d", s, len(g), n)
		}
		for i, v := range g {
			if v != i {
				t.Fatalf("subscriber %d: event %d is %d", s, i, v)
			}
		}
	}
	if _, ok := <-bus.Subscribe(1); ok {
		t.Fatal("a subscription after Close is not closed")
	}
	var nilBus *tuner.Bus
	nilBus.Publish(tuner.RunDone{}) // a search without subscribers
	nilBus.Close()
}

// TestBusTryPublishNeverBlocks: a subscriber whose buffer is full misses a TryPublish
// event instead of holding up the publisher; one with room gets it.
func TestBusTryPublishNeverBlocks(t *testing.T) {
	bus := &tuner.Bus{}
	full, free := bus.Subscribe(1), bus.Subscribe(4)
	bus.Publish(tuner.ProbeLive{Rate: 1})
	bus.TryPublish(tuner.ProbeLive{Rate: 2}) // full has no room left
	bus.Close()
	var fullGot, freeGot []float64
	for e := range full {
		fullGot = append(fullGot, e.(tuner.ProbeLive).Rate)
	}
	for e := range free {
		freeGot = append(freeGot, e.(tuner.ProbeLive).Rate)
	}
	if !slices.Equal(fullGot, []float64{1}) || !slices.Equal(freeGot, []float64{1, 2}) {
		t.Errorf("full subscriber got %v (want [1]), free one %v (want [1 2])", fullGot, freeGot)
	}
	var nilBus *tuner.Bus
	nilBus.TryPublish(tuner.RunDone{})
}
