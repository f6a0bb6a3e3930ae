package kernels

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// LowerThreadPriority locks the calling goroutine to its OS thread and lowers that
// thread's priority, so that other threads of the process (an in-process load generator's
// pacing threads) run first whenever every CPU is busy: nice 1..19 raises its niceness,
// NiceIdle puts it in the idle scheduling class (SCHED_IDLE). The goroutine stays locked;
// when it exits, its thread exits with it and the priority goes too. Lowering priority
// needs no privilege. Elsewhere than Linux it does nothing.
func LowerThreadPriority(nice int) error {
	if nice <= 0 {
		return nil
	}
	if nice > NiceIdle {
		return fmt.Errorf("niceness %d: accepted: 1 to 19, or %d (idle class)", nice, NiceIdle)
	}
	runtime.LockOSThread()
	if nice == NiceIdle {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			return fmt.Errorf("set the idle scheduling class: %w", err)
		}
		return nil
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
		return fmt.Errorf("set thread niceness %d: %w", nice, err)
	}
	return nil
}
