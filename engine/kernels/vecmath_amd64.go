//go:build goexperiment.simd && amd64

package kernels

import (
	"math/bits"
	"simd/archsimd"
	"slices"
)

// argmaxAVX512 is Argmax in two passes of sixteen lanes: the largest value (a lane takes
// a value only when it is greater, so NaNs are passed over and equal values keep the
// first), then the first element equal to it (-0 and +0 are equal, and the first of
// them is what the comparisons would have kept).
func argmaxAVX512(x []float32) int {
	if len(x) < 32 || x[0] != x[0] {
		return ArgmaxScan(x)
	}
	m := archsimd.BroadcastFloat32x16(x[0])
	i := 0
	for ; i+16 <= len(x); i += 16 {
		v := archsimd.LoadFloat32x16((*[16]float32)(x[i:]))
		m = v.Merge(m, v.Greater(m))
	}
	var lanes [16]float32
	m.Store(&lanes)
	archsimd.ClearAVXUpperBits() // before the scalar float code (see the package doc)
	mx := lanes[0]
	for _, v := range lanes[1:] {
		mx = max(mx, v) // no NaN: every lane started at x[0]
	}
	for _, v := range x[i:] {
		if v > mx {
			mx = v
		}
	}
	want := archsimd.BroadcastFloat32x16(mx)
	for i = 0; i+16 <= len(x); i += 16 {
		if eq := archsimd.LoadFloat32x16((*[16]float32)(x[i:])).Equal(want).ToBits(); eq != 0 {
			archsimd.ClearAVXUpperBits()
			return i + bits.TrailingZeros16(eq)
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; i < len(x); i++ {
		if x[i] == mx {
			return i
		}
	}
	return 0 // not reached: mx is an element of x
}

// exp16 is Exp32 on sixteen lanes, its argument clamped to [expMin, expMax].
func exp16(x archsimd.Float32x16) archsimd.Float32x16 {
	x = x.Max(archsimd.BroadcastFloat32x16(expMin)).Min(archsimd.BroadcastFloat32x16(expMax))
	n := x.Mul(archsimd.BroadcastFloat32x16(expLog2e)).RoundToEvenScaled(0)
	r := n.MulAdd(archsimd.BroadcastFloat32x16(-expLn2Hi), x)
	r = n.MulAdd(archsimd.BroadcastFloat32x16(-expLn2Lo), r)
	p := archsimd.BroadcastFloat32x16(expP0)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP4))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP5))
	one := archsimd.BroadcastFloat32x16(1)
	y := p.Mul(r.Mul(r)).Add(r).Add(one)
	pow := n.Add(archsimd.BroadcastFloat32x16(127)).ConvertToInt32().ShiftAllLeft(23).AsFloat32x16()
	return y.Mul(pow)
}

// exp8 is exp16 on eight lanes.
func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(archsimd.BroadcastFloat32x8(expMin)).Min(archsimd.BroadcastFloat32x8(expMax))
	n := x.Mul(archsimd.BroadcastFloat32x8(expLog2e)).RoundToEven()
	r := n.MulAdd(archsimd.BroadcastFloat32x8(-expLn2Hi), x)
	r = n.MulAdd(archsimd.BroadcastFloat32x8(-expLn2Lo), r)
	p := archsimd.BroadcastFloat32x8(expP0)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP4))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP5))
	one := archsimd.BroadcastFloat32x8(1)
	y := p.Mul(r.Mul(r)).Add(r).Add(one)
	pow := n.Add(archsimd.BroadcastFloat32x8(127)).ConvertToInt32().ShiftAllLeft(23).AsFloat32x8()
	return y.Mul(pow)
}

func siluMulAVX512(g, u []float32) {
	u = u[:len(g)]
	one := archsimd.BroadcastFloat32x16(1)
	var zero archsimd.Float32x16 // not Broadcast(0): a legacy SSE XORPS makes its 0
	i := 0
	for ; i+16 <= len(g); i += 16 {
		x := archsimd.LoadFloat32x16((*[16]float32)(g[i:]))
		e := exp16(zero.Sub(x))
		y := x.Div(e.Add(one)).Mul(archsimd.LoadFloat32x16((*[16]float32)(u[i:])))
		y.Store((*[16]float32)(g[i:]))
	}
	archsimd.ClearAVXUpperBits()
	siluMulGeneric(g[i:], u[i:])
}

func siluMulAVX2(g, u []float32) {
	u = u[:len(g)]
	one := archsimd.BroadcastFloat32x8(1)
	var zero archsimd.Float32x8 // not Broadcast(0): a legacy SSE XORPS makes its 0
	i := 0
	for ; i+8 <= len(g); i += 8 {
		x := archsimd.LoadFloat32x8((*[8]float32)(g[i:]))
		e := exp8(zero.Sub(x))
		y := x.Div(e.Add(one)).Mul(archsimd.LoadFloat32x8((*[8]float32)(u[i:])))
		y.Store((*[8]float32)(g[i:]))
	}
	archsimd.ClearAVXUpperBits()
	siluMulGeneric(g[i:], u[i:])
}

