//go:build !amd64

package roofline

// asmSumLoops returns no loop off amd64.
func asmSumLoops() []sumLoop { return nil }
