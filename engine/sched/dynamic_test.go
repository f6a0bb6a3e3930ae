package sched_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infertune/infertune/engine/sched"
)

const ms = time.Millisecond

// send is one request of a scenario: request i carries the payload i.
type send struct {
	at      time.Duration // when Do is called, from the start of the scenario
	timeout time.Duration // context deadline, from at; 0: none; negative: already past
	cancel  time.Duration // cancel the context this long after at; 0: never
}

// ran is one batch that run saw: when it started, from the start of the scenario, and its
// payloads in order.
type ran struct {
	at   time.Duration
	reqs []int
}

func (r ran) String() string { return fmt.Sprintf("%v:%v", r.at, r.reqs) }

// outcome is what one Do returned, and when.
type outcome struct {
	resp     int
	stats    sched.Stats
	err      error
	returned time.Duration
}

type scenario struct {
	cfg     sched.DynamicConfig
	service time.Duration // how long run takes per batch
	sends   []send        // ordered by at
}

// recorder is a run function that records every batch, takes service per batch, and answers
// each request with twice its payload.
type recorder struct {
	start   time.Time
	service time.Duration

	mu      sync.Mutex
	batches []ran
}

func (r *recorder) run(batch []int) ([]int, error) {
	r.mu.Lock()
	r.batches = append(r.batches, ran{at: time.Since(r.start), reqs: slices.Clone(batch)})
	r.mu.Unlock()
	time.Sleep(r.service)
	out := make([]int, len(batch))
	for i, v := range batch {
		out[i] = 2 * v
	}
	return out, nil
}

func (r *recorder) seen() []ran {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// play runs sc inside the current synctest bubble and closes the batcher. Each request is
// sent by its own goroutine; play waits for it to block (or return) before sending the
// next, so requests sent at the same instant queue in index order.
func play(t *testing.T, sc scenario) ([]ran, []outcome, sched.Metrics) {
	t.Helper()
	start := time.Now()
	rec := &recorder{start: start, service: sc.service}
	d, err := sched.NewDynamic(sc.cfg, rec.run)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]outcome, len(sc.sends))
	var wg sync.WaitGroup
	for i, s := range sc.sends {
		time.Sleep(s.at - time.Since(start))
		wg.Go(func() {
			ctx := context.Background()
			switch {
			case s.timeout != 0:
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, s.timeout)
				defer cancel()
			case s.cancel != 0:
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer time.AfterFunc(s.cancel, cancel).Stop()
				defer cancel()
			}
			resp, st, err := d.Do(ctx, i)
			out[i] = outcome{resp: resp, stats: st, err: err, returned: time.Since(start)}
		})
		synctest.Wait()
	}
	wg.Wait()
	synctest.Wait() // the batcher has recorded its last batch and is idle
	m := d.Snapshot()
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return rec.seen(), out, m
}

// checkBatches compares the batches run saw with want, and checks that every request of a
// wanted batch, except those in skip, got its response with the stats and at the time that
// batch implies.
func checkBatches(t *testing.T, sc scenario, got, want []ran, out []outcome, skip ...int) {
	t.Helper()
	if !slices.EqualFunc(got, want, func(a, b ran) bool { return a.at == b.at && slices.Equal(a.reqs, b.reqs) }) {
		t.Fatalf("batches\n got %v\nwant %v", got, want)
	}
	for _, b := range want {
		for _, i := range b.reqs {
			if slices.Contains(skip, i) {
				continue
			}
			o := out[i]
			if o.err != nil {
				t.Fatalf("request %d: %v", i, o.err)
			}
			wantStats := sched.Stats{QueueWait: b.at - sc.sends[i].at, Service: sc.service, BatchSize: len(b.reqs)}
			if o.resp != 2*i || o.stats != wantStats || o.returned != b.at+sc.service {
				t.Errorf("request %d: resp %d stats %+v returned at %v; want resp %d stats %+v at %v",
					i, o.resp, o.stats, o.returned, 2*i, wantStats, b.at+sc.service)
			}
		}
	}
}

func at(ds ...time.Duration) []send {
	s := make([]send, len(ds))
	for i, d := range ds {
		s[i].at = d
	}
	return s
}

func every(n int, period time.Duration) []send {
	s := make([]send, n)
	for i := range s {
		s[i].at = time.Duration(i) * period
	}
	return s
}

