//go:build !amd64

package roofline

// fmaLoops returns the FMA peak loops for this CPU: plain Go off amd64.
func fmaLoops() []fmaLoop { return []fmaLoop{goFMALoop()} }
