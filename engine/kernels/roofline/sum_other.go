//go:build !(goexperiment.simd && amd64)

package roofline

// sumLoops returns the read roof's loops in this build: plain Go, and on amd64 the assembly
// loop with software prefetches (prefetchLoops), so that the roof does not depend on the
// build.
func sumLoops() []sumLoop { return append([]sumLoop{{"go", sumGo}}, prefetchLoops()...) }