func seq(from, to int) []int {
	s := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// TestDynamicBatchFormation checks when batches start and what they hold, in virtual time.
func TestDynamicBatchFormation(t *testing.T) {
	const us = time.Microsecond
	cases := []struct {
		name string
		sc   scenario
		want []ran
	}{
		{
			name: "closes when full",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 4, MaxQueueDelay: time.Second, MaxQueue: 16}, ms, at(0, 0, 0, 0)},
			want: []ran{{0, seq(0, 3)}},
		},
		{
			name: "full batch, then the rest waits its delay",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 4, MaxQueueDelay: time.Second, MaxQueue: 16}, ms, at(0, 0, 0, 0, 0)},
			want: []ran{{0, seq(0, 3)}, {time.Second, []int{4}}},
		},
		{
			name: "closes when the oldest request's delay expires",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 8, MaxQueueDelay: 10 * ms, MaxQueue: 16}, ms, at(0, 3*ms, 6*ms)},
			want: []ran{{10 * ms, []int{0, 1, 2}}},
		},
		{
			name: "delay 0, spaced arrivals run alone",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 8, MaxQueueDelay: 0, MaxQueue: 16}, ms, every(4, 10*ms)},
			want: []ran{{0, []int{0}}, {10 * ms, []int{1}}, {20 * ms, []int{2}}, {30 * ms, []int{3}}},
		},
		{
			name: "delay 0, batches of what queued during the previous run",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 8, MaxQueueDelay: 0, MaxQueue: 16}, 4700 * us, every(16, ms)},
			want: []ran{{0, []int{0}}, {4700 * us, seq(1, 4)}, {9400 * us, seq(5, 9)}, {14100 * us, seq(10, 14)}, {18800 * us, []int{15}}},
		},
		{
			name: "delay 0, batches capped at max batch",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 3, MaxQueueDelay: 0, MaxQueue: 16}, 4700 * us, every(16, ms)},
			want: []ran{{0, []int{0}}, {4700 * us, seq(1, 3)}, {9400 * us, seq(4, 6)}, {14100 * us, seq(7, 9)}, {18800 * us, seq(10, 12)}, {23500 * us, seq(13, 15)}},
		},
		{
			name: "oldest expired during a run runs right after it",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 4, MaxQueueDelay: 2 * ms, MaxQueue: 16}, 10 * ms, at(0, 3*ms, 11500*us)},
			want: []ran{{2 * ms, []int{0}}, {12 * ms, []int{1, 2}}},
		},
		{
			name: "oldest not yet expired after a run waits the rest of its delay",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 4, MaxQueueDelay: 2 * ms, MaxQueue: 16}, 10 * ms, at(0, 11*ms)},
			want: []ran{{2 * ms, []int{0}}, {13 * ms, []int{1}}},
		},
		{
			name: "queue filled during a run runs right after it",
			sc:   scenario{sched.DynamicConfig{MaxBatch: 2, MaxQueueDelay: time.Second, MaxQueue: 16}, 10 * ms, at(0, 0, ms, 2*ms, 3*ms)},
			want: []ran{{0, []int{0, 1}}, {10 * ms, []int{2, 3}}, {time.Second + 3*ms, []int{4}}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got, out, m := play(t, c.sc)
				checkBatches(t, c.sc, got, c.want, out)
				if m.Batches != uint64(len(c.want)) || m.Requests != uint64(len(c.sc.sends)) || m.Queued != 0 || m.Running != 0 {
					t.Errorf("metrics %+v; want %d batches of %d requests, nothing queued or running", m, len(c.want), len(c.sc.sends))
				}
			})
		})
	}
}

// blocker is a run function that answers twice each payload but holds every batch until
// release is closed. It records the payloads it saw.
type blocker struct {
	release chan struct{}
	mu      sync.Mutex
	seen    []int
}

func newBlocker() *blocker { return &blocker{release: make(chan struct{})} }

func (b *blocker) run(batch []int) ([]int, error) {
	b.mu.Lock()
	b.seen = append(b.seen, batch...)
	b.mu.Unlock()
	<-b.release
	out := make([]int, len(batch))
	for i, v := range batch {
		out[i] = 2 * v
	}
	return out, nil
}

