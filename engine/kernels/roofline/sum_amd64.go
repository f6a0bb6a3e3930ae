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
// CPU runs them (AVX2, and AVX-512 for the 512-bit ones): one stream with software
// prefetches, and four streams at once (the buffer's quarters, as a four-row kernel reads
// four rows) without prefetches, with them into L2 (the kernels' l2 setting) and with
// PREFETCHNTA (their nta setting). A single stream read by the hardware prefetcher alone
// is not the most a machine reads: measured on a Zen 4 in one run, a 32 MiB buffer from
// the last-level cache read 31 GB/s as one stream, 33 prefetched, 40 as four streams and
// 52 as four prefetched ones, and without these loops a 4096×4096 fp16 MatVec read at up
// to 1.3 times its roof. On a Zen 5, medians of five alternations in one process, 1 GiB
// from memory read fastest as four streams with PREFETCHNTA (one thread 39.5 GB/s, against
// 37.3 without prefetches and 33.6 for the fastest single stream; two threads 42.2 against
// 39.5), and the fp32 kernel, which prefetches so, had read 0.93-1.11 times a roof without
// that loop at one thread (median 1.05, seven runs); 32 MiB read fastest as four streams
// without prefetches (72.6 and 177.8). With AVX-512 the same four-stream loops also run in
// 512 bits (two 64-byte loads a stream and step, as the fp32 kernels read): on the Zen 5,
// each loop's median of nine alternations of all of them in one process, two runs, the
// fastest of those read 1.05-1.11 times the fastest 256-bit loop at 18 and 32 MiB and
// 1.04-1.13 at 1 GiB, at one thread and at two. The roof is the fastest loop.
func asmSumLoops() []sumLoop {
	if !cpu.X86.HasAVX2 {
		return nil
	}
	loops := []sumLoop{
		{"avx2-prefetch", sumPrefetch},
		{"avx2-4streams", func(s []float32) float32 { return sumStreams(s, streamsNoPrefetch) }},
		{"avx2-4streams-prefetch", func(s []float32) float32 { return sumStreams(s, streamsPrefetchL2) }},
		{"avx2-4streams-nta", func(s []float32) float32 { return sumStreams(s, streamsPrefetchNTA) }},
	}
	if cpu.X86.HasAVX512F {
		loops = append(loops,
			sumLoop{"avx512-4streams", func(s []float32) float32 { return sumStreamsZ(s, streamsNoPrefetch) }},
			sumLoop{"avx512-4streams-prefetch", func(s []float32) float32 { return sumStreamsZ(s, streamsPrefetchL2) }},
			sumLoop{"avx512-4streams-nta", func(s []float32) float32 { return sumStreamsZ(s, streamsPrefetchNTA) }})
	}
	return loops
}

// The prefetch settings of the four-stream sums (sumStreams4AVX2, sumStreams4AVX512).
const (
	streamsNoPrefetch  = 0 // none
	streamsPrefetchL2  = 1 // PREFETCHT1 4 KiB and 8 KiB ahead
	streamsPrefetchNTA = 2 // PREFETCHNTA 2 KiB ahead
)

// sumStreams4AVX2 is in sum_amd64.s. It needs AVX2.
//
//go:noescape
func sumStreams4AVX2(p *float32, q int, pf int) float32

// sumStreams returns Σ s[i]: its four quarters (a multiple of 16 each) read at once by
// sumStreams4AVX2 with the prefetch setting pf, the rest with sumGo.
func sumStreams(s []float32, pf int) float32 { return sumQuarters(s, pf, sumStreams4AVX2, 16) }

// sumStreams4AVX512 is in sum_amd64.s. It needs AVX-512.
//
//go:noescape
func sumStreams4AVX512(p *float32, q int, pf int) float32

// sumStreamsZ is sumStreams on sumStreams4AVX512: quarters of a multiple of 32.
func sumStreamsZ(s []float32, pf int) float32 { return sumQuarters(s, pf, sumStreams4AVX512, 32) }

// sumQuarters returns Σ s[i]: its four quarters, each the largest multiple of unit that
// fits, read at once by four with the prefetch setting pf, the rest with sumGo.
func sumQuarters(s []float32, pf int, four func(p *float32, q int, pf int) float32, unit int) float32 {
	q := len(s) / 4 / unit * unit
	var t float32
	if q > 0 {
		t = four(&s[0], q, pf)
	}
	return t + sumGo(s[4*q:])
}
