package loadgen

import (
	"runtime"
	"sync"
)

// extraP counts the Ps that running probes' precise sleepers may hold. GOMAXPROCS is
// process-wide, so the bump is kept here, once for the process, rather than by each probe.
var extraP struct {
	mu   sync.Mutex
	n    int
	base int
}

// holdExtraPs raises GOMAXPROCS by n while a precise pacer runs (its sleepers may hold
// their Ps while they sleep, see PreciseClock), so that the target keeps every P it had,
// and returns the function that undoes it.
func holdExtraPs(n int) (release func()) {
	extraP.mu.Lock()
	if extraP.n == 0 {
		extraP.base = runtime.GOMAXPROCS(0)
	}
	extraP.n += n
	runtime.GOMAXPROCS(extraP.base + extraP.n)
	extraP.mu.Unlock()
	return func() {
		extraP.mu.Lock()
		extraP.n -= n
		runtime.GOMAXPROCS(extraP.base + extraP.n)
		extraP.mu.Unlock()
	}
}