func (b *blocker) payloads() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.seen)
}

// TestDynamicQueueFull: with MaxQueue requests waiting behind a running batch, Do fails at
// once with ErrQueueFull and queues nothing; once the queue drains, Do works again.
func TestDynamicQueueFull(t *testing.T) {
	for _, maxQueue := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("max_queue=%d", maxQueue), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBlocker()
				d, err := sched.NewDynamic(sched.DynamicConfig{MaxBatch: 1, MaxQueue: maxQueue}, b.run)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				errs := make([]error, maxQueue+1)
				var wg sync.WaitGroup
				for i := range maxQueue + 1 { // one running, maxQueue waiting
					wg.Go(func() {
						resp, _, err := d.Do(context.Background(), i)
						if err == nil && resp != 2*i {
							err = fmt.Errorf("response %d, want %d", resp, 2*i)
						}
						errs[i] = err
					})
					synctest.Wait()
				}
				if m := d.Snapshot(); m.Queued != maxQueue || m.Running != 1 {
					t.Fatalf("queued %d running %d; want %d and 1", m.Queued, m.Running, maxQueue)
				}
				start := time.Now()
				for range 3 {
					_, st, err := d.Do(context.Background(), 99)
					if !errors.Is(err, sched.ErrQueueFull) || st != (sched.Stats{}) {
						t.Fatalf("Do at a full queue: stats %+v, err %v; want ErrQueueFull", st, err)
					}
				}
				if waited := time.Since(start); waited != 0 {
					t.Fatalf("rejects took %v; want 0", waited)
				}
				if m := d.Snapshot(); m.Rejected != 3 || m.Queued != maxQueue {
					t.Fatalf("rejected %d queued %d; want 3 and %d", m.Rejected, m.Queued, maxQueue)
				}
				close(b.release)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("request %d: %v", i, err)
					}
				}
				if resp, _, err := d.Do(context.Background(), 7); err != nil || resp != 14 {
					t.Fatalf("Do after the queue drained: %d, %v", resp, err)
				}
				if slices.Contains(b.payloads(), 99) {
					t.Fatalf("a rejected request ran: run saw %v", b.payloads())
				}
			})
		})
	}
}

// TestDynamicContextEnds: a request whose context ends while it is queued returns at that
// instant with ctx.Err(), leaves the queue and never runs; one whose context ends while its
// batch runs returns early without holding up the batcher.
func TestDynamicContextEnds(t *testing.T) {
	long := sched.DynamicConfig{MaxBatch: 1, MaxQueueDelay: 0, MaxQueue: 8}
	cases := []struct {
		name     string
		sc       scenario
		leaver   int           // the request whose context ends
		wantErr  error         // what its Do wraps
		wantBack time.Duration // when its Do returns
		want     []ran         // batches run saw
		wantM    func(sched.Metrics) bool
	}{
		{
			name:     "deadline behind a long batch",
			sc:       scenario{long, 100 * ms, []send{{}, {timeout: 5 * ms}, {at: ms}}},
			leaver:   1,
			wantErr:  context.DeadlineExceeded,
			wantBack: 5 * ms,
			want:     []ran{{0, []int{0}}, {100 * ms, []int{2}}},
			wantM:    func(m sched.Metrics) bool { return m.TimedOut == 1 && m.Canceled == 0 && m.Requests == 2 },
		},
		{
			name:     "cancel behind a long batch",
			sc:       scenario{long, 100 * ms, []send{{}, {cancel: 3 * ms}, {at: ms}}},
			leaver:   1,
			wantErr:  context.Canceled,
			wantBack: 3 * ms,
			want:     []ran{{0, []int{0}}, {100 * ms, []int{2}}},
			wantM:    func(m sched.Metrics) bool { return m.Canceled == 1 && m.TimedOut == 0 && m.Requests == 2 },
		},
		{
			name:     "deadline already past",
			sc:       scenario{long, 100 * ms, []send{{}, {timeout: -1}, {at: ms}}},
			leaver:   1,
			wantErr:  context.DeadlineExceeded,
			wantBack: 0,
			want:     []ran{{0, []int{0}}, {100 * ms, []int{2}}},
			wantM:    func(m sched.Metrics) bool { return m.TimedOut == 1 && m.Requests == 2 },
		},
		{
			name:     "oldest leaves, the delay counts from the next oldest",
			sc:       scenario{sched.DynamicConfig{MaxBatch: 8, MaxQueueDelay: 10 * ms, MaxQueue: 8}, ms, []send{{timeout: 2 * ms}, {at: 5 * ms}}},
			leaver:   0,
			wantErr:  context.DeadlineExceeded,
			wantBack: 2 * ms,
			want:     []ran{{15 * ms, []int{1}}},
			wantM:    func(m sched.Metrics) bool { return m.TimedOut == 1 && m.Requests == 1 },
		},
		{
			name:     "deadline while its batch runs",
			sc:       scenario{long, 100 * ms, []send{{timeout: 5 * ms}, {at: ms}}},
			leaver:   0,
			wantErr:  context.DeadlineExceeded,
			wantBack: 5 * ms,
			want:     []ran{{0, []int{0}}, {100 * ms, []int{1}}},
			wantM:    func(m sched.Metrics) bool { return m.Abandoned == 1 && m.TimedOut == 0 && m.Requests == 2 },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got, out, m := play(t, c.sc)
				o := out[c.leaver]
				if !errors.Is(o.err, c.wantErr) || o.returned != c.wantBack {
					t.Fatalf("request %d returned at %v with %v; want %v at %v", c.leaver, o.returned, o.err, c.wantErr, c.wantBack)
				}
				checkBatches(t, c.sc, got, c.want, out, c.leaver)
				if !c.wantM(m) {
					t.Fatalf("metrics %+v", m)
				}
			})
		})
	}
}

