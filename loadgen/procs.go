package loadgen

import (
	"runtime"
	"sync"
)

// extraP counts the probes pacing with a held P. GOMAXPROCS is process-wide, so the bump
// is counted here, once for the process, rather than by each probe.
var extraP struct {
	mu   sync.Mutex
	n    int
	prev int
}

// holdExtraP raises GOMAXPROCS by one while a precise pacer runs (its sleeper may hold a
// P while it sleeps, see PreciseClock) and returns the function that undoes it.
func holdExtraP() (release func()) {
	extraP.mu.Lock()
	if extraP.n == 0 {
		extraP.prev = runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(extraP.prev + 1)
	}
	extraP.n++
	extraP.mu.Unlock()
	return func() {
		extraP.mu.Lock()
		extraP.n--
		if extraP.n == 0 {
			runtime.GOMAXPROCS(extraP.prev)
		}
		extraP.mu.Unlock()
	}
}
