//go:build goexperiment.simd && amd64

#include "textflag.h"
#include "fourrow_amd64.h"

// HSUM0 leaves the sum of Y0's eight lanes in X0 (lane 0); X1 is scratch.
#define HSUM0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// Q8ROW is one row's block of a four-row Q8_0 step: the weights made unsigned, the
// corrections (Y5) as the accumulator's start, VPDPBUSD against the shared activations (Y4),
// the sums to fp32, times the block's scale (its fp16 at disp(ADDR), through the table at R9,
// a broadcast memory operand), and into ACC times the activation scale (Y6). W and T are
// scratch. The two scales cost one multiply and one FMA on the vector pipes and one load each
// (a broadcast load of xd into S and a multiply of the scales took one instruction more for
// each row; Q8ROW and Q4ROW are bound by how fast their instructions issue on cached data).
#define Q8ROW(disp, ADDR, ACC, W, T) \
	MOVWQZX disp(ADDR), AX \
	VPXORD disp+2(ADDR), Y15, W \
	QDOT(ACC, W, T)

// Q4ROW is Q8ROW for a Q4_0 block. VBROADCASTI32X4 puts the 16 nibble bytes in both halves
// and one VPAND (Y15: 0x0f in the low half, 0xf0 in the high) keeps the low nibbles q (values
// 0..15) in the low half and 16·q (values 16..31) in the high: lanes 4-7 of the sums come
// out 16 times too large, their corrections are made 16 times too (q4CorrVNNI), and
// Q4UNSCALE divides by 16 once at the end, exactly (a power of two).
#define Q4ROW(disp, ADDR, ACC, W, T) \
	MOVWQZX disp(ADDR), AX \
	VBROADCASTI32X4 disp+2(ADDR), W \
	VPANDD Y15, W, W \
	QDOT(ACC, W, T)

// QDOT is the part Q8ROW and Q4ROW share, from the unsigned weights W and the fp16 scale's
// bits in AX on.
#define QDOT(ACC, W, T) \
	VMOVDQA64 Y5, T \
	VPDPBUSD Y4, W, T \
	VCVTDQ2PS T, T \
	VMULPS.BCST (R9)(AX*4), T, T \
	VFMADD231PS Y6, T, ACC

// Q4UNSCALE multiplies ACC by Y14 (1 in lanes 0-3, 1/16 in lanes 4-7): see Q4ROW.
#define Q4UNSCALE(ACC) \
	VMULPS Y14, ACC, ACC

// QSHARED loads block b's shared operands (b = 0, 1, … of the step): activations, their
// corrections, their scale.
#define QSHARED(b) \
	VMOVDQU (b*32)(DI), Y4 \
	VMOVDQU (b*32)(R8), Y5 \
	VBROADCASTSS (b*4)(DX), Y6

// QBLOCK runs block b of the step, all four rows, with ROW (Q8ROW or Q4ROW) of bb-byte
// blocks. (Arguments are parenthesized: macros substitute text.)
#define QBLOCK(ROW, bb, b) \
	QSHARED((b)) \
	QROWS4(ROW, ((b)*(bb)))

// QROWS4 runs one block of all four rows with ROW at block offset disp.
#define QROWS4(ROW, disp) \
	ROW(disp, SI, Y0, Y8, Y9) \
	ROW(disp, R13, Y1, Y16, Y17) \
	ROW(disp, R14, Y2, Y19, Y20) \
	ROW(disp, R15, Y3, Y22, Y23)

// ROWS4START sets the row pointers R13, R14, R15 (SI + 1, 2, 3 strides of R10 bytes) and
// zeroes the accumulators Y0-Y3 of the four-row kernels.
#define ROWS4START \
	LEAQ (SI)(R10*1), R13 \
	LEAQ (SI)(R10*2), R14 \
	LEAQ (R13)(R10*2), R15 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3

// QSETUP loads the arguments and sets the row pointers: SI, R13, R14, R15 the four rows,
// R12 the first of the next four (next bytes on). Each step prefetches into L2 the same
// offset of the next four rows and the four rows some KiB ahead (QPREFETCH); without both, a
// matrix streamed from DRAM reached 60% of the read roof instead of about 80%. Prefetches
// past the matrix never fault.
#define QSETUP \
	MOVQ w+0(FP), SI \
	MOVQ stride+8(FP), R10 \
	MOVQ next+16(FP), R12 \
	ADDQ SI, R12 \
	MOVQ xq+24(FP), DI \
	MOVQ xd+32(FP), DX \
	MOVQ corr+40(FP), R8 \
	MOVQ tab+48(FP), R9 \
	MOVQ nb+56(FP), CX \
	ROWS4START

// BYTES80 sets every byte of Y15 to 0x80, which the Q8_0 kernels add to the weights (by an
// exclusive or) to make them unsigned for VPDPBUSD.
#define BYTES80 \
	MOVL $0x80808080, AX \
	VMOVD AX, X15 \
	VPBROADCASTD X15, Y15

// QPREFETCH prefetches, off bytes on from the step's offset, the next four rows and the
// four rows ahead bytes ahead (see QSETUP). Q8_0 prefetches 4 KiB ahead: with 1 KiB, a
// cold MatVec 4096×4096 at one thread read 21.8-23.2 GB/s in six runs, with 4 KiB
// 25.2-27.5 (run alternately, the read roof 26-30). Q4_0, with twice the work per byte,
// measured the same at 1, 2 and 4 KiB and keeps 1 KiB.
#define QPREFETCH(ahead, off) \
	PREFETCHT1 off(R12) \
	PREFETCHT1 off(R12)(R10*1) \
	PREFETCHT1 off(R12)(R10*2) \
	LEAQ (R12)(R10*2), AX \
	PREFETCHT1 off(AX)(R10*1) \
	PREFETCHT1 (ahead+off)(SI) \
	PREFETCHT1 (ahead+off)(R13) \
	PREFETCHT1 (ahead+off)(R14) \
	PREFETCHT1 (ahead+off)(R15)

