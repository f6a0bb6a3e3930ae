//go:build goexperiment.simd && amd64

#include "textflag.h"
#include "fourrow_amd64.h"

// 512-bit forms of the four-row float MatVec kernels (matvec_amd64.s), for CPUs that run
// 512-bit operations at full width (impl.wideFloats): y[r] = Σ_{p<k} fp32(w_r[p])·x[p]
// for the rows w, w+stride, w+2·stride, w+3·stride, k a multiple of 32, a step of 32
// elements. Against the 256-bit kernels a step takes half the instructions (for fp16 and
// bf16 the conversions, which bound a matrix read from L1 or L2). Production MatVec, one
// thread, medians of eleven alternations in one process: fp16 768×288 1.48 times as fast,
// 1024×1024 1.16, 2048×2048 1.12, 4096×4096 (32 MiB) 0.96; bf16 1.49, 1.14, 1.09, 0.97;
// fp32 1.27, 1.01, 1.04, 1.02; four columns of 1024×1024 (fp16, bf16, fp32) 1.40, 1.52,
// 1.41.

// ARGSZ loads the arguments, prepares the row pointers and zeroes the accumulators; CX
// becomes the number of 32-element steps.
#define ARGSZ \
	MOVQ w+0(FP), SI \
	MOVQ stride+8(FP), R10 \
	MOVQ x+16(FP), DX \
	MOVQ k+24(FP), CX \
	MOVQ y+32(FP), DI \
	ROWS4 \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7 \
	SHRQ $5, CX

// REDUCEZ adds the two accumulators of each row (Z0+Z4 … Z3+Z7), then the sixteen lanes of
// each row (the upper eight onto the lower, then REDUCE4), and stores the four sums to y
// (DI).
#define REDUCEZ \
	VADDPS Z4, Z0, Z0 \
	VADDPS Z5, Z1, Z1 \
	VADDPS Z6, Z2, Z2 \
	VADDPS Z7, Z3, Z3 \
	VEXTRACTF64X4 $1, Z0, Y4 \
	VEXTRACTF64X4 $1, Z1, Y5 \
	VEXTRACTF64X4 $1, Z2, Y6 \
	VEXTRACTF64X4 $1, Z3, Y7 \
	REDUCE4

// The kernels prefetch with PREFETCH4 (the l2 setting), PREFETCHNTA4 (nta) or NOPF (the
// Cached kernels), all in fourrow_amd64.h, once for each cache line of each row.

// WIDENZ widens 16 weights of each row at byte offset d to fp32 in Z10-Z13 with W (a
// macro of a memory operand and a register) and adds their products with the activations
// in XV to accumulators A0-A3.
#define WIDENZ(W, d, XV, A0, A1, A2, A3) \
	WIDENFMA4(W, d, XV, Z10, Z11, Z12, Z13, A0, A1, A2, A3)

// fp16: elements 0-15 of the step from its first 32 bytes, 16-31 from the next.
#define CVTF16Z(m, dst) VCVTPH2PS m, dst
#define F16ROWSZ \
	WIDENZ(CVTF16Z, 0, Z8, Z0, Z1, Z2, Z3) \
	WIDENZ(CVTF16Z, 32, Z9, Z4, Z5, Z6, Z7)

// bf16: a bf16 is the high half of an fp32. VPSLLD by 16 makes the low word of each 32-bit
// lane an fp32 (the even elements of the step), VPANDD with 0xFFFF0000 (Z15) keeps the
// high word (the odd ones), each in one instruction from memory. The activations come in
// that order (bf16OrderZ).
#define EVENBF16Z(m, dst) VPSLLD $16, m, dst
#define ODDBF16Z(m, dst) VPANDD m, Z15, dst
#define BF16ROWSZ \
	WIDENZ(EVENBF16Z, 0, Z8, Z0, Z1, Z2, Z3) \
	WIDENZ(ODDBF16Z, 0, Z9, Z4, Z5, Z6, Z7)

