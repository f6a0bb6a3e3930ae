package kernels

import (
	"math"

	"github.com/infertune/infertune/engine/tensor"
)

// q8Act holds activations quantized to Q8_0, split into scales and values so vector code
// loads each without the 2-byte scale in the way. Row j's block b has scale d[j*nb+b] and
// values q[j*k+32b : j*k+32b+32].
type q8Act struct {
	d []float32 // per block, rounded through fp16 as a Q8_0 block stores it
	q []int8
	// corr, when asked for, holds 8 int32 per block: lane l of block b is
	// mul[l/4]·Σ_{i<4} q[32b+4l+i] for a corrMul mul, the start value VNNI kernels need
	// (see dot_amd64.s).
	corr []int32
	// views is the slice rows returns.
	views []q8Row
}

// q8Row is one activation row of a q8Act: its block scales, values and corrections.
type q8Row struct {
	d    []float32
	q    []int8
	corr []int32
}

// rows returns the first n rows (row(j, k) for j < n) in a slice reused across calls.
func (a *q8Act) rows(n, k int) []q8Row {
	if cap(a.views) < n {
		a.views = make([]q8Row, n)
	}
	a.views = a.views[:n]
	for j := range a.views {
		a.views[j] = a.row(j, k)
	}
	return a.views
}

// row returns activation row j of rows of k values.
func (a *q8Act) row(j, k int) q8Row {
	nb := k / tensor.QK
	r := q8Row{d: a.d[j*nb : (j+1)*nb], q: a.q[j*k : (j+1)*k]}
	if len(a.corr) > 0 {
		r.corr = a.corr[j*nb*8 : (j+1)*nb*8]
	}
	return r
}

// corrMul holds the multipliers of a block's activation corrections: [0] for lanes 0-3
// (the block's values 0-15), [1] for lanes 4-7 (values 16-31). The zero value asks for none.
type corrMul [2]int32

// quantize quantizes n rows of k activations (k a multiple of tensor.QK) exactly as ggml's
// quantize_row_q8_0 does, keeping the scale as fp32(fp16(d)), with blocks (a path's
// im.quant: quantizeBlocks or a vector twin, identical in result). A nonzero mul also
// fills corr (with im.lanes); zero leaves it empty.
func (a *q8Act) quantize(x []float32, n, k int, mul corrMul, im *impl) {
	nb := k / tensor.QK
	if cap(a.d) < n*nb {
		a.d = make([]float32, n*nb)
	}
	if cap(a.q) < n*k {
		a.q = make([]int8, n*k)
	}
	a.d, a.q = a.d[:n*nb], a.q[:n*k]
	im.quant(a.d, a.q, x[:n*k])
	a.corr = a.corr[:0]
	if mul == (corrMul{}) {
		return
	}
	if cap(a.corr) < n*nb*8 {
		a.corr = make([]int32, n*nb*8)
	}
	a.corr = a.corr[:n*nb*8]
	im.lanes(a.corr, a.q, mul)
}

// corrLanes sets corr[l] = mul[l/4%2]·Σ_{i<4} q[4l+i] for every 4-byte lane of q.
func corrLanes(corr []int32, q []int8, mul corrMul) {
	for l := range corr {
		g := q[4*l : 4*l+4]
		corr[l] = mul[l/4%2] * (int32(g[0]) + int32(g[1]) + int32(g[2]) + int32(g[3]))
	}
}

// quantizeBlocks quantizes len(x)/32 blocks with quantizeBlock.
func quantizeBlocks(d []float32, q []int8, x []float32) {
	for b := range len(x) / tensor.QK {
		d[b] = quantizeBlock((*[tensor.QK]int8)(q[b*tensor.QK:]), (*[tensor.QK]float32)(x[b*tensor.QK:]))
	}
}

// quantizeBlock quantizes 32 values to int8 with d = max|x|/127 and q = round(x/d) (half
// away from zero, computed as x·(1/d) in float32 as ggml does) and returns fp32(fp16(d)).
// A block holding NaN or ±Inf has no meaningful scale: it gets d = NaN and q = 0, so every
// dot product that reads it is NaN rather than a silently wrong number.
func quantizeBlock(q *[tensor.QK]int8, x *[tensor.QK]float32) float32 {
	var amaxBits uint32
	for _, v := range x {
		amaxBits = max(amaxBits, math.Float32bits(v)&0x7fffffff)
	}
	if amaxBits >= 0x7f800000 {
		*q = [tensor.QK]int8{}
		return float32(math.NaN())
	}
	d := math.Float32frombits(amaxBits) / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j, v := range x {
		q[j] = int8(roundHalfAway(v * id))
	}
	return tensor.F16ToF32(tensor.F32ToF16(d))
}

// roundHalfAway rounds v (|v| < 2^31) to the nearest integer, ties away from zero, as C's
// roundf: the truncation and the remainder are both exact in float32.
func roundHalfAway(v float32) int32 {
	t := int32(v)
	switch f := v - float32(t); {
	case f >= 0.5:
		t++
	case f <= -0.5:
		t--
	}
	return t
}
