package loadgen

import (
	"context"
	"slices"
	"time"
)

// A Clock tells the time and waits for a deadline. The probe's workers pace sends with it
// and the Sleep target holds requests with one.
type Clock interface {
	Now() time.Time
	// Sleeper returns a waiter for one goroutine at a time; holdP allows a waiter to
	// keep its scheduler slot while it sleeps briefly (see PreciseClock).
	Sleeper(holdP bool) Sleeper
}

// A Sleeper waits until deadlines. It is used by one goroutine at a time.
type Sleeper interface {
	// SleepUntil returns at t or soon after, or early with ctx.Err() once ctx is done.
	SleepUntil(ctx context.Context, t time.Time) error
}

// TimerClock waits on the runtime's timers. It is the clock of tests under
// testing/synctest (where time is virtual and exact); on a real machine the runtime's
// timers may wake a millisecond late, which PreciseClock avoids.
type TimerClock struct{}

// Now returns time.Now().
func (TimerClock) Now() time.Time { return time.Now() }

// Sleeper returns a timer-based sleeper.
func (TimerClock) Sleeper(bool) Sleeper { return &timerSleeper{} }

type timerSleeper struct{ t *time.Timer }

func (s *timerSleeper) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	if s.t == nil {
		s.t = time.NewTimer(d)
	} else {
		s.t.Reset(d)
	}
	select {
	case <-s.t.C:
		return nil
	case <-ctx.Done():
		s.t.Stop()
		return ctx.Err()
	}
}

// PreciseClock wakes within tens of microseconds of a deadline at a small CPU cost.
//
// A sleeper asks the kernel for a wake-up slightly before the deadline (by an early
// margin learnt from its own recent oversleeps) and spins the rest. Where the operating
// system allows (Linux), it sleeps with clock_nanosleep on an absolute deadline with the
// thread's timer slack set to 1 ns; the runtime's timers are not used because they may
// round up to a millisecond. A sleeper made with holdP keeps its scheduler slot during
// sleeps shorter than a millisecond, which saves the runtime's hand-off work on every
// wake-up (about half the CPU cost of a wake here); a probe raises GOMAXPROCS by the
// number of its sleeping workers while it paces, so that the held slots are not taken
// from the target.
type PreciseClock struct{}

// Now returns time.Now().
func (PreciseClock) Now() time.Time { return time.Now() }

// Sleeper returns a precise sleeper.
func (PreciseClock) Sleeper(holdP bool) Sleeper { return newPreciseSleeper(holdP) }

// DefaultClock returns the clock probes use unless told otherwise.
func DefaultClock() Clock { return PreciseClock{} }

// Margins learnt from oversleeps are kept within these bounds.
const (
	maxMargin   = 300 * time.Microsecond
	ctxPoll     = 50 * time.Millisecond // longest single sleep, so cancellation is seen
	holdPBelow  = time.Millisecond      // sleeps shorter than this may hold the P
	longGap     = 2 * time.Millisecond  // gaps this long spin up to the high margin
	spinBelow   = 20 * time.Microsecond // gaps this short are spun, not slept
	oversleepN  = 128                   // oversleeps remembered per kind of sleep
	recomputeAt = 32                    // margins are recomputed every recomputeAt wakes
)

// oversleeps remembers how late recent kernel wake-ups of one kind were, and derives
// the margins by which to ask for a wake-up early.
type oversleeps struct {
	limit      time.Duration // largest margin; maxMargin when zero
	ring       [oversleepN]time.Duration
	n, next    int
	low, high  time.Duration // about the 10th and the 99th percentile
	sinceCalc  int
	scratchBuf [oversleepN]time.Duration
}

func (o *oversleeps) add(d time.Duration) {
	limit := o.limit
	if limit == 0 {
		limit = maxMargin
	}
	d = min(max(d, 0), limit)
	o.ring[o.next] = d
	o.next = (o.next + 1) % oversleepN
	o.n = min(o.n+1, oversleepN)
	o.sinceCalc++
	if o.sinceCalc >= recomputeAt || o.n < recomputeAt {
		o.sinceCalc = 0
		s := o.scratchBuf[:o.n]
		copy(s, o.ring[:o.n])
		slices.Sort(s)
		o.low = s[o.n/10]
		o.high = s[(o.n*99)/100]
	}
}

// margin returns how long before a deadline gap away to ask for the wake-up. For short
// gaps (high rates) it is about the 10th percentile of oversleeps: a spin after every
// wake-up would cost more CPU than the wake-up, and the oversleep alone stays well under
// the late threshold. For long gaps it is about the 99th percentile: the spin is short
// beside the gap, and nearly every send leaves on time.
func (o *oversleeps) margin(gap time.Duration) time.Duration {
	if gap >= longGap {
		return o.high
	}
	return o.low
}

// platformSleeper is what a precise sleeper supplies to marginSleep: the oversleeps that
// apply to a gap, and a wake-up at a deadline. (An interface rather than two closures:
// SleepUntil runs once per send and must not allocate.)
type platformSleeper interface {
	pick(gap time.Duration) *oversleeps
	sleepTo(ctx context.Context, wake time.Time, over *oversleeps) error
}

// marginSleep is the loop of every precise sleeper. Gaps under spinBelow are spun;
// otherwise it asks s.sleepTo for a wake-up a margin before t (the margin learnt by the
// oversleeps s.pick returns for the gap), learns how late that wake-up was, and spins the
// rest. Sleeps are cut to ctxPoll so that ctx is seen.
func marginSleep(ctx context.Context, t time.Time, s platformSleeper) error {
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
		over := s.pick(gap)
		wake := t.Add(-over.margin(gap))
		if !now.Before(wake) {
			spinUntil(t)
			return nil
		}
		capped := wake.Sub(now) > ctxPoll
		if capped {
			wake = now.Add(ctxPoll)
		}
		if err := s.sleepTo(ctx, wake, over); err != nil {
			return err
		}
		over.add(time.Since(wake))
		if !capped {
			spinUntil(t)
			return nil
		}
	}
}

// spinUntil busy-waits for t, reading only the clock.
func spinUntil(t time.Time) {
	for time.Now().Before(t) {
	}
}