var errBoom = errors.New("device lost")

// TestDynamicRunFails: whatever goes wrong in run reaches every request of the batch, and the
// batcher keeps serving.
func TestDynamicRunFails(t *testing.T) {
	cases := []struct {
		name  string
		run   func(batch []int) ([]int, error)
		check func(error) bool
	}{
		{
			name:  "error",
			run:   func([]int) ([]int, error) { return nil, errBoom },
			check: func(err error) bool { return errors.Is(err, errBoom) },
		},
		{
			name: "panic with a string",
			run:  func([]int) ([]int, error) { panic("index out of range in layer 3") },
			check: func(err error) bool {
				return strings.Contains(err.Error(), "panic") && strings.Contains(err.Error(), "layer 3")
			},
		},
		{
			name:  "panic with an error",
			run:   func([]int) ([]int, error) { panic(errBoom) },
			check: func(err error) bool { return errors.Is(err, errBoom) && strings.Contains(err.Error(), "panic") },
		},
		{
			name:  "too few responses",
			run:   func(b []int) ([]int, error) { return make([]int, len(b)-1), nil },
			check: func(err error) bool { return strings.Contains(err.Error(), "2 responses for a batch of 3") },
		},
		{
			name:  "too many responses",
			run:   func(b []int) ([]int, error) { return make([]int, len(b)+1), nil },
			check: func(err error) bool { return strings.Contains(err.Error(), "4 responses for a batch of 3") },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				run := func(batch []int) ([]int, error) {
					calls++ // run is never called concurrently
					if calls == 1 {
						return c.run(batch)
					}
					out := make([]int, len(batch))
					for i, v := range batch {
						out[i] = 2 * v
					}
					return out, nil
				}
				d, err := sched.NewDynamic(sched.DynamicConfig{MaxBatch: 3, MaxQueueDelay: ms, MaxQueue: 8}, run)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				var wg sync.WaitGroup
				for i := range 3 {
					wg.Go(func() {
						resp, st, err := d.Do(context.Background(), i)
						if err == nil || !c.check(err) || resp != 0 || st.BatchSize != 3 {
							t.Errorf("request %d: resp %d stats %+v err %v", i, resp, st, err)
						}
					})
				}
				wg.Wait()
				if resp, st, err := d.Do(context.Background(), 5); err != nil || resp != 10 || st.BatchSize != 1 {
					t.Fatalf("after the failed batch: resp %d stats %+v err %v", resp, st, err)
				}
				if m := d.Snapshot(); m.Batches != 2 || m.Requests != 4 || m.Failed != 3 {
					t.Fatalf("metrics %+v; want 2 batches, 4 requests, 3 failed", m)
				}
			})
		})
	}
}

