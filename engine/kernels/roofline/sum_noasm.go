//go:build !amd64

package roofline

// prefetchLoops returns no loop off amd64.
func prefetchLoops() []sumLoop { return nil }
