//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"

	"github.com/infertune/infertune/engine/tensor"
)

// quantBlocksAVX512 is quantizeBlock over len(x)/32 blocks, with results identical to it
// bit for bit: the max is taken on the magnitude bits as integers (as quantizeBlock does),
// d = amax/127 and 1/d are IEEE divisions like the scalar ones, and the half-away rounding is
// the same truncate-and-compare on exact remainders. Blocks go in groups of 16: a first pass
// reduces each block's max into one lane of a vector, so the two divisions run once per
// group; a second pass rounds each block with its lane of 1/d. d receives amax (NaN for a
// non-finite block) and f16ScaleAVX512 turns it into fp32(fp16(amax/127)), so no scalar float
// code runs between vector instructions.
func quantBlocksAVX512(d []float32, q []int8, x []float32) {
	nb := len(x) / tensor.QK
	if nb == 0 {
		return
	}
	_, _ = d[nb-1], q[nb*tensor.QK-1]
	px, pq := unsafe.Pointer(&x[0]), unsafe.Pointer(&q[0])
	db := unsafe.Slice((*uint32)(unsafe.Pointer(&d[0])), nb)
	absMask := archsimd.BroadcastUint32x16(0x7fffffff)
	inf := archsimd.BroadcastUint32x16(0x7f800000)
	nan := archsimd.BroadcastUint32x16(0x7fc00000)
	c127 := archsimd.BroadcastFloat32x16(127)
	one := archsimd.BroadcastFloat32x16(1)
	zero := archsimd.Float32x16{}
	sw8 := archsimd.LoadUint32x16(&laneSwaps[0])
	sw4 := archsimd.LoadUint32x16(&laneSwaps[1])
	sw2 := archsimd.LoadUint32x16(&laneSwaps[2])
	sw1 := archsimd.LoadUint32x16(&laneSwaps[3])
	for g0 := 0; g0 < nb; g0 += 16 {
		gn := min(16, nb-g0)
		var amax archsimd.Uint32x16
		for j := range gn {
			b := g0 + j
			x0 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(px, b*128)))
			x1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(px, b*128+64)))
			m := x0.AsUint32x16().And(absMask).Max(x1.AsUint32x16().And(absMask))
			m = m.Max(m.Permute(sw8))
			m = m.Max(m.Permute(sw4))
			m = m.Max(m.Permute(sw2))
			m = m.Max(m.Permute(sw1))
			amax = amax.Merge(m, archsimd.Mask32x16FromBits(^uint16(1<<j)))
		}
		badMask := amax.GreaterEqual(inf)
		bad := badMask.ToBits()
		scales := amax.Merge(nan, amax.Less(inf))
		if gn == 16 {
			scales.Store((*[16]uint32)(db[g0 : g0+16]))
		} else {
			// Not StoreSlicePart, whose pointer to 16 lanes the race detector's pointer
			// checks refuse past the end of d's memory, nor copy, whose memmove loads
			// into X registers with legacy SSE instructions (see the package doc).
			var buf [16]uint32
			scales.Store(&buf)
			for j := range gn {
				db[g0+j] = buf[j]
			}
		}
		dv := amax.AsFloat32x16().Div(c127)
		idv := one.Div(dv).Masked(dv.NotEqual(zero))
		for j := range gn {
			b := g0 + j
			q0 := (*[16]int8)(unsafe.Add(pq, b*32))
			q1 := (*[16]int8)(unsafe.Add(pq, b*32+16))
			if bad&(1<<j) != 0 {
				// Not *q0 = [16]int8{}, whose copy goes through an X register loaded with a
				// legacy SSE instruction (see the package doc): clear stores from X15.
				clear(q0[:])
				clear(q1[:])
				continue
			}
			id := idv.Permute(archsimd.BroadcastUint32x16(uint32(j)))
			x0 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(px, b*128)))
			x1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(px, b*128+64)))
			roundHalfAway16(x0.Mul(id)).Store(q0)
			roundHalfAway16(x1.Mul(id)).Store(q1)
		}
	}
	f16ScaleAVX512(&d[0], nb)
}

// laneSwaps are VPERMD indices pairing lane i with lane i^8, i^4, i^2 and i^1: four
// max-with-permuted steps leave a 16-lane max in every lane.
var laneSwaps = func() (s [4][16]uint32) {
	for k, bit := range []uint32{8, 4, 2, 1} {
		for i := range uint32(16) {
			s[k][i] = i ^ bit
		}
	}
	return s
}()

// roundHalfAway16 is roundHalfAway on 16 lanes (|v| ≤ 127 here), saturated to int8.
func roundHalfAway16(v archsimd.Float32x16) archsimd.Int8x16 {
	t := v.TruncScaled(0)
	f := v.Sub(t).AsUint32x16().And(archsimd.BroadcastUint32x16(0x7fffffff)).AsFloat32x16()
	away := v.AsUint32x16().And(archsimd.BroadcastUint32x16(0x80000000)).Or(archsimd.BroadcastUint32x16(0x3f800000)).AsFloat32x16()
	return t.Add(away.Masked(f.GreaterEqual(archsimd.BroadcastFloat32x16(0.5)))).ConvertToInt32().SaturateToInt8()
}
