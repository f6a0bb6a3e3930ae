//go:build goexperiment.simd && amd64

package kernels

import (
	"unsafe"

	"github.com/infertune/infertune/engine/tensor"
)

// Q4_0 superblock rows: the layout MatVec's four-row kernel (matVec4Q4Rows) reads from a
// prepacked Q4_0 matrix (Kernels.Prepack, Kernels.PrepackMatVec). It holds the same bytes
// as the ggml rows, 18 per 32 weights, rearranged eight blocks at a time so that one
// VPDPBUSD lane belongs to one block:
//
//	superblock s of a row (144 bytes, blocks 8s to 8s+7):
//	  bytes 0-15:  the eight blocks' fp16 scales, block 8s+i at 2i
//	  bytes 16-143: four groups n = 0..3 of 32 bytes; byte 4i+j of group n is byte 4n+j of
//	                block 8s+i's nibbles (low nibble: weight 4n+j; high: weight 16+4n+j)
//
// The nb mod 8 blocks after the last superblock stay as they are, in ggml's layout, and
// run on matVec4Q4VNNI. Rows of fewer than eight blocks are not packed.
const (
	q4RowBlocks = 8                       // blocks in a superblock
	q4RowBytes  = q4RowBlocks * 18        // bytes of a superblock
	q4ActBytes  = q4RowBlocks * tensor.QK // activation bytes of a superblock
)

// packQ4Rows rearranges the rows of the Q4_0 matrix w (of at least one superblock) into
// dst (len(w.Data) bytes), rows lo to hi.
func packQ4Rows(dst []byte, w *tensor.Matrix, lo, hi int) {
	rb := w.RowBytes()
	nsb := w.Cols / tensor.QK / q4RowBlocks
	for r := lo; r < hi; r++ {
		src, out := w.Row(r), dst[r*rb:(r+1)*rb]
		for s := range nsb {
			sb := out[s*q4RowBytes : (s+1)*q4RowBytes]
			for i := range q4RowBlocks {
				blk := src[(s*q4RowBlocks+i)*18 : (s*q4RowBlocks+i+1)*18]
				sb[2*i], sb[2*i+1] = blk[0], blk[1]
				for n := range 4 {
					*(*[4]byte)(sb[16+32*n+4*i:]) = *(*[4]byte)(blk[2+4*n:])
				}
			}
		}
		copy(out[nsb*q4RowBytes:], src[nsb*q4RowBytes:])
	}
}

// q4RowActs lays out the quantized activations x for matVec4Q4Rows, nsb superblocks of
// them: xs (256 bytes a superblock) holds, for each group n of the weights' superblock,
// the activations of its low nibbles and then of its high ones, lane i (bytes 4i to 4i+3)
// from block i; corr holds -8 times each block's sum of activations (Q4_0 decodes q as
// q-8, and the kernel multiplies the nibbles as they are).
func q4RowActs(xs []byte, corr []int32, x q8Row, nsb int) {
	q := unsafe.Slice((*byte)(unsafe.Pointer(&x.q[0])), len(x.q))
	for s := range nsb {
		out := xs[s*q4ActBytes : (s+1)*q4ActBytes]
		for i := range q4RowBlocks {
			b := s*q4RowBlocks + i
			blk := q[b*tensor.QK : (b+1)*tensor.QK]
			var sum int32
			for _, v := range x.q[b*tensor.QK : (b+1)*tensor.QK] {
				sum += int32(v)
			}
			corr[b] = -8 * sum
			for n := range 4 {
				*(*[4]byte)(out[64*n+4*i:]) = *(*[4]byte)(blk[4*n:])
				*(*[4]byte)(out[64*n+32+4*i:]) = *(*[4]byte)(blk[16+4*n:])
			}
		}
	}
}

// matVecColsQ4Rows is matVecColsQuantVNNI for a Q4_0 matrix w prepacked in superblock rows
// (rows) against the quantized activation columns cols: four rows at a time, their
// superblocks on matVec4Q4Rows and the blocks after them on matVec4Q4VNNI; the rows left
// over one at a time, on w's own rows.
func matVecColsQ4Rows(k *Kernels, y []float32, w *tensor.Matrix, rows []byte, cols []q8Row) {
	nb := w.Cols / tensor.QK
	nsb := nb / q4RowBlocks
	tail := nb - nsb*q4RowBlocks
	rb, m := w.RowBytes(), w.Rows
	xs := growAligned(&k.packed.quants, len(cols)*nsb*q4ActBytes)
	corr := grow(&k.packed.corr, len(cols)*nsb*q4RowBlocks)
	for j, c := range cols {
		q4RowActs(xs[j*nsb*q4ActBytes:], corr[j*nsb*q4RowBlocks:], c, nsb)
	}
	tab := &f16Table()[0]
	k.quarters(w, len(cols), func(_ unsafe.Pointer, stride, next int, rs [4]int, out *[4]float32) {
		p := rs[0] * rb
		for j := range cols {
			a := &cols[j]
			matVec4Q4Rows(&rows[p], stride, &xs[j*nsb*q4ActBytes], &a.d[0], &corr[j*nsb*q4RowBlocks], nsb, &out[0])
			var t [4]float32
			if tail > 0 {
				b := nsb * q4RowBlocks
				matVec4Q4VNNI(&rows[p+nsb*q4RowBytes], stride, next, &a.q[b*tensor.QK], &a.d[b], &a.corr[8*b], tab, tail, &t[0])
			}
			for l, r := range rs {
				y[j*m+r] = out[l] + t[l]
			}
		}
	}, func(r int) {
		for j := range cols {
			y[j*m+r] = dotQ4VNNIGo(w.Row(r), cols[j])
		}
	})
}
