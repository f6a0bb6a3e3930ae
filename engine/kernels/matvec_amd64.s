//go:build goexperiment.simd && amd64

#include "textflag.h"
#include "fourrow_amd64.h"

// Four-row MatVec kernels for the float dtypes (AVX2 + FMA + F16C, 256-bit, so the AVX2 and
// AVX-512 paths share them): y[r] = Σ_{p<k} fp32(w_r[p])·x[p] for the rows w, w+stride,
// w+2·stride, w+3·stride, k a multiple of 16. They are memory-bound, and written for the
// memory system:
//   - 256-bit loads: on CPUs that split 512-bit loads (AMD Zen 4), a 256-bit stream reads
//     DRAM about a quarter faster;
//   - the activation vector is loaded once per step and shared by the four rows;
//   - each step prefetches each of the four rows 4 KiB and 8 KiB ahead (PREFETCH4). The
//     group's rows come from four quarters of the matrix (Kernels.quarters), so a row runs
//     on into the next group's: each row pointer is one stream front to back, whatever the
//     row length;
//   - two accumulators per row (eight in all) cover the FMA latency.
// Their Go twins are dotF32Generic, dotF16Generic and dotBF16Generic, one row at a time.

// WIDEN4 widens 8 weights of each row at byte offset d to fp32 in Y10-Y13 with W (a macro
// of a memory operand and a register: CVTF16, UNPCKLBF16 or UNPCKHBF16) and adds their
// products with the activations in XV to accumulators A0-A3.
#define WIDEN4(W, d, XV, A0, A1, A2, A3) \
	WIDENFMA4(W, d, XV, Y10, Y11, Y12, Y13, A0, A1, A2, A3)

// fp16: F16C's conversion.
#define CVTF16(m, dst) VCVTPH2PS m, dst

// bf16: VPUNPCKLWD with zero (Y15) moves each weight into the high half of a 32-bit lane,
// which makes it an fp32, in one instruction (a zero-extend and a shift take two): the low
// four words of each 128-bit lane, elements 0-3 and 8-11 of 16; VPUNPCKHWD the high four,
// elements 4-7 and 12-15. The activations come in that order (bf16Order).
#define UNPCKLBF16(m, dst) VPUNPCKLWD m, Y15, dst
#define UNPCKHBF16(m, dst) VPUNPCKHWD m, Y15, dst

// F16ROWS and BF16ROWS run 16 weights of each row at byte offset d against the
// activations XL and XH (the first and second eight as the row reads them), into Y0-Y3
// and Y4-Y7.
#define F16ROWS(d, XL, XH) \
	WIDEN4(CVTF16, d, XL, Y0, Y1, Y2, Y3) \
	WIDEN4(CVTF16, d+16, XH, Y4, Y5, Y6, Y7)

#define BF16ROWS(d, XL, XH) \
	WIDEN4(UNPCKLBF16, d, XL, Y0, Y1, Y2, Y3) \
	WIDEN4(UNPCKHBF16, d, XH, Y4, Y5, Y6, Y7)

// STEP16 runs 16 elements of the four rows with ROWS (F16ROWS or BF16ROWS): activations at
// byte offset dx, weights at dw.
#define STEP16(ROWS, dx, dw) \
	VMOVUPS dx(DX), Y8 \
	VMOVUPS dx+32(DX), Y9 \
	ROWS(dw, Y8, Y9)

// ARGS4 loads the arguments and prepares the row pointers and accumulators; CX becomes the
// number of 16-element steps.
#define ARGS4 \
	MOVQ w+0(FP), SI \
	MOVQ stride+8(FP), R10 \
	MOVQ x+16(FP), DX \
	MOVQ k+24(FP), CX \
	MOVQ y+32(FP), DI \
	ROWS4 \
	ZERO8 \
	SHRQ $4, CX

#define ZERO8 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7

// NOPF (fourrow_amd64.h) is a kernel loop's prefetch for rows already in the cache: none. MatMul's row groups
// run each group against its first column with the prefetches and against the others, which
// read the rows from L1 or L2, without (the Cached kernels): the prefetches are a fifth of a
// step's memory operations. n=8 columns, µs, with vs without after the first, one thread:
// fp32 1024×1024 555 vs 375, 32000×288 5,147 vs 4,087; fp16 1024×1024 403 vs 332,
// 32000×288 3,869 vs 3,225.

