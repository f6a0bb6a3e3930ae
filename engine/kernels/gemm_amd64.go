//go:build goexperiment.simd && amd64

package kernels

import (
	"encoding/binary"
	"simd/archsimd"
	"unsafe"

	"github.com/infertune/infertune/engine/tensor"
)

// MatMul on the simd tier: Y = X·Wᵀ cut into tiles of weight rows × 16 or 32 tokens.
//
// Blocking: the activations are packed once per call into panels of 32 tokens (k-major, so
// one 64-byte load is one k-step of 16 tokens). Workers claim blocks of weight rows; for its
// block a worker prepares the weight panel once (fp32 rows are used in place; fp16 and bf16
// rows are widened to fp32; Q8_0 and Q4_0 rows are unpacked to int8 with their scales and
// corrections) and then runs the micro-kernel against every token panel, so the weight
// block is read from memory once and from L1/L2 afterwards, and a token panel (k·128 bytes)
// stays in L2 across all blocks. The micro-kernel writes a small tile that is scattered into
// Y; rows past m are zero padding and never stored.

const (
	qgemmRows = 6  // weight rows per int8 tile
	gemmCols  = 32 // tokens per int8 tile
)

// floatTile is an fp32 micro-kernel and its tile: rows weight rows × cols tokens.
type floatTile struct {
	rows, cols int
	kernel     func(w *float32, lda int, xp *float32, k int, c *float32)
	isa        ISA
}

var (
	tileAVX512 = floatTile{rows: 12, cols: 32, kernel: sgemm12x32, isa: ISAAVX512}
	tileAVX2   = floatTile{rows: 6, cols: 16, kernel: sgemm6x16AVX2, isa: ISAAVX2}
)

// packF32Panels packs x (n rows of k) into panels of cols tokens: panel p holds
// xp[p*k*cols + kk*cols + j] = x[(cols·p+j)*k + kk], zero past n.
func packF32Panels(xp []float32, x []float32, n, k, cols int) {
	panels := (n + cols - 1) / cols
	for p := range panels {
		dst := xp[p*k*cols : (p+1)*k*cols]
		for j := range cols {
			t := p*cols + j
			if t >= n {
				for kk := range k {
					dst[kk*cols+j] = 0
				}
				continue
			}
			row := x[t*k : (t+1)*k]
			for kk, v := range row {
				dst[kk*cols+j] = v
			}
		}
	}
}

// scatterTile stores the rows×cols tile c into y (n×m) at weight row i0 and token t0,
// skipping padding. It transposes (the tile is by weight row, y by token). With wide
// (AVX-512), whole groups of 16 tokens by 6 rows go through scatter6x16; the rest, and
// everything without wide, one token at a time, whose loop runs without bounds checks:
// both ends are checked once up front. Storing the tile was half the time of a Q8_0
// MatMul of 85 columns by s15m's 288-wide classifier, one scalar value at a time.
func scatterTile(y []float32, m, n, i0, t0, rows, cols int, c []float32, wide bool) {
	rows, tokens := min(rows, m-i0), min(cols, n-t0)
	if rows <= 0 || tokens <= 0 {
		return
	}
	_ = y[(t0+tokens-1)*m+i0+rows-1]
	_ = c[(rows-1)*cols+tokens-1]
	j := 0
	if wide && rows%6 == 0 {
		// scatter6x16 stores 16 floats (6 kept) at each token's first row: they must lie
		// inside y.
		for ; j+16 <= tokens && (t0+j+15)*m+i0+rows-6+16 <= len(y); j += 16 {
			for r := 0; r < rows; r += 6 {
				scatter6x16(&y[(t0+j)*m+i0+r], 4*m, &c[r*cols+j], 4*cols)
			}
		}
	}
	stride := 4 * uintptr(cols)
	for ; j < tokens; j++ {
		out := unsafe.Pointer(&y[(t0+j)*m+i0])
		in := unsafe.Pointer(&c[j])
		for i := range uintptr(rows) {
			*(*float32)(unsafe.Add(out, 4*i)) = *(*float32)(unsafe.Add(in, i*stride))
		}
	}
}

