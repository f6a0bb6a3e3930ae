//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"

	"github.com/infertune/infertune/engine/tensor"
)

// sum16 adds the lanes of v, clearing the upper vector state before the scalar adds.
func sum16(v archsimd.Float32x16) float32 {
	var t [16]float32
	v.Store(&t)
	archsimd.ClearAVXUpperBits()
	return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7])) +
		((t[8] + t[9]) + (t[10] + t[11])) + ((t[12] + t[13]) + (t[14] + t[15]))
}

// sum8 adds the lanes of v, clearing the upper vector state before the scalar adds.
func sum8(v archsimd.Float32x8) float32 {
	var t [8]float32
	v.Store(&t)
	archsimd.ClearAVXUpperBits()
	return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))
}

// dotF32AVX512 computes Σ w[i]·x[i] with four 16-lane accumulators; the tail past the last
// multiple of 16 runs in scalar code.
func dotF32AVX512(w, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 archsimd.Float32x16
	for len(w) >= 64 && len(x) >= 64 {
		pw, px := (*[64]float32)(w), (*[64]float32)(x)
		s0 = archsimd.LoadFloat32x16((*[16]float32)(pw[0:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[0:])), s0)
		s1 = archsimd.LoadFloat32x16((*[16]float32)(pw[16:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[16:])), s1)
		s2 = archsimd.LoadFloat32x16((*[16]float32)(pw[32:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[32:])), s2)
		s3 = archsimd.LoadFloat32x16((*[16]float32)(pw[48:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[48:])), s3)
		w, x = w[64:], x[64:]
	}
	for len(w) >= 16 && len(x) >= 16 {
		s0 = archsimd.LoadFloat32x16((*[16]float32)(w)).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(x)), s0)
		w, x = w[16:], x[16:]
	}
	s := sum16(s0.Add(s1).Add(s2.Add(s3)))
	for i := range w {
		s += w[i] * x[i]
	}
	return s
}

// dotF32AVX2 is dotF32AVX512 with 8-lane vectors.
func dotF32AVX2(w, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 archsimd.Float32x8
	for len(w) >= 32 && len(x) >= 32 {
		pw, px := (*[32]float32)(w), (*[32]float32)(x)
		s0 = archsimd.LoadFloat32x8((*[8]float32)(pw[0:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[0:])), s0)
		s1 = archsimd.LoadFloat32x8((*[8]float32)(pw[8:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[8:])), s1)
		s2 = archsimd.LoadFloat32x8((*[8]float32)(pw[16:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[16:])), s2)
		s3 = archsimd.LoadFloat32x8((*[8]float32)(pw[24:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[24:])), s3)
		w, x = w[32:], x[32:]
	}
	for len(w) >= 8 && len(x) >= 8 {
		s0 = archsimd.LoadFloat32x8((*[8]float32)(w)).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(x)), s0)
		w, x = w[8:], x[8:]
	}
	s := sum8(s0.Add(s1).Add(s2.Add(s3)))
	for i := range w {
		s += w[i] * x[i]
	}
	return s
}

// bf16x16 widens 16 bf16 values to float32: a zero-extend and a 16-bit shift.
func bf16x16(p *[16]uint16) archsimd.Float32x16 {
	return archsimd.LoadUint16x16(p).ExtendToUint32().ShiftAllLeft(16).AsFloat32x16()
}

// bf16x8 widens 8 bf16 values to float32.
func bf16x8(p *[8]uint16) archsimd.Float32x8 {
	return archsimd.LoadUint16x8(p).ExtendToUint32().ShiftAllLeft(16).AsFloat32x8()
}

// dotBF16AVX512 computes Σ fp32(w[i])·x[i] for bf16 weights, 64 at a time.
func dotBF16AVX512(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 archsimd.Float32x16
	for len(w) >= 64 && len(x) >= 64 {
		pw, px := (*[64]uint16)(w), (*[64]float32)(x)
		s0 = bf16x16((*[16]uint16)(pw[0:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[0:])), s0)
		s1 = bf16x16((*[16]uint16)(pw[16:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[16:])), s1)
		s2 = bf16x16((*[16]uint16)(pw[32:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[32:])), s2)
		s3 = bf16x16((*[16]uint16)(pw[48:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(px[48:])), s3)
		w, x = w[64:], x[64:]
	}
	for len(w) >= 16 && len(x) >= 16 {
		s0 = bf16x16((*[16]uint16)(w)).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(x)), s0)
		w, x = w[16:], x[16:]
	}
	s := sum16(s0.Add(s1).Add(s2.Add(s3)))
	for i := range w {
		s += tensor.BF16ToF32(w[i]) * x[i]
	}
	return s
}

