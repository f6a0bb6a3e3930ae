//go:build goexperiment.simd && amd64

package kernels

import "github.com/infertune/infertune/engine/tensor"

const simdBuilt = true

// simdImpl returns the simd tier's kernels for one ISA path.
func simdImpl(isa ISA) *impl {
	im := &impl{
		isa:     isa,
		dotF32:  dotF32AVX2,
		dotF16:  dotF16AVX2Go,
		dotBF16: dotBF16AVX2,
		dotQ8:   dotQ8AVX2,
		dotQ4:   dotQ4AVX2,
		corrQ4:  -8,
		quant:   quantizeBlocks,
		lanes:   corrLanesAVX2,
		matVec:  rowsMatVec,
		matMul:  rowsMatMul,
	}
	if isa >= ISAAVX512 {
		im.matMul = matMulAVX512
		im.quant = quantBlocksAVX512
		im.dotF32 = dotF32AVX512
		im.dotF16 = dotF16AVX512Go
		im.dotBF16 = dotBF16AVX512
	}
	if isa >= ISAAVX512VNNI {
		im.dotQ8, im.corrQ8 = dotQ8VNNIGo, -128
		im.dotQ4 = dotQ4VNNIGo
		im.matVec = matVecVNNI
	}
	return im
}

// matVecVNNI runs Q8_0 and Q4_0 MatVec four rows at a time (matVec4Q8VNNI,
// matVec4Q4VNNI), the rows left over one at a time; other dtypes go row by row.
func matVecVNNI(k *Kernels, y []float32, w *tensor.Matrix, x []float32) {
	var four func(w *byte, stride int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)
	var one func(w []byte, x q8Row) float32
	var corr int32
	switch w.DType {
	case tensor.Q8_0:
		four, one, corr = matVec4Q8VNNI, dotQ8VNNIGo, -128
	case tensor.Q4_0:
		four, one, corr = matVec4Q4VNNI, dotQ4VNNIGo, -8
	default:
		rowsMatVec(k, y, w, x)
		return
	}
	nb := w.Cols / tensor.QK
	if nb == 0 {
		clear(y)
		return
	}
	k.act.quantize(x, 1, w.Cols, corr, k.impl)
	a := k.act.row(0, w.Cols)
	stride := w.RowBytes()
	tab := &f16Table()[0]
	chunk, chunks := rowChunks(w.Rows, k.cfg.Threads, len(w.Data))
	k.pool.run(chunks, func(c, _ int) {
		i, hi := c*chunk, min((c+1)*chunk, w.Rows)
		for ; i+4 <= hi; i += 4 {
			four(&w.Data[i*stride], stride, &a.q[0], &a.d[0], &a.corr[0], tab, nb, &y[i])
		}
		for ; i < hi; i++ {
			y[i] = one(w.Row(i), a)
		}
	})
}