// Index vectors of scatter6x16's permutes, in gemm_amd64.s (VPERMI2PS: index 0-15 picks
// from the first vector, 16-31 from the second).
var (
	// scatterPair[h]: tokens 8h..8h+7 of rows a and b, interleaved: a0 b0 a1 b1 ...
	scatterPair [2][16]uint32
	// scatterQuad[h]: from pairs (rows 0,1) and (rows 2,3) of 8 tokens, tokens 4h..4h+3
	// with their four rows each.
	scatterQuad [2][16]uint32
	// scatterToken[t][h]: token t (0-3) of a quad (lanes 4t..4t+3), then its pair of rows
	// 4,5 from the 8-token pairs vector (token t+4h there), in lanes 0-5.
	scatterToken [4][2][16]uint32
)

func init() {
	for h := range 2 {
		for t := range 8 {
			scatterPair[h][2*t], scatterPair[h][2*t+1] = uint32(8*h+t), uint32(16+8*h+t)
		}
		for t := range 4 {
			u := 4*h + t
			scatterQuad[h][4*t], scatterQuad[h][4*t+1] = uint32(2*u), uint32(2*u+1)
			scatterQuad[h][4*t+2], scatterQuad[h][4*t+3] = uint32(16+2*u), uint32(16+2*u+1)
		}
	}
	for t := range 4 {
		for h := range 2 {
			v := &scatterToken[t][h]
			for l := range 4 {
				v[l] = uint32(4*t + l)
			}
			v[4], v[5] = uint32(16+2*(t+4*h)), uint32(16+2*(t+4*h)+1)
		}
	}
}

// matMulSIMD is the simd tier's MatMul. The float dtypes run on an fp32 micro-kernel:
// sgemm12x32 with AVX-512, sgemm6x16AVX2 without; under floatCols columns, on the four-row
// MatVec kernels against each column (matVecColsFloat). Q8_0 and Q4_0 run on qgemm6x32VNNI where
// VNNI exists; elsewhere as groups of four rows against every column on the AVX2 block
// kernels (matVecColsQuant; an int8 tile without VNNI has no multiply-accumulate that beats
// fp32 FMA: VPMADDUBSW saturates on offset operands and VPMADDWD needs an extra add per
// instruction). Those groups ran 1.7-3.5x the row dots they replaced, n=1 to 128 (Q8_0
// 1024×1024 n=128 one thread 11,284 → 6,584 µs, 768×288 n=16 573 → 180; Q4_0 1024×1024
// n=128 11,487 → 6,194).
func matMulSIMD(k *Kernels, y []float32, w *tensor.Matrix, x []float32, n int) {
	if w.Cols == 0 {
		clear(y)
		return
	}
	quant := w.DType.Quantized()
	switch {
	case onTiles(w.DType, k.cfg.ISA, n):
		k.outs = append(k.outs[:0], mmOut{y: y, w: w, x: x})
		runTiles(k, quant, n)
	case quant:
		matVecColsQuant(k, y, w, x, n)
	default:
		matVecColsFloat(k, y, w, x, n)
	}
}

// onTiles reports whether a MatMul of n columns of dt runs on the path's tiles: float
// dtypes from floatCols columns, Q8_0 and Q4_0 where VNNI exists (quantVNNI then gives the
// columns tileCols leaves over to row groups). Elsewhere it runs as row groups.
func onTiles(dt tensor.DType, isa ISA, n int) bool {
	if dt.Quantized() {
		return isa >= ISAAVX512VNNI
	}
	return n >= floatCols(dt, isa)
}

// runTiles runs the matrices of k.outs, all quantized or all float, n columns each, on the
// tiles (onTiles).
func runTiles(k *Kernels, quant bool, n int) {
	if quant {
		quantVNNI(k, k.outs, n)
		return
	}
	matMulFloat(k, k.outs, n, floatTileOf(k.cfg.ISA))
}

// floatTileOf returns the float micro-kernel of isa.
func floatTileOf(isa ISA) floatTile {
	if isa >= ISAAVX512 {
		return tileAVX512
	}
	return tileAVX2
}

