package kernels

import (
	"encoding/binary"

	"github.com/infertune/infertune/engine/tensor"
)

// impl is one path's set of kernels. Row-level dots are required; matVec and matMul drive
// them (or faster multi-row code) over the pool.
type impl struct {
	isa ISA
	// rowPairs selects the Pairs form of the Q4_0 superblock kernel (two rows to a 512-bit
	// register) in place of the Cached one: on CPUs with full-rate 512-bit integer
	// operations (fullWidth512).
	rowPairs bool
	// wideFloats selects the 512-bit fp32, fp16 and bf16 four-row MatVec kernels (the Z
	// kernels) in place of the 256-bit ones, on the same CPUs.
	wideFloats bool
	dotF32     func(w, x []float32) float32
	dotF16     func(w []uint16, x []float32) float32
	dotBF16    func(w []uint16, x []float32) float32
	// dotQ8 and dotQ4 multiply one weight row by activations quantized to Q8_0 (xd scales,
	// xq values), block by block in int32.
	dotQ8 func(w []byte, x q8Row) float32
	dotQ4 func(w []byte, x q8Row) float32
	// corrQ8 and corrQ4 are the multipliers of the activation corrections the Q8_0 and
	// Q4_0 dots need (the zero value: none).
	corrQ8, corrQ4 corrMul
	// quant quantizes activation blocks to Q8_0: quantizeBlocks or a vector twin of it.
	quant func(d []float32, q []int8, x []float32)
	// lanes computes activation corrections: corrLanes or a vector twin.
	lanes  func(corr []int32, q []int8, mul corrMul)
	matVec func(k *Kernels, y []float32, w *tensor.Matrix, x []float32)
	matMul func(k *Kernels, y []float32, w *tensor.Matrix, x []float32, n int)
	// matMuls runs MatMuls' matrices together (n > 1) and reports true, or reports
	// false, having done nothing, where they cannot; nil: never.
	matMuls func(k *Kernels, ys [][]float32, ws []*tensor.Matrix, xs [][]float32, n int) bool
	// prepack adds to p (made from w) those of the layouts kinds that this path reads and
	// p lacks; nil where the path reads none.
	prepack func(k *Kernels, w *tensor.Matrix, p *weightPack, kinds packKind)
	// siluMul and softmax are the activation functions (vecmath.go).
	siluMul func(g, u []float32)
	softmax func(x []float32, cols int, scale float32)
	// mulCols scales columns (vecmath.go).
	mulCols func(dst, x, s []float32)
	// argmax finds the first largest element (vecmath.go).
	argmax func(x []float32) int
	// addScaled adds a multiple of one vector to another (vecmath.go).
	addScaled func(y, x []float32, a float32)
	// dotHeads and addScaledHeads are dotF32 and addScaled over consecutive heads
	// (vecmath.go).
	dotHeads       func(out, k, q []float32)
	addScaledHeads func(y, v, a []float32)
	// The same over rows of fp16 keys and values, and the conversions to and from fp16
	// (an fp16 KV cache; vecmath.go).
	dotHeadsF16       func(out []float32, ldo int, k []uint16, ldk int, q []float32, nh, rows int)
	addScaledHeadsF16 func(y []float32, v []uint16, ldv int, a []float32, lda int, nh, rows int)
	toF16             func(dst []uint16, src []float32)
	fromF16           func(dst []float32, src []uint16)
}

func genericImpl() *impl {
	return &impl{
		isa:     ISANone,
		dotF32:  dotF32Generic,
		dotF16:  dotF16Generic,
		dotBF16: dotBF16Generic,
		dotQ8:   dotQ8Generic,
		dotQ4:   dotQ4Generic,
		quant:   quantizeBlocks,
		lanes:   corrLanes,
		matVec:  rowsMatVec,
		matMul:  rowsMatMul,
		siluMul: siluMulGeneric,
		softmax: softmaxGeneric,
		mulCols: mulColsGeneric,
		argmax:  ArgmaxScan,

		addScaled:      addScaledGeneric,
		dotHeads:       dotHeadsGeneric,
		addScaledHeads: addScaledHeadsGeneric,

		dotHeadsF16:       dotHeadsF16Generic,
		addScaledHeadsF16: addScaledHeadsF16Generic,
		toF16:             toF16Generic,
		fromF16:           fromF16Generic,
	}
}

