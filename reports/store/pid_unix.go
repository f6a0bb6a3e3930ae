//go:build unix

package store

import (
	"errors"
	"syscall"
)

// alive reports whether process pid exists: kill(pid, 0) fails with ESRCH only when it
// does not (EPERM means it exists but belongs to another user).
func alive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