// matMulFloat runs MatMul of the float weight matrices of outs (n rows of activations
// each) on the micro-kernel of t: every distinct x is packed once, up front, and the row
// blocks of every matrix, numbered one after another, are one parallel loop. A worker
// widens an fp16 or bf16 block (and fp32 rows short of a block) to fp32 in its panel; whole
// fp32 blocks are read in place.
func matMulFloat(k *Kernels, outs []mmOut, n int, t floatTile) {
	panels := (n + t.cols - 1) / t.cols
	blocks, bytes := numberBlocks(outs, t.rows)
	packs, widest := 0, 0
	for i := range outs {
		o := &outs[i]
		kk := o.w.Cols
		widest = max(widest, kk)
		if j := sameInput(outs[:i], o.x); j >= 0 {
			o.xf = outs[j].xf
			continue
		}
		o.xf = grow(&k.actPack(packs).panel, panels*kk*t.cols)
		packs++
		packF32Panels(o.xf, o.x, n, kk, t.cols)
	}
	chunk, chunks := rowChunks(blocks, k.cfg.Threads, bytes*max(1, n/4))
	k.pool.run(chunks, func(c, worker int) {
		ws := &k.scratch[worker]
		tile := grow(&ws.tile, t.rows*t.cols)
		o := 0
		for blk := c * chunk; blk < min((c+1)*chunk, blocks); blk++ {
			o = blockOut(outs, o, blk)
			out := &outs[o]
			w, m, kk := out.w, out.w.Rows, out.w.Cols
			i0 := (blk - out.first) * t.rows
			rows := min(t.rows, m-i0)
			var wp *float32
			lda := w.RowBytes()
			if w.DType == tensor.F32 && rows == t.rows {
				wp = (*float32)(unsafe.Pointer(&w.Data[i0*lda]))
			} else {
				panel := grow(&ws.panel, t.rows*widest)[:t.rows*kk]
				widenRows(panel, w, i0, rows, t.isa)
				clear(panel[rows*kk:])
				wp, lda = &panel[0], kk*4
			}
			for p := range panels {
				t.kernel(wp, lda, &out.xf[p*kk*t.cols], kk, &tile[0])
				scatterTile(out.y, m, n, i0, p*t.cols, rows, t.cols, tile, t.isa >= ISAAVX512)
			}
		}
	})
}

// widenRows writes rows [i0, i0+rows) of w as fp32 into dst (rows×w.Cols), with the
// vector width of isa.
func widenRows(dst []float32, w *tensor.Matrix, i0, rows int, isa ISA) {
	kk := w.Cols
	for i := range rows {
		out := dst[i*kk : (i+1)*kk]
		src := w.Row(i0 + i)
		switch w.DType {
		case tensor.F32:
			copy(out, tensor.AsF32(src))
		case tensor.F16:
			h := tensor.AsU16(src)
			n8 := kk &^ 7
			switch {
			case isa >= ISAAVX512 && kk >= 16:
				n8 = kk &^ 15
				cvtF16AVX512(&out[0], &h[0], n8)
			case n8 > 0:
				cvtF16AVX2(&out[0], &h[0], n8)
			}
			for j := n8; j < kk; j++ {
				out[j] = tensor.F16ToF32(h[j])
			}
		case tensor.BF16:
			h := tensor.AsU16(src)
			j := 0
			if isa >= ISAAVX512 {
				for ; j+16 <= kk; j += 16 {
					bf16x16((*[16]uint16)(h[j:])).Store((*[16]float32)(out[j:]))
				}
			}
			for ; j+8 <= kk; j += 8 {
				bf16x8((*[8]uint16)(h[j:])).Store((*[8]float32)(out[j:]))
			}
			archsimd.ClearAVXUpperBits()
			for ; j < kk; j++ {
				out[j] = tensor.BF16ToF32(h[j])
			}
		}
	}
}

// matMulsSIMD runs MatMuls' matrices through one tile loop (runTiles) where every one runs
// on the tiles (onTiles) and they are all float or all quantized; elsewhere (mixed kinds, an
// empty matrix, row groups) it reports false.
func matMulsSIMD(k *Kernels, ys [][]float32, ws []*tensor.Matrix, xs [][]float32, n int) bool {
	if len(ws) == 0 {
		return true
	}
	quant := ws[0].DType.Quantized()
	k.outs = k.outs[:0]
	for i, w := range ws {
		if w.DType.Quantized() != quant || w.Cols == 0 || w.Rows == 0 || !onTiles(w.DType, k.cfg.ISA, n) {
			return false
		}
		k.outs = append(k.outs, mmOut{y: ys[i], w: w, x: xs[i]})
	}
	runTiles(k, quant, n)
	return true
}

