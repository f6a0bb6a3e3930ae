// Package roofline measures the kernels of package kernels against this machine's roofs: the
// bandwidth at which it can read a working set of a given size and the peak rate of its
// fused multiply-add units. It backs `infertune bench kernels`.
//
// Run times, per weight dtype, kernel tier and thread count, three shapes: the decode shape
// (MatVec) on one matrix read again and again from cache ("hot"), the same shape cycling over
// enough distinct matrices that every call reads its weights from memory ("cold"), and the
// batched shape (MatMul). Each row reports GFLOP/s, GB/s of weights streamed, time per call
// and the percentage of its roof: the read roof at the row's working set and thread count for
// MatVec, the FMA peak at its thread count for MatMul. The MatVec matrices are prepacked for
// MatVec first (Kernels.PrepackMatVec, untimed), as a model's runner prepacks its weights:
// q8_0 and q4_0 on the VNNI path then read superblock rows, the same bytes in another order.
//
// The roofs are measured by this package, not assumed:
//
//   - read bandwidth: the fastest of several vector sums over a buffer of exactly the
//     working-set size, each thread summing a disjoint contiguous part, all at once: one
//     stream in simd/archsimd (512-bit where the CPU has AVX-512, and 256-bit; plain Go in
//     builds without GOEXPERIMENT=simd), and, on amd64 with AVX2, assembly loops that read as
//     the MatVec kernels do: one stream with software prefetches, four streams at once (the
//     part's quarters) without them, with prefetches into L2 and with PREFETCHNTA, the
//     four-stream loops in 256 bits and, with AVX-512, in 512;
//   - FMA peak: a Go assembly loop of VFMADD231PS on independent ZMM (AVX-512) or YMM (AVX2)
//     accumulators with no memory operands, on every thread at once; a scalar Go loop on other
//     CPUs.
//
// Every roof is swept once before the rows (the best of a few short trials after a warm-up),
// and each row's own roof is measured again in trials interleaved with the row's timed
// batches, each trial as long as a batch, the best trial against the best batch; the row is
// divided by that roof, so a neighbour busy on the machine during the sweep, or during one
// half of the row, does not skew it: a kernel that reads as fast as the machine can reads
// close to 100%. A read roof is the fastest of the loops above, not a proof that nothing
// reads faster: cold fp32 and fp16 MatVecs (four prefetched streams within each 32 MiB
// matrix of the cycle) read up to about 1.15 times the 1 GiB roof here before the
// PREFETCHNTA loop joined the roof (the fp32 kernel's median was 1.05 at one thread), and
// the 512-bit four-stream loops, when they joined, read 1.04-1.13 times the 256-bit ones
// (sum_amd64.go). The FMA peak is an fp32 roof; int8 kernels (q8_0, q4_0) can exceed it.
//
// Memory: the cold working set of one dtype (about Options.ColdBytes) is allocated, measured
// and freed before the next dtype's; the read roofs' buffer, as large as the largest working
// set, lives until Run returns, so the peak is about twice ColdBytes plus one matrix (three
// times, for q8_0 and q4_0 on the VNNI path, while their superblock rows exist).
//
// Concurrency: Run starts its own measuring goroutines (locked to OS threads) and stops them
// before it returns; it calls progress on the calling goroutine.
//
// This package imports only engine/tensor and engine/kernels of infertune's packages.
package roofline
