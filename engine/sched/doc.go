// Package sched owns the engine's request schedulers: the policies that decide which queued
// requests run together and when. It knows nothing of models or tensors; a scheduler is
// handed a run function and calls it with one batch at a time.
//
// # Dynamic batching
//
// Dynamic is a dynamic batcher with the semantics of Triton's dynamic batcher, configured by
// DynamicConfig (max_batch, max_queue_delay, max_queue):
//
//   - Batches run one at a time, on one goroutine the batcher owns. Do runs on its caller's
//     goroutine; there is no goroutine per request.
//   - When no batch is running and requests are queued: if at least MaxBatch are queued, the
//     oldest MaxBatch run at once. Otherwise the batcher waits until either MaxBatch are
//     queued or the oldest queued request has waited MaxQueueDelay since its Do was called,
//     whichever comes first, then runs everything queued, up to MaxBatch, in arrival order.
//     With MaxQueueDelay 0 whatever is queued runs at once.
//   - Requests that arrive while a batch runs queue up. After a batch the next one is formed
//     by the same rule, so an oldest request that has already waited past MaxQueueDelay runs
//     right away, together with whatever queued behind it (up to MaxBatch).
//   - A Do that finds MaxQueue requests waiting (the running batch does not count) fails at
//     once with ErrQueueFull and queues nothing.
//   - A request whose context ends while it waits leaves the queue at once, never runs, and
//     its Do returns an error wrapping ctx.Err() (context.DeadlineExceeded for a timeout).
//     The delay is always counted from the oldest request still queued, so a request that
//     left no longer holds a deadline for the others. Once a request's batch has started its
//     context is not consulted by the batcher; Do still returns ctx.Err() as soon as the
//     context ends, and the response that comes later is dropped.
//   - If run returns an error, every request of the batch gets it, wrapped. If run returns a
//     number of responses other than the batch size, or panics, every request of the batch
//     gets an error saying so; the batcher recovers and keeps serving.
//   - Close fails the queued requests with ErrClosed at once, lets a running batch finish and
//     deliver, makes later Do calls fail with ErrClosed, and returns once the batcher's
//     goroutine has exited.
//
// Every request that reaches a batch reports Stats: its queue wait, its batch's run time and
// its batch's size. Snapshot returns the batcher's counters.
//
// # Generation: continuous and static batching
//
// For LLM generation, Continuous is an iteration-level batcher (Orca's scheduling over
// vLLM's paged KV cache), configured by GenConfig (max_seqs, max_batched_tokens, the KV
// block size and count, max_queue), and Static is the naive baseline it is measured
// against. Both hand the model one iteration at a time as GenSteps (a sequence's prefill
// chunk or decode token, its positions and its KV block table) and get the next token of
// every sequence that reached its last known token. KVPool holds the cache's blocks: a
// free list, and a block table per sequence, returned when the sequence ends.
//
//   - Continuous: each iteration schedules the running sequences' decodes first, then
//     their prefill chunks left, then admits waiting sequences while max_seqs and
//     max_batched_tokens allow; a long prompt is prefilled over several iterations; a
//     sequence leaves the batch the iteration it finishes. When a running sequence needs a
//     block and none is free, the most recently admitted sequence not yet in the iteration
//     is preempted: its blocks return to the pool and it waits at the head of the queue to
//     be recomputed (prompt and output so far) when admitted again.
//   - Static: waits for max_seqs requests (or StaticWait after the oldest), takes those
//     whose full length fits the cache, and runs them together until the longest
//     finishes; no request joins a running batch, and each is answered when its batch
//     ends. The batch runs whole, as a padded batch does: a sequence that finished early
//     takes a padding step each iteration (its last position again, the token thrown
//     away), so its slot costs what a decode costs until the batch ends.
//   - Requests that cannot run (an empty prompt, more positions than the context, more
//     blocks than the cache) are refused at once with ErrRequest; a full queue rejects
//     with ErrQueueFull; a caller that gives up is dropped at the next iteration, and its
//     blocks return.
//
// Time is read from package time directly (time.Now, time.NewTimer), so tests run the
// batcher in virtual time under testing/synctest. The batcher waits only on channels; its
// mutex guards short critical sections.
//
// sched imports nothing of infertune's (the packages below engine import none of ours).
package sched