// floatCols returns the fewest columns a MatMul of the float dtype dt runs on the tiles of
// the path isa.
func floatCols(dt tensor.DType, isa ISA) int {
	switch {
	case isa < ISAAVX512 && dt == tensor.F32:
		return floatColsF32AVX2
	case isa < ISAAVX512:
		return floatColsHalfAVX2
	case dt == tensor.F32:
		return floatColsF32
	}
	return floatColsHalf
}

// quantVNNI runs the Q8_0 and Q4_0 matrices of outs (VNNI path, n columns each): the
// columns tileCols gives each on the tiles, all the matrices in one matMulQuantVNNI, and
// the rest as row groups (matVecColsQuant). Matrices that tileCols splits differently
// (prepacked and not, for a few column counts) run one at a time.
func quantVNNI(k *Kernels, outs []mmOut, n int) {
	full := -1
	for i := range outs {
		o := &outs[i]
		o.pk = nil
		if p := k.packs[o.w].of(o.w); p != nil && p.quant != nil {
			o.pk = p
		}
		if f := tileCols(n, o.pk != nil); full < 0 || f == full {
			full = f
			continue
		}
		for j := range outs {
			quantVNNI(k, outs[j:j+1], n)
		}
		return
	}
	for i := range outs {
		o := &outs[i]
		m, kk := o.w.Rows, o.w.Cols
		if full < n {
			matVecColsQuant(k, o.y[full*m:], o.w, o.x[full*kk:], n-full)
		}
		o.y, o.x = o.y[:full*m], o.x[:full*kk]
	}
	if full > 0 {
		matMulQuantVNNI(k, outs, full)
	}
}

// tileCols returns how many of n columns a Q8_0 or Q4_0 matrix (prepacked or not) runs on
// the tiles; the rest run as row groups. Under quantColsMax columns (quantColsPacked for
// a prepacked matrix) row groups beat the tiles. A last tile of a few columns costs a
// whole tile, so those columns run as row groups too (a decode iteration of 32 sequences
// and a prefill chunk asks s15m's classifier for 33).
func tileCols(n int, packed bool) int {
	few := quantColsMax
	if packed {
		few = quantColsPacked
	}
	if rest := n % gemmCols; n < few {
		return 0
	} else if rest > 0 && rest < few && n > gemmCols {
		return n - rest
	}
	return n
}

// matMulQuantVNNI runs Q8_0 and Q4_0 MatMul on qgemm6x32VNNI for the matrices of outs,
// n rows of activations each: every distinct x is quantized and packed once, up front,
// and the row blocks of every matrix, numbered one after another, are one parallel loop.
// A weight panel comes from its matrix's prepacked form, or is unpacked per call.
func matMulQuantVNNI(k *Kernels, outs []mmOut, n int) {
	panels := (n + gemmCols - 1) / gemmCols
	blocks, bytes := numberBlocks(outs, qgemmRows)
	packs, unpacked := 0, 0 // unpacked: the largest weight panel unpacked per call
	for i := range outs {
		o := &outs[i]
		nb := o.w.Cols / tensor.QK
		if o.pk == nil {
			unpacked = max(unpacked, nb*qgemmRows)
		}
		if j := sameInput(outs[:i], o.x); j >= 0 {
			o.xp, o.xd = outs[j].xp, outs[j].xd
			continue
		}
		ws := k.actPack(packs)
		packs++
		k.act.quantize(o.x, n, o.w.Cols, corrMul{}, k.impl)
		// Activation panels: bytes [p][b][g][j][4] = q+128, scales [p][b][j].
		o.xp = growAligned(&ws.quants, panels*nb*tensor.QK*gemmCols)
		o.xd = grow(&ws.scales, panels*nb*gemmCols)
		packQ8Panels(o.xp, o.xd, &k.act, n, o.w.Cols)
	}
	chunk, chunks := rowChunks(blocks, k.cfg.Threads, bytes*max(1, n/4))
	k.pool.run(chunks, func(c, worker int) {
		ws := &k.scratch[worker]
		var wq []byte
		var wd []float32
		var wc []int32
		var uq []byte // the worker's buffers for weight panels unpacked per call
		var ud []float32
		var uc []int32
		if unpacked > 0 {
			uq = growAligned(&ws.quants, unpacked*tensor.QK)
			ud, uc = grow(&ws.scales, unpacked), grow(&ws.corr, unpacked)
		}
		tile := grow(&ws.tile, qgemmRows*gemmCols)
		o := 0
		for blk := c * chunk; blk < min((c+1)*chunk, blocks); blk++ {
			o = blockOut(outs, o, blk)
			out := &outs[o]
			m, lb := out.w.Rows, blk-out.first
			nb := out.w.Cols / tensor.QK
			per := nb * qgemmRows // a weight panel's blocks
			i0 := lb * qgemmRows
			rows := min(qgemmRows, m-i0)
			if out.pk != nil {
				wq, wd, wc = out.pk.quant[lb*per*tensor.QK:], out.pk.scale[lb*per:], out.pk.corr[lb*per:]
			} else {
				wq, wd, wc = uq, ud, uc
				packWeightPanel(wq[:per*tensor.QK], wd[:per], wc[:per], out.w, i0, rows)
			}
			for p := range panels {
				qgemm6x32VNNI((*int8)(unsafe.Pointer(&wq[0])), &wd[0], &wc[0],
					&out.xp[p*nb*tensor.QK*gemmCols], &out.xd[p*nb*gemmCols], nb, &tile[0])
				scatterTile(out.y, m, n, i0, p*gemmCols, rows, gemmCols, tile, true)
			}
		}
	})
}

