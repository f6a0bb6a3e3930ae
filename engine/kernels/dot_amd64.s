//go:build goexperiment.simd && amd64

#include "textflag.h"

// Assembly routines for the instructions archsimd lacks: F16C's VCVTPH2PS and VNNI's
// VPDPBUSD. Each has a Go twin (the generic kernels) that the tests hold it against.

// func dotF16AVX512(w *uint16, x *float32, n int) float32
// Σ fp32(w[i])·x[i] for i < n, n a multiple of 16.
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	CMPQ CX, $64
	JLT f16z_tail
f16z_loop64:
	VCVTPH2PS 0(SI), Z4
	VCVTPH2PS 32(SI), Z5
	VCVTPH2PS 64(SI), Z6
	VCVTPH2PS 96(SI), Z7
	VFMADD231PS 0(DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ $128, SI
	ADDQ $256, DI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE f16z_loop64
f16z_tail:
	CMPQ CX, $16
	JLT f16z_done
	VCVTPH2PS 0(SI), Z4
	VFMADD231PS 0(DI), Z4, Z0
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP f16z_tail
f16z_done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF16AVX2(w *uint16, x *float32, n int) float32
// Σ fp32(w[i])·x[i] for i < n, n a multiple of 8 (F16C + FMA, 256-bit).
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JLT f16y_tail
f16y_loop32:
	VCVTPH2PS 0(SI), Y4
	VCVTPH2PS 16(SI), Y5
	VCVTPH2PS 32(SI), Y6
	VCVTPH2PS 48(SI), Y7
	VFMADD231PS 0(DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE f16y_loop32
f16y_tail:
	CMPQ CX, $8
	JLT f16y_done
	VCVTPH2PS 0(SI), Y4
	VFMADD231PS 0(DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP f16y_tail
f16y_done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Block dots with VNNI. VPDPBUSD multiplies unsigned by signed bytes, so each kernel makes
// the weights unsigned and takes a per-lane correction as the accumulator's start value:
//   Q8_0: w+128 (w XOR 0x80); Σ(w+128)·x = Σw·x + 128·Σx, so corr = -128·(Σ of x's 4 bytes).
//   Q4_0: the nibbles q are already 0..15; Σ(q-8)·x = Σq·x - 8·Σx, so corr = -8·(Σ of 4 x's).
// corr holds 8 int32 per block (one per dword lane of the block's 32 bytes).

// The scale of a block is fp32(dw)·xd[b]: dw's fp32 value comes from tab, the 64K-entry
// fp16 table (a broadcast load), so the scale costs one multiply on the vector pipes.

// func dotQ8VNNI(w *byte, xq *int8, xd *float32, corr *int32, tab *float32, nb int) float32
TEXT ·dotQ8VNNI(SB), NOSPLIT, $0-52
	MOVQ w+0(FP), SI
	MOVQ xq+8(FP), DI
	MOVQ xd+16(FP), DX
	MOVQ corr+24(FP), R8
	MOVQ tab+32(FP), R9
	MOVQ nb+40(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVL $0x80808080, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	CMPQ CX, $2
	JLT q8_tail
q8_loop2:
	MOVWQZX 0(SI), AX
	MOVWQZX 34(SI), BX
	VPXOR 2(SI), Y15, Y2
	VPXOR 36(SI), Y15, Y6
	VMOVDQU 0(R8), Y3
	VMOVDQU 32(R8), Y7
	VPDPBUSD 0(DI), Y2, Y3
	VPDPBUSD 32(DI), Y6, Y7
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y7, Y7
	VBROADCASTSS (R9)(AX*4), Y4
	VBROADCASTSS (R9)(BX*4), Y8
	VMULPS.BCST 0(DX), Y4, Y4
	VMULPS.BCST 4(DX), Y8, Y8
	VFMADD231PS Y4, Y3, Y0
	VFMADD231PS Y8, Y7, Y1
	ADDQ $68, SI
	ADDQ $64, DI
	ADDQ $8, DX
	ADDQ $64, R8
	SUBQ $2, CX
	CMPQ CX, $2
	JGE q8_loop2
q8_tail:
	TESTQ CX, CX
	JZ q8_done
	MOVWQZX 0(SI), AX
	VPXOR 2(SI), Y15, Y2
	VMOVDQU 0(R8), Y3
	VPDPBUSD 0(DI), Y2, Y3
	VCVTDQ2PS Y3, Y3
	VBROADCASTSS (R9)(AX*4), Y4
	VMULPS.BCST 0(DX), Y4, Y4
	VFMADD231PS Y4, Y3, Y0
q8_done:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// Q4_0 nibbles: VBROADCASTI128 puts the 16 bytes in both halves, VPSRLVQ shifts the upper
// half right by 4 (shift counts 0,0,4,4 per quadword) and VPAND keeps the low nibble of
// every byte: elements 0..15 in the low half, 16..31 in the high half.
DATA q4shift<>+0(SB)/8, $0
DATA q4shift<>+8(SB)/8, $0
DATA q4shift<>+16(SB)/8, $4
DATA q4shift<>+24(SB)/8, $4
GLOBL q4shift<>(SB), RODATA|NOPTR, $32

// func dotQ4VNNI(w *byte, xq *int8, xd *float32, corr *int32, tab *float32, nb int) float32
TEXT ·dotQ4VNNI(SB), NOSPLIT, $0-52
	MOVQ w+0(FP), SI
	MOVQ xq+8(FP), DI
	MOVQ xd+16(FP), DX
	MOVQ corr+24(FP), R8
	MOVQ tab+32(FP), R9
	MOVQ nb+40(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VMOVDQU q4shift<>(SB), Y14
	CMPQ CX, $2
	JLT q4_tail
q4_loop2:
	MOVWQZX 0(SI), AX
	MOVWQZX 18(SI), BX
	VBROADCASTI128 2(SI), Y2
	VBROADCASTI128 20(SI), Y6
	VPSRLVQ Y14, Y2, Y2
	VPSRLVQ Y14, Y6, Y6
	VPAND Y15, Y2, Y2
	VPAND Y15, Y6, Y6
	VMOVDQU 0(R8), Y3
	VMOVDQU 32(R8), Y7
	VPDPBUSD 0(DI), Y2, Y3
	VPDPBUSD 32(DI), Y6, Y7
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y7, Y7
	VBROADCASTSS (R9)(AX*4), Y4
	VBROADCASTSS (R9)(BX*4), Y8
	VMULPS.BCST 0(DX), Y4, Y4
	VMULPS.BCST 4(DX), Y8, Y8
	VFMADD231PS Y4, Y3, Y0
	VFMADD231PS Y8, Y7, Y1
	ADDQ $36, SI
	ADDQ $64, DI
	ADDQ $8, DX
	ADDQ $64, R8
	SUBQ $2, CX
	CMPQ CX, $2
	JGE q4_loop2
q4_tail:
	TESTQ CX, CX
	JZ q4_done
	MOVWQZX 0(SI), AX
	VBROADCASTI128 2(SI), Y2
	VPSRLVQ Y14, Y2, Y2
	VPAND Y15, Y2, Y2
	VMOVDQU 0(R8), Y3
	VPDPBUSD 0(DI), Y2, Y3
	VCVTDQ2PS Y3, Y3
	VBROADCASTSS (R9)(AX*4), Y4
	VMULPS.BCST 0(DX), Y4, Y4
	VFMADD231PS Y4, Y3, Y0
q4_done:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// Four-row forms: y[r] = dot(row r, x) for rows w, w+stride, w+2·stride, w+3·stride. The
// activation loads (x, corr, xd) are shared by the four rows, which leaves each row block
// with its weight load and its scale lookup.

// func matVec4Q8VNNI(w *byte, stride int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
TEXT ·matVec4Q8VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ stride+8(FP), R10
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ corr+32(FP), R8
	MOVQ tab+40(FP), R9
	MOVQ nb+48(FP), CX
	LEAQ (R10)(R10*2), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVL $0x80808080, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	TESTQ CX, CX
	JZ mv8_done
mv8_loop:
	VMOVDQU 0(DI), Y4
	VMOVDQU 0(R8), Y5
	VBROADCASTSS 0(DX), Y6

	MOVWQZX 0(SI), AX
	VPXOR 2(SI), Y15, Y8
	VMOVDQA Y5, Y9
	VPDPBUSD Y4, Y8, Y9
	VCVTDQ2PS Y9, Y9
	VBROADCASTSS (R9)(AX*4), Y10
	VMULPS Y6, Y10, Y10
	VFMADD231PS Y10, Y9, Y0

	MOVWQZX (SI)(R10*1), AX
	VPXORD 2(SI)(R10*1), Y15, Y16
	VMOVDQA64 Y5, Y17
	VPDPBUSD Y4, Y16, Y17
	VCVTDQ2PS Y17, Y17
	VBROADCASTSS (R9)(AX*4), Y18
	VMULPS Y6, Y18, Y18
	VFMADD231PS Y18, Y17, Y1

	MOVWQZX (SI)(R10*2), AX
	VPXORD 2(SI)(R10*2), Y15, Y19
	VMOVDQA64 Y5, Y20
	VPDPBUSD Y4, Y19, Y20
	VCVTDQ2PS Y20, Y20
	VBROADCASTSS (R9)(AX*4), Y21
	VMULPS Y6, Y21, Y21
	VFMADD231PS Y21, Y20, Y2

	MOVWQZX (SI)(R11*1), AX
	VPXORD 2(SI)(R11*1), Y15, Y22
	VMOVDQA64 Y5, Y23
	VPDPBUSD Y4, Y22, Y23
	VCVTDQ2PS Y23, Y23
	VBROADCASTSS (R9)(AX*4), Y24
	VMULPS Y6, Y24, Y24
	VFMADD231PS Y24, Y23, Y3

	ADDQ $34, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $32, R8
	DECQ CX
	JNZ mv8_loop
mv8_done:
	MOVQ y+56(FP), DI
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, 0(DI)
	VZEROUPPER
	RET

// func matVec4Q4VNNI(w *byte, stride int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
TEXT ·matVec4Q4VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ stride+8(FP), R10
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), DX
	MOVQ corr+32(FP), R8
	MOVQ tab+40(FP), R9
	MOVQ nb+48(FP), CX
	LEAQ (R10)(R10*2), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VMOVDQU q4shift<>(SB), Y14
	TESTQ CX, CX
	JZ mv4_done
mv4_loop:
	VMOVDQU 0(DI), Y4
	VMOVDQU 0(R8), Y5
	VBROADCASTSS 0(DX), Y6

	MOVWQZX 0(SI), AX
	VBROADCASTI128 2(SI), Y8
	VPSRLVQ Y14, Y8, Y8
	VPAND Y15, Y8, Y8
	VMOVDQA Y5, Y9
	VPDPBUSD Y4, Y8, Y9
	VCVTDQ2PS Y9, Y9
	VBROADCASTSS (R9)(AX*4), Y10
	VMULPS Y6, Y10, Y10
	VFMADD231PS Y10, Y9, Y0

	MOVWQZX (SI)(R10*1), AX
	VBROADCASTI32X4 2(SI)(R10*1), Y16
	VPSRLVQ Y14, Y16, Y16
	VPANDD Y15, Y16, Y16
	VMOVDQA64 Y5, Y17
	VPDPBUSD Y4, Y16, Y17
	VCVTDQ2PS Y17, Y17
	VBROADCASTSS (R9)(AX*4), Y18
	VMULPS Y6, Y18, Y18
	VFMADD231PS Y18, Y17, Y1

	MOVWQZX (SI)(R10*2), AX
	VBROADCASTI32X4 2(SI)(R10*2), Y19
	VPSRLVQ Y14, Y19, Y19
	VPANDD Y15, Y19, Y19
	VMOVDQA64 Y5, Y20
	VPDPBUSD Y4, Y19, Y20
	VCVTDQ2PS Y20, Y20
	VBROADCASTSS (R9)(AX*4), Y21
	VMULPS Y6, Y21, Y21
	VFMADD231PS Y21, Y20, Y2

	MOVWQZX (SI)(R11*1), AX
	VBROADCASTI32X4 2(SI)(R11*1), Y22
	VPSRLVQ Y14, Y22, Y22
	VPANDD Y15, Y22, Y22
	VMOVDQA64 Y5, Y23
	VPDPBUSD Y4, Y22, Y23
	VCVTDQ2PS Y23, Y23
	VBROADCASTSS (R9)(AX*4), Y24
	VMULPS Y6, Y24, Y24
	VFMADD231PS Y24, Y23, Y3

	ADDQ $18, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $32, R8
	DECQ CX
	JNZ mv4_loop
mv4_done:
	MOVQ y+56(FP), DI
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, 0(DI)
	VZEROUPPER
	RET

// func cvtF16AVX512(dst *float32, src *uint16, n int)
// dst[i] = fp32(src[i]) for i < n, n a multiple of 16.
TEXT ·cvtF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ cvt_done
cvt_loop:
	VCVTPH2PS 0(SI), Z0
	VMOVUPS Z0, 0(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNZ cvt_loop
cvt_done:
	VZEROUPPER
	RET

// func f16ScaleAVX512(d *float32, n int)
// d[i] = fp32(fp16(d[i] / 127)) for i < n: the Q8_0 activation scale, rounded to nearest
// even through fp16 (VCVTPS2PH with immediate rounding 0) as a Q8_0 block stores it. The
// last n mod 16 values go through a masked load and store.
TEXT ·f16ScaleAVX512(SB), NOSPLIT, $0-16
	MOVQ d+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x42fe0000, AX
	VPBROADCASTD AX, Z2
sc_loop:
	CMPQ CX, $16
	JLT sc_tail
	VMOVUPS 0(SI), Z0
	VDIVPS Z2, Z0, Z0
	VCVTPS2PH $0, Z0, Y1
	VCVTPH2PS Y1, Z0
	VMOVUPS Z0, 0(SI)
	ADDQ $64, SI
	SUBQ $16, CX
	JMP sc_loop
sc_tail:
	TESTQ CX, CX
	JZ sc_done
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z 0(SI), K1, Z0
	VDIVPS Z2, Z0, Z0
	VCVTPS2PH $0, Z0, Y1
	VCVTPH2PS Y1, Z0
	VMOVUPS Z0, K1, 0(SI)
sc_done:
	VZEROUPPER
	RET
