package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// QuantizeQ8_0 quantizes src into Q8_0 blocks in dst exactly as ggml's reference
// quantize_row_q8_0 does: per block, d = max|x|/127, q = round(x/d) (half away from zero),
// d stored as fp16. len(src) must be a multiple of QK and len(dst) must be len(src)/QK*34.
func QuantizeQ8_0(dst []byte, src []float32) error {
	if err := checkBlocks("quantize q8_0", Q8_0, len(dst), len(src)); err != nil {
		return err
	}
	for b := 0; b < len(src)/QK; b++ {
		x := (*[QK]float32)(src[b*QK:])
		blk := (*[Q8_0BlockBytes]byte)(dst[b*Q8_0BlockBytes:])
		var amax float32
		for j, v := range x {
			if !finite(v) {
				return nonFinite("quantize q8_0", b*QK+j, v)
			}
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk[:2], F32ToF16(d))
		for j, v := range x {
			blk[2+j] = byte(int8(roundAway(v * id)))
		}
	}
	return nil
}

// DequantizeQ8_0 expands Q8_0 blocks: dst[i] = d*q[i]. len(src) must be len(dst)/QK*34.
func DequantizeQ8_0(dst []float32, src []byte) error {
	if err := checkBlocks("dequantize q8_0", Q8_0, len(src), len(dst)); err != nil {
		return err
	}
	for b := 0; b < len(dst)/QK; b++ {
		blk := (*[Q8_0BlockBytes]byte)(src[b*Q8_0BlockBytes:])
		y := (*[QK]float32)(dst[b*QK:])
		d := F16ToF32(binary.LittleEndian.Uint16(blk[:2]))
		for j := range y {
			y[j] = d * float32(int8(blk[2+j]))
		}
	}
	return nil
}

// QuantizeQ4_0 quantizes src into Q4_0 blocks exactly as ggml's reference quantize_row_q4_0
// does: per block, m is the element of largest magnitude (its sign kept), d = m/-8, and
// q = min(15, trunc(x/d + 8.5)), so m itself maps to 0 and the grid is -8..7 times d.
// len(src) must be a multiple of QK and len(dst) must be len(src)/QK*18.
func QuantizeQ4_0(dst []byte, src []float32) error {
	if err := checkBlocks("quantize q4_0", Q4_0, len(dst), len(src)); err != nil {
		return err
	}
	for b := 0; b < len(src)/QK; b++ {
		x := (*[QK]float32)(src[b*QK:])
		blk := (*[Q4_0BlockBytes]byte)(dst[b*Q4_0BlockBytes:])
		var amax, m float32
		for j, v := range x {
			if !finite(v) {
				return nonFinite("quantize q4_0", b*QK+j, v)
			}
			if a := abs32(v); amax < a {
				amax, m = a, v
			}
		}
		d := m / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk[:2], F32ToF16(d))
		for j := range QK / 2 {
			lo := min(15, int8(x[j]*id+8.5))
			hi := min(15, int8(x[j+QK/2]*id+8.5))
			blk[2+j] = byte(lo) | byte(hi)<<4
		}
	}
	return nil
}

// DequantizeQ4_0 expands Q4_0 blocks: dst[j] = (lo(byte j)-8)*d and
// dst[j+16] = (hi(byte j)-8)*d. len(src) must be len(dst)/QK*18.
func DequantizeQ4_0(dst []float32, src []byte) error {
	if err := checkBlocks("dequantize q4_0", Q4_0, len(src), len(dst)); err != nil {
		return err
	}
	for b := 0; b < len(dst)/QK; b++ {
		blk := (*[Q4_0BlockBytes]byte)(src[b*Q4_0BlockBytes:])
		y := (*[QK]float32)(dst[b*QK:])
		d := F16ToF32(binary.LittleEndian.Uint16(blk[:2]))
		for j := range QK / 2 {
			q := blk[2+j]
			y[j] = float32(int(q&0x0f)-8) * d
			y[j+QK/2] = float32(int(q>>4)-8) * d
		}
	}
	return nil
}

// Encode converts n = len(src) fp32 values into dt's storage in dst, which must hold exactly
// RowBytes(n) bytes. F32 is copied, F16 and BF16 rounded to nearest even, Q8_0 and Q4_0
// quantized as ggml does.
func Encode(dt DType, dst []byte, src []float32) error {
	switch dt {
	case F32:
		if len(dst) != 4*len(src) {
			return sizeErr("encode f32", len(dst), 4*len(src))
		}
		copy(AsF32(dst), src)
		return nil
	case F16:
		if len(dst) != 2*len(src) {
			return sizeErr("encode f16", len(dst), 2*len(src))
		}
		return EncodeF16(AsU16(dst), src)
	case BF16:
		if len(dst) != 2*len(src) {
			return sizeErr("encode bf16", len(dst), 2*len(src))
		}
		return EncodeBF16(AsU16(dst), src)
	case Q8_0:
		return QuantizeQ8_0(dst, src)
	case Q4_0:
		return QuantizeQ4_0(dst, src)
	}
	return fmt.Errorf("encode: %w: %v", ErrDType, dt)
}

// Decode converts dt's storage in src back to fp32 in dst (len(dst) elements).
func Decode(dt DType, dst []float32, src []byte) error {
	switch dt {
	case F32:
		if len(src) != 4*len(dst) {
			return sizeErr("decode f32", len(src), 4*len(dst))
		}
		copy(dst, AsF32(src))
		return nil
	case F16:
		if len(src) != 2*len(dst) {
			return sizeErr("decode f16", len(src), 2*len(dst))
		}
		return DecodeF16(dst, AsU16(src))
	case BF16:
		if len(src) != 2*len(dst) {
			return sizeErr("decode bf16", len(src), 2*len(dst))
		}
		return DecodeBF16(dst, AsU16(src))
	case Q8_0:
		return DequantizeQ8_0(dst, src)
	case Q4_0:
		return DequantizeQ4_0(dst, src)
	}
	return fmt.Errorf("decode: %w: %v", ErrDType, dt)
}

// checkBlocks validates a block-format buffer of nb bytes against n elements.
func checkBlocks(op string, dt DType, nb, n int) error {
	if n%QK != 0 {
		return fmt.Errorf("%s: %w: length %d is not a multiple of %d", op, ErrBlockAlign, n, QK)
	}
	if want := n / QK * dt.BlockBytes(); nb != want {
		return fmt.Errorf("%s: %w: %d bytes for %d elements, want %d", op, ErrSize, nb, n, want)
	}
	return nil
}

func sizeErr(op string, got, want int) error {
	return fmt.Errorf("%s: %w: %d, want %d", op, ErrSize, got, want)
}

func nonFinite(op string, i int, v float32) error {
	return fmt.Errorf("%s: %w: element %d is %v", op, ErrNonFinite, i, v)
}

func finite(v float32) bool { return math.Float32bits(v)&0x7f800000 != 0x7f800000 }

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ 0x80000000) }

// roundAway rounds half away from zero, as C's roundf.
func roundAway(v float32) float32 { return float32(math.Round(float64(v))) }