// QADVANCE moves every pointer on by n blocks of bb bytes.
#define QADVANCE(n, bb) \
	ADDQ $(n*bb), SI \
	ADDQ $(n*bb), R13 \
	ADDQ $(n*bb), R14 \
	ADDQ $(n*bb), R15 \
	ADDQ $(n*bb), R12 \
	ADDQ $(n*32), DI \
	ADDQ $(n*4), DX \
	ADDQ $(n*32), R8

// QSTORE adds each accumulator's eight lanes and stores the four sums to the pointer argument
// yarg (y+off(FP)).
#define QSTORE(yarg) \
	MOVQ yarg, DI \
	STORE4SUMS

// NOFIX is DOT1's FIX for kernels with nothing to fix.
#define NOFIX(ACC)

// DOT1 is the one-row form of the four-row kernels below: the same per-block macros (ROW is
// Q8ROW or Q4ROW, bb the block bytes), two blocks per step into Y0 and Y1, the row's sum
// left in X0 after FIX (a macro of one accumulator) is applied to Y0. The leftover rows of
// a MatVec and Dot run it.
#define DOT1(ROW, bb, FIX, loop, tail, done) \
	MOVQ w+0(FP), SI \
	MOVQ xq+8(FP), DI \
	MOVQ xd+16(FP), DX \
	MOVQ corr+24(FP), R8 \
	MOVQ tab+32(FP), R9 \
	MOVQ nb+40(FP), CX \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	CMPQ CX, $2 \
	JLT tail \
loop: \
	QSHARED(0) \
	ROW(0, SI, Y0, Y8, Y9) \
	QSHARED(1) \
	ROW(bb, SI, Y1, Y8, Y9) \
	ADDQ $(2*bb), SI \
	ADDQ $64, DI \
	ADDQ $8, DX \
	ADDQ $64, R8 \
	SUBQ $2, CX \
	CMPQ CX, $2 \
	JGE loop \
tail: \
	TESTQ CX, CX \
	JZ done \
	QSHARED(0) \
	ROW(0, SI, Y0, Y8, Y9) \
done: \
	VADDPS Y1, Y0, Y0 \
	FIX(Y0) \
	HSUM0 \
	VZEROUPPER

// QSTEP2 runs two blocks of the four rows with ROW (bb-byte blocks) and counts them off CX;
// QLAST runs the last block, if CX has one, and goes on to done.
#define QSTEP2(ROW, bb) \
	QBLOCK(ROW, bb, 0) \
	QBLOCK(ROW, bb, 1) \
	QADVANCE(2, bb) \
	SUBQ $2, CX

#define QLAST(ROW, bb, done) \
	TESTQ CX, CX \
	JZ done \
	QBLOCK(ROW, bb, 0)

// Q8MV is matVec4Q8VNNI's body with the prefetch PF (Q8PF or NOPF); loop, tail and done
// are its labels.
#define Q8MV(PF, loop, tail, done) \
	QSETUP \
	BYTES80 \
	CMPQ CX, $2 \
	JLT tail \
loop: \
	PF(0) \
	QSTEP2(Q8ROW, 34) \
	CMPQ CX, $2 \
	JGE loop \
tail: \
	QLAST(Q8ROW, 34, done) \
done: \
	QSTORE(y+64(FP))

// Q4MV is matVec4Q4VNNI's body with the prefetch PF (Q4PF or NOPF): steps of four blocks,
// 72 bytes of each row, so two rounds of prefetches (one per cache line); then one of two
// blocks and one of one as needed. loop, two, tail and done are its labels.
#define Q4MV(PF, loop, two, tail, done) \
	QSETUP \
	VMOVDQU q4mask<>(SB), Y15 \
	VMOVUPS q4unscale<>(SB), Y14 \
	CMPQ CX, $4 \
	JLT two \
loop: \
	PF(0) \
	QBLOCK(Q4ROW, 18, 0) \
	QBLOCK(Q4ROW, 18, 1) \
	PF(36) \
	QBLOCK(Q4ROW, 18, 2) \
	QBLOCK(Q4ROW, 18, 3) \
	QADVANCE(4, 18) \
	SUBQ $4, CX \
	CMPQ CX, $4 \
	JGE loop \
two: \
	CMPQ CX, $2 \
	JLT tail \
	QSTEP2(Q4ROW, 18) \
tail: \
	QLAST(Q4ROW, 18, done) \
done: \
	Q4UNSCALE(Y0) \
	Q4UNSCALE(Y1) \
	Q4UNSCALE(Y2) \
	Q4UNSCALE(Y3) \
	QSTORE(y+64(FP))

// The AVX2 forms of the four-row block kernels (the avx2 and avx512 paths, which lack
// VPDPBUSD): the same arguments, pointers, steps and prefetches (QSETUP, QPREFETCH,
// QADVANCE, QSTORE), with VEX instructions on Y0-Y15 only. A block's int32 dot products
// come from VPMADDUBSW (unsigned bytes times signed bytes, pairs added into int16) and
// VPMADDWD against ones (pairs of those into int32): lane i holds the block's values
// 4i..4i+3. Registers: Y0-Y3 the rows' accumulators, Y4 the block's activations, Y5 their
// corrections (Q4_0), Y6 their scale, Y7 int16 ones, Y15 the nibble mask (Q4_0), Y8-Y13
// scratch; Q4_0 takes its blocks in pairs (Q4PAIRSHARED has the pairs' registers).

