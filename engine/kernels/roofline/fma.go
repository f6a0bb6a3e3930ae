package roofline

// fmaLoop is a register-only multiply-add loop: run performs n iterations on accs
// independent accumulators of lanes float32 lanes each, acc holding lanes*accs values (loaded
// before the loop, stored after it). One iteration is 2·lanes·accs floating-point operations.
type fmaLoop struct {
	name  string // avx512, avx2 or go
	lanes int
	accs  int
	run   func(n int, a, b float32, acc []float32)
}

// flopsPerIter returns the floating-point operations of one iteration of l.
func (l fmaLoop) flopsPerIter() float64 { return 2 * float64(l.lanes) * float64(l.accs) }

// goFMALoop is the plain Go loop used where no assembly loop fits the CPU.
func goFMALoop() fmaLoop {
	return fmaLoop{name: "go", lanes: 1, accs: 8, run: func(n int, a, b float32, acc []float32) {
		fmaGo(n, a, b, (*[8]float32)(acc))
	}}
}

// fmaGo runs n iterations of acc[j] = acc[j]*a + b for j in 0..7, in scalar Go. (The multiply
// depends on the accumulator, so the compiler cannot hoist it; it may or may not fuse.)
func fmaGo(n int, a, b float32, acc *[8]float32) {
	c0, c1, c2, c3, c4, c5, c6, c7 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	for range n {
		c0 = c0*a + b
		c1 = c1*a + b
		c2 = c2*a + b
		c3 = c3*a + b
		c4 = c4*a + b
		c5 = c5*a + b
		c6 = c6*a + b
		c7 = c7*a + b
	}
	*acc = [8]float32{c0, c1, c2, c3, c4, c5, c6, c7}
}
