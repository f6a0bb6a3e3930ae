package loadgen

import (
	"context"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// preciseSleeper sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) at 1 ns timer
// slack, then spins the last stretch. time.Time's monotonic reading and CLOCK_MONOTONIC
// are the same clock; base pairs one reading of each.
type preciseSleeper struct {
	holdP    bool
	baseTime time.Time
	baseMono int64
	// over learns the oversleeps of short (raw, P-holding) and long sleeps apart: they
	// differ, as a long sleep lets the CPU idle more deeply.
	short, long oversleeps
}

func newPreciseSleeper(holdP bool) *preciseSleeper {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return &preciseSleeper{holdP: holdP, baseTime: time.Now(), baseMono: ts.Nano()}
}

func (s *preciseSleeper) SleepUntil(ctx context.Context, t time.Time) error {
	return marginSleep(ctx, t, s)
}

// pick learns short (P-holding) and long sleeps apart.
func (s *preciseSleeper) pick(gap time.Duration) *oversleeps {
	if gap < holdPBelow {
		return &s.short
	}
	return &s.long
}

func (s *preciseSleeper) sleepTo(_ context.Context, wake time.Time, over *oversleeps) error {
	s.sleep(wake, over == &s.short)
	return nil
}

// sleep blocks the thread until wake. Short sleeps of a holdP sleeper use a raw system
// call, which keeps this goroutine's P; the others let the runtime hand the P on.
func (s *preciseSleeper) sleep(wake time.Time, short bool) {
	ts := unix.NsecToTimespec(s.baseMono + int64(wake.Sub(s.baseTime)))
	// Timer slack is per thread, and this goroutine may have moved since the last sleep.
	// A signal (the runtime's preemption signals, a profiler's SIGPROF) ends the sleep
	// early with EINTR; the deadline is absolute, so the sleep is simply resumed rather
	// than the rest of it spun.
	if s.holdP && short {
		unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_TIMERSLACK, 1, 0, 0, 0, 0)
		for {
			_, _, errno := unix.RawSyscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME,
				uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
			if errno != unix.EINTR {
				return
			}
		}
	}
	runtime.LockOSThread()
	unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_TIMERSLACK, 1, 0, 0, 0, 0)
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil) == unix.EINTR {
	}
	runtime.UnlockOSThread()
}