// ONES16 sets Y7's sixteen int16 lanes to 1.
#define ONES16 \
	MOVL $0x00010001, AX \
	VMOVD AX, X7 \
	VPBROADCASTD X7, Y7

// QSHARED8A loads a Q8_0 block's shared operands: activations and scale (the AVX2 Q8_0
// kernels need no corrections).
#define QSHARED8A(b) \
	VMOVDQU (b*32)(DI), Y4 \
	VBROADCASTSS (b*4)(DX), Y6

// Q8ROWA is one row's Q8_0 block: |w| (unsigned) times the activations with w's signs
// (signed), so no product pair leaves int16 (2·128·127 < 32767; the weights as stored
// times the activations would saturate). The activations are at most 127 in magnitude
// (quantize), so moving w's sign onto them is exact.
#define Q8ROWA(disp, ADDR, ACC, W, T) \
	MOVWQZX disp(ADDR), AX \
	VPABSB disp+2(ADDR), W \
	VPSIGNB disp+2(ADDR), Y4, T \
	VPMADDUBSW T, W, T \
	VPMADDWD Y7, T, T \
	QSCALEA(ACC, W, T)

// Q4ROWA is one row's Q4_0 block: the 16 nibble bytes in both halves, the high half shifted
// down four bits, both masked to 0..15 (the values 0-15 in the low half, 16-31 in the
// high), times the activations, plus the corrections (-8 times each lane's activations).
#define Q4ROWA(disp, ADDR, ACC, W, T) \
	MOVWQZX disp(ADDR), AX \
	VBROADCASTI128 disp+2(ADDR), W \
	VPSRLW $4, W, T \
	VPBLENDD $0xf0, T, W, W \
	VPAND Y15, W, W \
	VPMADDUBSW Y4, W, T \
	VPMADDWD Y7, T, T \
	VPADDD Y5, T, T \
	QSCALEA(ACC, W, T)

// QSCALEA converts a row's int32 sums T to fp32, multiplies them by the block's weight
// scale (its fp16 bits in AX, through the table at R9) and adds them times the activation
// scale (Y6) to ACC: Q8ROW's order of operations.
#define QSCALEA(ACC, W, T) \
	VCVTDQ2PS T, T \
	VBROADCASTSS (R9)(AX*4), W \
	VMULPS W, T, T \
	VFMADD231PS Y6, T, ACC

// QBLOCKA runs block b of the step, all four rows, with SHARED and ROW of bb-byte blocks.
#define QBLOCKA(SHARED, ROW, bb, b) \
	SHARED((b)) \
	ROW(((b)*(bb)), SI, Y0, Y8, Y9) \
	ROW(((b)*(bb)), R13, Y1, Y10, Y11) \
	ROW(((b)*(bb)), R14, Y2, Y12, Y13) \
	ROW(((b)*(bb)), R15, Y3, Y8, Y9)

// Q8MVA is matVec4Q8AVX2's body with the prefetch PF: Q8MV's steps.
#define Q8MVA(PF, loop, tail, done) \
	QSETUP \
	ONES16 \
	CMPQ CX, $2 \
	JLT tail \
loop: \
	PF(0) \
	QBLOCKA(QSHARED8A, Q8ROWA, 34, 0) \
	QBLOCKA(QSHARED8A, Q8ROWA, 34, 1) \
	QADVANCE(2, 34) \
	SUBQ $2, CX \
	CMPQ CX, $2 \
	JGE loop \
tail: \
	TESTQ CX, CX \
	JZ done \
	QBLOCKA(QSHARED8A, Q8ROWA, 34, 0) \
done: \
	QSTORE(y+64(FP))

// Q4PAIRSHARED loads the shared operands of blocks 2p and 2p+1 of the step for
// Q4PAIRROW: Y4 the two blocks' values 0-15 (2p's in the low half), Y5 their values 16-31,
// Y14 the corrections of each lane's eight values, Y6 the activation scales (2p's in lanes
// 0-3). Y8 and Y9 are scratch.
#define Q4PAIRSHARED(p) \
	VMOVDQU (p*64)(DI), Y8 \
	VPERM2I128 $0x20, (p*64+32)(DI), Y8, Y4 \
	VPERM2I128 $0x31, (p*64+32)(DI), Y8, Y5 \
	VMOVDQU (p*64)(R8), Y8 \
	VPERM2I128 $0x20, (p*64+32)(R8), Y8, Y9 \
	VPERM2I128 $0x31, (p*64+32)(R8), Y8, Y14 \
	VPADDD Y9, Y14, Y14 \
	VBROADCASTSS (p*8)(DX), Y8 \
	VBROADCASTSS (p*8+4)(DX), Y9 \
	VBLENDPS $0xf0, Y9, Y8, Y6

// Q4PAIRROW is two Q4_0 blocks of one row at once (Q4ROWA spends its conversion, scale and
// FMA on one): the two blocks' nibble bytes side by side, their low nibbles in W and high
// ones in T, each pair of int16 sums of W and T added (at most 2·2·15·127, no overflow),
// then one VPMADDWD, one conversion and one FMA for both blocks, lanes 0-3 the first's and
// 4-7 the second's, with the two blocks' weight scales blended into one vector.
#define Q4PAIRROW(disp, ADDR, ACC, W, T, S) \
	MOVWQZX disp(ADDR), AX \
	MOVWQZX disp+18(ADDR), BX \
	VBROADCASTI128 disp+2(ADDR), W \
	VINSERTI128 $1, disp+20(ADDR), W, W \
	VPSRLW $4, W, T \
	VPAND Y15, W, W \
	VPAND Y15, T, T \
	VPMADDUBSW Y4, W, W \
	VPMADDUBSW Y5, T, T \
	VPADDW T, W, W \
	VPMADDWD Y7, W, W \
	VPADDD Y14, W, W \
	VCVTDQ2PS W, W \
	VBROADCASTSS (R9)(AX*4), T \
	VBROADCASTSS (R9)(BX*4), S \
	VBLENDPS $0xf0, S, T, T \
	VMULPS T, W, W \
	VFMADD231PS Y6, W, ACC

