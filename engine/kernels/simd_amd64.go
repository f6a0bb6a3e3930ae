//go:build goexperiment.simd && amd64

package kernels

import (
	"unsafe"

	"github.com/infertune/infertune/engine/tensor"
)

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
		corrQ4:  corrMul{-8, -8},
		quant:   quantizeBlocks,
		lanes:   corrLanesAVX2,
		matVec:  matVecSIMD,
		matMul:  matMulSIMD,
		siluMul: siluMulAVX2,
		softmax: softmaxAVX2,
		mulCols: mulColsAVX2,

		addScaled: addScaledAVX2,
	}
	if isa >= ISAAVX512 {
		im.siluMul, im.softmax, im.mulCols = siluMulAVX512, softmaxAVX512, mulColsAVX512
		im.addScaled = addScaledAVX512
		im.quant = quantBlocksAVX512
		im.dotF32 = dotF32AVX512
		im.dotBF16 = dotBF16AVX512
	}
	if isa >= ISAAVX512VNNI {
		im.dotQ8, im.corrQ8 = dotQ8VNNIGo, q8CorrVNNI
		im.dotQ4, im.corrQ4 = dotQ4VNNIGo, q4CorrVNNI
	}
	return im
}

// matVecSIMD runs MatVec four rows at a time: matVec4F32, matVec4F16 and matVec4BF16 for
// the float dtypes on every path; matVec4Q8VNNI and matVec4Q4VNNI for the block dtypes where
// VNNI exists (elsewhere, row dots). Rows left over go one at a time; a float row's last
// k mod 16 elements are added by the row dot.
func matVecSIMD(k *Kernels, y []float32, w *tensor.Matrix, x []float32) {
	switch w.DType {
	case tensor.Q8_0, tensor.Q4_0:
		if k.cfg.ISA >= ISAAVX512VNNI {
			matVecQuantVNNI(k, y, w, x)
			return
		}
		rowsMatVec(k, y, w, x)
		return
	}
	im := k.impl
	kk := w.Cols
	k16 := kk &^ 15
	stride := w.RowBytes()
	// tail returns row i's dot over its last kk-k16 elements (and the whole row when the
	// four-row kernel does not run).
	var tail func(i, from int) float32
	var four func(i int)
	switch w.DType {
	case tensor.F32:
		tail = func(i, from int) float32 { return im.dotF32(tensor.AsF32(w.Row(i))[from:], x[from:]) }
		four = func(i int) {
			matVec4F32((*float32)(unsafe.Pointer(&w.Data[i*stride])), stride, &x[0], k16, &y[i])
		}
	case tensor.F16:
		tail = func(i, from int) float32 { return im.dotF16(tensor.AsU16(w.Row(i))[from:], x[from:]) }
		four = func(i int) {
			matVec4F16((*uint16)(unsafe.Pointer(&w.Data[i*stride])), stride, &x[0], k16, &y[i])
		}
	case tensor.BF16:
		tail = func(i, from int) float32 { return im.dotBF16(tensor.AsU16(w.Row(i))[from:], x[from:]) }
		xo := bf16Order(grow(&k.packed.panel, k16), x[:k16])
		four = func(i int) {
			matVec4BF16((*uint16)(unsafe.Pointer(&w.Data[i*stride])), stride, &xo[0], k16, &y[i])
		}
	}
	chunk, chunks := rowChunks(w.Rows, k.cfg.Threads, len(w.Data))
	k.pool.run(chunks, func(c, _ int) {
		i, hi := c*chunk, min((c+1)*chunk, w.Rows)
		if k16 > 0 {
			for ; i+4 <= hi; i += 4 {
				four(i)
				if k16 < kk {
					for r := i; r < i+4; r++ {
						y[r] += tail(r, k16)
					}
				}
			}
		}
		for ; i < hi; i++ {
			y[i] = tail(i, 0)
		}
	})
}

// bf16Order copies x (a multiple of 16 long) to dst in the order matVec4BF16 reads its
// activations: in each 16, elements 0-3, 8-11, 4-7, 12-15 (see BF16ROWS).
func bf16Order(dst, x []float32) []float32 {
	for g := 0; g+16 <= len(x); g += 16 {
		copy(dst[g:g+4], x[g:g+4])
		copy(dst[g+4:g+8], x[g+8:g+12])
		copy(dst[g+8:g+12], x[g+4:g+8])
		copy(dst[g+12:g+16], x[g+12:g+16])
	}
	return dst
}

// quantVNNIKernels returns the VNNI kernels of a Q8_0 or Q4_0 matrix: four rows at a
// time, one row, and the multiplier of the activation corrections.
func quantVNNIKernels(dt tensor.DType) (four func(w *byte, stride int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32),
	one func(w []byte, x q8Row) float32, corr corrMul) {
	if dt == tensor.Q8_0 {
		return matVec4Q8VNNI, dotQ8VNNIGo, q8CorrVNNI
	}
	return matVec4Q4VNNI, dotQ4VNNIGo, q4CorrVNNI
}

// The activation corrections of the VNNI kernels (see dot_amd64.s): Q8_0 weights made
// unsigned by +128; Q4_0 nibbles offset by 8, the high ones (values 16-31) kept 16 times
// too large, so the corrections of lanes 4-7 are 16 times too.
var (
	q8CorrVNNI = corrMul{-128, -128}
	q4CorrVNNI = corrMul{-8, -16 * 8}
)

// matVecQuantVNNI runs Q8_0 and Q4_0 MatVec four rows at a time (matVec4Q8VNNI,
// matVec4Q4VNNI), the rows left over one at a time.
func matVecQuantVNNI(k *Kernels, y []float32, w *tensor.Matrix, x []float32) {
	matVecColsQuantVNNI(k, y, w, x, 1)
}

// matVecColsQuantVNNI is matVecQuantVNNI for n activation columns (Y = X·Wᵀ, n×m): each
// group of four weight rows runs against every column in turn, so it is read from memory
// once and from L1 for the other columns. Below quantColsMax columns this beats the tiled
// MatMul, which computes whole tiles of 32 columns and first unpacks every weight block.
func matVecColsQuantVNNI(k *Kernels, y []float32, w *tensor.Matrix, x []float32, n int) {
	four, one, corr := quantVNNIKernels(w.DType)
	nb := w.Cols / tensor.QK
	if nb == 0 {
		clear(y)
		return
	}
	k.act.quantize(x, n, w.Cols, corr, k.impl)
	m, stride := w.Rows, w.RowBytes()
	tab := &f16Table()[0]
	chunk, chunks := rowChunks(m, k.cfg.Threads, len(w.Data)*n)
	cols := k.act.rows(n, w.Cols)
	k.pool.run(chunks, func(c, _ int) {
		i, hi := c*chunk, min((c+1)*chunk, m)
		var out [4]float32
		for ; i+4 <= hi; i += 4 {
			wi := &w.Data[i*stride]
			for j := range cols {
				a := &cols[j]
				four(wi, stride, &a.q[0], &a.d[0], &a.corr[0], tab, nb, &out[0])
				*(*[4]float32)(y[j*m+i:]) = out
			}
		}
		for ; i < hi; i++ {
			for j := range cols {
				y[j*m+i] = one(w.Row(i), cols[j])
			}
		}
	})
}
