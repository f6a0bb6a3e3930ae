//go:build !(goexperiment.simd && amd64)

package roofline

// sumLoops returns the read roof's loops in this build: plain Go.
func sumLoops() []sumLoop { return []sumLoop{{"go", sumGo}} }
