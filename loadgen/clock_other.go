//go:build !linux

package loadgen

import (
	"context"
	"time"
)

// preciseSleeper sleeps on the runtime's timers until a margin before the deadline and
// spins the rest; the margin is learnt from the timers' own oversleeps.
type preciseSleeper struct {
	t    timerSleeper
	over oversleeps
}

// The runtime's timers may oversleep by a millisecond or more.
func newPreciseSleeper(bool) *preciseSleeper {
	return &preciseSleeper{over: oversleeps{limit: 3 * time.Millisecond}}
}

func (s *preciseSleeper) SleepUntil(ctx context.Context, t time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := time.Now()
		gap := t.Sub(now)
		if gap <= spinBelow {
			spinUntil(t)
			return nil
		}
		wake := t.Add(-s.over.margin(gap))
		if !now.Before(wake) {
			spinUntil(t)
			return nil
		}
		capped := wake.Sub(now) > ctxPoll
		if capped {
			wake = now.Add(ctxPoll)
		}
		if err := s.t.SleepUntil(ctx, wake); err != nil {
			return err
		}
		s.over.add(time.Since(wake))
		if !capped {
			spinUntil(t)
			return nil
		}
	}
}
