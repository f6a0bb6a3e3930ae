package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// TestWideFloatsMatchGeneric holds the float four-row MatVec kernels of both widths to the
// generic tier on every CPU with an AVX-512 path, whichever width the CPU uses by default
// (impl.wideFloats): 256-bit and 512-bit, each with the l2, nta and off prefetch settings
// (the first column's kernel differs by setting; the later columns run the Cached one), on
// one and two threads, MatVec and row-group MatMul, for k on both sides of the 16- and
// 32-element steps.
func TestWideFloatsMatchGeneric(t *testing.T) {
	if !slices.Contains(ISAs(), ISAAVX512) {
		t.Skip("no AVX-512 path here")
	}
	r := rand.New(rand.NewPCG(11, 11))
	ref := newKernels(t, Config{Tier: Generic, Threads: 1})
	var ks []*Kernels
	var names []string
	for _, wide := range []bool{false, true} {
		for _, pf := range []Prefetch{PrefetchL2, PrefetchNTA, PrefetchOff} {
			for _, threads := range []int{1, 2} {
				k := newKernels(t, Config{Tier: SIMD, ISA: ISAAVX512, Threads: threads, Prefetch: pf})
				k.impl.wideFloats = wide
				ks = append(ks, k)
				names = append(names, fmt.Sprintf("wide=%v/prefetch=%s/threads=%d", wide, pf, threads))
			}
		}
	}
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16} {
		for _, kk := range []int{15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 4095, 4096, 4097} {
			for _, s := range []struct{ m, n int }{{5, 1}, {33, 1}, {260, 1}, {9, 3}} {
				w := randMatrix(t, r, dt, s.m, kk)
				x := randVec(r, s.n*kk)
				want := make([]float32, s.n*s.m)
				ref.MatMul(want, w, x, s.n)
				mag := magnitudes(t, w, x, s.n)
				for i, k := range ks {
					got := make([]float32, s.n*s.m)
					if s.n == 1 {
						k.MatVec(got, w, x)
					} else {
						k.MatMul(got, w, x, s.n)
					}
					for j := range got {
						if d := math.Abs(float64(got[j] - want[j])); d > tolerance(mag[j]) {
							t.Fatalf("%s %s m=%d k=%d n=%d: y[%d] = %v, generic %v (diff %g, tolerance %g)", names[i], dt, s.m, kk, s.n, j, got[j], want[j], d, tolerance(mag[j]))
						}
					}
				}
			}
		}
	}
}