// dotF32Generic computes Σ w[i]·x[i] with four partial sums (i mod 4), added at the end as
// (s0+s1)+(s2+s3), then the tail.
func dotF32Generic(w, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		s0 += w[i] * x[i]
		s1 += w[i+1] * x[i+1]
		s2 += w[i+2] * x[i+2]
		s3 += w[i+3] * x[i+3]
	}
	s := (s0 + s1) + (s2 + s3)
	for ; i < len(w); i++ {
		s += w[i] * x[i]
	}
	return s
}

// dotF16Generic computes Σ fp32(w[i])·x[i] for fp16 weights, converting through f16Table
// (the values of tensor.F16ToF32, precomputed).
func dotF16Generic(w []uint16, x []float32) float32 {
	tab := f16Table()
	x = x[:len(w)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		s0 += tab[w[i]] * x[i]
		s1 += tab[w[i+1]] * x[i+1]
		s2 += tab[w[i+2]] * x[i+2]
		s3 += tab[w[i+3]] * x[i+3]
	}
	s := (s0 + s1) + (s2 + s3)
	for ; i < len(w); i++ {
		s += tab[w[i]] * x[i]
	}
	return s
}

// dotBF16Generic computes Σ fp32(w[i])·x[i] for bf16 weights.
func dotBF16Generic(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(w); i += 4 {
		s0 += tensor.BF16ToF32(w[i]) * x[i]
		s1 += tensor.BF16ToF32(w[i+1]) * x[i+1]
		s2 += tensor.BF16ToF32(w[i+2]) * x[i+2]
		s3 += tensor.BF16ToF32(w[i+3]) * x[i+3]
	}
	s := (s0 + s1) + (s2 + s3)
	for ; i < len(w); i++ {
		s += tensor.BF16ToF32(w[i]) * x[i]
	}
	return s
}

// dotQ8Generic computes, for Q8_0 weight blocks w and Q8_0 activations (xd, xq):
//
//	for b := range blocks { s += fp32(dw[b]) * xd[b] * float32(Σ_j int32(qw[b][j])*int32(xq[32b+j])) }
func dotQ8Generic(w []byte, x q8Row) float32 {
	xd, xq := x.d, x.q
	var s float32
	for b := range len(w) / tensor.Q8_0BlockBytes {
		blk := (*[tensor.Q8_0BlockBytes]byte)(w[b*tensor.Q8_0BlockBytes:])
		xb := (*[tensor.QK]int8)(xq[b*tensor.QK:])
		var isum int32
		for j := range tensor.QK {
			isum += int32(int8(blk[2+j])) * int32(xb[j])
		}
		s += tensor.F16ToF32(binary.LittleEndian.Uint16(blk[:2])) * xd[b] * float32(isum)
	}
	return s
}

// dotQ4Generic computes, for Q4_0 weight blocks w and Q8_0 activations (xd, xq):
//
//	for b := range blocks {
//		isum := Σ_{j<16} (lo(qw[b][j])-8)*xq[32b+j] + (hi(qw[b][j])-8)*xq[32b+j+16]
//		s += fp32(dw[b]) * xd[b] * float32(isum)
//	}
func dotQ4Generic(w []byte, x q8Row) float32 {
	xd, xq := x.d, x.q
	var s float32
	for b := range len(w) / tensor.Q4_0BlockBytes {
		blk := (*[tensor.Q4_0BlockBytes]byte)(w[b*tensor.Q4_0BlockBytes:])
		xb := (*[tensor.QK]int8)(xq[b*tensor.QK:])
		var isum int32
		for j := range tensor.QK / 2 {
			q := blk[2+j]
			isum += (int32(q&0x0f)-8)*int32(xb[j]) + (int32(q>>4)-8)*int32(xb[j+tensor.QK/2])
		}
		s += tensor.F16ToF32(binary.LittleEndian.Uint16(blk[:2])) * xd[b] * float32(isum)
	}
	return s
}

