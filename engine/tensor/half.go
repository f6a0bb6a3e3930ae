package tensor

import "math"

// F32ToF16 converts f to IEEE binary16 with round-to-nearest-even. Values beyond the fp16
// range become ±Inf, values below half the smallest subnormal become ±0, Inf stays Inf and NaN
// becomes a quiet NaN of the same sign.
func F32ToF16(f float32) uint16 {
	const (
		f32Inf      = 0xff << 23
		f16Overflow = (127 + 16) << 23 // 2^16: every finite value at or above rounds to Inf
		minNormal   = 113 << 23        // 2^-14, the smallest normal fp16
		denormMagic = 126 << 23        // 0.5: aligns the subnormal mantissa at the bottom
	)
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	u &^= 0x80000000
	var o uint16
	switch {
	case u >= f16Overflow:
		if u > f32Inf {
			o = 0x7e00 | uint16(u>>13)&0x1ff // quiet NaN, top payload bits kept
		} else {
			o = 0x7c00
		}
	case u < minNormal:
		// Adding 0.5 makes the FPU shift the mantissa into place with its own RNE rounding.
		v := math.Float32frombits(u) + math.Float32frombits(denormMagic)
		o = uint16(math.Float32bits(v) - denormMagic)
	default:
		odd := (u >> 13) & 1
		u += 0xfff + odd - 112<<23 // rebias the exponent from 127 to 15 and round
		o = uint16(u >> 13)
	}
	return sign | o
}

// F16ToF32 converts an IEEE binary16 value to float32 exactly (every fp16 value, subnormals,
// Inf and NaN included, is representable in fp32).
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		v := float32(mant) * (1.0 / (1 << 24)) // subnormal: mant × 2^-24, exact
		return math.Float32frombits(sign | math.Float32bits(v))
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// F32ToBF16 converts f to bfloat16 with round-to-nearest-even. Overflow rounds to ±Inf as
// in fp32; NaN becomes a quiet NaN of the same sign.
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// BF16ToF32 converts a bfloat16 value to float32 exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// EncodeF16 writes fp16(src[i]) to dst[i]. It fails with ErrSize unless the lengths agree.
func EncodeF16(dst []uint16, src []float32) error {
	if len(dst) != len(src) {
		return sizeErr("encode f16", len(dst), len(src))
	}
	for i, v := range src {
		dst[i] = F32ToF16(v)
	}
	return nil
}

// DecodeF16 writes float32(src[i]) to dst[i]. It fails with ErrSize unless the lengths agree.
func DecodeF16(dst []float32, src []uint16) error {
	if len(dst) != len(src) {
		return sizeErr("decode f16", len(dst), len(src))
	}
	for i, h := range src {
		dst[i] = F16ToF32(h)
	}
	return nil
}

// EncodeBF16 writes bf16(src[i]) to dst[i]. It fails with ErrSize unless the lengths agree.
func EncodeBF16(dst []uint16, src []float32) error {
	if len(dst) != len(src) {
		return sizeErr("encode bf16", len(dst), len(src))
	}
	for i, v := range src {
		dst[i] = F32ToBF16(v)
	}
	return nil
}

// DecodeBF16 writes float32(src[i]) to dst[i]. It fails with ErrSize unless the lengths agree.
func DecodeBF16(dst []float32, src []uint16) error {
	if len(dst) != len(src) {
		return sizeErr("decode bf16", len(dst), len(src))
	}
	for i, h := range src {
		dst[i] = BF16ToF32(h)
	}
	return nil
}
