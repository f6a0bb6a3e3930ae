package tensor_test

import (
	"errors"
	"math"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

func f32(bits uint32) float32 { return math.Float32frombits(bits) }

// TestF32ToF16Vectors checks hand-computed fp16 bit patterns. fp16: 1 sign bit, 5 exponent
// bits (bias 15), 10 mantissa bits; subnormals are m×2^-24.
func TestF32ToF16Vectors(t *testing.T) {
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},             // e=15, m=0
		{"minus two", -2, 0xc000},      // sign, e=16, m=0
		{"one third", 1.0 / 3, 0x3555}, // 0.0101010101|01… → m=0x155 at e=13, rounded down
		{"tenth", 0.1, 0x2e66},         // 1.1001100110|011… ×2^-4 → m=0x266, rounded down
		{"max 65504", 65504, 0x7bff},   // (2-2^-10)×2^15
		{"minus max", -65504, 0xfbff},
		{"65519 rounds down to max", 65519, 0x7bff}, // below the midpoint 65520
		{"65520 rounds to +Inf", 65520, 0x7c00},     // midpoint of 65504 (odd m) and 2^16: to even = Inf
		{"-65520 rounds to -Inf", -65520, 0xfc00},
		{"1e5 overflows", 1e5, 0x7c00},
		{"-1e5 overflows", -1e5, 0xfc00},
		{"fp32 max overflows", math.MaxFloat32, 0x7c00},
		{"+Inf", float32(math.Inf(1)), 0x7c00},
		{"-Inf", float32(math.Inf(-1)), 0xfc00},
		{"smallest subnormal 2^-24", 0x1p-24, 0x0001},
		{"minus smallest subnormal", -0x1p-24, 0x8001},
		{"2^-25 ties to even zero", 0x1p-25, 0x0000}, // halfway between 0 and 2^-24
		{"-2^-25 ties to even negative zero", -0x1p-25, 0x8000},
		{"just above 2^-25 rounds up", f32(0x33000001), 0x0001},
		{"3×2^-25 ties to even 0x0002", 3 * 0x1p-25, 0x0002}, // 1.5 units: 1 is odd, 2 even
		{"5×2^-25 ties to even 0x0002", 5 * 0x1p-25, 0x0002}, // 2.5 units: 2 even, 3 odd
		{"largest subnormal", 1023 * 0x1p-24, 0x03ff},        // (1-2^-10)×2^-14
		{"subnormal-normal tie goes to 0x0400", 1023.5 * 0x1p-24, 0x0400},
		{"smallest normal 2^-14", 0x1p-14, 0x0400},
		{"fp32 smallest subnormal flushes", f32(1), 0x0000},
		{"1+2^-11 ties down to even 0x3c00", 1 + 0x1p-11, 0x3c00},     // between 0x3c00 (even) and 0x3c01
		{"1+3×2^-11 ties up to even 0x3c02", 1 + 3*0x1p-11, 0x3c02},   // between 0x3c01 (odd) and 0x3c02
		{"just above 1+2^-11 rounds up", f32(0x3f801001), 0x3c01},     // 0x3f801000 is the tie
		{"just below 1+3×2^-11 rounds down", f32(0x3f802fff), 0x3c01}, // 0x3f803000 is the tie
		{"2049 ties down to 2048", 2049, 0x6800},                      // spacing 2: 2048 even
		{"2051 ties up to 2052", 2051, 0x6802},                        // 2050 = 0x6801 is odd
		{"-2051 ties up in magnitude", -2051, 0xe802},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tensor.F32ToF16(tc.in); got != tc.want {
				t.Errorf("F32ToF16(%v [%#08x]) = %#04x, want %#04x", tc.in, math.Float32bits(tc.in), got, tc.want)
			}
		})
	}
}

// TestF32ToF16NaN checks that every NaN becomes a quiet fp16 NaN with its sign.
func TestF32ToF16NaN(t *testing.T) {
	tests := []struct {
		name string
		bits uint32
	}{
		{"quiet NaN", 0x7fc00000},
		{"negative quiet NaN", 0xffc00000},
		{"signalling NaN, payload in the low bits only", 0x7f800001},
		{"negative signalling NaN", 0xff800001},
		{"signalling NaN with a high payload", 0x7fa00000},
		{"all mantissa bits", 0x7fffffff},
		{"payload below the fp16 mantissa", 0x7f801fff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tensor.F32ToF16(f32(tc.bits))
			if !isF16QuietNaN(got) {
				t.Errorf("F32ToF16(%#08x) = %#04x, want a quiet NaN (0x7c00 set, mantissa with 0x0200)", tc.bits, got)
			}
			if neg := tc.bits&0x80000000 != 0; (got&0x8000 != 0) != neg {
				t.Errorf("F32ToF16(%#08x) = %#04x: sign not kept", tc.bits, got)
			}
		})
	}
	// Random NaNs of both signs.
	rng := newRand(1)
	r := reporter{tb: t}
	for range 1 << 16 {
		bits := 0x7f800000 | uint32(rng.IntN(0x7fffff)+1) | uint32(rng.IntN(2))<<31
		got := tensor.F32ToF16(f32(bits))
		if !isF16QuietNaN(got) || (got&0x8000 != 0) != (bits&0x80000000 != 0) {
			r.errorf("F32ToF16(%#08x) = %#04x, want a quiet NaN of the same sign", bits, got)
		}
	}
}