// Q4PAIR runs blocks 2p and 2p+1 of the step, all four rows.
#define Q4PAIR(p) \
	Q4PAIRSHARED(p) \
	Q4PAIRROW((p*36), SI, Y0, Y8, Y9, Y10) \
	Q4PAIRROW((p*36), R13, Y1, Y11, Y12, Y13) \
	Q4PAIRROW((p*36), R14, Y2, Y8, Y9, Y10) \
	Q4PAIRROW((p*36), R15, Y3, Y11, Y12, Y13)

// Q4MVA is matVec4Q4AVX2's body with the prefetch PF: Q4MV's steps of four blocks, run in
// pairs (Q4PAIR), then a pair and a last block (on Q4ROWA) as needed. In pairs the kernel
// read a 4096×4096 matrix 1.05-1.26× as fast as one block at a time (medians of seven
// in-process alternations, two runs; from the cache 1.19-1.26× at one thread, 1.05-1.12× at
// two; from memory 1.11-1.15×).
#define Q4MVA(PF, loop, two, tail, done) \
	QSETUP \
	ONES16 \
	VMOVDQU q4nibble<>(SB), Y15 \
	CMPQ CX, $4 \
	JLT two \
loop: \
	PF(0) \
	Q4PAIR(0) \
	PF(36) \
	Q4PAIR(1) \
	QADVANCE(4, 18) \
	SUBQ $4, CX \
	CMPQ CX, $4 \
	JGE loop \
two: \
	CMPQ CX, $2 \
	JLT tail \
	Q4PAIR(0) \
	QADVANCE(2, 18) \
	SUBQ $2, CX \
tail: \
	TESTQ CX, CX \
	JZ done \
	QBLOCKA(QSHARED, Q4ROWA, 18, 0) \
done: \
	QSTORE(y+64(FP))

// Q8PF and Q4PF are the block kernels' prefetches at byte offset off of a step (see
// QPREFETCH); NOPF(off), for rows in the cache, is none (see matVec4F32Cached).
#define Q8PF(off) QPREFETCH(4096, off)
#define Q4PF(off) QPREFETCH(1024, off)

// The four-row Q8_0 and Q4_0 kernels on superblock rows (quantrows_amd64.go has the
// layout): eight blocks of a row at a time. VPDPBUSD lane i sums four weights of block i, so
// eight of them, over a superblock's eight groups of 32 weights, leave block i's whole dot
// product in lane i: then one conversion, one multiply of the eight scales (one VCVTPH2PS)
// by the eight activation scales and one FMA per row and superblock, where the block
// kernels above spend a conversion, a multiply and an FMA per row and block. Q4_0 on a
// 64×4096 matrix in L2, eight runs of each in turn: 0.38 ns a row-block at best, 0.49 the
// median, against 0.70 and 0.81 for matVec4Q4VNNI.
//
// Registers: Y16-Y23 hold the superblock's eight groups of activations (rowActs), Y24 the
// eight activation scales, Y25 the eight blocks' corrections, Y15 the kernel's byte
// constant (Q8_0: 0x80, Q4_0: 0x0f); the rows' pointers SI, R13, R14, R15 and the
// accumulators Y0-Y3 are SBSETUP's.

// SBROW runs one row's superblock at ADDR into ACC with GROUPS (Q8GROUPS or Q4GROUPS), which
// add the integer dot products to T from the scratch registers W, A, B. S is scratch.
#define SBROW(GROUPS, ADDR, ACC, S, T, W, A, B) \
	VCVTPH2PS (ADDR), S \
	VMULPS Y24, S, S \
	VMOVDQA64 Y25, T \
	GROUPS(ADDR, T, W, A, B) \
	VCVTDQ2PS T, T \
	VFMADD231PS S, T, ACC

// Q8GROUP adds group g's 32 weights at disp(ADDR), made unsigned, against its activations X.
#define Q8GROUP(disp, ADDR, T, W, X) \
	VPXORD disp(ADDR), Y15, W \
	VPDPBUSD X, W, T

#define Q8GROUPS(ADDR, T, W, A, B) \
	Q8GROUP(16, ADDR, T, W, Y16) \
	Q8GROUP(48, ADDR, T, A, Y17) \
	Q8GROUP(80, ADDR, T, B, Y18) \
	Q8GROUP(112, ADDR, T, W, Y19) \
	Q8GROUP(144, ADDR, T, A, Y20) \
	Q8GROUP(176, ADDR, T, B, Y21) \
	Q8GROUP(208, ADDR, T, W, Y22) \
	Q8GROUP(240, ADDR, T, A, Y23)

// Q4NIBBLES adds the 32 bytes of nibbles at disp(ADDR) against the activations XL (for the
// low nibbles) and XH (the high ones).
#define Q4NIBBLES(disp, ADDR, T, W, A, B, XL, XH) \
	VMOVDQU64 disp(ADDR), W \
	VPANDD Y15, W, A \
	VPSRLW $4, W, B \
	VPANDD Y15, B, B \
	VPDPBUSD XL, A, T \
	VPDPBUSD XH, B, T

