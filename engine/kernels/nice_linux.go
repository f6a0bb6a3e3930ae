package kernels

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// LowerThreadPriority locks the calling goroutine to its OS thread and raises that
// thread's niceness to nice (1..19), so that other threads of the process (an in-process
// load generator's pacing threads) run first whenever every CPU is busy. The goroutine
// stays locked; when it exits, its thread exits with it and the niceness goes too.
// Raising niceness needs no privilege. Elsewhere than Linux it does nothing.
func LowerThreadPriority(nice int) error {
	if nice <= 0 {
		return nil
	}
	if nice > 19 {
		return fmt.Errorf("niceness %d: accepted: 1 to 19", nice)
	}
	runtime.LockOSThread()
	if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
		return fmt.Errorf("set thread niceness %d: %w", nice, err)
	}
	return nil
}
