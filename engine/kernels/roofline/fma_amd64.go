//go:build amd64

package roofline

import "golang.org/x/sys/cpu"

// fmaZMM runs n iterations of one VFMADD231PS on each of 16 ZMM accumulators (Z0–Z15), with a
// and b broadcast in two other registers and no memory operand in the loop. Accumulator j is
// lanes acc[16j : 16j+16], loaded before the loop and stored after it. Per lane it computes
//
//	for range n { acc[i] = fma(a, b, acc[i]) } // a·b + acc[i], rounded once to float32
//
// It needs AVX-512F, and ends with VZEROUPPER.
//
//go:noescape
func fmaZMM(n int, a, b float32, acc *[16 * 16]float32)

// fmaYMM is fmaZMM on 12 YMM accumulators (Y0–Y11) of 8 lanes: acc[8j : 8j+8] is accumulator
// j. It needs AVX2 and FMA, and ends with VZEROUPPER.
//
//go:noescape
func fmaYMM(n int, a, b float32, acc *[12 * 8]float32)

// zmmLoop wraps fmaZMM.
func zmmLoop() fmaLoop {
	return fmaLoop{name: "avx512", lanes: 16, accs: 16, run: func(n int, a, b float32, acc []float32) {
		fmaZMM(n, a, b, (*[16 * 16]float32)(acc))
	}}
}

// ymmLoop wraps fmaYMM.
func ymmLoop() fmaLoop {
	return fmaLoop{name: "avx2", lanes: 8, accs: 12, run: func(n int, a, b float32, acc []float32) {
		fmaYMM(n, a, b, (*[12 * 8]float32)(acc))
	}}
}

func hasZMM() bool { return cpu.X86.HasAVX512F }
func hasYMM() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// fmaLoops returns the FMA peak loops this CPU runs: the ZMM loop with AVX-512F, the YMM loop
// with AVX2 and FMA (both where both run: the peak is the faster, since a CPU that splits
// 512-bit operations may be as fast on YMM), else the Go loop.
func fmaLoops() []fmaLoop {
	var ls []fmaLoop
	if hasZMM() {
		ls = append(ls, zmmLoop())
	}
	if hasYMM() {
		ls = append(ls, ymmLoop())
	}
	if len(ls) == 0 {
		ls = append(ls, goFMALoop())
	}
	return ls
}
