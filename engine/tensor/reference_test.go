package tensor_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// This file holds the references the tests compare the package against. They are written
// independently of the package, with float64 arithmetic (math.Ldexp, math.Frexp,
// math.RoundToEven) instead of bit tricks, so a shared mistake is unlikely.

// refF16Value decodes fp16 bits: subnormal m×2^-24, normal (1024+m)×2^(e-25).
func refF16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, int(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return math.Inf(int(sign))
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(float64(m), -24)
	}
	return sign * math.Ldexp(float64(1024+m), e-25)
}

// refF16Bits rounds x to the nearest fp16 value, ties to even, overflowing to ±Inf. It
// reports false for NaN, whose payload the reference does not define.
func refF16Bits(x float32) (uint16, bool) {
	v := float64(x)
	if math.IsNaN(v) {
		return 0, false
	}
	var sign uint16
	if math.Signbit(v) {
		sign = 0x8000
	}
	a := math.Abs(v)
	if math.IsInf(a, 1) {
		return sign | 0x7c00, true
	}
	if a < 0x1p-14 {
		// Subnormal: a whole number of 2^-24 units; 1024 units is the smallest normal, whose
		// bit pattern 0x0400 is exactly that count.
		return sign | uint16(math.RoundToEven(a*0x1p24)), true
	}
	_, exp := math.Frexp(a) // a = frac × 2^exp, frac in [0.5, 1)
	e := exp - 1            // a in [2^e, 2^(e+1))
	q := int(math.RoundToEven(math.Ldexp(a, 10-e)))
	bits := (e+15)<<10 + (q - 1024) // q == 2048 carries into the exponent, as it should
	if bits >= 0x7c00 {
		return sign | 0x7c00, true
	}
	return sign | uint16(bits), true
}

// refBF16Value decodes bfloat16 bits: subnormal m×2^-133, normal (128+m)×2^(e-134).
func refBF16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>7)&0xff, int(h&0x7f)
	switch {
	case e == 0xff && m == 0:
		return math.Inf(int(sign))
	case e == 0xff:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(float64(m), -133)
	}
	return sign * math.Ldexp(float64(128+m), e-134)
}

// refBF16Bits rounds x to the nearest bfloat16 value, ties to even, overflowing to ±Inf. It
// reports false for NaN.
func refBF16Bits(x float32) (uint16, bool) {
	v := float64(x)
	if math.IsNaN(v) {
		return 0, false
	}
	var sign uint16
	if math.Signbit(v) {
		sign = 0x8000
	}
	a := math.Abs(v)
	if math.IsInf(a, 1) {
		return sign | 0x7f80, true
	}
	if a < 0x1p-126 {
		return sign | uint16(math.RoundToEven(a*0x1p133)), true
	}
	_, exp := math.Frexp(a)
	e := exp - 1
	q := int(math.RoundToEven(math.Ldexp(a, 7-e)))
	bits := (e+127)<<7 + (q - 128)
	if bits >= 0x7f80 {
		return sign | 0x7f80, true
	}
	return sign | uint16(bits), true
}

// isF16QuietNaN reports whether h is an fp16 NaN (exponent all ones, mantissa nonzero) with
// the quiet bit 0x0200 set.
func isF16QuietNaN(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 && h&0x200 != 0 }

// isBF16QuietNaN reports whether h is a bfloat16 NaN with the quiet bit 0x0040 set.
func isBF16QuietNaN(h uint16) bool { return h&0x7f80 == 0x7f80 && h&0x7f != 0 && h&0x40 != 0 }

// maxReports caps the failures an exhaustive loop reports before giving up.
const maxReports = 20

// reporter counts failures in a long loop and stops the test after maxReports of them.
type reporter struct {
	tb testing.TB
	n  int
}

func (r *reporter) errorf(format string, args ...any) {
	r.tb.Helper()
	r.tb.Errorf(format, args...)
	if r.n++; r.n >= maxReports {
		r.tb.Fatalf("stopping after %d failures", r.n)
	}
}