// numberBlocks numbers the blocks of rowsPer weight rows of the matrices of outs one after
// another (each one's first) for a tile loop over all of them, and returns how many there
// are and the matrices' bytes.
func numberBlocks(outs []mmOut, rowsPer int) (blocks, bytes int) {
	for i := range outs {
		outs[i].first = blocks
		blocks += (outs[i].w.Rows + rowsPer - 1) / rowsPer
		bytes += len(outs[i].w.Data)
	}
	return blocks, bytes
}

// blockOut returns the index of the matrix of outs that holds block blk, looking on from
// index o (a worker's chunk visits its blocks in order).
func blockOut(outs []mmOut, o, blk int) int {
	for o+1 < len(outs) && blk >= outs[o+1].first {
		o++
	}
	return o
}

// actPack returns the i-th workspace for a MatMul's packed activations, made on first use
// (i at most one past the last).
func (k *Kernels) actPack(i int) *workspace {
	if len(k.actPacks) == i {
		k.actPacks = append(k.actPacks, workspace{})
	}
	return &k.actPacks[i]
}

// sameInput returns the index of the first of outs whose activations are x (the same
// elements, not only equal values), or -1.
func sameInput(outs []mmOut, x []float32) int {
	for j, o := range outs {
		if len(o.x) == len(x) && &o.x[0] == &x[0] {
			return j
		}
	}
	return -1
}

// prepackQuantVNNI adds to p the layouts of kinds that a Q8_0 or Q4_0 matrix w lacks (see
// Kernels.Prepack): every weight panel unpacked with packWeightPanel, one after another, for
// matMulQuantVNNI (packTiles); its superblock rows (packRows).
func prepackQuantVNNI(k *Kernels, w *tensor.Matrix, p *weightPack, kinds packKind) {
	if (w.DType != tensor.Q8_0 && w.DType != tensor.Q4_0) || w.Rows == 0 || w.Cols == 0 {
		return
	}
	nb := w.Cols / tensor.QK
	if kinds&packRows != 0 && p.rows == nil && nb >= rowMinBlocks {
		p.rows = tensor.AlignedBytes(len(w.Data))
		chunk, chunks := rowChunks(w.Rows, k.cfg.Threads, len(w.Data))
		k.pool.run(chunks, func(c, _ int) {
			packSuperblocks(p.rows, w, c*chunk, min((c+1)*chunk, w.Rows))
		})
	}
	if kinds&packTiles == 0 || p.quant != nil {
		return
	}
	blocks := (w.Rows + qgemmRows - 1) / qgemmRows
	per := nb * qgemmRows
	p.quant = tensor.AlignedBytes(blocks * per * tensor.QK)
	p.scale = make([]float32, blocks*per)
	p.corr = make([]int32, blocks*per)
	chunk, chunks := rowChunks(blocks, k.cfg.Threads, len(w.Data))
	k.pool.run(chunks, func(c, _ int) {
		for blk := c * chunk; blk < min((c+1)*chunk, blocks); blk++ {
			i0 := blk * qgemmRows
			packWeightPanel(p.quant[blk*per*tensor.QK:(blk+1)*per*tensor.QK], p.scale[blk*per:(blk+1)*per],
				p.corr[blk*per:(blk+1)*per], w, i0, min(qgemmRows, w.Rows-i0))
		}
	})
}

