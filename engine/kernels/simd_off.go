//go:build !(goexperiment.simd && amd64)

package kernels

const simdBuilt = false

// simdImpl has no simd tier to offer in this build.
func simdImpl(ISA) *impl { return nil }
