// Macros shared by the four-row kernels (dot_amd64.s, matvec_amd64.s, matvec512_amd64.s).

// STORE4SUMS adds the eight lanes of each of Y0-Y3 and stores the four sums, in that order,
// to y (DI): the last step of every four-row kernel (dot_amd64.s, matvec_amd64.s,
// matvec512_amd64.s).
#define STORE4SUMS \
	VHADDPS Y1, Y0, Y0 \
	VHADDPS Y3, Y2, Y2 \
	VHADDPS Y2, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VMOVUPS X0, 0(DI) \
	VZEROUPPER

// REDUCE4 adds the two accumulators of each row (Y0+Y4 … Y3+Y7), then the eight lanes of
// each row, and stores the four sums to y (DI): the float four-row kernels' last step
// (matvec_amd64.s, matvec512_amd64.s).
#define REDUCE4 \
	VADDPS Y4, Y0, Y0 \
	VADDPS Y5, Y1, Y1 \
	VADDPS Y6, Y2, Y2 \
	VADDPS Y7, Y3, Y3 \
	STORE4SUMS

// PREFETCH4(d) prefetches the cache line at byte offset d of the four rows (SI, SI+R10,
// SI+2·R10, SI+R11) 4 KiB and 8 KiB ahead. Measured on 4096×4096 matrices, three
// alternating runs each of bench kernels at one thread: against the earlier pair (the next group's rows at this offset, a row length ahead, and 1 KiB
// ahead), cold fp16 and bf16 read the same or faster (25-28 GB/s against 21-27) and hot
// (32 MiB, from the last-level cache) 42-44 GB/s against 30-40, fp32 hot 31-42 against
// 28-33. A prefetch 1 KiB ahead is too late to hide the last-level cache and costs a
// tenth of a hot MatVec; one prefetch 8 KiB ahead alone lost a sixth of the cold rate:
// two, 4 KiB apart, give a line dropped from a full miss queue a second chance.
#define PREFETCH4(d) \
	PREFETCHT1 4096+d(SI) \
	PREFETCHT1 4096+d(SI)(R10*1) \
	PREFETCHT1 4096+d(SI)(R10*2) \
	PREFETCHT1 4096+d(SI)(R11*1) \
	PREFETCHT1 8192+d(SI) \
	PREFETCHT1 8192+d(SI)(R10*1) \
	PREFETCHT1 8192+d(SI)(R10*2) \
	PREFETCHT1 8192+d(SI)(R11*1)

// PREFETCHNTA4(d) prefetches the same line 2 KiB ahead with PREFETCHNTA, which fills L1
// without claiming L2 for lines read once: the NTA kernels, for CPUs whose hardware
// prefetchers already bring the rows on (Zen 5; kernels.DetectPrefetch). There, against
// no prefetch (medians of eleven alternations in one process, four runs), the fp16 kernel
// read a 32 MiB matrix from the last-level cache 1.10-1.18 times as fast at one thread
// (two threads 0.99-1.11), and 1 GiB from memory 1.02-1.07 times (two threads
// 1.01-1.15); bf16 1.23-1.29 and fp32 1.19 times from the cache at one thread. 1.5, 1 and
// 3 KiB ahead, and PREFETCHT0, T1 or T2 at 0.5 to 4 KiB, gained less or lost.
#define PREFETCHNTA4(d) \
	PREFETCHNTA 2048+d(SI) \
	PREFETCHNTA 2048+d(SI)(R10*1) \
	PREFETCHNTA 2048+d(SI)(R10*2) \
	PREFETCHNTA 2048+d(SI)(R11*1)

// NOPF(d) is the prefetch of the kernels for rows already in the cache: none.
#define NOPF(d)

// ROWS4 sets R11 = 3·stride (R10), the fourth row's offset in the float four-row kernels.
#define ROWS4 \
	LEAQ (R10)(R10*2), R11

// WIDENFMA4 widens the weights at byte offset d of the four rows (SI, SI+R10, SI+2·R10,
// SI+R11) to fp32 in T0-T3 with W (a macro of a memory operand and a register) and adds
// their products with the activations in XV to accumulators A0-A3: the float four-row
// kernels' step, in 256 bits (WIDEN4, matvec_amd64.s) and 512 (WIDENZ, matvec512_amd64.s).
#define WIDENFMA4(W, d, XV, T0, T1, T2, T3, A0, A1, A2, A3) \
	W(d(SI), T0) \
	W(d(SI)(R10*1), T1) \
	W(d(SI)(R10*2), T2) \
	W(d(SI)(R11*1), T3) \
	VFMADD231PS T0, XV, A0 \
	VFMADD231PS T1, XV, A1 \
	VFMADD231PS T2, XV, A2 \
	VFMADD231PS T3, XV, A3

// FMA4 adds the products of the fp32 weights at byte offset d of the four rows (SI, SI+R10,
// SI+2·R10, SI+R11) with the activations in XV to accumulators A0-A3, each an FMA from
// memory: the fp32 four-row kernels' step, in 256 bits (matvec_amd64.s) and 512
// (matvec512_amd64.s).
#define FMA4(d, XV, A0, A1, A2, A3) \
	VFMADD231PS d(SI), XV, A0 \
	VFMADD231PS d(SI)(R10*1), XV, A1 \
	VFMADD231PS d(SI)(R10*2), XV, A2 \
	VFMADD231PS d(SI)(R11*1), XV, A3