// packQ8Panels lays the quantized activations out for qgemm6x32VNNI: for panel p, block b,
// 4-byte group g and token j, the bytes q[j][32b+4g : 32b+4g+4] XOR 0x80 (that is, +128 as
// unsigned), and the scales xd[p][b][j]. Tokens past n are zero activations: bytes 0x80
// and scale 0.
func packQ8Panels(xp []byte, xd []float32, a *q8Act, n, k int) {
	nb := k / tensor.QK
	panels := (n + gemmCols - 1) / gemmCols
	for p := range panels {
		for j := range gemmCols {
			t := p*gemmCols + j
			for b := range nb {
				base := ((p*nb+b)*8*gemmCols + j) * 4
				if t >= n {
					for g := range 8 {
						binary.LittleEndian.PutUint32(xp[base+g*gemmCols*4:], 0x80808080)
					}
					xd[(p*nb+b)*gemmCols+j] = 0
					continue
				}
				q := a.q[t*k+b*tensor.QK:]
				for g := range 8 {
					v := uint32(uint8(q[4*g])) | uint32(uint8(q[4*g+1]))<<8 | uint32(uint8(q[4*g+2]))<<16 | uint32(uint8(q[4*g+3]))<<24
					binary.LittleEndian.PutUint32(xp[base+g*gemmCols*4:], v^0x80808080)
				}
				xd[(p*nb+b)*gemmCols+j] = a.d[t*nb+b]
			}
		}
	}
}

// packWeightPanel unpacks rows [i0, i0+rows) of a Q8_0 or Q4_0 matrix for
// qgemm6x32VNNI: wq[b][i][0:32] the int8 values (Q4_0: q-8), wd[b][i] the fp32 scale and
// wc[b][i] = -128·Σ wq[b][i][:], the correction for the +128 on the activations. Rows past
// the matrix are zeros.
func packWeightPanel(wq []byte, wd []float32, wc []int32, w *tensor.Matrix, i0, rows int) {
	nb := w.Cols / tensor.QK
	// The scales move as their bits: a float32 load between the vector instructions would
	// be a legacy SSE one, a switch out of the vector state and back (see the package doc).
	tab := (*[1 << 16]uint32)(unsafe.Pointer(f16Table()))
	wdBits := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(wd))), len(wd))
	ones8 := archsimd.BroadcastUint8x32(1)
	ones16 := archsimd.BroadcastInt16x16(1)
	nib := newQ4Nibbles()
	eight := archsimd.BroadcastInt8x32(8)
	for i := range qgemmRows {
		if i >= rows {
			for b := range nb {
				clear(wq[(b*qgemmRows+i)*tensor.QK : (b*qgemmRows+i+1)*tensor.QK])
				wd[b*qgemmRows+i], wc[b*qgemmRows+i] = 0, 0
			}
			continue
		}
		row := w.Row(i0 + i)
		bb := w.DType.BlockBytes()
		for b := range nb {
			blk := row[b*bb : (b+1)*bb]
			dst := (*[tensor.QK]int8)(unsafe.Pointer(&wq[(b*qgemmRows+i)*tensor.QK]))
			var v archsimd.Int8x32
			if w.DType == tensor.Q8_0 {
				v = archsimd.LoadInt8x32((*[tensor.QK]int8)(unsafe.Pointer(&blk[2])))
			} else {
				v = nib.block(unsafe.Pointer(&blk[2])).AsInt8x32().Sub(eight)
			}
			v.Store(dst)
			var lanes [8]int32
			ones8.DotProductPairsSaturated(v).DotProductPairs(ones16).Store(&lanes)
			wdBits[b*qgemmRows+i] = tab[uint16(blk[0])|uint16(blk[1])<<8]
			wc[b*qgemmRows+i] = -128 * (lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7])
		}
	}
	archsimd.ClearAVXUpperBits()
}
