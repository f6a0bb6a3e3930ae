package kernels

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestLowerThreadPriority runs each setting on a goroutine of its own (the goroutine stays
// locked to its thread, and the thread exits with it) and reads the thread's scheduling
// back.
func TestLowerThreadPriority(t *testing.T) {
	for _, c := range []struct {
		nice       int
		wantPolicy uint32
		wantNice   int32
	}{
		{0, unix.SCHED_NORMAL, 0},
		{10, unix.SCHED_NORMAL, 10},
		{NiceIdle, unix.SCHED_IDLE, 0},
	} {
		type got struct {
			attr *unix.SchedAttr
			err  error
		}
		ch := make(chan got)
		go func() {
			if err := LowerThreadPriority(c.nice); err != nil {
				ch <- got{err: err}
				return
			}
			attr, err := unix.SchedGetAttr(0, 0)
			ch <- got{attr, err}
		}()
		g := <-ch
		if g.err != nil {
			t.Fatalf("nice %d: %v", c.nice, g.err)
		}
		if g.attr.Policy != c.wantPolicy || g.attr.Nice != c.wantNice {
			t.Errorf("nice %d: policy %d nice %d, want policy %d nice %d", c.nice, g.attr.Policy, g.attr.Nice, c.wantPolicy, c.wantNice)
		}
	}
	if err := LowerThreadPriority(NiceIdle + 1); err == nil {
		t.Errorf("nice %d accepted", NiceIdle+1)
	}
}
