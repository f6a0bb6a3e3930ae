// Package engine serves requests: a model in one precision on a kernel tier and thread
// count, behind a batcher. An Engine implements loadgen.Target, so the load generator
// and the tuner drive it like any other target.
//
// engine imports loadgen only for the Target request and response types it serves, and
// engine/model, engine/kernels and engine/sched below it.
package engine