// TestF16ToF32Vectors checks hand-computed decodings, compared bit for bit.
func TestF16ToF32Vectors(t *testing.T) {
	tests := []struct {
		name string
		in   uint16
		want float32
	}{
		{"zero", 0x0000, 0},
		{"negative zero", 0x8000, float32(math.Copysign(0, -1))},
		{"one", 0x3c00, 1},
		{"minus two", 0xc000, -2},
		{"one third", 0x3555, 0.333251953125},
		{"max", 0x7bff, 65504},
		{"minus max", 0xfbff, -65504},
		{"smallest subnormal", 0x0001, 0x1p-24},
		{"negative smallest subnormal", 0x8001, -0x1p-24},
		{"largest subnormal", 0x03ff, 1023 * 0x1p-24},
		{"smallest normal", 0x0400, 0x1p-14},
		{"+Inf", 0x7c00, float32(math.Inf(1))},
		{"-Inf", 0xfc00, float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tensor.F16ToF32(tc.in)
			if math.Float32bits(got) != math.Float32bits(tc.want) {
				t.Errorf("F16ToF32(%#04x) = %v [%#08x], want %v [%#08x]", tc.in, got, math.Float32bits(got), tc.want, math.Float32bits(tc.want))
			}
		})
	}
	for _, h := range []uint16{0x7c01, 0x7e00, 0xfe00, 0x7fff, 0xfc01} {
		got := tensor.F16ToF32(h)
		if !math.IsNaN(float64(got)) || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Errorf("F16ToF32(%#04x) = %v [%#08x], want NaN of the same sign", h, got, math.Float32bits(got))
		}
	}
}

// TestF16RoundTripAll checks F32ToF16(F16ToF32(h)) == h for all 65536 patterns, that the
// decoded value matches the reference, and that NaNs stay (quiet) NaNs.
func TestF16RoundTripAll(t *testing.T) {
	r := reporter{tb: t}
	for i := range 1 << 16 {
		h := uint16(i)
		f := tensor.F16ToF32(h)
		back := tensor.F32ToF16(f)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			// The decoder keeps the payload (mant<<13) and the encoder keeps the top 9
			// payload bits and sets the quiet bit: NaN h comes back as h|0x0200.
			if want := uint32(h&0x8000)<<16 | 0x7f800000 | uint32(h&0x3ff)<<13; math.Float32bits(f) != want {
				r.errorf("F16ToF32(NaN %#04x) = %#08x, want %#08x (payload kept)", h, math.Float32bits(f), want)
			}
			if !isF16QuietNaN(back) || back != h|0x0200 {
				r.errorf("NaN %#04x → %#08x → %#04x, want the quiet NaN %#04x", h, math.Float32bits(f), back, h|0x0200)
			}
			continue
		}
		if want := refF16Value(h); float64(f) != want || math.Signbit(float64(f)) != math.Signbit(want) {
			r.errorf("F16ToF32(%#04x) = %v, reference %v", h, f, want)
		}
		if back != h {
			r.errorf("%#04x → %v → %#04x", h, f, back)
		}
	}
}