// F32LOOP is matVec4F32's loop over CX 16-element steps with the prefetch PF (PREFETCH4 or
// NOPF); loop and done are its labels.
#define F32LOOP(PF, loop, done) \
	ARGS4 \
	JZ done \
loop: \
	PF(0) \
	VMOVUPS 0(DX), Y8 \
	VMOVUPS 32(DX), Y9 \
	FMA4(0, Y8, Y0, Y1, Y2, Y3) \
	FMA4(32, Y9, Y4, Y5, Y6, Y7) \
	ADDQ $64, SI \
	ADDQ $64, DX \
	DECQ CX \
	JNZ loop \
done: \
	REDUCE4

// HALFLOOP is the fp16 and bf16 kernels' body with ROWS (F16ROWS or BF16ROWS), after
// ARGS4 and SETUP (F16SETUP or BF16SETUP), and the prefetch PF: steps of 32 elements (64
// bytes of each row, one cache line, one prefetch), then one of 16; loop, one and done are
// its labels.
#define HALFLOOP(ROWS, SETUP, PF, loop, one, done) \
	ARGS4 \
	SETUP \
	CMPQ CX, $2 \
	JLT one \
loop: \
	PF(0) \
	STEP16(ROWS, 0, 0) \
	STEP16(ROWS, 64, 32) \
	ADDQ $64, SI \
	ADDQ $128, DX \
	SUBQ $2, CX \
	CMPQ CX, $2 \
	JGE loop \
one: \
	TESTQ CX, CX \
	JZ done \
	STEP16(ROWS, 0, 0) \
done: \
	REDUCE4

// F16SETUP is nothing; BF16SETUP zeroes Y15 for the unpacks (UNPCKLBF16).
#define F16SETUP
#define BF16SETUP VPXOR Y15, Y15, Y15

// func matVec4F32(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F32(SB), NOSPLIT, $0-40
	F32LOOP(PREFETCH4, f32_loop, f32_done)
	RET

// func matVec4F32Cached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// matVec4F32 without prefetches, for rows in the cache.
TEXT ·matVec4F32Cached(SB), NOSPLIT, $0-40
	F32LOOP(NOPF, f32c_loop, f32c_done)
	RET

// func matVec4F32NTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// matVec4F32 with PREFETCHNTA4.
TEXT ·matVec4F32NTA(SB), NOSPLIT, $0-40
	F32LOOP(PREFETCHNTA4, f32n_loop, f32n_done)
	RET

// func matVec4F16(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F16(SB), NOSPLIT, $0-40
	HALFLOOP(F16ROWS, F16SETUP, PREFETCH4, f16_loop, f16_one, f16_done)
	RET

// func matVec4F16Cached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// matVec4F16 without prefetches, for rows in the cache.
TEXT ·matVec4F16Cached(SB), NOSPLIT, $0-40
	HALFLOOP(F16ROWS, F16SETUP, NOPF, f16c_loop, f16c_one, f16c_done)
	RET

// func matVec4F16NTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// matVec4F16 with PREFETCHNTA4.
TEXT ·matVec4F16NTA(SB), NOSPLIT, $0-40
	HALFLOOP(F16ROWS, F16SETUP, PREFETCHNTA4, f16n_loop, f16n_one, f16n_done)
	RET

// func matVec4BF16(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// x is in bf16Order (see UNPCKLBF16).
TEXT ·matVec4BF16(SB), NOSPLIT, $0-40
	HALFLOOP(BF16ROWS, BF16SETUP, PREFETCH4, bf16_loop, bf16_one, bf16_done)
	RET

// func matVec4BF16NTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// matVec4BF16 with PREFETCHNTA4.
TEXT ·matVec4BF16NTA(SB), NOSPLIT, $0-40
	HALFLOOP(BF16ROWS, BF16SETUP, PREFETCHNTA4, bf16n_loop, bf16n_one, bf16n_done)
	RET

// func matVec4BF16Cached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// matVec4BF16 without prefetches, for rows in the cache.
TEXT ·matVec4BF16Cached(SB), NOSPLIT, $0-40
	HALFLOOP(BF16ROWS, BF16SETUP, NOPF, bf16c_loop, bf16c_one, bf16c_done)
	RET