#define Q4GROUPS(ADDR, T, W, A, B) \
	Q4NIBBLES(16, ADDR, T, W, A, B, Y16, Y17) \
	Q4NIBBLES(48, ADDR, T, W, A, B, Y18, Y19) \
	Q4NIBBLES(80, ADDR, T, W, A, B, Y20, Y21) \
	Q4NIBBLES(112, ADDR, T, W, A, B, Y22, Y23)

// SBPREFETCH1 prefetches into L2 three lines of ROW 48 bytes apart, from ahead bytes on:
// 144 bytes, a Q4_0 superblock (Q8_0's 272-byte one takes two), with no line skipped however
// the rows are aligned.
#define SBPREFETCH1(ROW, ahead) \
	PREFETCHT1 ahead(ROW) \
	PREFETCHT1 (ahead+48)(ROW) \
	PREFETCHT1 (ahead+96)(ROW)

// SBROWS4 runs ONE (SBPREFETCH1 or SBPREFETCHNTA1) on each of the four rows, ahead bytes
// on.
#define SBROWS4(ONE, ahead) \
	ONE(SI, ahead) \
	ONE(R13, ahead) \
	ONE(R14, ahead) \
	ONE(R15, ahead)

// SBPREFETCH runs SBPREFETCH1 on each of the four rows.
#define SBPREFETCH(ahead) SBROWS4(SBPREFETCH1, ahead)

// SBACTS loads a superblock's eight groups of activations (DI) with LOAD into A0-A7.
#define SBACTS(LOAD, A0, A1, A2, A3, A4, A5, A6, A7) \
	LOAD 0(DI), A0 \
	LOAD 32(DI), A1 \
	LOAD 64(DI), A2 \
	LOAD 96(DI), A3 \
	LOAD 128(DI), A4 \
	LOAD 160(DI), A5 \
	LOAD 192(DI), A6 \
	LOAD 224(DI), A7

// SBNEXT moves the row, activation, scale and correction pointers on by one superblock
// (sb bytes a row) and loops back to loop while CX superblocks remain.
#define SBNEXT(sb, loop) \
	ADDQ $sb, SI \
	ADDQ $sb, R13 \
	ADDQ $sb, R14 \
	ADDQ $sb, R15 \
	ADDQ $256, DI \
	ADDQ $32, DX \
	ADDQ $32, R8 \
	DECQ CX \
	JNZ loop

// SBLOOP runs the kernel's superblocks (CX of them, sb bytes a row's) with GROUPS, each
// step after the prefetches PREFETCH (Q8PREFETCH, Q4PREFETCH), and stores the four sums.
#define SBLOOP(GROUPS, sb, PREFETCH, loop, done) \
	TESTQ CX, CX \
	JZ done \
loop: \
	PREFETCH \
	SBACTS(VMOVDQU64, Y16, Y17, Y18, Y19, Y20, Y21, Y22, Y23) \
	VMOVUPS (DX), Y24 \
	VMOVDQU64 (R8), Y25 \
	SBROW(GROUPS, SI, Y0, Y4, Y5, Y6, Y7, Y8) \
	SBROW(GROUPS, R13, Y1, Y9, Y10, Y11, Y12, Y13) \
	SBROW(GROUPS, R14, Y2, Y26, Y27, Y28, Y29, Y30) \
	SBROW(GROUPS, R15, Y3, Y4, Y5, Y6, Y7, Y8) \
	SBNEXT(sb, loop) \
done: \
	QSTORE(y+48(FP))

// SBSETUP loads the superblock kernels' arguments and sets the row pointers and
// accumulators.
#define SBSETUP \
	MOVQ w+0(FP), SI \
	MOVQ stride+8(FP), R10 \
	MOVQ xs+16(FP), DI \
	MOVQ xd+24(FP), DX \
	MOVQ corr+32(FP), R8 \
	MOVQ nsb+40(FP), CX \
	ROWS4START

// Q8PREFETCH and Q4PREFETCH prefetch each row at two distances: with one, the superblock
// kernels read memory slower than the block kernels (which prefetch a row and some KiB
// ahead), as the float kernels did. Cold MatVec 4096×4096, one thread, three alternating
// runs, % of the read roof: Q8_0 at 4 KiB 65-71 (in other runs 1, 2, 8 KiB, none, and five
// lines a step at 4 KiB: 54-79), at 4 and 8 KiB 82-84, the block kernel 89-113; Q4_0 at 2
// KiB 67-74, at 2 and 4 KiB 83-92, 1 and 2 KiB 75-83, 4 and 8 KiB 72-89, the block kernel
// 80-93.
#define Q8PREFETCH \
	SBPREFETCH(4096) \
	SBPREFETCH(4096+144) \
	SBPREFETCH(8192) \
	SBPREFETCH(8192+144)

#define Q4PREFETCH \
	SBPREFETCH(2048) \
	SBPREFETCH(4096)

// SBPREFETCHNTA1 prefetches with PREFETCHNTA the lines of ROW at ahead, ahead+64 and
// ahead+128 bytes: over the steps of 144 bytes (a Q4_0 superblock) the prefetched addresses
// are never more than 64 bytes apart, so no line is skipped however the rows are aligned.
#define SBPREFETCHNTA1(ROW, ahead) \
	PREFETCHNTA ahead(ROW) \
	PREFETCHNTA (ahead+64)(ROW) \
	PREFETCHNTA (ahead+128)(ROW)