// fp32: elements 0-15 of the step from its first 64 bytes, 16-31 from the next, each an
// FMA from memory.
#define F32ROWSZ \
	FMA4(0, Z8, Z0, Z1, Z2, Z3) \
	FMA4(64, Z9, Z4, Z5, Z6, Z7)

// F32PFZ and HALFPFZ run the prefetch PF (PREFETCH4, PREFETCHNTA4 or NOPF) for each
// cache line of a step: an fp32 step is two lines of each row, an fp16 or bf16 step one.
#define F32PFZ(PF) PF(0) PF(64)
#define HALFPFZ(PF) PF(0)

// LOOPZ is a kernel: ARGSZ, SETUP (NOSETUPZ or BF16SETUPZ), then CX steps of ROWS
// (F32ROWSZ, F16ROWSZ or BF16ROWSZ) of wb bytes of each row, each with STEPPF(PF) (F32PFZ
// or HALFPFZ); loop and done are its labels.
#define LOOPZ(ROWS, wb, SETUP, STEPPF, PF, loop, done) \
	ARGSZ \
	SETUP \
	TESTQ CX, CX \
	JZ done \
loop: \
	STEPPF(PF) \
	VMOVUPS 0(DX), Z8 \
	VMOVUPS 64(DX), Z9 \
	ROWS \
	ADDQ $wb, SI \
	ADDQ $128, DX \
	DECQ CX \
	JNZ loop \
done: \
	REDUCEZ

#define NOSETUPZ
#define BF16SETUPZ \
	MOVL $0xFFFF0000, AX \
	VPBROADCASTD AX, Z15

// func matVec4F32Z(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F32Z(SB), NOSPLIT, $0-40
	LOOPZ(F32ROWSZ, 128, NOSETUPZ, F32PFZ, PREFETCH4, f32z_loop, f32z_done)
	RET

// func matVec4F32ZNTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F32ZNTA(SB), NOSPLIT, $0-40
	LOOPZ(F32ROWSZ, 128, NOSETUPZ, F32PFZ, PREFETCHNTA4, f32zn_loop, f32zn_done)
	RET

// func matVec4F32ZCached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F32ZCached(SB), NOSPLIT, $0-40
	LOOPZ(F32ROWSZ, 128, NOSETUPZ, F32PFZ, NOPF, f32zc_loop, f32zc_done)
	RET

// func matVec4F16Z(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F16Z(SB), NOSPLIT, $0-40
	LOOPZ(F16ROWSZ, 64, NOSETUPZ, HALFPFZ, PREFETCH4, f16z_loop, f16z_done)
	RET

// func matVec4F16ZNTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F16ZNTA(SB), NOSPLIT, $0-40
	LOOPZ(F16ROWSZ, 64, NOSETUPZ, HALFPFZ, PREFETCHNTA4, f16zn_loop, f16zn_done)
	RET

// func matVec4F16ZCached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4F16ZCached(SB), NOSPLIT, $0-40
	LOOPZ(F16ROWSZ, 64, NOSETUPZ, HALFPFZ, NOPF, f16zc_loop, f16zc_done)
	RET

// func matVec4BF16Z(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
// x is in bf16OrderZ.
TEXT ·matVec4BF16Z(SB), NOSPLIT, $0-40
	LOOPZ(BF16ROWSZ, 64, BF16SETUPZ, HALFPFZ, PREFETCH4, bf16z_loop, bf16z_done)
	RET

// func matVec4BF16ZNTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4BF16ZNTA(SB), NOSPLIT, $0-40
	LOOPZ(BF16ROWSZ, 64, BF16SETUPZ, HALFPFZ, PREFETCHNTA4, bf16zn_loop, bf16zn_done)
	RET

// func matVec4BF16ZCached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
TEXT ·matVec4BF16ZCached(SB), NOSPLIT, $0-40
	LOOPZ(BF16ROWSZ, 64, BF16SETUPZ, HALFPFZ, NOPF, bf16zc_loop, bf16zc_done)
	RET