// parallelMinBytes is the weight size below which a MatVec or MatMul stays on the calling
// goroutine: waking a worker costs a few microseconds, as long as streaming this many bytes.
const parallelMinBytes = 64 << 10

// rowChunks cuts rows into chunks for threads: about 8 per thread, so a thread slowed by a
// neighbour hands work to the others, each a multiple of 4 rows.
func rowChunks(rows, threads int, weightBytes int) (chunk, chunks int) {
	return rowChunksOf(rows, threads, weightBytes, 8)
}

// rowChunksOf is rowChunks with about per chunks a thread.
func rowChunksOf(rows, threads, weightBytes, per int) (chunk, chunks int) {
	if threads <= 1 || weightBytes < parallelMinBytes || rows < 8 {
		return rows, 1
	}
	chunk = (rows + threads*per - 1) / (threads * per)
	chunk = (chunk + 3) &^ 3
	return chunk, (rows + chunk - 1) / chunk
}

// rowsMatVec computes y = W·x one row dot at a time, rows split over the pool.
func rowsMatVec(k *Kernels, y []float32, w *tensor.Matrix, x []float32) {
	im := k.impl
	var row func(i int) float32
	switch w.DType {
	case tensor.F32:
		row = func(i int) float32 { return im.dotF32(tensor.AsF32(w.Row(i)), x) }
	case tensor.F16:
		row = func(i int) float32 { return im.dotF16(tensor.AsU16(w.Row(i)), x) }
	case tensor.BF16:
		row = func(i int) float32 { return im.dotBF16(tensor.AsU16(w.Row(i)), x) }
	case tensor.Q8_0:
		k.act.quantize(x, 1, w.Cols, im.corrQ8, k.impl)
		a := k.act.row(0, w.Cols)
		row = func(i int) float32 { return im.dotQ8(w.Row(i), a) }
	case tensor.Q4_0:
		k.act.quantize(x, 1, w.Cols, im.corrQ4, k.impl)
		a := k.act.row(0, w.Cols)
		row = func(i int) float32 { return im.dotQ4(w.Row(i), a) }
	}
	chunk, chunks := rowChunks(w.Rows, k.cfg.Threads, len(w.Data))
	k.pool.run(chunks, func(c, _ int) {
		for i := c * chunk; i < min((c+1)*chunk, w.Rows); i++ {
			y[i] = row(i)
		}
	})
}

// rowsMatMul computes Y = X·Wᵀ as one dot per (row, token), rows split over the pool; each
// weight row is read once from memory and reused, from cache, for every token.
func rowsMatMul(k *Kernels, y []float32, w *tensor.Matrix, x []float32, n int) {
	im := k.impl
	m, kk := w.Rows, w.Cols
	var dot func(i, j int) float32
	switch w.DType {
	case tensor.F32:
		dot = func(i, j int) float32 { return im.dotF32(tensor.AsF32(w.Row(i)), x[j*kk:(j+1)*kk]) }
	case tensor.F16:
		dot = func(i, j int) float32 { return im.dotF16(tensor.AsU16(w.Row(i)), x[j*kk:(j+1)*kk]) }
	case tensor.BF16:
		dot = func(i, j int) float32 { return im.dotBF16(tensor.AsU16(w.Row(i)), x[j*kk:(j+1)*kk]) }
	case tensor.Q8_0:
		k.act.quantize(x, n, kk, im.corrQ8, k.impl)
		dot = func(i, j int) float32 { return im.dotQ8(w.Row(i), k.act.row(j, kk)) }
	case tensor.Q4_0:
		k.act.quantize(x, n, kk, im.corrQ4, k.impl)
		dot = func(i, j int) float32 { return im.dotQ4(w.Row(i), k.act.row(j, kk)) }
	}
	chunk, chunks := rowChunks(m, k.cfg.Threads, len(w.Data)*max(1, n/4))
	k.pool.run(chunks, func(c, _ int) {
		for i := c * chunk; i < min((c+1)*chunk, m); i++ {
			for j := range n {
				y[j*m+i] = dot(i, j)
			}
		}
	})
}