// TestDynamicClose: Close fails the queued requests at once, lets the running batch deliver,
// refuses later requests, waits for the batcher goroutine and can be called again.
func TestDynamicClose(t *testing.T) {
	cases := []struct {
		name    string
		running bool // a batch is running when Close is called
		queued  int  // requests queued behind it
	}{
		{name: "idle"},
		{name: "batch running", running: true},
		{name: "batch running and requests queued", running: true, queued: 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBlocker()
				d, err := sched.NewDynamic(sched.DynamicConfig{MaxBatch: 1, MaxQueue: 8}, b.run)
				if err != nil {
					t.Fatal(err)
				}
				n := c.queued
				if c.running {
					n++
				}
				type res struct {
					resp int
					err  error
				}
				results := make([]chan res, n)
				for i := range n {
					results[i] = make(chan res, 1)
					go func() {
						resp, _, err := d.Do(context.Background(), i)
						results[i] <- res{resp, err}
					}()
					synctest.Wait()
				}
				closed := make(chan struct{})
				go func() {
					if err := d.Close(); err != nil {
						t.Errorf("close: %v", err)
					}
					close(closed)
				}()
				synctest.Wait()
				// The queued requests are failed now, before the running batch ends.
				first := 0
				if c.running {
					first = 1
				}
				for i := first; i < n; i++ {
					select {
					case r := <-results[i]:
						if !errors.Is(r.err, sched.ErrClosed) {
							t.Fatalf("queued request %d: %d, %v; want ErrClosed", i, r.resp, r.err)
						}
					default:
						t.Fatalf("queued request %d still waiting after Close", i)
					}
				}
				if _, _, err := d.Do(context.Background(), 50); !errors.Is(err, sched.ErrClosed) {
					t.Fatalf("Do after Close: %v; want ErrClosed", err)
				}
				if c.running {
					select {
					case <-closed:
						t.Fatal("Close returned while a batch was running")
					default:
					}
				}
				close(b.release)
				<-closed
				if c.running {
					if r := <-results[0]; r.err != nil || r.resp != 0 {
						t.Fatalf("running request: %d, %v; want its response", r.resp, r.err)
					}
				}
				if err := d.Close(); err != nil {
					t.Fatalf("second close: %v", err)
				}
				if c.running && !slices.Equal(b.payloads(), []int{0}) {
					t.Fatalf("run saw %v; want only the running request [0]", b.payloads())
				}
				if m := d.Snapshot(); m.Closed != uint64(c.queued+1) || m.Queued != 0 {
					t.Fatalf("metrics %+v; want %d closed, none queued", m, c.queued+1)
				}
			})
		})
	}
}

// TestDynamicValidate: every bad field is named with its value and what is accepted, all at
// once.
func TestDynamicValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  sched.DynamicConfig
		want []string // substrings of the error; none means valid
		not  []string
	}{
		{name: "valid", cfg: sched.DynamicConfig{MaxBatch: 1, MaxQueueDelay: 0, MaxQueue: 1}},
		{name: "max_batch 0", cfg: sched.DynamicConfig{MaxBatch: 0, MaxQueue: 4}, want: []string{"max_batch is 0", ">= 1"}, not: []string{"max_queue", "max_queue_delay"}},
		{name: "max_queue 0", cfg: sched.DynamicConfig{MaxBatch: 4, MaxQueue: 0}, want: []string{"max_queue is 0", ">= 1"}, not: []string{"max_batch", "max_queue_delay"}},
		{name: "negative delay", cfg: sched.DynamicConfig{MaxBatch: 4, MaxQueueDelay: -ms, MaxQueue: 4}, want: []string{"max_queue_delay is -1ms", ">= 0"}, not: []string{"max_batch", "max_queue is"}},
		{name: "all three", cfg: sched.DynamicConfig{MaxBatch: -2, MaxQueueDelay: -5 * time.Second, MaxQueue: -1}, want: []string{"max_batch is -2", "max_queue_delay is -5s", "max_queue is -1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: nil; want an error")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			for _, s := range c.not {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q names %q, which is valid", err, s)
				}
			}
			if d, nerr := sched.NewDynamic(c.cfg, func(b []int) ([]int, error) { return b, nil }); d != nil || nerr == nil {
				t.Errorf("NewDynamic accepted %+v", c.cfg)
			}
		})
	}
	t.Run("nil run", func(t *testing.T) {
		d, err := sched.NewDynamic[int, int](sched.DynamicConfig{MaxBatch: 1, MaxQueue: 1}, nil)
		if d != nil || err == nil || !strings.Contains(err.Error(), "run is nil") {
			t.Fatalf("NewDynamic with a nil run: %v, %v", d, err)
		}
	})
}

