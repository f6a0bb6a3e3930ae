//go:build !linux

package kernels

// LowerThreadPriority does nothing here: per-thread priority is a Linux feature.
func LowerThreadPriority(nice int) error { return nil }