// Q4NTAPREFETCH is the Pairs form's prefetch for rows read from memory where the float
// kernels prefetch with PREFETCHNTA (PrefetchNTA: Zen 5): each row 1.5 KiB ahead. Against
// the Pairs form without prefetches, which the nta setting ran before, a 4096×4096 q4_0
// MatVec cycling over 1 GiB of prepacked matrices (medians of nine alternations in one
// process) read 1.17-1.22× as fast at two threads and 1.05-1.08× at one (two runs), and
// one matrix from the last-level cache 1.02-1.04× (one run). 1 KiB ahead: 1.15-1.18× at
// two threads (four runs); 2 KiB 1.09-1.22×; 0.5 KiB 1.06-1.10×; 4 KiB 0.91-1.00×. The
// 256-bit Q4_0 kernel with these prefetches gained as much from memory but ran 0.76-0.86×
// as fast from the cache. Q8_0's kernel with PREFETCHNTA 0.5, 1, 2 or 4 KiB ahead gained
// nothing consistent (0.87-1.30× over six runs at either thread count; 1, 2 and 4 KiB
// again at two threads, 25 alternations, two runs: 0.88-1.02×), nor did a Pairs form of it
// with and without them (0.93-1.16×, three runs), and it keeps none.
#define Q4NTAPREFETCH SBROWS4(SBPREFETCHNTA1, 1536)

// SBNOPF is the superblock kernels' prefetch for rows already in the cache (the Cached
// forms, after a row group's first column): none. Q8PREFETCH issues 48 prefetches a step
// for 17 lines of weights, Q4PREFETCH 24 for 9.
#define SBNOPF

// The Pairs form of the Q4_0 superblock kernel runs two rows in each 512-bit register: a
// group of 32 weights of the first row in the low half, of the second in the high half
// (VINSERTI64X4), against the group's activations in both halves (VBROADCASTI64X4), so one
// set of nibble masks, VPDPBUSDs, conversion and FMA serves two rows. The lanes compute
// what the 256-bit kernel computes, in the same order, and the sums come out bit for bit
// the same. It issues no prefetches (it takes the Cached form's place), and pays only
// where 512-bit integer operations run at full rate (Zen 5: fullWidth512): there a
// 4096×4096 q4_0 MatVec from the last-level cache ran 1.19-1.23× as fast at one thread and
// 1.14-1.15× at two (medians of nine alternations in one process, two runs; from memory
// 0.97-1.06×). Q8_0, whose work per byte is lower, gained nothing (0.98-1.02×) and keeps the
// 256-bit kernel; on Zen 4 a 512-bit operation takes two 256-bit ones.
//
// Registers: Z16-Z23 the superblock's eight groups of activations in both halves, Z24 the
// eight activation scales in both halves, Z25 the corrections in both halves, Z15 the
// nibble mask, Z0 the sums of rows SI (low) and R13 (high), Z1 of R14 and R15; Z5-Z10 scratch.

// PAIRLOAD puts group disp of rows P (low half) and Q (high half) in Z6.
#define PAIRLOAD(disp, P, Q) \
	VMOVDQU64 disp(P), Y6 \
	VINSERTI64X4 $1, disp(Q), Z6, Z6

// Q4PAIRNIBBLES adds the 32 bytes of nibbles at disp of rows P and Q against the
// activations XL (low nibbles) and XH (high ones) into Z5; Q4PAIRGROUPS all four groups.
#define Q4PAIRNIBBLES(disp, P, Q, XL, XH) \
	PAIRLOAD(disp, P, Q) \
	VPANDD Z15, Z6, Z7 \
	VPSRLW $4, Z6, Z8 \
	VPANDD Z15, Z8, Z8 \
	VPDPBUSD XL, Z7, Z5 \
	VPDPBUSD XH, Z8, Z5

#define Q4PAIRGROUPS(P, Q) \
	Q4PAIRNIBBLES(16, P, Q, Z16, Z17) \
	Q4PAIRNIBBLES(48, P, Q, Z18, Z19) \
	Q4PAIRNIBBLES(80, P, Q, Z20, Z21) \
	Q4PAIRNIBBLES(112, P, Q, Z22, Z23)

// SBPAIR is SBROW for rows P and Q into ACC with GROUPS (Q4PAIRGROUPS).
#define SBPAIR(GROUPS, P, Q, ACC) \
	VMOVDQA64 Z25, Z5 \
	GROUPS(P, Q) \
	VCVTPH2PS (P), Y9 \
	VCVTPH2PS (Q), Y10 \
	VINSERTF64X4 $1, Y10, Z9, Z9 \
	VMULPS Z24, Z9, Z9 \
	VCVTDQ2PS Z5, Z5 \
	VFMADD231PS Z9, Z5, ACC

// SBPAIRLOOP is SBLOOP for the Pairs forms: CX superblocks of sb bytes a row, each step
// after the prefetches PREFETCH (SBNOPF, Q4NTAPREFETCH), the four sums stored as QSTORE
// stores them.
#define SBPAIRLOOP(GROUPS, sb, PREFETCH, loop, done) \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	TESTQ CX, CX \
	JZ done \
loop: \
	PREFETCH \
	SBACTS(VBROADCASTI64X4, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23) \
	VBROADCASTF32X8 (DX), Z24 \
	VBROADCASTI32X8 (R8), Z25 \
	SBPAIR(GROUPS, SI, R13, Z0) \
	SBPAIR(GROUPS, R14, R15, Z1) \
	SBNEXT(sb, loop) \
done: \
	VEXTRACTF64X4 $1, Z1, Y3 \
	VMOVAPS Y1, Y2 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	QSTORE(y+48(FP))

// Assembly routines for the instructions archsimd lacks: F16C's VCVTPH2PS and VNNI's
// VPDPBUSD. Each has a Go twin (the generic kernels) that the tests hold it against.

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
	HSUM0
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
	BYTES80
	DOT1(Q8ROW, 34, NOFIX, d8_loop, d8_tail, d8_done)
	MOVSS X0, ret+48(FP)
	RET