// TestDynamicConcurrent runs many callers in real time (and under -race): every response
// matches its request, run is never called concurrently nor with more than MaxBatch, and
// every request either ran or timed out.
func TestDynamicConcurrent(t *testing.T) {
	const (
		callers  = 32
		perCall  = 300
		maxBatch = 8
	)
	var inRun, badBatches atomic.Int64
	run := func(batch []int) ([]int, error) {
		if inRun.Add(1) != 1 || len(batch) < 1 || len(batch) > maxBatch {
			badBatches.Add(1)
		}
		defer inRun.Add(-1)
		out := make([]int, len(batch))
		for i, v := range batch {
			out[i] = 2 * v
		}
		return out, nil
	}
	d, err := sched.NewDynamic(sched.DynamicConfig{MaxBatch: maxBatch, MaxQueueDelay: 50 * time.Microsecond, MaxQueue: callers}, run)
	if err != nil {
		t.Fatal(err)
	}
	var timedOut atomic.Int64
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range perCall {
				req := g*perCall + i
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if req%7 == 0 { // some callers give up quickly
					ctx, cancel = context.WithTimeout(ctx, 20*time.Microsecond)
				}
				resp, st, err := d.Do(ctx, req)
				cancel()
				switch {
				case errors.Is(err, context.DeadlineExceeded) && req%7 == 0:
					timedOut.Add(1)
				case err != nil:
					t.Errorf("request %d: %v", req, err)
				case resp != 2*req || st.BatchSize < 1 || st.BatchSize > maxBatch:
					t.Errorf("request %d: resp %d, stats %+v", req, resp, st)
				}
			}
		})
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := badBatches.Load(); n != 0 {
		t.Fatalf("%d batches ran concurrently or with a bad size", n)
	}
	m := d.Snapshot()
	if m.Rejected != 0 || m.Requests+m.TimedOut != callers*perCall || m.TimedOut+m.Abandoned != uint64(timedOut.Load()) {
		t.Fatalf("metrics %+v; %d callers saw a timeout; want every request run or timed out", m, timedOut.Load())
	}
	t.Logf("%d requests in %d batches (%.1f per batch), %d timed out in the queue, %d while running",
		m.Requests, m.Batches, float64(m.Requests)/float64(m.Batches), m.TimedOut, m.Abandoned)
}

// TestDynamicQueueTimeout: a request still queued QueueTimeout after its Do leaves the
// queue with context.DeadlineExceeded and never runs; one whose batch started in time runs
// to the end, however long the batch takes.
func TestDynamicQueueTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := sched.DynamicConfig{MaxBatch: 1, MaxQueue: 8, QueueTimeout: 5 * ms}
		got, out, m := play(t, scenario{cfg, 100 * ms, []send{{}, {at: ms}, {at: 2 * ms}}})
		if out[0].err != nil || out[0].returned != 100*ms || out[0].resp != 0 {
			t.Fatalf("request 0: %+v; want its response at 100ms", out[0])
		}
		for _, i := range []int{1, 2} {
			o := out[i]
			wantBack := time.Duration(i)*ms + 5*ms
			if !errors.Is(o.err, context.DeadlineExceeded) || o.returned != wantBack || o.stats.QueueWait != 5*ms {
				t.Fatalf("request %d: %+v; want DeadlineExceeded at %v after a 5ms wait", i, o, wantBack)
			}
		}
		if len(got) != 1 || m.TimedOut != 2 || m.Requests != 1 {
			t.Fatalf("batches %v, metrics %+v; want one batch and two timeouts", got, m)
		}
	})
	if err := (sched.DynamicConfig{MaxBatch: 1, MaxQueue: 1, QueueTimeout: -ms}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "queue_timeout") {
		t.Fatalf("Validate of a negative queue timeout: %v", err)
	}
}
