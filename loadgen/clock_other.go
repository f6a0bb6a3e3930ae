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
	return marginSleep(ctx, t, s)
}

func (s *preciseSleeper) pick(time.Duration) *oversleeps { return &s.over }

func (s *preciseSleeper) sleepTo(ctx context.Context, wake time.Time, _ *oversleeps) error {
	return s.t.SleepUntil(ctx, wake)
}