// dotBF16AVX2 is dotBF16AVX512 with 8-lane vectors.
func dotBF16AVX2(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 archsimd.Float32x8
	for len(w) >= 32 && len(x) >= 32 {
		pw, px := (*[32]uint16)(w), (*[32]float32)(x)
		s0 = bf16x8((*[8]uint16)(pw[0:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[0:])), s0)
		s1 = bf16x8((*[8]uint16)(pw[8:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[8:])), s1)
		s2 = bf16x8((*[8]uint16)(pw[16:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[16:])), s2)
		s3 = bf16x8((*[8]uint16)(pw[24:])).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(px[24:])), s3)
		w, x = w[32:], x[32:]
	}
	for len(w) >= 8 && len(x) >= 8 {
		s0 = bf16x8((*[8]uint16)(w)).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(x)), s0)
		w, x = w[8:], x[8:]
	}
	s := sum8(s0.Add(s1).Add(s2.Add(s3)))
	for i := range w {
		s += tensor.BF16ToF32(w[i]) * x[i]
	}
	return s
}

// q8Quants returns the 32 int8 values of the Q8_0 block at the start of blk.
func q8Quants(blk []byte) *[tensor.QK]int8 {
	return (*[tensor.QK]int8)(unsafe.Pointer(&(*[tensor.Q8_0BlockBytes]byte)(blk)[2]))
}

// blockDot8 returns the eight int32 partial sums of Σ w[j]·x[j] over one block of 32 int8
// pairs, with ggml's sign trick: |w| (unsigned) times x·sign(w) by VPMADDUBSW, then pairs
// of 16-bit sums widened by VPMADDWD. |w| ≤ 128 and |x| ≤ 127 keep VPMADDUBSW from
// saturating (2·128·127 < 32767).
func blockDot8(w, x archsimd.Int8x32, ones archsimd.Int16x16) archsimd.Int32x8 {
	return w.Abs().AsUint8x32().DotProductPairsSaturated(x.CopySign(w)).DotProductPairs(ones)
}

// dotQ8AVX2 computes the Q8_0 × Q8_0 row dot (see dotQ8Generic) one 32-byte block per
// step: the block's int32 sums become floats and meet the block's scale in one FMA. The
// lengths are checked once up front; the loop then walks raw pointers so no bounds check
// sits between the vector instructions.
func dotQ8AVX2(w []byte, x q8Row) float32 {
	nb := len(w) / tensor.Q8_0BlockBytes
	if nb == 0 {
		return 0
	}
	_, _ = x.d[nb-1], x.q[nb*tensor.QK-1]
	tab := f16Table()
	pw, pd, pq := unsafe.Pointer(&w[0]), unsafe.Pointer(&x.d[0]), unsafe.Pointer(&x.q[0])
	ones := archsimd.BroadcastInt16x16(1)
	var acc0, acc1 archsimd.Float32x8
	b := 0
	for ; b+2 <= nb; b += 2 {
		acc0 = q8Step(tab, pw, pd, pq, b, ones, acc0)
		acc1 = q8Step(tab, pw, pd, pq, b+1, ones, acc1)
	}
	if b < nb {
		acc0 = q8Step(tab, pw, pd, pq, b, ones, acc0)
	}
	return sum8(acc0.Add(acc1))
}

// blockScale returns fp32(dw)·xd[b] in every lane, dw the fp16 scale at the block's start.
func blockScale(tab *[1 << 16]float32, blk, pd unsafe.Pointer, b int) archsimd.Float32x8 {
	return archsimd.BroadcastFloat32x8(tab[*(*uint16)(blk)]).Mul(archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pd, 4*b))))
}

// q8Step adds the dot of Q8_0 block b (of the row at pw) with the activations (scales pd,
// values pq) to acc.
func q8Step(tab *[1 << 16]float32, pw, pd, pq unsafe.Pointer, b int, ones archsimd.Int16x16, acc archsimd.Float32x8) archsimd.Float32x8 {
	blk := unsafe.Add(pw, b*tensor.Q8_0BlockBytes)
	p := blockDot8(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(blk, 2))), archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, b*32))), ones)
	return p.ConvertToFloat32().MulAdd(blockScale(tab, blk, pd, b), acc)
}

// q4Step adds the dot of Q4_0 block b with the activations (corrections pc) to acc.
func q4Step(tab *[1 << 16]float32, pw, pd, pq, pc unsafe.Pointer, b int, ones archsimd.Int16x16, nib q4Nibbles, acc archsimd.Float32x8) archsimd.Float32x8 {
	blk := unsafe.Add(pw, b*tensor.Q4_0BlockBytes)
	xv := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, b*32)))
	c := archsimd.LoadInt32x8((*[8]int32)(unsafe.Add(pc, b*32)))
	p := nib.block(unsafe.Add(blk, 2)).DotProductPairsSaturated(xv).DotProductPairs(ones).Add(c)
	return p.ConvertToFloat32().MulAdd(blockScale(tab, blk, pd, b), acc)
}

// q4Nibbles holds the constants of its block method: the nibble mask and the lane shifts.
type q4Nibbles struct {
	mask   archsimd.Uint8x32
	shifts archsimd.Uint32x8
}

// q4Shifts are q4Nibbles' lane shifts: 0 in the low half's 32-bit lanes, 4 in the high
// half's.
var q4Shifts = [8]uint32{0, 0, 0, 0, 4, 4, 4, 4}

