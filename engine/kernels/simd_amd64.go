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
		corrQ4:  q4CorrAVX2,
		quant:   quantizeBlocks,
		lanes:   corrLanesAVX2,
		matVec:  matVecSIMD,
		matMul:  matMulSIMD,
		siluMul: siluMulAVX2,
		softmax: softmaxAVX2,
		mulCols: mulColsAVX2,
		argmax:  ArgmaxScan,

		addScaled: addScaledAVX2,

		dotHeads:       dotHeadsAVX2,
		addScaledHeads: addScaledHeadsAVX2,

		dotHeadsF16:       dotHeadsF16Go,
		addScaledHeadsF16: addScaledHeadsF16Go,
		toF16:             toF16AVX2Go,
		fromF16:           fromF16AVX2Go,
	}
	if isa >= ISAAVX512 {
		im.siluMul, im.softmax, im.mulCols = siluMulAVX512, softmaxAVX512, mulColsAVX512
		im.argmax = argmaxAVX512
		im.addScaled = addScaledAVX512
		im.dotHeads, im.addScaledHeads = dotHeadsAVX512, addScaledHeadsAVX512
		im.quant = quantBlocksAVX512
		im.dotF32 = dotF32AVX512
		im.dotBF16 = dotBF16AVX512
		im.wideFloats = wideFloatsOn(isa)
	}
	if isa >= ISAAVX512VNNI {
		im.rowPairs = fullWidth512()
		im.prepack = prepackQuantVNNI
		im.matMuls = matMulsSIMD
		im.dotQ8, im.corrQ8 = dotQ8VNNIGo, q8CorrVNNI
		im.dotQ4, im.corrQ4 = dotQ4VNNIGo, q4CorrVNNI
	}
	return im
}

// matVecSIMD runs MatVec four rows at a time: matVec4F32, matVec4F16 and matVec4BF16 for
// the float dtypes (matVecColsFloat), the block kernels of the path for Q8_0 and Q4_0
// (matVecColsQuant), on every path.
func matVecSIMD(k *Kernels, y []float32, w *tensor.Matrix, x []float32) {
	switch w.DType {
	case tensor.Q8_0, tensor.Q4_0:
		matVecColsQuant(k, y, w, x, 1)
		return
	}
	matVecColsFloat(k, y, w, x, 1)
}

// matVecColsFloat is MatVec of an fp32, fp16 or bf16 matrix for n activation columns
// (Y = X·Wᵀ, n×m): each group of four weight rows runs on the four-row kernel against every
// column in turn, so it is read from memory once and from L1 or L2 for the other columns
// (on the Cached kernels, which skip the prefetches). Rows left over go one at a time; a
// row's last elements after the kernel's steps (k mod 16, or k mod 32 for the Z kernels)
// are added by the row dot. Below floatCols columns this beats the tiled MatMul, which
// computes whole tiles of 16 or 32 columns.
func matVecColsFloat(k *Kernels, y []float32, w *tensor.Matrix, x []float32, n int) {
	im := k.impl
	m, kk := w.Rows, w.Cols
	fk := floatKernelsOf(w.DType, im.wideFloats)
	ks := kk / fk.step * fk.step
	if ks == 0 {
		// Rows shorter than the four-row kernels' step.
		for j := range n {
			rowsMatVec(k, y[j*m:(j+1)*m], w, x[j*kk:(j+1)*kk])
		}
		return
	}
	// Column j's activations for the kernels start at xs[j*xstride] (reordered for bf16).
	xs, xstride := x, kk
	if fk.order != nil {
		xs, xstride = grow(&k.packed.panel, n*ks), ks
		for j := range n {
			fk.order(xs[j*ks:(j+1)*ks], x[j*kk:j*kk+ks])
		}
	}
	// dot returns row i's dot with column j over its elements from on (the last kk-ks
	// after the four-row kernel, all of them for a row left over).
	var dot func(i, j, from int) float32
	switch w.DType {
	case tensor.F32:
		dot = func(i, j, from int) float32 {
			return im.dotF32(tensor.AsF32(w.Row(i))[from:], x[j*kk+from:(j+1)*kk])
		}
	case tensor.F16, tensor.BF16:
		half := im.dotF16
		if w.DType == tensor.BF16 {
			half = im.dotBF16
		}
		dot = func(i, j, from int) float32 {
			return half(tensor.AsU16(w.Row(i))[from:], x[j*kk+from:(j+1)*kk])
		}
	}
	// The float kernels prefetch at fixed distances: they take no next.
	first, cached := firstKernel(k.cfg.Prefetch, fk.four, fk.nta, fk.cached), fk.cached
	k.quarters(w, n, func(s quarterSpan, out *[4]float32) {
		stride := s.stride()
		for i := s.lo; i < s.hi; i++ {
			p := unsafe.Pointer(&w.Data[i*s.rb])
			for j := range n {
				run := first
				if j > 0 {
					run = cached
				}
				run(p, stride, &xs[j*xstride], ks, &out[0])
				yj := y[j*m : (j+1)*m]
				s.store(yj, i, out)
				if ks < kk {
					for r := i; r < 4*s.q; r += s.q {
						yj[r] += dot(r, j, ks)
					}
				}
			}
		}
	}, func(r int) {
		for j := range n {
			y[j*m+r] = dot(r, j, 0)
		}
	})
}