// TestF32ToF16TiesToEven checks, for every pair of adjacent finite fp16 values (and the top
// one with 2^16, where rounding overflows to Inf), the lower value, the exact midpoint and the
// fp32 values just below and just above it, for both signs. The expected patterns come from
// the rule itself (ties go to the even mantissa), not from the package.
func TestF32ToF16TiesToEven(t *testing.T) {
	r := reporter{tb: t}
	for h := uint16(0); h <= 0x7bff; h++ {
		lo, hi := refF16Value(h), refF16Value(h+1)
		if h == 0x7bff {
			hi = 0x1p16 // where 0x7c00 would be if the exponent went on
		}
		mid := (lo + hi) / 2
		m := float32(mid)
		if float64(m) != mid {
			t.Fatalf("midpoint of %#04x and %#04x is not an fp32 value", h, h+1)
		}
		even := h
		if h&1 != 0 {
			even = h + 1
		}
		cases := []struct {
			x    float32
			want uint16
		}{
			{float32(lo), h},
			{m, even},
			{math.Nextafter32(m, 0), h},
			{math.Nextafter32(m, float32(math.Inf(1))), h + 1},
		}
		for _, c := range cases {
			for _, sign := range []float32{1, -1} {
				x, want := sign*c.x, c.want
				if sign < 0 {
					want |= 0x8000
				}
				if got := tensor.F32ToF16(x); got != want {
					r.errorf("F32ToF16(%v [%#08x]) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
				}
				if ref, _ := refF16Bits(x); ref != want {
					r.errorf("reference disagrees with the tie rule at %v: %#04x, want %#04x", x, ref, want)
				}
			}
		}
	}
}

// TestF32ToF16Reference compares F32ToF16 with the float64 reference over a stride through
// all fp32 bit patterns and over seeded random ones.
func TestF32ToF16Reference(t *testing.T) {
	r := reporter{tb: t}
	check := func(bits uint32) {
		x := f32(bits)
		want, ok := refF16Bits(x)
		if !ok {
			return // NaN: TestF32ToF16NaN
		}
		if got := tensor.F32ToF16(x); got != want {
			r.errorf("F32ToF16(%v [%#08x]) = %#04x, reference %#04x", x, bits, got, want)
		}
	}
	for u := uint64(0); u < 1<<32; u += 4093 {
		check(uint32(u))
	}
	rng := newRand(2)
	for range 1 << 18 {
		check(rng.Uint32())
	}
	// Dense around the fp16 range, where the interesting rounding happens.
	for range 1 << 18 {
		check(0x33000000 + uint32(rng.IntN(0x47800000-0x33000000)) | uint32(rng.IntN(2))<<31)
	}
}

// TestF32ToBF16Vectors checks hand-computed bfloat16 patterns (the top 16 bits of fp32,
// rounded to nearest even).
func TestF32ToBF16Vectors(t *testing.T) {
	tests := []struct {
		name string
		bits uint32 // fp32 input
		want uint16
	}{
		{"zero", 0x00000000, 0x0000},
		{"negative zero", 0x80000000, 0x8000},
		{"one", 0x3f800000, 0x3f80},
		{"minus two", 0xc0000000, 0xc000},
		{"three", 0x40400000, 0x4040},
		{"pi rounds down", 0x40490fdb, 0x4049},  // low half 0x0fdb < 0x8000
		{"tenth rounds up", 0x3dcccccd, 0x3dcd}, // low half 0xcccd > 0x8000
		{"1+2^-8 ties down to even", 0x3f808000, 0x3f80},
		{"1+3×2^-8 ties up to even", 0x3f818000, 0x3f82},
		{"just above the tie rounds up", 0x3f808001, 0x3f81},
		{"just below the tie rounds down", 0x3f817fff, 0x3f81},
		{"negative tie to even", 0xbf818000, 0xbf82},
		{"largest finite bf16", 0x7f7f0000, 0x7f7f},
		{"just below the top midpoint", 0x7f7f7fff, 0x7f7f},
		{"top midpoint ties to Inf", 0x7f7f8000, 0x7f80}, // 0x7f7f is odd
		{"fp32 max overflows", 0x7f7fffff, 0x7f80},
		{"-fp32 max overflows", 0xff7fffff, 0xff80},
		{"+Inf", 0x7f800000, 0x7f80},
		{"-Inf", 0xff800000, 0xff80},
		{"smallest fp32 subnormal flushes", 0x00000001, 0x0000},
		{"subnormal tie down to even zero", 0x00008000, 0x0000},
		{"subnormal just above the tie", 0x00008001, 0x0001},
		{"subnormal tie up to even", 0x00018000, 0x0002},
		{"largest fp32 subnormal rounds to smallest normal", 0x007fffff, 0x0080},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tensor.F32ToBF16(f32(tc.bits)); got != tc.want {
				t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", tc.bits, got, tc.want)
			}
		})
	}
}

