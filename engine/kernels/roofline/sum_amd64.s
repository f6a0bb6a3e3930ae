//go:build amd64

#include "textflag.h"

// HSUM0 leaves the sum of Y0's eight lanes in X0 (lane 0); X1 is scratch.
#define HSUM0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// func sumPrefetchAVX2(p *float32, n int) float32
// Σ p[i] for i < n, n a multiple of 32: four 256-bit accumulators, 128 bytes a step, each
// step prefetching (into L2) the lines 4 KiB and 8 KiB ahead, as the MatVec kernels do.
// Prefetches past the end never fault.
TEXT ·sumPrefetchAVX2(SB), NOSPLIT, $0-20
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $5, CX
	JZ done
loop:
	PREFETCHT1 4096(SI)
	PREFETCHT1 4160(SI)
	PREFETCHT1 8192(SI)
	PREFETCHT1 8256(SI)
	VADDPS 0(SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ loop
done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// ADD4STREAMS adds the next 64 bytes of each of the four streams (SI, SI+R10, SI+2·R10,
// SI+R11) into Y0-Y7 and moves SI on.
#define ADD4STREAMS \
	VADDPS 0(SI), Y0, Y0 \
	VADDPS 0(SI)(R10*1), Y1, Y1 \
	VADDPS 0(SI)(R10*2), Y2, Y2 \
	VADDPS 0(SI)(R11*1), Y3, Y3 \
	VADDPS 32(SI), Y4, Y4 \
	VADDPS 32(SI)(R10*1), Y5, Y5 \
	VADDPS 32(SI)(R10*2), Y6, Y6 \
	VADDPS 32(SI)(R11*1), Y7, Y7 \
	ADDQ $64, SI

// The prefetches of sumStreams4AVX2's four streams: into L2 4 KiB and 8 KiB ahead (PFL2),
// with PREFETCHNTA 2 KiB ahead (PFNTA), none (NOPF); the MatVec kernels' l2, nta and off.
#define PFL2 \
	PREFETCHT1 4096(SI) \
	PREFETCHT1 4096(SI)(R10*1) \
	PREFETCHT1 4096(SI)(R10*2) \
	PREFETCHT1 4096(SI)(R11*1) \
	PREFETCHT1 8192(SI) \
	PREFETCHT1 8192(SI)(R10*1) \
	PREFETCHT1 8192(SI)(R10*2) \
	PREFETCHT1 8192(SI)(R11*1)

#define PFNTA \
	PREFETCHNTA 2048(SI) \
	PREFETCHNTA 2048(SI)(R10*1) \
	PREFETCHNTA 2048(SI)(R10*2) \
	PREFETCHNTA 2048(SI)(R11*1)

#define NOPF

// STREAMS4 is sumStreams4AVX2's loop over CX steps with the prefetch PF; loop is its label.
#define STREAMS4(PF, loop) \
loop: \
	PF \
	ADD4STREAMS \
	DECQ CX \
	JNZ loop \
	JMP s4done

// func sumStreams4AVX2(p *float32, q int, pf int) float32
// Σ p[i] for i < 4q, q a multiple of 16: the four quarters walked at once, 64 bytes of each a
// step (four streams, as the four-row MatVec kernels read), each prefetched 4 KiB and 8 KiB
// ahead with PREFETCHT1 when pf is 1, 2 KiB ahead with PREFETCHNTA when pf is 2 (the
// kernels' two prefetch settings), not at all when pf is 0.
TEXT ·sumStreams4AVX2(SB), NOSPLIT, $0-28
	MOVQ p+0(FP), SI
	MOVQ q+8(FP), R10
	MOVQ pf+16(FP), R8
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R11
	MOVQ q+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	SHRQ $4, CX
	JZ s4done
	TESTQ R8, R8
	JZ s4plain
	CMPQ R8, $2
	JEQ s4nta
	STREAMS4(PFL2, s4loop)
s4nta:
	STREAMS4(PFNTA, s4ntaloop)
s4plain:
	STREAMS4(NOPF, s4plainloop)
s4done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y2, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y4, Y0, Y0
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ADD4STREAMSZ adds the next 128 bytes of each of the four streams (SI, SI+R10, SI+2·R10,
// SI+R11) into Z0-Z7, two 512-bit loads a stream, and moves SI on.
#define ADD4STREAMSZ \
	VADDPS 0(SI), Z0, Z0 \
	VADDPS 0(SI)(R10*1), Z1, Z1 \
	VADDPS 0(SI)(R10*2), Z2, Z2 \
	VADDPS 0(SI)(R11*1), Z3, Z3 \
	VADDPS 64(SI), Z4, Z4 \
	VADDPS 64(SI)(R10*1), Z5, Z5 \
	VADDPS 64(SI)(R10*2), Z6, Z6 \
	VADDPS 64(SI)(R11*1), Z7, Z7 \
	ADDQ $128, SI

// The prefetches of sumStreams4AVX512's 128-byte steps: PFL2 and PFNTA for each of the
// step's two lines.
#define PFL2Z \
	PFL2 \
	PREFETCHT1 4160(SI) \
	PREFETCHT1 4160(SI)(R10*1) \
	PREFETCHT1 4160(SI)(R10*2) \
	PREFETCHT1 4160(SI)(R11*1) \
	PREFETCHT1 8256(SI) \
	PREFETCHT1 8256(SI)(R10*1) \
	PREFETCHT1 8256(SI)(R10*2) \
	PREFETCHT1 8256(SI)(R11*1)

#define PFNTAZ \
	PFNTA \
	PREFETCHNTA 2112(SI) \
	PREFETCHNTA 2112(SI)(R10*1) \
	PREFETCHNTA 2112(SI)(R10*2) \
	PREFETCHNTA 2112(SI)(R11*1)

// STREAMS4Z is sumStreams4AVX512's loop over CX steps with the prefetch PF; loop is its
// label.
#define STREAMS4Z(PF, loop) \
loop: \
	PF \
	ADD4STREAMSZ \
	DECQ CX \
	JNZ loop \
	JMP s4zdone

// func sumStreams4AVX512(p *float32, q int, pf int) float32
// sumStreams4AVX2 in 512 bits: Σ p[i] for i < 4q, q a multiple of 32, the four quarters
// walked at once, 128 bytes of each a step in two 512-bit loads (the fp32 MatVec kernels'
// step), with the same three prefetch settings.
TEXT ·sumStreams4AVX512(SB), NOSPLIT, $0-28
	MOVQ p+0(FP), SI
	MOVQ q+8(FP), R10
	MOVQ pf+16(FP), R8
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R11
	MOVQ q+8(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	SHRQ $5, CX
	JZ s4zdone
	TESTQ R8, R8
	JZ s4zplain
	CMPQ R8, $2
	JEQ s4znta
	STREAMS4Z(PFL2Z, s4zloop)
s4znta:
	STREAMS4Z(PFNTAZ, s4zntaloop)
s4zplain:
	STREAMS4Z(NOPF, s4zplainloop)
s4zdone:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z2, Z0, Z0
	VADDPS Z6, Z4, Z4
	VADDPS Z4, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