func softmaxAVX512(x []float32, cols int, scale float32) {
	softmaxRows(x, cols, scale, rowHeads{max: maxHead16, exp: expHead16, mul: mulHead16})
}

func softmaxAVX2(x []float32, cols int, scale float32) {
	softmaxRows(x, cols, scale, rowHeads{max: maxHead8, exp: expHead8, mul: mulHead8})
}

// maxHead16 returns how many of row's first elements it read (a multiple of 16) and their
// largest.
func maxHead16(row []float32) (int, float32) {
	if len(row) < 16 {
		return 0, 0
	}
	acc := archsimd.LoadFloat32x16((*[16]float32)(row))
	i := 16
	for ; i+16 <= len(row); i += 16 {
		acc = acc.Max(archsimd.LoadFloat32x16((*[16]float32)(row[i:])))
	}
	var lanes [16]float32
	acc.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	return i, slices.Max(lanes[:])
}

// maxHead8 is maxHead16 on eight lanes.
func maxHead8(row []float32) (int, float32) {
	if len(row) < 8 {
		return 0, 0
	}
	acc := archsimd.LoadFloat32x8((*[8]float32)(row))
	i := 8
	for ; i+8 <= len(row); i += 8 {
		acc = acc.Max(archsimd.LoadFloat32x8((*[8]float32)(row[i:])))
	}
	var lanes [8]float32
	acc.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	return i, slices.Max(lanes[:])
}

// mulHead16 multiplies row's first multiple of 16 elements by s and returns how many.
func mulHead16(row []float32, s float32) int {
	vs := archsimd.BroadcastFloat32x16(s)
	i := 0
	for ; i+16 <= len(row); i += 16 {
		p := (*[16]float32)(row[i:])
		archsimd.LoadFloat32x16(p).Mul(vs).Store(p)
	}
	archsimd.ClearAVXUpperBits()
	return i
}

// mulHead8 is mulHead16 on eight lanes.
func mulHead8(row []float32, s float32) int {
	vs := archsimd.BroadcastFloat32x8(s)
	i := 0
	for ; i+8 <= len(row); i += 8 {
		p := (*[8]float32)(row[i:])
		archsimd.LoadFloat32x8(p).Mul(vs).Store(p)
	}
	archsimd.ClearAVXUpperBits()
	return i
}

// expHead16 replaces row's first multiple of 16 elements v with e^(scale·(v-mx)) and
// returns how many and their sum.
func expHead16(row []float32, mx, scale float32) (int, float32) {
	vmx, vs := archsimd.BroadcastFloat32x16(mx), archsimd.BroadcastFloat32x16(scale)
	var acc archsimd.Float32x16 // not Broadcast(0): a legacy SSE XORPS makes its 0
	i := 0
	for ; i+16 <= len(row); i += 16 {
		e := exp16(archsimd.LoadFloat32x16((*[16]float32)(row[i:])).Sub(vmx).Mul(vs))
		e.Store((*[16]float32)(row[i:]))
		acc = acc.Add(e)
	}
	var lanes [16]float32
	acc.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	var sum float32
	for _, v := range lanes {
		sum += v
	}
	return i, sum
}

// expHead8 is expHead16 on eight lanes.
func expHead8(row []float32, mx, scale float32) (int, float32) {
	vmx, vs := archsimd.BroadcastFloat32x8(mx), archsimd.BroadcastFloat32x8(scale)
	var acc archsimd.Float32x8 // not Broadcast(0): a legacy SSE XORPS makes its 0
	i := 0
	for ; i+8 <= len(row); i += 8 {
		e := exp8(archsimd.LoadFloat32x8((*[8]float32)(row[i:])).Sub(vmx).Mul(vs))
		e.Store((*[8]float32)(row[i:]))
		acc = acc.Add(e)
	}
	var lanes [8]float32
	acc.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	var sum float32
	for _, v := range lanes {
		sum += v
	}
	return i, sum
}

// mulColsAVX512 is mulColsGeneric sixteen columns at a time.
func mulColsAVX512(dst, x, s []float32) {
	n := len(s)
	n16 := n &^ 15
	for r := 0; r+n <= len(x); r += n {
		xr, dr := x[r:r+n], dst[r:r+n]
		for c := 0; c < n16; c += 16 {
			v := archsimd.LoadFloat32x16((*[16]float32)(xr[c:]))
			v.Mul(archsimd.LoadFloat32x16((*[16]float32)(s[c:]))).Store((*[16]float32)(dr[c:]))
		}
	}
	archsimd.ClearAVXUpperBits()
	if n16 < n {
		mulColsFrom(dst, x, s, n16)
	}
}

