package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// lookahead is how many workers sleep for upcoming sends at once.
const lookahead = 3

// A pacer sends on the schedule with self-pacing workers. A worker claims the next send,
// sleeps until its intended time on its own sleeper and then serves it itself, on the
// thread the wake-up landed on: a fast target costs one wake-up per send and nothing is
// handed between threads. lookahead workers sleep for upcoming sends at any time; a
// worker that wakes to find no one sleeping behind it (the others are busy in a slow
// target) first wakes an idle worker, or starts one, to cover the next send, so a slow
// target never delays the schedule. Sends past the in-flight bound are dropped.
type pacer struct {
	p   *probe
	ctx context.Context

	mu    sync.Mutex
	sched *schedule
	seq   int64
	end   time.Duration // offset where the window ends
	done  bool          // no send is left to claim

	finished chan struct{} // closed when done is set
	quit     chan struct{} // closed when idle workers should exit
	idle     chan struct{} // an idle worker receives to start claiming again
	sleeping atomic.Int32  // workers holding a claimed send, not yet woken
	workers  atomic.Int64  // workers started, for their shard
}

// pace sends on the schedule until the window ends, a trace runs out or ctx ends.
func (p *probe) pace(ctx context.Context) {
	pc := &pacer{
		p: p, ctx: ctx,
		sched:    newSchedule(p.o.Arrival, p.o.Seed),
		end:      p.o.Warmup + p.o.Duration,
		finished: make(chan struct{}),
		quit:     make(chan struct{}),
		idle:     make(chan struct{}),
	}
	defer close(pc.quit)
	for range lookahead {
		pc.start()
	}
	select {
	case <-pc.finished:
		// The window lasts its full duration even when its last send came early.
		_ = p.o.Clock.Sleeper(false).SleepUntil(ctx, p.winEnd)
	case <-ctx.Done():
	}
}

func (pc *pacer) start() {
	pc.p.wg.Add(1)
	go pc.worker(int(pc.workers.Add(1)))
}

// claim takes the next send; false when none is left.
func (pc *pacer) claim() (job, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.done || pc.ctx.Err() != nil {
		return job{}, false
	}
	off, ok := pc.sched.next()
	if !ok || off >= pc.end {
		pc.done = true
		if !ok {
			pc.p.setStop(StopTraceEnd, pc.p.o.Clock.Now())
		}
		close(pc.finished)
		return job{}, false
	}
	seq := pc.seq
	pc.seq++
	pc.sleeping.Add(1)
	return job{seq: seq, intended: pc.p.start.Add(off), inWindow: off >= pc.p.o.Warmup}, true
}

// cover makes sure some worker will claim the next send: an idle one, or a new one.
func (pc *pacer) cover() {
	select {
	case pc.idle <- struct{}{}:
	default:
		pc.start()
	}
}

func (pc *pacer) worker(id int) {
	p := pc.p
	defer p.wg.Done()
	sleeper := p.o.Clock.Sleeper(true)
	s := p.rec.shard(id)
	for {
		j, ok := pc.claim()
		if !ok {
			return
		}
		err := sleeper.SleepUntil(pc.ctx, j.intended)
		left := pc.sleeping.Add(-1)
		if err != nil {
			return
		}
		if j.inWindow {
			p.rec.sent.Add(1)
		}
		if p.inFlight.Load() >= int64(p.o.MaxInFlight) {
			if j.inWindow {
				p.rec.drops.Add(1)
			}
			continue
		}
		if left == 0 {
			pc.cover()
		}
		p.notePeak(p.inFlight.Add(1))
		p.serve(s, j)
		p.inFlight.Add(-1)
		// Claim again while fewer than lookahead workers sleep; otherwise wait to be asked.
		if pc.sleeping.Load() >= lookahead {
			select {
			case <-pc.idle:
			case <-pc.quit:
				return
			}
		}
	}
}
