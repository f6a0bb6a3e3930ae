//go:build goexperiment.simd && amd64

package roofline

import "simd/archsimd"

// sumLoops returns the read roof's loops on this CPU: the 512-bit loop (with AVX-512), the
// 256-bit loop, and the assembly loops that read as the MatVec kernels do (asmSumLoops: one
// prefetched stream, four streams, four prefetched streams, in 256 and 512 bits); the roof
// is the fastest. Which
// one reads fastest depends on the CPU and the working set (on AMD Zen 4, which splits
// 512-bit loads, the 256-bit loop reads memory about 25% faster than the 512-bit one; on
// CPUs with full-width loads the 512-bit one wins in cache).
func sumLoops() []sumLoop {
	switch {
	case archsimd.X86.AVX512():
		return append([]sumLoop{{"avx512", sum512}, {"avx2", sum256}}, asmSumLoops()...)
	case archsimd.X86.AVX2():
		return append([]sumLoop{{"avx2", sum256}}, asmSumLoops()...)
	}
	return []sumLoop{{"go", sumGo}}
}

// sum512 returns Σ s[i] with eight 16-lane accumulators: 128 floats per iteration, then 16
// at a time into the first, then a scalar tail after the lanes are added.
func sum512(s []float32) float32 {
	var a0, a1, a2, a3, a4, a5, a6, a7 archsimd.Float32x16
	for len(s) >= 128 {
		p := (*[128]float32)(s)
		a0 = a0.Add(archsimd.LoadFloat32x16((*[16]float32)(p[0:16])))
		a1 = a1.Add(archsimd.LoadFloat32x16((*[16]float32)(p[16:32])))
		a2 = a2.Add(archsimd.LoadFloat32x16((*[16]float32)(p[32:48])))
		a3 = a3.Add(archsimd.LoadFloat32x16((*[16]float32)(p[48:64])))
		a4 = a4.Add(archsimd.LoadFloat32x16((*[16]float32)(p[64:80])))
		a5 = a5.Add(archsimd.LoadFloat32x16((*[16]float32)(p[80:96])))
		a6 = a6.Add(archsimd.LoadFloat32x16((*[16]float32)(p[96:112])))
		a7 = a7.Add(archsimd.LoadFloat32x16((*[16]float32)(p[112:128])))
		s = s[128:]
	}
	for len(s) >= 16 {
		a0 = a0.Add(archsimd.LoadFloat32x16((*[16]float32)(s)))
		s = s[16:]
	}
	a0 = a0.Add(a1).Add(a2.Add(a3)).Add(a4.Add(a5).Add(a6.Add(a7)))
	var lanes [16]float32
	a0.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	var t float32
	for _, v := range lanes {
		t += v
	}
	for _, v := range s {
		t += v
	}
	return t
}

// sum256 returns Σ s[i] with eight 8-lane accumulators, 32 floats per iteration into a0–a3
// and the next 32 into a4–a7 (two branches, so that the compiler, which folds no 256-bit load
// into an add and has 15 vector registers, keeps every accumulator in a register), then 8 at
// a time into a0, then a scalar tail after the lanes are added.
func sum256(s []float32) float32 {
	var a0, a1, a2, a3, a4, a5, a6, a7 archsimd.Float32x8
	odd := false
	for len(s) >= 32 {
		p := (*[32]float32)(s)
		if odd {
			a4 = a4.Add(archsimd.LoadFloat32x8((*[8]float32)(p[0:8])))
			a5 = a5.Add(archsimd.LoadFloat32x8((*[8]float32)(p[8:16])))
			a6 = a6.Add(archsimd.LoadFloat32x8((*[8]float32)(p[16:24])))
			a7 = a7.Add(archsimd.LoadFloat32x8((*[8]float32)(p[24:32])))
		} else {
			a0 = a0.Add(archsimd.LoadFloat32x8((*[8]float32)(p[0:8])))
			a1 = a1.Add(archsimd.LoadFloat32x8((*[8]float32)(p[8:16])))
			a2 = a2.Add(archsimd.LoadFloat32x8((*[8]float32)(p[16:24])))
			a3 = a3.Add(archsimd.LoadFloat32x8((*[8]float32)(p[24:32])))
		}
		odd = !odd
		s = s[32:]
	}
	for len(s) >= 8 {
		a0 = a0.Add(archsimd.LoadFloat32x8((*[8]float32)(s)))
		s = s[8:]
	}
	a0 = a0.Add(a1).Add(a2.Add(a3)).Add(a4.Add(a5).Add(a6.Add(a7)))
	var lanes [8]float32
	a0.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	var t float32
	for _, v := range lanes {
		t += v
	}
	for _, v := range s {
		t += v
	}
	return t
}
