//go:build amd64

#include "textflag.h"

// HSUM0 leaves the sum of Y0's eight lanes in X0 (lane 0); X1 is scratch.
#define HSUM0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// STREAMSARGS loads a four-stream sum's arguments: SI the first stream, R10 and R11 the
// second's and fourth's offsets from it (q and 3q floats, in bytes), R8 the prefetch
// setting, CX the steps (q >> shift); it zeroes Y0-Y7 (and so Z0-Z7: a VEX write clears
// the upper bits) and goes to done when there is no step.
#define STREAMSARGS(shift, done) \
	MOVQ p+0(FP), SI \
	MOVQ q+8(FP), R10 \
	MOVQ pf+16(FP), R8 \
	SHLQ $2, R10 \
	LEAQ (R10)(R10*2), R11 \
	MOVQ q+8(FP), CX \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	SHRQ $shift, CX \
	JZ done

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

// ADD4AT adds the vectors at byte offset d of the four streams (SI, SI+R10, SI+2·R10,
// SI+R11) into A0-A3.
#define ADD4AT(d, A0, A1, A2, A3) \
	VADDPS d(SI), A0, A0 \
	VADDPS d(SI)(R10*1), A1, A1 \
	VADDPS d(SI)(R10*2), A2, A2 \
	VADDPS d(SI)(R11*1), A3, A3

// ADD4STREAMS adds the next 64 bytes of each of the four streams into Y0-Y7 and moves SI
// on.
#define ADD4STREAMS \
	ADD4AT(0, Y0, Y1, Y2, Y3) \
	ADD4AT(32, Y4, Y5, Y6, Y7) \
	ADDQ $64, SI

// PF4AT prefetches with PF (an instruction) the line at byte offset d of the four streams.
#define PF4AT(PF, d) \
	PF d(SI) \
	PF d(SI)(R10*1) \
	PF d(SI)(R10*2) \
	PF d(SI)(R11*1)

// The prefetches of sumStreams4AVX2's four streams: into L2 4 KiB and 8 KiB ahead (PFL2),
// with PREFETCHNTA 2 KiB ahead (PFNTA), none (NOPF); the MatVec kernels' l2, nta and off.
#define PFL2 \
	PF4AT(PREFETCHT1, 4096) \
	PF4AT(PREFETCHT1, 8192)

#define PFNTA PF4AT(PREFETCHNTA, 2048)

#define NOPF

// STREAMSLOOP is a four-stream sum's loop over CX steps of ADD (ADD4STREAMS or
// ADD4STREAMSZ) with the prefetch PF; loop is its label, and it goes on to done.
#define STREAMSLOOP(ADD, PF, loop, done) \
loop: \
	PF \
	ADD \
	DECQ CX \
	JNZ loop \
	JMP done

// STREAMSBYPF runs the loop of ADD with the prefetch R8 asks for: L2 when it is 1, NTA
// when 2, none when 0; the labels are the three loops' and the two entries'.
#define STREAMSBYPF(ADD, L2, NTA, l2loop, ntaloop, plainloop, nta, plain, done) \
	TESTQ R8, R8 \
	JZ plain \
	CMPQ R8, $2 \
	JEQ nta \
	STREAMSLOOP(ADD, L2, l2loop, done) \
nta: \
	STREAMSLOOP(ADD, NTA, ntaloop, done) \
plain: \
	STREAMSLOOP(ADD, NOPF, plainloop, done)

// ADDTREE8 adds A1-A7 into A0.
#define ADDTREE8(A0, A1, A2, A3, A4, A5, A6, A7) \
	VADDPS A1, A0, A0 \
	VADDPS A3, A2, A2 \
	VADDPS A5, A4, A4 \
	VADDPS A7, A6, A6 \
	VADDPS A2, A0, A0 \
	VADDPS A6, A4, A4 \
	VADDPS A4, A0, A0

// func sumStreams4AVX2(p *float32, q int, pf int) float32
// Σ p[i] for i < 4q, q a multiple of 16: the four quarters walked at once, 64 bytes of each a
// step (four streams, as the four-row MatVec kernels read), each prefetched 4 KiB and 8 KiB
// ahead with PREFETCHT1 when pf is 1, 2 KiB ahead with PREFETCHNTA when pf is 2 (the
// kernels' two prefetch settings), not at all when pf is 0.
TEXT ·sumStreams4AVX2(SB), NOSPLIT, $0-28
	STREAMSARGS(4, s4done)
	STREAMSBYPF(ADD4STREAMS, PFL2, PFNTA, s4loop, s4ntaloop, s4plainloop, s4nta, s4plain, s4done)
s4done:
	ADDTREE8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// ADD4STREAMSZ adds the next 128 bytes of each of the four streams into Z0-Z7, two
// 512-bit loads a stream, and moves SI on.
#define ADD4STREAMSZ \
	ADD4AT(0, Z0, Z1, Z2, Z3) \
	ADD4AT(64, Z4, Z5, Z6, Z7) \
	ADDQ $128, SI

// The prefetches of sumStreams4AVX512's 128-byte steps: PFL2 and PFNTA for each of the
// step's two lines.
#define PFL2Z \
	PFL2 \
	PF4AT(PREFETCHT1, 4160) \
	PF4AT(PREFETCHT1, 8256)

#define PFNTAZ \
	PFNTA \
	PF4AT(PREFETCHNTA, 2112)

// func sumStreams4AVX512(p *float32, q int, pf int) float32
// sumStreams4AVX2 in 512 bits: Σ p[i] for i < 4q, q a multiple of 32, the four quarters
// walked at once, 128 bytes of each a step in two 512-bit loads (the fp32 MatVec kernels'
// step), with the same three prefetch settings.
TEXT ·sumStreams4AVX512(SB), NOSPLIT, $0-28
	STREAMSARGS(5, s4zdone)
	STREAMSBYPF(ADD4STREAMSZ, PFL2Z, PFNTAZ, s4zloop, s4zntaloop, s4zplainloop, s4znta, s4zplain, s4zdone)
s4zdone:
	ADDTREE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	HSUM0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