// newQ4Nibbles returns the constants: 0x0f in every byte, and q4Shifts.
func newQ4Nibbles() q4Nibbles {
	return q4Nibbles{archsimd.BroadcastUint8x32(0x0f), archsimd.LoadUint32x8(&q4Shifts)}
}

// block widens the 16 nibble bytes at p into 32 unsigned values 0..15: low nibbles are
// elements 0..15, high nibbles elements 16..31. The bytes go to both halves, and the high
// half shifts right by 4 in 32-bit lanes (VPSRLVD; the mask drops what crosses from the
// byte above). Not VPSRLW by a constant: the compiler loads its count with a legacy SSE
// MOVQ, a switch out of the vector state and back on every block where the CPU charges
// for it (see the package doc); unpacking Q4_0 weight panels so, a 1024×1024×128 int4
// MatMul ran 48 GFLOP/s there against 305 this way.
func (n q4Nibbles) block(p unsafe.Pointer) archsimd.Uint8x32 {
	v := archsimd.LoadUint8x16((*[16]uint8)(p))
	both := archsimd.Uint8x32{}.SetLo(v).SetHi(v)
	return both.AsUint32x8().ShiftRight(n.shifts).AsUint8x32().And(n.mask)
}

// dotQ4AVX2 computes the Q4_0 × Q8_0 row dot (see dotQ4Generic). The nibbles q are
// unsigned, so VPMADDUBSW multiplies them by x directly (15·127·2 < 32767, no saturation)
// and the -8 offset arrives as the per-lane correction x.corr = -8·Σx.
func dotQ4AVX2(w []byte, x q8Row) float32 {
	nb := len(w) / tensor.Q4_0BlockBytes
	if nb == 0 {
		return 0
	}
	_, _, _ = x.d[nb-1], x.q[nb*tensor.QK-1], x.corr[nb*8-1]
	tab := f16Table()
	pw, pd, pq, pc := unsafe.Pointer(&w[0]), unsafe.Pointer(&x.d[0]), unsafe.Pointer(&x.q[0]), unsafe.Pointer(&x.corr[0])
	ones := archsimd.BroadcastInt16x16(1)
	nib := newQ4Nibbles()
	var acc0, acc1 archsimd.Float32x8
	b := 0
	for ; b+2 <= nb; b += 2 {
		acc0 = q4Step(tab, pw, pd, pq, pc, b, ones, nib, acc0)
		acc1 = q4Step(tab, pw, pd, pq, pc, b+1, ones, nib, acc1)
	}
	if b < nb {
		acc0 = q4Step(tab, pw, pd, pq, pc, b, ones, nib, acc0)
	}
	return sum8(acc0.Add(acc1))
}

// dotF16AVX2Go runs dotF16AVX2 over the multiple-of-8 prefix and the tail in Go.
func dotF16AVX2Go(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	n := len(w) &^ 7
	var s float32
	if n > 0 {
		s = dotF16AVX2(&w[0], &x[0], n)
	}
	for i := n; i < len(w); i++ {
		s += tensor.F16ToF32(w[i]) * x[i]
	}
	return s
}

// dotQ8VNNIGo checks the lengths and runs dotQ8VNNI.
func dotQ8VNNIGo(w []byte, x q8Row) float32 {
	nb := len(w) / tensor.Q8_0BlockBytes
	if nb == 0 {
		return 0
	}
	_, _, _ = x.d[nb-1], x.q[nb*tensor.QK-1], x.corr[nb*8-1]
	return dotQ8VNNI(&w[0], &x.q[0], &x.d[0], &x.corr[0], &f16Table()[0], nb)
}

// dotQ4VNNIGo checks the lengths and runs dotQ4VNNI.
func dotQ4VNNIGo(w []byte, x q8Row) float32 {
	nb := len(w) / tensor.Q4_0BlockBytes
	if nb == 0 {
		return 0
	}
	_, _, _ = x.d[nb-1], x.q[nb*tensor.QK-1], x.corr[nb*8-1]
	return dotQ4VNNI(&w[0], &x.q[0], &x.d[0], &x.corr[0], &f16Table()[0], nb)
}

// corrLanesAVX2 is corrLanes 32 bytes at a time: VPMADDUBSW with ones sums byte pairs,
// VPMADDWD with ones sums those into the 4-byte lanes, VPMULLD applies mul.
func corrLanesAVX2(corr []int32, q []int8, mul corrMul) {
	nb := len(corr) / 8
	if nb == 0 {
		return
	}
	_ = q[nb*32-1]
	pq, pc := unsafe.Pointer(&q[0]), unsafe.Pointer(&corr[0])
	ones8 := archsimd.BroadcastUint8x32(1)
	ones16 := archsimd.BroadcastInt16x16(1)
	m := archsimd.LoadInt32x8(&[8]int32{mul[0], mul[0], mul[0], mul[0], mul[1], mul[1], mul[1], mul[1]})
	for b := range nb {
		v := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 32*b)))
		ones8.DotProductPairsSaturated(v).DotProductPairs(ones16).Mul(m).Store((*[8]int32)(unsafe.Add(pc, 32*b)))
	}
	archsimd.ClearAVXUpperBits()
	corrLanes(corr[nb*8:], q[nb*32:], mul)
}
