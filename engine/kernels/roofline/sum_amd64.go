//go:build amd64

package roofline

import "golang.org/x/sys/cpu"

// sumPrefetchAVX2 is in sum_amd64.s. It needs AVX2.
//
//go:noescape
func sumPrefetchAVX2(p *float32, n int) float32

// sumPrefetch returns Σ s[i]: sumPrefetchAVX2 over the multiple of 32, the rest with sumGo.
func sumPrefetch(s []float32) float32 {
	n := len(s) &^ 31
	var t float32
	if n > 0 {
		t = sumPrefetchAVX2(&s[0], n)
	}
	return t + sumGo(s[n:])
}

// asmSumLoops returns the read roof's loops that read as the MatVec kernels do, where the
// CPU runs them (AVX2): one stream with software prefetches, and four streams at once (the
// buffer's quarters, as a four-row kernel reads four rows) without and with them. A single
// stream read by the hardware prefetcher alone is not the most this machine reads: measured
// here in one run, a 32 MiB buffer from the last-level cache read 31 GB/s as one stream, 33
// prefetched, 40 as four streams and 52 as four prefetched ones, and without these loops a
// 4096×4096 fp16 MatVec read at up to 1.3 times its roof. A 1 GiB buffer from memory read
// fastest as one stream (25 GB/s; four: 16 and 22). The roof is the fastest loop.
func asmSumLoops() []sumLoop {
	if !cpu.X86.HasAVX2 {
		return nil
	}
	return []sumLoop{
		{"avx2-prefetch", sumPrefetch},
		{"avx2-4streams", func(s []float32) float32 { return sumStreams(s, false) }},
		{"avx2-4streams-prefetch", func(s []float32) float32 { return sumStreams(s, true) }},
	}
}

// sumStreams4AVX2 is in sum_amd64.s. It needs AVX2.
//
//go:noescape
func sumStreams4AVX2(p *float32, q int, pf int) float32

// sumStreams returns Σ s[i]: its four quarters (a multiple of 16 each) read at once by
// sumStreams4AVX2, prefetching when pf is true, the rest with sumGo.
func sumStreams(s []float32, pf bool) float32 {
	q := len(s) / 4 &^ 15
	var t float32
	if q > 0 {
		flag := 0
		if pf {
			flag = 1
		}
		t = sumStreams4AVX2(&s[0], q, flag)
	}
	return t + sumGo(s[4*q:])
}