// TestF32ToBF16NaN checks that every NaN becomes a quiet bf16 NaN with its sign; a payload
// only in the low 16 bits must not truncate to Inf.
func TestF32ToBF16NaN(t *testing.T) {
	tests := []struct {
		name string
		bits uint32
		want uint16
	}{
		{"quiet NaN", 0x7fc00000, 0x7fc0},
		{"negative quiet NaN", 0xffc00000, 0xffc0},
		{"signalling NaN, payload in the low half", 0x7f800001, 0x7fc0},
		{"negative signalling NaN, low payload", 0xff80ffff, 0xffc0},
		{"signalling NaN with a high payload", 0x7fa00000, 0x7fe0},
		{"all mantissa bits", 0x7fffffff, 0x7fff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tensor.F32ToBF16(f32(tc.bits))
			if !isBF16QuietNaN(got) || (got&0x8000 != 0) != (tc.bits&0x80000000 != 0) {
				t.Errorf("F32ToBF16(%#08x) = %#04x, want a quiet NaN of the same sign", tc.bits, got)
			}
			if got != tc.want {
				t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x (payload kept, quiet bit set)", tc.bits, got, tc.want)
			}
		})
	}
	rng := newRand(3)
	r := reporter{tb: t}
	for range 1 << 16 {
		bits := 0x7f800000 | uint32(rng.IntN(0x7fffff)+1) | uint32(rng.IntN(2))<<31
		got := tensor.F32ToBF16(f32(bits))
		if !isBF16QuietNaN(got) || (got&0x8000 != 0) != (bits&0x80000000 != 0) {
			r.errorf("F32ToBF16(%#08x) = %#04x, want a quiet NaN of the same sign", bits, got)
		}
	}
}

// TestBF16RoundTripAll checks F32ToBF16(BF16ToF32(h)) == h for all 65536 patterns, the
// decoded value against the reference, and that NaNs stay quiet NaNs.
func TestBF16RoundTripAll(t *testing.T) {
	r := reporter{tb: t}
	for i := range 1 << 16 {
		h := uint16(i)
		f := tensor.BF16ToF32(h)
		back := tensor.F32ToBF16(f)
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			if !isBF16QuietNaN(back) || back != h|0x0040 {
				r.errorf("NaN %#04x → %#04x, want the quiet NaN %#04x", h, back, h|0x0040)
			}
			continue
		}
		if want := refBF16Value(h); float64(f) != want || math.Signbit(float64(f)) != math.Signbit(want) {
			r.errorf("BF16ToF32(%#04x) = %v, reference %v", h, f, want)
		}
		if back != h {
			r.errorf("%#04x → %v → %#04x", h, f, back)
		}
	}
}

