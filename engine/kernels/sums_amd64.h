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