// mulColsAVX2 is mulColsAVX512 on eight lanes.
func mulColsAVX2(dst, x, s []float32) {
	n := len(s)
	n8 := n &^ 7
	for r := 0; r+n <= len(x); r += n {
		xr, dr := x[r:r+n], dst[r:r+n]
		for c := 0; c < n8; c += 8 {
			v := archsimd.LoadFloat32x8((*[8]float32)(xr[c:]))
			v.Mul(archsimd.LoadFloat32x8((*[8]float32)(s[c:]))).Store((*[8]float32)(dr[c:]))
		}
	}
	archsimd.ClearAVXUpperBits()
	if n8 < n {
		mulColsFrom(dst, x, s, n8)
	}
}

// addScaledAVX512 is addScaledGeneric sixteen elements at a time, fused.
func addScaledAVX512(y, x []float32, a float32) {
	x = x[:len(y)]
	n16 := len(y) &^ 15
	av := archsimd.BroadcastFloat32x16(a)
	for i := 0; i < n16; i += 16 {
		yv := archsimd.LoadFloat32x16((*[16]float32)(y[i:]))
		archsimd.LoadFloat32x16((*[16]float32)(x[i:])).MulAdd(av, yv).Store((*[16]float32)(y[i:]))
	}
	archsimd.ClearAVXUpperBits()
	addScaledFrom(y, x, a, n16)
}

// addScaledAVX2 is addScaledAVX512 on eight lanes.
func addScaledAVX2(y, x []float32, a float32) {
	x = x[:len(y)]
	n8 := len(y) &^ 7
	av := archsimd.BroadcastFloat32x8(a)
	for i := 0; i < n8; i += 8 {
		yv := archsimd.LoadFloat32x8((*[8]float32)(y[i:]))
		archsimd.LoadFloat32x8((*[8]float32)(x[i:])).MulAdd(av, yv).Store((*[8]float32)(y[i:]))
	}
	archsimd.ClearAVXUpperBits()
	addScaledFrom(y, x, a, n8)
}

func dotHeadsAVX2(out, k, q []float32)     { dotHeadsWith(dotF32AVX2, out, k, q) }
func addScaledHeadsAVX2(y, v, a []float32) { addScaledHeadsWith(addScaledAVX2, y, v, a) }

// dotHeadsAVX512 computes the heads' dots in registers, for heads of a multiple of 16
// values: each head's products in one 16-lane sum, then the heads reduced together four
// at a time (halves folded, lanes added in pairs across two heads with VHADDPS, twice,
// halves folded again), four sums per store. Other head sizes go through dotF32AVX512.
func dotHeadsAVX512(out, k, q []float32) {
	nh := len(out)
	hd := len(q) / nh
	if hd%16 != 0 {
		dotHeadsWith(dotF32AVX512, out, k, q)
		return
	}
	k = k[:len(q)]
	var four [4]archsimd.Float32x8 // four heads' sums, folded to 8 lanes
	for h0 := 0; h0 < nh; h0 += 4 {
		for j := range four {
			four[j] = archsimd.Float32x8{}
			h := h0 + j
			if h >= nh {
				continue
			}
			var s archsimd.Float32x16
			for i := h * hd; i < (h+1)*hd; i += 16 {
				s = archsimd.LoadFloat32x16((*[16]float32)(k[i:])).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(q[i:])), s)
			}
			four[j] = s.GetLo().Add(s.GetHi())
		}
		// [a01 a23 b01 b23 | a45 a67 b45 b67], then [a b c d (lanes 0-3) | a b c d (4-7)].
		p := four[0].AddPairsGrouped(four[1]).AddPairsGrouped(four[2].AddPairsGrouped(four[3]))
		sums := p.GetLo().Add(p.GetHi())
		if nh-h0 >= 4 {
			sums.Store((*[4]float32)(out[h0:]))
		} else {
			// Not StoreSlicePart: its masked store goes through a pointer to four floats,
			// which the race detector's pointer checks refuse at the end of out's memory.
			var t [4]float32
			sums.Store(&t)
			archsimd.ClearAVXUpperBits() // copy's memmove loads into X registers
			copy(out[h0:], t[:])
		}
	}
	archsimd.ClearAVXUpperBits()
}

// addScaledHeadsAVX512 is addScaledHeadsGeneric in 16-lane multiply-adds, for heads of a
// multiple of 16 values (others go through addScaledAVX512): the same result, one
// rounding per element.
func addScaledHeadsAVX512(y, v, a []float32) {
	nh := len(a)
	hd := len(y) / nh
	if hd%16 != 0 {
		addScaledHeadsWith(addScaledAVX512, y, v, a)
		return
	}
	v = v[:len(y)]
	for h, s := range a {
		av := archsimd.BroadcastFloat32x16(s)
		for i := h * hd; i < (h+1)*hd; i += 16 {
			yv := archsimd.LoadFloat32x16((*[16]float32)(y[i:]))
			archsimd.LoadFloat32x16((*[16]float32)(v[i:])).MulAdd(av, yv).Store((*[16]float32)(y[i:]))
		}
	}
	archsimd.ClearAVXUpperBits()
}