// floatFour is the signature of the float four-row kernels (matvec_amd64.s,
// matvec512_amd64.s).
type floatFour func(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

// floatKernels are one float dtype's four-row kernels of one width: the form that
// prefetches into L2, the one with PREFETCHNTA and the Cached one; the elements of their
// step (k is a multiple of it); and the order they read the activations in (order copies
// them so), nil where they read x as it is.
type floatKernels struct {
	four, nta, cached floatFour
	step              int
	order             func(dst, x []float32) []float32
}

// floatKernelsOf returns dt's (F32, F16 or BF16) four-row kernels, 512-bit ones when wide
// (impl.wideFloats).
func floatKernelsOf(dt tensor.DType, wide bool) floatKernels {
	switch {
	case dt == tensor.F32 && wide:
		return floatKernels{matVec4F32Z, matVec4F32ZNTA, matVec4F32ZCached, 32, nil}
	case dt == tensor.F32:
		return floatKernels{matVec4F32, matVec4F32NTA, matVec4F32Cached, 16, nil}
	case dt == tensor.F16 && wide:
		return floatKernels{matVec4F16Z, matVec4F16ZNTA, matVec4F16ZCached, 32, nil}
	case dt == tensor.F16:
		return floatKernels{matVec4F16, matVec4F16NTA, matVec4F16Cached, 16, nil}
	case wide:
		return floatKernels{matVec4BF16Z, matVec4BF16ZNTA, matVec4BF16ZCached, 32, bf16OrderZ}
	}
	return floatKernels{matVec4BF16, matVec4BF16NTA, matVec4BF16Cached, 16, bf16Order}
}

// quarters runs a four-row MatVec kernel over w (n activation columns) with the pool: the
// first 4q rows (q = rows/4) as q groups, group i the rows i, i+q, i+2q, i+3q, in spans of
// groups, each as groups(s, out) on a worker, out the worker's space for the kernel's four
// sums; the rows 4q and on as row(r) on the calling goroutine. Spread so, each of the
// kernel's four row pointers walks its own quarter of the matrix front to back, a stream
// long enough for the hardware prefetcher. Groups of adjacent rows walk four streams as
// short as a row: decoding s15m in fp32 (288-wide rows) ran 310-340 tokens/s that way and
// 390-465 spread. A callback per span rather than per group: with the kernel called from
// a callback per group, a 4096×4096 fp16 MatVec from the last-level cache ran 0.91-0.95
// times as fast as the same kernel in a loop of its own at one thread, 0.90-0.96 at two
// (six runs); with one per span, 0.996 and 0.98-0.99 (two runs).
//
// The groups are cut into about quarterChunks chunks a thread, twice rowChunks' count:
// the last chunks of a call are what one thread may still run while the others wait, and
// a worker idle past spinTime parks and joins the next call late. Measured at two threads,
// a 4096×4096 MatVec cycling over 1 GiB (medians of nine alternations in one process, two
// runs), this with the pool's stealing from the back (job.claim) against 8 chunks a
// thread stolen from the front: fp16 1.02-1.06× as fast, fp32 1.12-1.14×, q8_0 1.02-1.12×,
// q4_0 1.05-1.12×; from the cache 0.97-1.01×. 16 against 8 chunks a thread: s15m decode at
// two threads no slower (three alternated runs), and the gap between the two threads'
// last chunks (a direct loop of the fp16 kernel, medians over a second of calls) 17-18 µs
// against 32-37.
func (k *Kernels) quarters(w *tensor.Matrix, n int, groups func(s quarterSpan, out *[4]float32), row func(r int)) {
	m, rb := w.Rows, w.RowBytes()
	q := m / 4
	if q > 0 {
		chunk, chunks := rowChunksOf(q, k.cfg.Threads, len(w.Data)*n, quarterChunks)
		k.pool.run(chunks, func(c, worker int) {
			out := (*[4]float32)(grow(&k.scratch[worker].tile, 4))
			groups(quarterSpan{lo: c * chunk, hi: min((c+1)*chunk, q), q: q, rb: rb}, out)
		})
	}
	for r := 4 * q; r < m; r++ {
		row(r)
	}
}

// quarterChunks is about how many chunks a thread a quarters run cuts its groups into.
const quarterChunks = 16

// quarterSpan is the groups lo to hi-1 of a quarters run over a matrix of rb-byte rows:
// group i is the rows i, i+q, i+2q and i+3q, its first row i·rb bytes in, its rows stride()
// bytes apart, and the next group's first row rb bytes after its own.
type quarterSpan struct {
	lo, hi, q, rb int
}

// stride returns the bytes between the rows of a group.
func (s quarterSpan) stride() int { return s.q * s.rb }

// store sets group i's four outputs in y (a column of at least 4q) to sums.
func (s quarterSpan) store(y []float32, i int, sums *[4]float32) {
	_ = y[i+3*s.q]
	y[i], y[i+s.q], y[i+2*s.q], y[i+3*s.q] = sums[0], sums[1], sums[2], sums[3]
}

// bf16Order copies x (a multiple of 16 long) to dst in the order matVec4BF16 reads its
// activations: in each 16, elements 0-3, 8-11, 4-7, 12-15 (see UNPCKLBF16 in matvec_amd64.s).
func bf16Order(dst, x []float32) []float32 {
	for g := 0; g+16 <= len(x); g += 16 {
		copy(dst[g:g+4], x[g:g+4])
		copy(dst[g+4:g+8], x[g+8:g+12])
		copy(dst[g+8:g+12], x[g+4:g+8])
		copy(dst[g+12:g+16], x[g+12:g+16])
	}
	return dst
}

// bf16OrderZ copies x (a multiple of 32 long) to dst in the order matVec4BF16Z reads its
// activations: in each 32, the even elements, then the odd ones (see EVENBF16Z in
// matvec512_amd64.s).
func bf16OrderZ(dst, x []float32) []float32 {
	for g := 0; g+32 <= len(x); g += 32 {
		even, odd := dst[g:g+16], dst[g+16:g+32]
		for i := range 16 {
			even[i], odd[i] = x[g+2*i], x[g+2*i+1]
		}
	}
	return dst
}

// blockKernels are one path's kernels of a Q8_0 or Q4_0 matrix in ggml's layout
// (blockKernelsOf): four rows at a time (four; cached is four without its prefetches, for
// rows already in the cache), one row, and the multiplier of the activation corrections.
type blockKernels struct {
	four, cached blockFour
	one          func(w []byte, x q8Row) float32
	corr         corrMul
}

// blockFour is the signature of the four-row block kernels (dot_amd64.s).
type blockFour func(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

// fourFor returns the four-row kernel for column j of a group: the first reads the rows
// from memory, with the prefetches; the others find them in the cache.
func (b blockKernels) fourFor(j int) blockFour {
	if j > 0 {
		return b.cached
	}
	return b.four
}

// firstKernel returns the kernel a row group's first column runs, the one that reads the
// rows from memory (the other columns find them in the cache and run the form without
// prefetches), for the prefetch setting p: l2, the form that prefetches into L2, for
// PrefetchL2; nta, the one with PREFETCHNTA, for PrefetchNTA (the int8 block and
// superblock kernels and the int4 block ones, which PREFETCHNTA gained nothing, pass none;
// the int4 superblock kernel's Pairs form has one); none otherwise.
func firstKernel[F any](p Prefetch, l2, nta, none F) F {
	switch p {
	case PrefetchL2:
		return l2
	case PrefetchNTA:
		return nta
	}
	return none
}

// blockKernelsOf returns the block kernels of dt, Q8_0 or Q4_0, on the path isa: VPDPBUSD
// with VNNI, VPMADDUBSW and VPMADDWD below it.
func blockKernelsOf(dt tensor.DType, isa ISA) blockKernels {
	switch {
	case isa >= ISAAVX512VNNI && dt == tensor.Q8_0:
		return blockKernels{matVec4Q8VNNI, matVec4Q8VNNICached, dotQ8VNNIGo, q8CorrVNNI}
	case isa >= ISAAVX512VNNI:
		return blockKernels{matVec4Q4VNNI, matVec4Q4VNNICached, dotQ4VNNIGo, q4CorrVNNI}
	case dt == tensor.Q8_0:
		return blockKernels{matVec4Q8AVX2, matVec4Q8AVX2Cached, dotQ8AVX2, corrMul{}}
	}
	return blockKernels{matVec4Q4AVX2, matVec4Q4AVX2Cached, dotQ4AVX2, q4CorrAVX2}
}

// The activation corrections of the block kernels (see dot_amd64.s). VNNI: Q8_0 weights
// made unsigned by +128; Q4_0 nibbles offset by 8, the high ones (values 16-31) kept 16
// times too large, so the corrections of lanes 4-7 are 16 times too. AVX2: Q8_0 none (the
// weights' signs move onto the activations); Q4_0 nibbles offset by 8.
var (
	q8CorrVNNI = corrMul{-128, -128}
	q4CorrVNNI = corrMul{-8, -16 * 8}
	q4CorrAVX2 = corrMul{-8, -8}
)

// matVecColsQuant is the Q8_0 and Q4_0 MatVec for n activation columns (Y = X·Wᵀ, n×m; n=1
// is MatVec): each group of four weight rows runs on the path's four-row block kernel
// against every column in turn, so it is read from memory once and from L1 for the other
// columns (on the kernels' cached forms, without prefetches); the rows left over run one
// at a time. A matrix prepacked in superblock rows (VNNI) runs on them (matVecColsRows).
// With VNNI, below quantColsMax columns (quantColsPacked for a matrix whose tiles are
// prepacked) this beats the tiled MatMul, which computes whole tiles of 32 columns and,
// unless the tiles are prepacked, first unpacks every weight block; below VNNI there are
// no int8 tiles and every MatMul runs here.
func matVecColsQuant(k *Kernels, y []float32, w *tensor.Matrix, x []float32, n int) {
	bk := blockKernelsOf(w.DType, k.cfg.ISA)
	bk.four = firstKernel(k.cfg.Prefetch, bk.four, bk.cached, bk.cached)
	nb := w.Cols / tensor.QK
	if nb == 0 {
		clear(y)
		return
	}
	k.act.quantize(x, n, w.Cols, bk.corr, k.impl)
	cols := k.act.rows(n, w.Cols)
	if p := k.packs[w].of(w); p != nil && p.rows != nil {
		matVecColsRows(k, y, w, p.rows, cols, bk)
		return
	}
	m := w.Rows
	tab := &f16Table()[0]
	k.quarters(w, n, func(s quarterSpan, out *[4]float32) {
		stride := s.stride()
		for i := s.lo; i < s.hi; i++ {
			p := &w.Data[i*s.rb]
			for j := range cols {
				a := &cols[j]
				bk.fourFor(j)(p, stride, s.rb, &a.q[0], &a.d[0], a.corrPtr(0), tab, nb, &out[0])
				s.store(y[j*m:(j+1)*m], i, out)
			}
		}
	}, func(r int) {
		for j := range cols {
			y[j*m+r] = bk.one(w.Row(r), cols[j])
		}
	})
}

// dotHeadsF16Go runs dotHeadsF16AVX2 for heads of a multiple of 8 values, others on the
// generic kernel.
func dotHeadsF16Go(out []float32, ldo int, k []uint16, ldk int, q []float32, nh, rows int) {
	if hd := len(q) / nh; hd%8 == 0 {
		dotHeadsF16AVX2(&out[0], ldo, &k[0], ldk, &q[0], nh, hd, rows)
		return
	}
	dotHeadsF16Generic(out, ldo, k, ldk, q, nh, rows)
}

// addScaledHeadsF16Go runs addScaledHeadsF16AVX2 for heads of a multiple of 8 values,
// others on the generic kernel.
func addScaledHeadsF16Go(y []float32, v []uint16, ldv int, a []float32, lda int, nh, rows int) {
	if hd := len(y) / nh; hd%8 == 0 {
		addScaledHeadsF16AVX2(&y[0], &v[0], ldv, &a[0], lda, nh, hd, rows)
		return
	}
	addScaledHeadsF16Generic(y, v, ldv, a, lda, nh, rows)
}

// toF16AVX2Go converts eight values at a time with VCVTPS2PH, the rest one by one.
func toF16AVX2Go(dst []uint16, src []float32) {
	n8 := len(src) &^ 7
	if n8 > 0 {
		cvtToF16AVX2(&dst[0], &src[0], n8)
	}
	toF16From(dst, src, n8)
}

// fromF16AVX2Go converts eight values at a time with VCVTPH2PS, the rest from the table.
func fromF16AVX2Go(dst []float32, src []uint16) {
	n8 := len(src) &^ 7
	if n8 > 0 {
		cvtF16AVX2(&dst[0], &src[0], n8)
	}
	fromF16From(dst, src, n8)
}

// corrPtr returns the address of block b's corrections, or nil where the row has none
// (its kernels do not read them).
func (r *q8Row) corrPtr(b int) *int32 {
	if len(r.corr) == 0 {
		return nil
	}
	return &r.corr[8*b]
}