// TestF32ToBF16TiesToEven checks every pair of adjacent finite bf16 values (and the largest
// with 2^128) at the lower value, the midpoint and the fp32 neighbours of the midpoint.
func TestF32ToBF16TiesToEven(t *testing.T) {
	r := reporter{tb: t}
	for h := uint16(0); h <= 0x7f7f; h++ {
		lo, hi := refBF16Value(h), refBF16Value(h+1)
		if h == 0x7f7f {
			hi = 0x1p128
		}
		mid := (lo + hi) / 2
		m := float32(mid)
		if float64(m) != mid {
			t.Fatalf("midpoint of %#04x and %#04x is not an fp32 value", h, h+1)
		}
		even := h
		if h&1 != 0 {
			even = h + 1
		}
		cases := []struct {
			x    float32
			want uint16
		}{
			{float32(lo), h},
			{m, even},
			{math.Nextafter32(m, 0), h},
			{math.Nextafter32(m, float32(math.Inf(1))), h + 1},
		}
		for _, c := range cases {
			for _, sign := range []float32{1, -1} {
				x, want := sign*c.x, c.want
				if sign < 0 {
					want |= 0x8000
				}
				if got := tensor.F32ToBF16(x); got != want {
					r.errorf("F32ToBF16(%v [%#08x]) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
				}
				if ref, _ := refBF16Bits(x); ref != want {
					r.errorf("reference disagrees with the tie rule at %v: %#04x, want %#04x", x, ref, want)
				}
			}
		}
	}
}

// TestF32ToBF16Reference compares F32ToBF16 with the float64 reference over a stride
// through all fp32 patterns and over seeded random ones.
func TestF32ToBF16Reference(t *testing.T) {
	r := reporter{tb: t}
	check := func(bits uint32) {
		x := f32(bits)
		want, ok := refBF16Bits(x)
		if !ok {
			return
		}
		if got := tensor.F32ToBF16(x); got != want {
			r.errorf("F32ToBF16(%v [%#08x]) = %#04x, reference %#04x", x, bits, got, want)
		}
	}
	for u := uint64(0); u < 1<<32; u += 4093 {
		check(uint32(u))
	}
	rng := newRand(4)
	for range 1 << 18 {
		check(rng.Uint32())
	}
}

// TestHalfSlices checks the slice encoders and decoders: element-wise agreement with the
// scalar conversions, Inf and NaN kept, and ErrSize on a length mismatch.
func TestHalfSlices(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	src := []float32{0, -1.5, 65519, 65520, -1e9, 0x1p-25, inf, -inf, nan, 3.14159}
	type codec struct {
		name    string
		encode  func([]uint16, []float32) error
		decode  func([]float32, []uint16) error
		scalar  func(float32) uint16
		isQNaN  func(uint16) bool
		posInf  uint16
		negInf  uint16
		dtype   tensor.DType
		decodeS func(uint16) float32
	}
	codecs := []codec{
		{"f16", tensor.EncodeF16, tensor.DecodeF16, tensor.F32ToF16, isF16QuietNaN, 0x7c00, 0xfc00, tensor.F16, tensor.F16ToF32},
		{"bf16", tensor.EncodeBF16, tensor.DecodeBF16, tensor.F32ToBF16, isBF16QuietNaN, 0x7f80, 0xff80, tensor.BF16, tensor.BF16ToF32},
	}
	for _, c := range codecs {
		t.Run(c.name+"/encode", func(t *testing.T) {
			dst := make([]uint16, len(src))
			if err := c.encode(dst, src); err != nil {
				t.Fatal(err)
			}
			for i, v := range src {
				if want := c.scalar(v); dst[i] != want && !(c.isQNaN(dst[i]) && c.isQNaN(want)) {
					t.Errorf("dst[%d] = %#04x, want %#04x", i, dst[i], want)
				}
			}
			if dst[6] != c.posInf || dst[7] != c.negInf || !c.isQNaN(dst[8]) {
				t.Errorf("Inf, -Inf, NaN encoded as %#04x %#04x %#04x", dst[6], dst[7], dst[8])
			}
		})
		t.Run(c.name+"/decode", func(t *testing.T) {
			h := make([]uint16, len(src))
			_ = c.encode(h, src)
			dst := make([]float32, len(h))
			if err := c.decode(dst, h); err != nil {
				t.Fatal(err)
			}
			for i := range h {
				if want := c.decodeS(h[i]); math.Float32bits(dst[i]) != math.Float32bits(want) {
					t.Errorf("dst[%d] = %v, want %v", i, dst[i], want)
				}
			}
			if !math.IsInf(float64(dst[6]), 1) || !math.IsInf(float64(dst[7]), -1) || !math.IsNaN(float64(dst[8])) {
				t.Errorf("Inf, -Inf, NaN decoded as %v %v %v", dst[6], dst[7], dst[8])
			}
		})
		t.Run(c.name+"/Encode and Decode by dtype", func(t *testing.T) {
			b := make([]byte, 2*len(src))
			if err := tensor.Encode(c.dtype, b, src); err != nil {
				t.Fatal(err)
			}
			for i, v := range src {
				got := uint16(b[2*i]) | uint16(b[2*i+1])<<8
				if want := c.scalar(v); got != want && !(c.isQNaN(got) && c.isQNaN(want)) {
					t.Errorf("element %d stored as %#04x, want %#04x", i, got, want)
				}
			}
			dst := make([]float32, len(src))
			if err := tensor.Decode(c.dtype, dst, b); err != nil {
				t.Fatal(err)
			}
			if !math.IsInf(float64(dst[6]), 1) || !math.IsInf(float64(dst[7]), -1) || !math.IsNaN(float64(dst[8])) {
				t.Errorf("Inf, -Inf, NaN round-tripped as %v %v %v", dst[6], dst[7], dst[8])
			}
		})
		sizes := []struct {
			name     string
			dst, src int
		}{
			{"dst short", 3, 4},
			{"dst long", 5, 4},
			{"dst empty", 0, 1},
		}
		for _, s := range sizes {
			t.Run(c.name+"/"+s.name, func(t *testing.T) {
				if err := c.encode(make([]uint16, s.dst), make([]float32, s.src)); !errors.Is(err, tensor.ErrSize) {
					t.Errorf("encode: err = %v, want ErrSize", err)
				}
				if err := c.decode(make([]float32, s.dst), make([]uint16, s.src)); !errors.Is(err, tensor.ErrSize) {
					t.Errorf("decode: err = %v, want ErrSize", err)
				}
			})
		}
	}
	t.Run("empty", func(t *testing.T) {
		for _, err := range []error{
			tensor.EncodeF16(nil, nil), tensor.DecodeF16(nil, nil),
			tensor.EncodeBF16(nil, nil), tensor.DecodeBF16(nil, nil),
		} {
			if err != nil {
				t.Errorf("empty slices: %v", err)
			}
		}
	})
}
