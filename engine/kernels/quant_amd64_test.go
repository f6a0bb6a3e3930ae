//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantBlocksAVX512Exact holds the vector activation quantizer to quantizeBlock bit for
// bit: random blocks at many magnitudes, exact .5 ties, zeros, subnormals, NaN and Inf.
func TestQuantBlocksAVX512Exact(t *testing.T) {
	if DetectISA() < ISAAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(9, 9))
	var x []float32
	for range 400 {
		scale := math.Pow(10, float64(r.IntN(12)-6))
		for range 32 {
			x = append(x, float32(r.NormFloat64()*scale))
		}
	}
	// Ties: with max 127, d = 1 and x·(1/d) = x lands on k+0.5 exactly.
	for i := range 32 {
		x = append(x, float32(i)-15.5)
	}
	x[len(x)-32] = 127
	special := [][]float32{
		make([]float32, 32), // all zero
		{float32(math.NaN())},
		{float32(math.Inf(1))},
		{float32(math.Inf(-1)), 1},
		{math.Float32frombits(1), -math.Float32frombits(3)}, // subnormals
		{math.MaxFloat32, -math.MaxFloat32},
	}
	for _, s := range special {
		blk := make([]float32, 32)
		copy(blk, s)
		for i := len(s); i < 32 && len(s) < 32; i++ {
			blk[i] = float32(i) * 0.25
		}
		x = append(x, blk...)
	}
	nb := len(x) / 32
	wantD, gotD := make([]float32, nb), make([]float32, nb)
	wantQ, gotQ := make([]int8, len(x)), make([]int8, len(x))
	quantizeBlocks(wantD, wantQ, x)
	quantBlocksAVX512(gotD, gotQ, x)
	for b := range nb {
		if math.Float32bits(gotD[b]) != math.Float32bits(wantD[b]) {
			t.Errorf("block %d: d = %v, scalar %v", b, gotD[b], wantD[b])
		}
		for j := range 32 {
			if gotQ[b*32+j] != wantQ[b*32+j] {
				t.Errorf("block %d elem %d (x=%v): q = %d, scalar %d", b, j, x[b*32+j], gotQ[b*32+j], wantQ[b*32+j])
			}
		}
	}
}