// checkQ8Block checks one dequantized Q8_0 block y against its input x and stored bytes blk.
// It returns false, checking nothing, when the stored scale is Inf or NaN (amax/127 beyond
// the fp16 range), where no bound can hold.
//
// The bound. Let d = fl(amax/127) be the fp32 scale the quantizer uses, id = fl(1/d),
// q = round(fl(x·id)) the stored integer, dh the fp16 scale as stored, and y = fl(dh·q).
//
//		|x - y| <= |x - q·d| + |q|·|d - dh| + |fl(dh·q) - dh·q|
//
//	  - |x/d| <= 128, and fl(x·id) = (x/d)(1+e) with |e| <= 2u+u² (u = 2^-24), so
//	    |fl(x·id) - x/d| < 128·2.0001u < 2^-15; rounding adds at most 1/2:
//	    |x - q·d| <= d·(1/2 + 2^-15).
//	  - |q| <= 127, so the scale's fp16 rounding adds at most 127·|d - dh| (≈ 127·d·2^-11 in
//	    the normal fp16 range, 127·2^-25 in the subnormal one).
//	  - dh has 11 significant bits and q 8, so dh·q is exact in fp32: the last term is 0.
//
// Hence |x - y| <= d·(1/2 + 2^-15) + 127·|d - dh|. When dh is 0 (d below 2^-25, which
// includes every d whose reciprocal overflows) the whole block decodes to zeros.
func checkQ8Block(tb testing.TB, x []float32, blk []byte, y []float32) bool {
	tb.Helper()
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := amax / 127
	dh := tensor.F16ToF32(binary.LittleEndian.Uint16(blk))
	if math.IsInf(float64(dh), 0) || math.IsNaN(float64(dh)) {
		return false
	}
	for j, b := range blk[2:] {
		if int8(b) == -128 {
			tb.Errorf("q8_0: q[%d] = -128; the quantizer's range is -127..127 (x = %v, d = %v)", j, x[j], d)
		}
	}
	if dh == 0 {
		for j, v := range y {
			if v != 0 {
				tb.Errorf("q8_0: scale %v underflows fp16 to 0 but y[%d] = %v", d, j, v)
			}
		}
		return true
	}
	bound := float64(d)*(0.5+0x1p-15) + 127*math.Abs(float64(d)-float64(dh))
	for j := range x {
		if e := math.Abs(float64(x[j]) - float64(y[j])); !(e <= bound) {
			tb.Errorf("q8_0: |x - y| = |%v - %v| = %g > bound %g (d = %v, dh = %v)", x[j], y[j], e, bound, d, dh)
		}
	}
	return true
}

// checkQ4Block checks one dequantized Q4_0 block, as checkQ8Block does for Q8_0.
//
// The bound. Let m be the first element of largest magnitude, d = m/-8 (exact in fp32 unless
// it underflows), id = fl(1/d), t = fl(fl(x·id) + 8.5), q = min(15, trunc(t)), dh the fp16
// scale as stored and y = fl((q-8)·dh).
//
//   - x/d lies in [-8, 8]; fl(x·id) is within 8·2.0001u of x/d and the addition rounds by at
//     most 16.5u, so t = x/d + 8.5 + e with |e| < 2^-19. t > 0, so trunc is floor.
//   - Unclamped (floor(t) <= 15): q-8 = floor(x/d + 1/2 + e), |x/d - (q-8)| <= 1/2 + 2^-19.
//   - Clamped (floor(t) = 16): x/d >= 7.5 - 2^-19 and q-8 = 7, so |x/d - 7| <= 1. This is
//     the element -m (or near it): ggml's grid is -8..7, asymmetric.
//   - |q-8| <= 8 adds 8·|d - dh| for the fp16 rounding of the scale; (q-8)·dh is exact.
//
// Hence |x - y| <= |d|·(1/2 + 2^-19) + 8·|d - dh| when x/d < 7.49, and |d| + 8·|d - dh|
// otherwise.
func checkQ4Block(tb testing.TB, x []float32, blk []byte, y []float32) bool {
	tb.Helper()
	var amax, m float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); amax < a {
			amax, m = a, v
		}
	}
	d := m / -8
	dh := tensor.F16ToF32(binary.LittleEndian.Uint16(blk))
	if math.IsInf(float64(dh), 0) || math.IsNaN(float64(dh)) {
		return false
	}
	if dh == 0 {
		for j, v := range y {
			if v != 0 {
				tb.Errorf("q4_0: scale %v underflows fp16 to 0 but y[%d] = %v", d, j, v)
			}
		}
		return true
	}
	ad := math.Abs(float64(d))
	scaleErr := 8 * math.Abs(float64(d)-float64(dh))
	for j := range x {
		bound := ad + scaleErr
		if float64(x[j])/float64(d) < 7.49 {
			bound = ad*(0.5+0x1p-19) + scaleErr
		}
		if e := math.Abs(float64(x[j]) - float64(y[j])); !(e <= bound) {
			tb.Errorf("q4_0: |x - y| = |%v - %v| = %g > bound %g (d = %v, dh = %v)", x[j], y[j], e, bound, d, dh)
		}
	}
	return true
}

// gaussian returns n seeded N(0, sigma²) values.
func gaussian(rng *rand.Rand, n int, sigma float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * sigma)
	}
	return x
}

// newRand returns a seeded generator.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// block returns a 32-element block that is fill everywhere except at the indices in set.
func block(fill float32, set map[int]float32) []float32 {
	x := make([]float32, tensor.QK)
	for i := range x {
		x[i] = fill
	}
	for i, v := range set {
		x[i] = v
	}
	return x
}

// le16 returns the two little-endian bytes of h.
func le16(h uint16) []byte { return []byte{byte(h), byte(h >> 8)} }

// concat joins byte slices.
func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