// Q4_0 constants (see Q4ROW): the nibble masks, and the lanes' scales.
DATA q4mask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4mask<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4mask<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA q4mask<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL q4mask<>(SB), RODATA|NOPTR, $32
DATA q4unscale<>+0(SB)/4, $1.0
DATA q4unscale<>+4(SB)/4, $1.0
DATA q4unscale<>+8(SB)/4, $1.0
DATA q4unscale<>+12(SB)/4, $1.0
DATA q4unscale<>+16(SB)/4, $0.0625
DATA q4unscale<>+20(SB)/4, $0.0625
DATA q4unscale<>+24(SB)/4, $0.0625
DATA q4unscale<>+28(SB)/4, $0.0625
GLOBL q4unscale<>(SB), RODATA|NOPTR, $32

// func dotQ4VNNI(w *byte, xq *int8, xd *float32, corr *int32, tab *float32, nb int) float32
TEXT ·dotQ4VNNI(SB), NOSPLIT, $0-52
	VMOVDQU q4mask<>(SB), Y15
	VMOVUPS q4unscale<>(SB), Y14
	DOT1(Q4ROW, 18, Q4UNSCALE, d4_loop, d4_tail, d4_done)
	MOVSS X0, ret+48(FP)
	RET

// func matVec4Q8VNNI(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
TEXT ·matVec4Q8VNNI(SB), NOSPLIT, $0-72
	Q8MV(Q8PF, mv8_loop, mv8_tail, mv8_done)
	RET

// func matVec4Q8VNNICached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
// matVec4Q8VNNI without prefetches, for rows in the cache.
TEXT ·matVec4Q8VNNICached(SB), NOSPLIT, $0-72
	Q8MV(NOPF, mv8c_loop, mv8c_tail, mv8c_done)
	RET

// func matVec4Q4VNNI(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
TEXT ·matVec4Q4VNNI(SB), NOSPLIT, $0-72
	Q4MV(Q4PF, mv4_loop, mv4_two, mv4_tail, mv4_done)
	RET

// func matVec4Q4VNNICached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
// matVec4Q4VNNI without prefetches, for rows in the cache.
TEXT ·matVec4Q4VNNICached(SB), NOSPLIT, $0-72
	Q4MV(NOPF, mv4c_loop, mv4c_two, mv4c_tail, mv4c_done)
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

