//go:build goexperiment.simd && amd64

package kernels

import (
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/infertune/infertune/engine/tensor"
)

// Superblock rows: the layout MatVec's four-row kernels matVec4Q8Rows and matVec4Q4Rows
// read from a prepacked Q8_0 or Q4_0 matrix (Kernels.Prepack, Kernels.PrepackMatVec). It
// holds the same bytes as the ggml rows (34 or 18 per 32 weights), rearranged eight blocks
// at a time so that one VPDPBUSD lane belongs to one block:
//
//	superblock s of a row (blocks 8s to 8s+7; 272 bytes for Q8_0, 144 for Q4_0):
//	  bytes 0-15: the eight blocks' fp16 scales, block 8s+i at 2i
//	  then groups of 32 bytes, byte 4i+j of each from block 8s+i:
//	    Q8_0, eight groups g = 0..7: the block's value 16·(g mod 2) + 4·(g/2) + j
//	    Q4_0, four groups n = 0..3: the block's nibble byte 4n+j (low nibble: weight
//	      4n+j, high: 16+4n+j)
//
// So in both, the g-th 32 weights the kernel takes (a Q4_0 group's low nibbles, then its
// high ones) are weights 16·(g mod 2) + 4·(g/2) + j of each block, and one activation
// layout (rowActs) serves both. The nb mod 8 blocks after the last superblock stay in
// ggml's layout and run on the block kernels (matVec4Q8VNNI, matVec4Q4VNNI). Rows of fewer
// than rowMinBlocks blocks are not packed.
const (
	rowBlocks   = 8                     // blocks in a superblock
	rowActBytes = rowBlocks * tensor.QK // activation bytes of a superblock
	rowScales   = 2 * rowBlocks         // scale bytes at a superblock's start
)

// rowKernel is one block dtype's superblock kernels and the bytes of its superblock: four
// reads its rows from memory, with prefetches into L2; nta is the form for the nta setting
// (PREFETCHNTA where that pays, else cached); cached is four without prefetches, for rows
// already in the cache.
type rowKernel struct {
	four, nta, cached rowFour
	sbBytes           int
}

// rowFour is the signature of the superblock kernels (dot_amd64.s).
type rowFour func(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)

// rowKernelOf returns dt's superblock kernels, for Q8_0 and Q4_0; with pairs, Q4_0's
// Pairs forms (two rows to a 512-bit register) stand in for its Cached one and, with
// PREFETCHNTA, for its nta one (Q4NTAPREFETCH in dot_amd64.s has the measurements).
func rowKernelOf(dt tensor.DType, pairs bool) rowKernel {
	if dt == tensor.Q8_0 {
		return rowKernel{matVec4Q8Rows, matVec4Q8RowsCached, matVec4Q8RowsCached, rowScales + rowBlocks*tensor.QK}
	}
	if pairs {
		return rowKernel{matVec4Q4Rows, matVec4Q4RowsPairsNTA, matVec4Q4RowsPairs, rowScales + rowBlocks*tensor.QK/2}
	}
	return rowKernel{matVec4Q4Rows, matVec4Q4RowsCached, matVec4Q4RowsCached, rowScales + rowBlocks*tensor.QK/2}
}

// fourFor returns the superblock kernel for column j of a row group: the first reads the
// rows from memory, the others find them in the cache (as blockKernels.fourFor).
func (rk rowKernel) fourFor(j int) rowFour {
	if j > 0 {
		return rk.cached
	}
	return rk.four
}

// packSuperblocks rearranges the rows lo to hi of w (Q8_0 or Q4_0, at least one superblock
// a row) into superblock rows in dst (len(w.Data) bytes).
func packSuperblocks(dst []byte, w *tensor.Matrix, lo, hi int) {
	rb := w.RowBytes()
	bb := w.DType.BlockBytes()
	sb := rowKernelOf(w.DType, false).sbBytes
	nsb := w.Cols / tensor.QK / rowBlocks
	for r := lo; r < hi; r++ {
		src, out := w.Row(r), dst[r*rb:(r+1)*rb]
		for s := range nsb {
			o := out[s*sb : (s+1)*sb]
			for i := range rowBlocks {
				blk := src[(s*rowBlocks+i)*bb : (s*rowBlocks+i+1)*bb]
				o[2*i], o[2*i+1] = blk[0], blk[1]
				for g := range (bb - 2) / 4 {
					from := 2 + 4*g // Q4_0: nibble bytes in order
					if w.DType == tensor.Q8_0 {
						from = 2 + 16*(g%2) + 4*(g/2)
					}
					*(*[4]byte)(o[rowScales+32*g+4*i:]) = *(*[4]byte)(blk[from:])
				}
			}
		}
		copy(out[nsb*sb:], src[nsb*sb:])
	}
}

