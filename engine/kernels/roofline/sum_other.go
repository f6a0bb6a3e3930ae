//go:build !(goexperiment.simd && amd64)

package roofline

// sumLoops returns the read roof's loops in this build: plain Go, and on amd64 the assembly
// loops that read as the MatVec kernels do (asmSumLoops), so that the roof does not depend
// on the build.
func sumLoops() []sumLoop { return append([]sumLoop{{"go", sumGo}}, asmSumLoops()...) }