// func cvtF16AVX2(dst *float32, src *uint16, n int)
// dst[i] = fp32(src[i]) for i < n, n a multiple of 8 (F16C, 256-bit).
TEXT ·cvtF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ cvty_done
cvty_loop:
	VCVTPH2PS 0(SI), Y0
	VMOVUPS Y0, 0(DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ cvty_loop
cvty_done:
	VZEROUPPER
	RET

// fp16 KV cache kernels (F16C + FMA, 256-bit): attention reads rows of keys and values
// (one row per position, all heads together), converting as it loads, several rows per
// call (a KV block's), so that a call's cost is spread over a block rather than paid per
// position.

// func dotHeadsF16AVX2(out *float32, ldo int, k *uint16, ldk int, q *float32, nh, hd, rows int)
// out[h·ldo+r] = Σ_i fp32(k[r·ldk+h·hd+i])·q[h·hd+i] for r < rows, h < nh; hd a multiple
// of 8, nh and rows at least 1.
TEXT ·dotHeadsF16AVX2(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R10
	SHLQ $2, R10
	MOVQ k+16(FP), SI
	MOVQ ldk+24(FP), R11
	SHLQ $1, R11
	MOVQ q+32(FP), DX
	MOVQ nh+40(FP), BX
	MOVQ hd+48(FP), R8
	MOVQ rows+56(FP), R9
	MOVQ R8, AX
	IMULQ BX, AX
	LEAQ 0(DX)(AX*4), BX // q's end: the last head's
	SHRQ $3, R8
dh16_row:
	MOVQ SI, R12 // this row's keys, head by head
	MOVQ DX, R13 // q, head by head
	MOVQ DI, AX  // out[r], then out[h·ldo+r]
dh16_head:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ R8, CX
dh16_pair:
	CMPQ CX, $2
	JLT dh16_one
	VCVTPH2PS 0(R12), Y2
	VCVTPH2PS 16(R12), Y3
	VFMADD231PS 0(R13), Y2, Y0
	VFMADD231PS 32(R13), Y3, Y1
	ADDQ $32, R12
	ADDQ $64, R13
	SUBQ $2, CX
	JMP dh16_pair
dh16_one:
	TESTQ CX, CX
	JZ dh16_sum
	VCVTPH2PS 0(R12), Y2
	VFMADD231PS 0(R13), Y2, Y0
	ADDQ $16, R12
	ADDQ $32, R13
dh16_sum:
	VADDPS Y1, Y0, Y0
	HSUM0
	MOVSS X0, 0(AX)
	ADDQ R10, AX
	CMPQ R13, BX
	JNE dh16_head
	ADDQ R11, SI
	ADDQ $4, DI
	DECQ R9
	JNZ dh16_row
	VZEROUPPER
	RET

// func addScaledHeadsF16AVX2(y *float32, v *uint16, ldv int, a *float32, lda int, nh, hd, rows int)
// y[h·hd+i] += Σ_r a[h·lda+r]·fp32(v[r·ldv+h·hd+i]) for r < rows, h < nh, one rounding per
// row (FMA), rows in order; hd a multiple of 8, nh and rows at least 1. Row by row, y
// read and written for each (it stays in L1): holding y in registers down the rows, or
// taking two rows a pass, measured slower on decode iterations, whose values are not in
// cache.
TEXT ·addScaledHeadsF16AVX2(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ ldv+16(FP), R11
	SHLQ $1, R11
	MOVQ a+24(FP), DX
	MOVQ lda+32(FP), R10
	SHLQ $2, R10
	MOVQ nh+40(FP), BX
	MOVQ hd+48(FP), R8
	IMULQ R8, BX
	LEAQ 0(DI)(BX*4), BX // y's end: the last head's
	SHRQ $3, R8
	MOVQ rows+56(FP), R9
ah16_row:
	MOVQ DI, R12 // y, head by head
	MOVQ SI, R13 // row r's values, head by head
	MOVQ DX, AX  // a[r], then a[h·lda+r]
ah16_head:
	VBROADCASTSS 0(AX), Y4
	MOVQ R8, CX
ah16_loop:
	VCVTPH2PS 0(R13), Y2
	VMOVUPS 0(R12), Y3
	VFMADD231PS Y4, Y2, Y3
	VMOVUPS Y3, 0(R12)
	ADDQ $16, R13
	ADDQ $32, R12
	DECQ CX
	JNZ ah16_loop
	ADDQ R10, AX
	CMPQ R12, BX
	JNE ah16_head
	ADDQ R11, SI
	ADDQ $4, DX
	DECQ R9
	JNZ ah16_row
	VZEROUPPER
	RET

// func cvtToF16AVX2(dst *uint16, src *float32, n int)
// dst[i] = fp16(src[i]), rounded to nearest even, for i < n, n a multiple of 8.
TEXT ·cvtToF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ toh_done
toh_loop:
	VMOVUPS 0(SI), Y0
	VCVTPS2PH $0, Y0, 0(DI)
	ADDQ $32, SI
	ADDQ $16, DI
	DECQ CX
	JNZ toh_loop
toh_done:
	VZEROUPPER
	RET

DATA q4nibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4nibble<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4nibble<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4nibble<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q4nibble<>(SB), RODATA|NOPTR, $32

// func matVec4Q8Rows(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)
// y[r] = the dot products of nsb superblocks of the rows w, w+stride, w+2·stride,
// w+3·stride with the activations xs (rowActs), their block scales xd and corrections.
TEXT ·matVec4Q8Rows(SB), NOSPLIT, $0-56
	SBSETUP
	BYTES80
	SBLOOP(Q8GROUPS, 272, Q8PREFETCH, sb8_loop, sb8_done)
	RET

// func matVec4Q8RowsCached(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)
// matVec4Q8Rows without prefetches, for rows in the cache.
TEXT ·matVec4Q8RowsCached(SB), NOSPLIT, $0-56
	SBSETUP
	BYTES80
	SBLOOP(Q8GROUPS, 272, SBNOPF, sb8c_loop, sb8c_done)
	RET

// func matVec4Q4Rows(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)
// matVec4Q8Rows for Q4_0.
TEXT ·matVec4Q4Rows(SB), NOSPLIT, $0-56
	SBSETUP
	VMOVDQU q4nibble<>(SB), Y15
	SBLOOP(Q4GROUPS, 144, Q4PREFETCH, sb4_loop, sb4_done)
	RET

// func matVec4Q4RowsCached(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)
// matVec4Q4Rows without prefetches, for rows in the cache.
TEXT ·matVec4Q4RowsCached(SB), NOSPLIT, $0-56
	SBSETUP
	VMOVDQU q4nibble<>(SB), Y15
	SBLOOP(Q4GROUPS, 144, SBNOPF, sb4c_loop, sb4c_done)
	RET

// func matVec4Q4RowsPairs(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)
// matVec4Q4RowsCached two rows to a 512-bit register (SBPAIRLOOP).
TEXT ·matVec4Q4RowsPairs(SB), NOSPLIT, $0-56
	SBSETUP
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	SBPAIRLOOP(Q4PAIRGROUPS, 144, SBNOPF, sb4p_loop, sb4p_done)
	RET

// func matVec4Q4RowsPairsNTA(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)
// matVec4Q4RowsPairs with PREFETCHNTA (Q4NTAPREFETCH), for rows read from memory.
TEXT ·matVec4Q4RowsPairsNTA(SB), NOSPLIT, $0-56
	SBSETUP
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	SBPAIRLOOP(Q4PAIRGROUPS, 144, Q4NTAPREFETCH, sb4pn_loop, sb4pn_done)
	RET

// func matVec4Q8AVX2(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
// matVec4Q8VNNI on AVX2; corr is not read.
TEXT ·matVec4Q8AVX2(SB), NOSPLIT, $0-72
	Q8MVA(Q8PF, mv8a_loop, mv8a_tail, mv8a_done)
	RET

// func matVec4Q8AVX2Cached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
// matVec4Q8AVX2 without prefetches, for rows in the cache.
TEXT ·matVec4Q8AVX2Cached(SB), NOSPLIT, $0-72
	Q8MVA(NOPF, mv8ac_loop, mv8ac_tail, mv8ac_done)
	RET

// func matVec4Q4AVX2(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
// matVec4Q4VNNI on AVX2, with the corrections of q4CorrAVX2.
TEXT ·matVec4Q4AVX2(SB), NOSPLIT, $0-72
	Q4MVA(Q4PF, mv4a_loop, mv4a_two, mv4a_tail, mv4a_done)
	RET

// func matVec4Q4AVX2Cached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
// matVec4Q4AVX2 without prefetches, for rows in the cache.
TEXT ·matVec4Q4AVX2Cached(SB), NOSPLIT, $0-72
	Q4MVA(NOPF, mv4ac_loop, mv4ac_two, mv4ac_tail, mv4ac_done)
	RET