// rowActs lays out the quantized activations x for the superblock kernels, nsb superblocks
// of them: xs (256 bytes a superblock) holds the kernel's eight groups of 32, lane i (bytes
// 4i to 4i+3) of group g from block i's values 16·(g mod 2) + 4·(g/2) to that + 3; corr holds
// each block's correction, mul[0] times its sum of activations (the kernels take every weight
// offset too large: Q8_0's made unsigned by +128, Q4_0's nibbles 0..15 for -8..7). The sums
// come from x's lane corrections, made with mul by the block kernels' quantize: lanes 0-3
// already carry mul[0], lanes 4-7 mul[1] (16 times it for Q4_0, see q4CorrVNNI).
func rowActs(xs []byte, corr []int32, x q8Row, nsb int, mul corrMul) {
	// Lanes 4-7 carry mul[1] = 2^shift·mul[0] (Q8_0: shift 0, Q4_0: 4) and are multiples
	// of mul[1], so shifting their sum right divides it exactly: an integer division per
	// block was most of this function's time.
	shift := bits.TrailingZeros32(uint32(mul[1] / mul[0]))
	if mul[0]<<shift != mul[1] {
		panic(fmt.Sprintf("kernels: row activations: multipliers %v are not a power of two apart", mul))
	}
	if nsb == 0 {
		return
	}
	_ = xs[nsb*rowActBytes-1]
	_ = corr[nsb*rowBlocks-1]
	_ = x.q[nsb*rowActBytes-1]
	_ = x.corr[8*nsb*rowBlocks-1]
	for b := range nsb * rowBlocks {
		l := (*[8]int32)(x.corr[8*b:])
		corr[b] = l[0] + l[1] + l[2] + l[3] + (l[4]+l[5]+l[6]+l[7])>>shift
		// The block's eight 4-byte lanes d go to group g = 2·(d mod 4) + d/4 of its
		// superblock, lane b mod 8: the inverse of the order described above.
		in := (*[8]uint32)(unsafe.Pointer(&x.q[b*tensor.QK]))
		out := (*[rowActBytes / 4]uint32)(unsafe.Pointer(&xs[b/rowBlocks*rowActBytes]))
		i := b % rowBlocks
		out[i], out[8+i], out[16+i], out[24+i] = in[0], in[4], in[1], in[5]
		out[32+i], out[40+i], out[48+i], out[56+i] = in[2], in[6], in[3], in[7]
	}
}

// matVecColsRows is matVecColsQuant for a Q8_0 or Q4_0 matrix w prepacked in superblock
// rows (rows) against the quantized activation columns cols: four rows at a time, their
// superblocks on the superblock kernel and the blocks after them on the block kernels of
// bk; the rows left over one at a time (bk.one), on w's own rows. cols were quantized with
// bk.corr's multiplier.
func matVecColsRows(k *Kernels, y []float32, w *tensor.Matrix, rows []byte, cols []q8Row, bk blockKernels) {
	rk := rowKernelOf(w.DType, k.impl.rowPairs)
	rk.four = firstKernel(k.cfg.Prefetch, rk.four, rk.nta, rk.cached)
	nb := w.Cols / tensor.QK
	nsb := nb / rowBlocks
	tail := nb - nsb*rowBlocks
	m := w.Rows
	xs := growAligned(&k.packed.quants, len(cols)*nsb*rowActBytes)
	corr := grow(&k.packed.corr, len(cols)*nsb*rowBlocks)
	for j, c := range cols {
		rowActs(xs[j*nsb*rowActBytes:], corr[j*nsb*rowBlocks:], c, nsb, bk.corr)
	}
	tab := &f16Table()[0]
	k.quarters(w, len(cols), func(s quarterSpan, out *[4]float32) {
		stride := s.stride()
		for i := s.lo; i < s.hi; i++ {
			p := i * s.rb
			for j := range cols {
				a := &cols[j]
				var t [4]float32 // the tail's sums, copied out of out (a pointer to t would escape)
				if tail > 0 {
					b := nsb * rowBlocks
					bk.fourFor(j)(&rows[p+nsb*rk.sbBytes], stride, s.rb, &a.q[b*tensor.QK], &a.d[b], a.corrPtr(b), tab, tail, &out[0])
					t = *out
				}
				rk.fourFor(j)(&rows[p], stride, &xs[j*nsb*rowActBytes], &a.d[0], &corr[j*nsb*rowBlocks], nsb, &out[0])
				if tail > 0 {
					for l := range out {
						out[l] += t[l]
					}
				}
				s.store(y[j*m:(j+1)*m], i, out)
			}
		}
	}, func(r int) {
		for j := range cols {
			y[j*m+r] = bk.one(w.Row(r), cols[j])
		}
	})
}
