package tuner_test

import (
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
