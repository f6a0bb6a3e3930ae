package tensor_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// guard is the number of sentinel bytes or values put on each side of an output buffer.
const guard = 8

const guardByte = 0xa5

var guardF32 = math.Float32frombits(0x7fa5a5a5) // a NaN no decoder writes

// quantizeGuarded quantizes src into a buffer with guard bytes around it and fails the test
// if a guard byte changed.
func quantizeGuarded(t *testing.T, quantize func([]byte, []float32) error, blockBytes int, src []float32) []byte {
	t.Helper()
	n := len(src) / tensor.QK * blockBytes
	buf := bytes.Repeat([]byte{guardByte}, n+2*guard)
	if err := quantize(buf[guard:guard+n], src); err != nil {
		t.Fatalf("quantize: %v", err)
	}
	for i, b := range buf {
		if (i < guard || i >= guard+n) && b != guardByte {
			t.Fatalf("guard byte %d written: %#02x", i-guard, b)
		}
	}
	return buf[guard : guard+n]
}

// dequantizeGuarded dequantizes src into a buffer with guard values around it.
func dequantizeGuarded(t *testing.T, dequantize func([]float32, []byte) error, blockBytes int, src []byte) []float32 {
	t.Helper()
	n := len(src) / blockBytes * tensor.QK
	buf := make([]float32, n+2*guard)
	for i := range buf {
		buf[i] = guardF32
	}
	if err := dequantize(buf[guard:guard+n], src); err != nil {
		t.Fatalf("dequantize: %v", err)
	}
	for i, v := range buf {
		if (i < guard || i >= guard+n) && math.Float32bits(v) != math.Float32bits(guardF32) {
			t.Fatalf("guard value %d written: %v", i-guard, v)
		}
	}
	return buf[guard : guard+n]
}

// ramp returns 0, 1, …, 31.
func ramp() []float32 {
	x := make([]float32, tensor.QK)
	for i := range x {
		x[i] = float32(i)
	}
	return x
}

// i8 returns the byte holding the int8 v.
func i8(v int8) byte { return byte(v) }

// TestQuantizeQ8_0Bytes checks hand-computed Q8_0 blocks byte for byte: 2 bytes of
// little-endian fp16 d = max|x|/127, then 32 int8 q = round(x/d), half away from zero.
func TestQuantizeQ8_0Bytes(t *testing.T) {
	// Ramp 0..31: d = 31/127 = 0.244094…; in fp16 that is 1.952755…×2^-3, mantissa
	// 0.952755×1024 = 975.62 → 976 = 0x3d0, exponent -3+15 = 12: d = 0x3000|0x3d0 = 0x33d0
	// (0.244140625). q_j = round(j×127/31); j×127/31 is never a tie (31 is prime and does
	// not divide 127).
	rampQ := []byte{0, 4, 8, 12, 16, 20, 25, 29, 33, 37, 41, 45, 49, 53, 57, 61,
		66, 70, 74, 78, 82, 86, 90, 94, 98, 102, 107, 111, 115, 119, 123, 127}
	rampBlock := concat(le16(0x33d0), rampQ)

	// One outlier of 1000: d = 1000/127 = 7.874015…= 1.968503…×2^2; mantissa
	// 0.968503×1024 = 991.75 → 992 = 0x3e0, exponent 2+15 = 17: 0x4400|0x3e0 = 0x47e0 (7.875).
	// x/d with id = 127/1000: 1 → 0.127 → 0, 3.9 → 0.495 → 0, 4 → 0.508 → 1, -4 → -1,
	// -100 → -12.7 → -13, 1000 → 127, 63.5 → 8.06 → 8. The small values are lost.
	outlier := block(0, map[int]float32{0: 1, 1: 3.9, 2: 4, 3: -4, 4: -100, 5: 1000, 6: 63.5})
	outlierBlock := concat(le16(0x47e0), []byte{0, 0, 1, i8(-1), i8(-13), 127, 8}, make([]byte, 25))

	// d = 127/127 = 1 exactly (fp16 0x3c00), id = 1, so x/d is exact and .5 ties are real
	// ties: rounding is half away from zero (C's roundf), not to even: -2.5 → -3, 2.5 → 3,
	// -0.5 → -1, 0.5 → 1, 1.5 → 2, -1.5 → -2, -126.5 → -127, 126.5 → 127, -64.5 → -65;
	// -0.49 → -0 → 0.
	ties := block(0, map[int]float32{0: -127, 1: -2.5, 2: -0.5, 3: 0.5, 4: 1.5, 5: 2.5, 6: -1.5,
		7: -126.5, 8: 126.5, 9: -0.49, 10: -64.5})
	tiesBlock := concat(le16(0x3c00), []byte{i8(-127), i8(-3), i8(-1), 1, 2, 3, i8(-2),
		i8(-127), 127, 0, i8(-65)}, make([]byte, 21))

	// d = 254/127 = 2 (fp16 0x4000), id = 0.5: -5 → -2.5 → -3, 7 → 3.5 → 4, -1 → -0.5 → -1,
	// 1 → 0.5 → 1, -254 → -127.
	twos := block(0, map[int]float32{0: -5, 1: 7, 2: -1, 3: 1, 31: -254})
	twosBlock := concat(le16(0x4000), []byte{i8(-3), 4, i8(-1), 1}, make([]byte, 27), []byte{i8(-127)})

	negZero := float32(math.Copysign(0, -1))

	tests := []struct {
		name string
		src  []float32
		want []byte
	}{
		{"ramp 0..31", ramp(), rampBlock},
		{"all zeros: d=0, q=0", make([]float32, 32), make([]byte, 34)},
		{"all negative zeros: d=0, q=0", block(negZero, nil), make([]byte, 34)},
		{"one large outlier", outlier, outlierBlock},
		{"half-way cases round away from zero", ties, tiesBlock},
		{"d=2 with negative ties", twos, twosBlock},
		{"three blocks back to back", concat32(ramp(), make([]float32, 32), outlier), concat(rampBlock, make([]byte, 34), outlierBlock)},
		{"empty", nil, []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := quantizeGuarded(t, tensor.QuantizeQ8_0, tensor.Q8_0BlockBytes, tc.src)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("QuantizeQ8_0:\n got  % x\n want % x", got, tc.want)
			}
			// Decoding is d×q, exactly.
			y := dequantizeGuarded(t, tensor.DequantizeQ8_0, tensor.Q8_0BlockBytes, got)
			for i := range y {
				blk := got[i/32*34:]
				d := refF16Value(binary.LittleEndian.Uint16(blk))
				if want := d * float64(int8(blk[2+i%32])); float64(y[i]) != want {
					t.Errorf("y[%d] = %v, want %v", i, y[i], want)
				}
			}
		})
	}
}

// TestQuantizeQ4_0Bytes checks hand-computed Q4_0 blocks: 2 bytes of little-endian fp16
// d = m/-8 (m the first element of largest magnitude, sign kept), then 16 bytes whose low
// nibble is element j and high nibble element j+16, q = min(15, trunc(x/d + 8.5)).
func TestQuantizeQ4_0Bytes(t *testing.T) {
	// x_j = j-8 and x_{j+16} = 7-j: m = -8 (x_0; x_31 = -8 too but comes later), d = 1
	// (0x3c00). q_j = trunc(j+0.5) = j, q_{j+16} = trunc(15.5-j) = 15-j, so byte j is
	// j | (15-j)<<4: f0 e1 d2 … 0f.
	var rampA []float32
	for j := range 16 {
		rampA = append(rampA, float32(j-8))
	}
	for j := range 16 {
		rampA = append(rampA, float32(7-j))
	}
	var rampABytes []byte
	for j := range 16 {
		rampABytes = append(rampABytes, byte(j|(15-j)<<4))
	}
	rampABlock := concat(le16(0x3c00), rampABytes)

	// m = +16 at index 3 (index 4 holds -16, same magnitude, later): d = 16/-8 = -2 (0xc000),
	// id = -0.5. q: 0 → 8; 3 → -1.5+8.5 = 7; 5 → 6; 16 → 0.5 → 0; -16 → 16.5 → 16 → clamped
	// 15 (decodes to -14: the grid is -8..7); -1 → 9; 1 → 8; -3 → 10; 15 → 1; -15 → 16 → 15.
	posM := block(0, map[int]float32{1: 3, 2: 5, 3: 16, 4: -16, 5: -1, 6: 1, 7: -3, 16: 15, 17: -15})
	posMBlock := concat(le16(0xc000), []byte{0x18, 0xf7, 0x86, 0x80, 0x8f, 0x89, 0x88, 0x8a}, bytes.Repeat([]byte{0x88}, 8))

	// All zeros: m = 0, d = 0/-8 = -0, stored as fp16 -0 = 0x8000 (as ggml does); id = 0,
	// so every q = trunc(8.5) = 8: bytes 0x88.
	zeroBlock := concat(le16(0x8000), bytes.Repeat([]byte{0x88}, 16))

	// m = 3.3 (fp32 3.29999995): d = -0.4125 = -1.65×2^-2; mantissa 0.65×1024 = 665.6 → 666 =
	// 0x29a, exponent -2+15 = 13: 0x8000|0x3400|0x29a = 0xb69a. id = -2.4242:
	// 1 → 6.08 → 6; -1 → 10.92 → 10; 3.3 → 0.5 → 0; -3.3 → 16.5 → 15; 0.2 → 8.02 → 8;
	// 2 → 3.65 → 3; 0 → 8; (high half) -2 → 13.35 → 13; 0.5 → 7.29 → 7.
	inexact := block(0, map[int]float32{0: 1, 1: -1, 2: 3.3, 3: -3.3, 4: 0.2, 5: 2, 16: -2, 17: 0.5})
	inexactBlock := concat(le16(0xb69a), []byte{0xd6, 0x7a, 0x80, 0x8f, 0x88, 0x83}, bytes.Repeat([]byte{0x88}, 10))

	// Magnitude ties keep the first: -3 before 3 gives m = -3, d = 0.375 (1.5×2^-2: 0x3600);
	// 3 before -3 gives m = 3, d = -0.375 (0xb600). The nibbles are the same: m → 0, -m → 15.
	negFirst := block(0, map[int]float32{0: -3, 1: 3})
	posFirst := block(0, map[int]float32{0: 3, 1: -3})
	firstNibbles := concat([]byte{0x80, 0x8f}, bytes.Repeat([]byte{0x88}, 14))

	tests := []struct {
		name string
		src  []float32
		want []byte
	}{
		{"ramp -8..7 and 7..-8", rampA, rampABlock},
		{"positive m gives negative d", posM, posMBlock},
		{"all zeros: d=-0, q=8", make([]float32, 32), zeroBlock},
		{"inexact scale", inexact, inexactBlock},
		{"magnitude tie, negative first", negFirst, concat(le16(0x3600), firstNibbles)},
		{"magnitude tie, positive first", posFirst, concat(le16(0xb600), firstNibbles)},
		{"three blocks back to back", concat32(rampA, posM, inexact), concat(rampABlock, posMBlock, inexactBlock)},
		{"empty", nil, []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := quantizeGuarded(t, tensor.QuantizeQ4_0, tensor.Q4_0BlockBytes, tc.src)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("QuantizeQ4_0:\n got  % x\n want % x", got, tc.want)
			}
			y := dequantizeGuarded(t, tensor.DequantizeQ4_0, tensor.Q4_0BlockBytes, got)
			for i := range y {
				blk := got[i/32*18:]
				d := refF16Value(binary.LittleEndian.Uint16(blk))
				j := i % 32
				q := int(blk[2+j%16] & 0x0f)
				if j >= 16 {
					q = int(blk[2+j%16] >> 4)
				}
				if want := d * float64(q-8); float64(y[i]) != want {
					t.Errorf("y[%d] = %v, want %v", i, y[i], want)
				}
			}
		})
	}
}

// concat32 joins float32 slices.
func concat32(parts ...[]float32) []float32 {
	var out []float32
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestDequantizeBytes decodes hand-written blocks, including q = -128 for Q8_0 (which the
// quantizer never writes but a file may hold) and an fp16 subnormal scale.
func TestDequantizeBytes(t *testing.T) {
	t.Run("q8_0", func(t *testing.T) {
		tests := []struct {
			name string
			d    uint16
			q    []int8 // first elements; the rest are 0
			want []float32
		}{
			{"d=1", 0x3c00, []int8{1, -1, 127, -128}, []float32{1, -1, 127, -128}},
			{"d=-0.5", 0xb800, []int8{1, -1, 127, -128}, []float32{-0.5, 0.5, -63.5, 64}},
			{"subnormal d=2^-24", 0x0001, []int8{3, -128}, []float32{3 * 0x1p-24, -128 * 0x1p-24}},
			{"max d", 0x7bff, []int8{-128, 127}, []float32{-128 * 65504, 127 * 65504}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				blk := concat(le16(tc.d), make([]byte, 32))
				for i, q := range tc.q {
					blk[2+i] = byte(q)
				}
				y := dequantizeGuarded(t, tensor.DequantizeQ8_0, tensor.Q8_0BlockBytes, blk)
				want := append(append([]float32{}, tc.want...), make([]float32, 32-len(tc.want))...)
				for i := range y {
					if y[i] != want[i] {
						t.Errorf("y[%d] = %v, want %v", i, y[i], want[i])
					}
				}
			})
		}
	})
	t.Run("q4_0", func(t *testing.T) {
		tests := []struct {
			name  string
			d     uint16
			bytes []byte // first of the 16 nibble bytes; the rest are 0x88 (zeros)
			want  map[int]float32
		}{
			{"d=1 nibble order", 0x3c00, []byte{0x0f, 0xf0, 0x79}, map[int]float32{0: 7, 16: -8, 1: -8, 17: 7, 2: 1, 18: -1}},
			{"d=-2", 0xc000, []byte{0x0f}, map[int]float32{0: -14, 16: 16}},
			{"subnormal d", 0x0002, []byte{0x90}, map[int]float32{0: -8 * 0x1p-23, 16: 0x1p-23}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				blk := concat(le16(tc.d), tc.bytes, bytes.Repeat([]byte{0x88}, 16-len(tc.bytes)))
				y := dequantizeGuarded(t, tensor.DequantizeQ4_0, tensor.Q4_0BlockBytes, blk)
				for i := range y {
					if want := tc.want[i]; y[i] != want {
						t.Errorf("y[%d] = %v, want %v", i, y[i], want)
					}
				}
			})
		}
	})
}

// TestQuantizeRoundTripBound quantizes seeded Gaussian blocks at scales from 1e-6 to 1e4
// and checks each element against the bounds derived on checkQ8Block and checkQ4Block.
func TestQuantizeRoundTripBound(t *testing.T) {
	formats := []struct {
		name       string
		quantize   func([]byte, []float32) error
		dequantize func([]float32, []byte) error
		blockBytes int
		check      func(testing.TB, []float32, []byte, []float32) bool
	}{
		{"q8_0", tensor.QuantizeQ8_0, tensor.DequantizeQ8_0, tensor.Q8_0BlockBytes, checkQ8Block},
		{"q4_0", tensor.QuantizeQ4_0, tensor.DequantizeQ4_0, tensor.Q4_0BlockBytes, checkQ4Block},
	}
	sigmas := []float64{1e-6, 1e-3, 0.02, 1, 300, 1e4}
	for _, f := range formats {
		for _, sigma := range sigmas {
			t.Run(fmt.Sprintf("%s/sigma=%g", f.name, sigma), func(t *testing.T) {
				const blocks = 256
				x := gaussian(newRand(uint64(sigma*1e6)+7), blocks*tensor.QK, sigma)
				q := quantizeGuarded(t, f.quantize, f.blockBytes, x)
				y := dequantizeGuarded(t, f.dequantize, f.blockBytes, q)
				for b := range blocks {
					if !f.check(t, x[b*32:(b+1)*32], q[b*f.blockBytes:(b+1)*f.blockBytes], y[b*32:(b+1)*32]) {
						t.Fatalf("block %d: fp16 scale overflowed at sigma %g", b, sigma)
					}
				}
			})
		}
	}
}

// TestQuantizeGridExact checks that values already on a block's grid survive a round trip
// exactly: x = q×dh for an fp16 scale dh, with the extreme grid point present.
func TestQuantizeGridExact(t *testing.T) {
	rng := newRand(11)
	scales := []uint16{0x3c00, 0x2e66, 0x1234, 0x0400, 0x5555, 0x7000}
	for _, h := range scales {
		dh := tensor.F16ToF32(h)
		t.Run(fmt.Sprintf("q8_0/d=%#04x", h), func(t *testing.T) {
			x := make([]float32, 32)
			for j := range x {
				x[j] = float32(rng.IntN(255)-127) * dh
			}
			x[rng.IntN(32)] = 127 * dh
			q := quantizeGuarded(t, tensor.QuantizeQ8_0, tensor.Q8_0BlockBytes, x)
			y := dequantizeGuarded(t, tensor.DequantizeQ8_0, tensor.Q8_0BlockBytes, q)
			for j := range x {
				if y[j] != x[j] {
					t.Errorf("y[%d] = %v, want %v", j, y[j], x[j])
				}
			}
		})
		t.Run(fmt.Sprintf("q4_0/d=%#04x", h), func(t *testing.T) {
			x := make([]float32, 32)
			for j := range x {
				x[j] = float32(rng.IntN(15)-7) * dh // -7..7: smaller than the -8 below
			}
			x[rng.IntN(32)] = -8 * dh
			q := quantizeGuarded(t, tensor.QuantizeQ4_0, tensor.Q4_0BlockBytes, x)
			y := dequantizeGuarded(t, tensor.DequantizeQ4_0, tensor.Q4_0BlockBytes, q)
			for j := range x {
				if y[j] != x[j] {
					t.Errorf("y[%d] = %v, want %v", j, y[j], x[j])
				}
			}
		})
	}
}

// TestQuantizeTinyAndHuge pins the behaviour at the edges of the fp16 scale. Blocks whose
// scale underflows fp16 decode to zeros. Blocks whose scale overflows fp16 (max|x| above
// about 65504×127 for Q8_0, |m| above about 65504×8 for Q4_0) are quantized as ggml does,
// with an Inf scale, though every input is finite: they decode to ±Inf and NaN.
func TestQuantizeTinyAndHuge(t *testing.T) {
	formats := []struct {
		name       string
		quantize   func([]byte, []float32) error
		dequantize func([]float32, []byte) error
		blockBytes int
		limit      float32 // largest magnitude whose fp16 scale is finite, about
	}{
		{"q8_0", tensor.QuantizeQ8_0, tensor.DequantizeQ8_0, tensor.Q8_0BlockBytes, 65504 * 127},
		{"q4_0", tensor.QuantizeQ4_0, tensor.DequantizeQ4_0, tensor.Q4_0BlockBytes, 65504 * 8},
	}
	for _, f := range formats {
		tiny := []struct {
			name string
			amax float32
		}{
			{"fp32 subnormal", 1e-44},
			{"reciprocal of d overflows", 1e-37},
			{"below half the smallest fp16 subnormal scale", 1e-9},
		}
		for _, tc := range tiny {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				x := gaussian(newRand(5), 32, 1)
				for j := range x {
					x[j] = float32(math.Max(-1, math.Min(1, float64(x[j])))) * tc.amax
				}
				x[9] = -tc.amax
				q := quantizeGuarded(t, f.quantize, f.blockBytes, x)
				if h := binary.LittleEndian.Uint16(q); h&0x7fff != 0 {
					t.Errorf("scale = %#04x, want ±0", h)
				}
				y := dequantizeGuarded(t, f.dequantize, f.blockBytes, q)
				for j, v := range y {
					if v != 0 {
						t.Errorf("y[%d] = %v, want 0", j, v)
					}
				}
			})
		}
		t.Run(f.name+"/largest finite scale", func(t *testing.T) {
			x := gaussian(newRand(6), 32, 1)
			x[3] = -f.limit
			q := quantizeGuarded(t, f.quantize, f.blockBytes, x)
			y := dequantizeGuarded(t, f.dequantize, f.blockBytes, q)
			check := checkQ8Block
			if f.name == "q4_0" {
				check = checkQ4Block
			}
			if !check(t, x, q, y) {
				t.Fatalf("scale %#04x is not finite", binary.LittleEndian.Uint16(q))
			}
		})
		t.Run(f.name+"/scale overflow", func(t *testing.T) {
			x := make([]float32, 32)
			x[0], x[1] = 1, -2*f.limit
			q := quantizeGuarded(t, f.quantize, f.blockBytes, x)
			if h := binary.LittleEndian.Uint16(q); h&0x7fff != 0x7c00 {
				t.Errorf("scale = %#04x, want ±Inf (ggml behaviour)", h)
			}
			y := dequantizeGuarded(t, f.dequantize, f.blockBytes, q)
			if !math.IsInf(float64(y[1]), 0) {
				t.Errorf("y[1] = %v, want ±Inf", y[1])
			}
		})
	}
}

// TestBlockLengths checks the length rules of the block formats: element counts that are
// not a multiple of 32 fail with ErrBlockAlign, byte counts that do not match with ErrSize,
// and nothing is written on failure.
func TestBlockLengths(t *testing.T) {
	type fn struct {
		name       string
		quantize   func([]byte, []float32) error
		dequantize func([]float32, []byte) error
		blockBytes int
	}
	fns := []fn{
		{"q8_0", tensor.QuantizeQ8_0, tensor.DequantizeQ8_0, tensor.Q8_0BlockBytes},
		{"q4_0", tensor.QuantizeQ4_0, tensor.DequantizeQ4_0, tensor.Q4_0BlockBytes},
	}
	for _, f := range fns {
		tests := []struct {
			name   string
			elems  int
			nbytes int
			want   error
		}{
			{"1 element", 1, f.blockBytes, tensor.ErrBlockAlign},
			{"31 elements", 31, f.blockBytes, tensor.ErrBlockAlign},
			{"33 elements", 33, f.blockBytes, tensor.ErrBlockAlign},
			{"33 elements, 0 bytes", 33, 0, tensor.ErrBlockAlign},
			{"100 elements", 100, 4 * f.blockBytes, tensor.ErrBlockAlign},
			{"bytes one short", 32, f.blockBytes - 1, tensor.ErrSize},
			{"bytes one long", 32, f.blockBytes + 1, tensor.ErrSize},
			{"bytes for two blocks", 32, 2 * f.blockBytes, tensor.ErrSize},
			{"no bytes", 64, 0, tensor.ErrSize},
			{"bytes without elements", 0, f.blockBytes, tensor.ErrSize},
			{"exact, one block", 32, f.blockBytes, nil},
			{"exact, three blocks", 96, 3 * f.blockBytes, nil},
			{"exact, empty", 0, 0, nil},
		}
		for _, tc := range tests {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				src := gaussian(newRand(8), tc.elems, 1)
				dst := bytes.Repeat([]byte{guardByte}, tc.nbytes)
				err := f.quantize(dst, src)
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Errorf("quantize %d elements into %d bytes: err = %v, want %v", tc.elems, tc.nbytes, err, tc.want)
				}
				if err != nil && !bytes.Equal(dst, bytes.Repeat([]byte{guardByte}, tc.nbytes)) {
					t.Errorf("quantize failed but wrote dst")
				}
				if err != nil && !strings.Contains(err.Error(), fmt.Sprint(tc.elems)) {
					t.Errorf("error %q does not name the length %d", err, tc.elems)
				}
				y := make([]float32, tc.elems)
				err = f.dequantize(y, make([]byte, tc.nbytes))
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Errorf("dequantize %d bytes into %d elements: err = %v, want %v", tc.nbytes, tc.elems, err, tc.want)
				}
			})
		}
	}
}

// TestNonFinite checks that a NaN or Inf anywhere in the input fails quantization with
// ErrNonFinite, naming the element's index in the whole input.
func TestNonFinite(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name  string
		index int
		value float32
	}{
		{"NaN first", 0, nan},
		{"NaN last of first block", 31, nan},
		{"+Inf in second block", 37, inf},
		{"-Inf in third block", 95, -inf},
		{"negative NaN", 64, float32(math.Copysign(math.NaN(), -1))},
		{"signalling NaN", 3, math.Float32frombits(0x7f800001)},
	}
	fns := []struct {
		name     string
		quantize func([]byte, []float32) error
		dt       tensor.DType
	}{
		{"q8_0", tensor.QuantizeQ8_0, tensor.Q8_0},
		{"q4_0", tensor.QuantizeQ4_0, tensor.Q4_0},
	}
	for _, f := range fns {
		for _, tc := range tests {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				src := gaussian(newRand(9), 128, 1)
				src[tc.index] = tc.value
				rb, _ := f.dt.RowBytes(len(src))
				err := f.quantize(make([]byte, rb), src)
				if !errors.Is(err, tensor.ErrNonFinite) {
					t.Fatalf("err = %v, want ErrNonFinite", err)
				}
				if want := fmt.Sprintf("element %d ", tc.index); !strings.Contains(err.Error()+" ", want) {
					t.Errorf("error %q does not name element %d", err, tc.index)
				}
				if err := tensor.Encode(f.dt, make([]byte, rb), src); !errors.Is(err, tensor.ErrNonFinite) {
					t.Errorf("Encode: err = %v, want ErrNonFinite", err)
				}
				// The first non-finite element is the one named.
				src[tc.index+1] = nan
				if err := f.quantize(make([]byte, rb), src); !strings.Contains(err.Error()+" ", fmt.Sprintf("element %d ", tc.index)) {
					t.Errorf("with two non-finite elements, error %q does not name the first, %d", err, tc.index)
				}
			})
		}
	}
}

// TestEncodeDecode checks Encode and Decode for every dtype against the per-format
// functions, and their size and dtype errors.
func TestEncodeDecode(t *testing.T) {
	src := gaussian(newRand(10), 64, 2)
	for _, dt := range tensor.DTypes {
		t.Run(dt.String(), func(t *testing.T) {
			rb, err := dt.RowBytes(len(src))
			if err != nil {
				t.Fatal(err)
			}
			b := tensor.AlignedBytes(rb)
			if err := tensor.Encode(dt, b, src); err != nil {
				t.Fatal(err)
			}
			want := make([]byte, rb)
			switch dt {
			case tensor.F32:
				for i, v := range src {
					binary.LittleEndian.PutUint32(want[4*i:], math.Float32bits(v))
				}
			case tensor.F16:
				for i, v := range src {
					binary.LittleEndian.PutUint16(want[2*i:], tensor.F32ToF16(v))
				}
			case tensor.BF16:
				for i, v := range src {
					binary.LittleEndian.PutUint16(want[2*i:], tensor.F32ToBF16(v))
				}
			case tensor.Q8_0:
				_ = tensor.QuantizeQ8_0(want, src)
			case tensor.Q4_0:
				_ = tensor.QuantizeQ4_0(want, src)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("Encode(%v) differs from the format's own encoder", dt)
			}
			y := make([]float32, len(src))
			if err := tensor.Decode(dt, y, b); err != nil {
				t.Fatal(err)
			}
			wantY := make([]float32, len(src))
			switch dt {
			case tensor.F32:
				copy(wantY, src)
			case tensor.F16:
				for i := range wantY {
					wantY[i] = tensor.F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
				}
			case tensor.BF16:
				for i := range wantY {
					wantY[i] = tensor.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
				}
			case tensor.Q8_0:
				_ = tensor.DequantizeQ8_0(wantY, b)
			case tensor.Q4_0:
				_ = tensor.DequantizeQ4_0(wantY, b)
			}
			for i := range y {
				if y[i] != wantY[i] {
					t.Errorf("Decode(%v): y[%d] = %v, want %v", dt, i, y[i], wantY[i])
				}
			}
			for _, n := range []int{rb - 1, rb + 1, 0} {
				if err := tensor.Encode(dt, make([]byte, n), src); !errors.Is(err, tensor.ErrSize) {
					t.Errorf("Encode into %d bytes (want %d): err = %v, want ErrSize", n, rb, err)
				}
				if err := tensor.Decode(dt, y, make([]byte, n)); !errors.Is(err, tensor.ErrSize) {
					t.Errorf("Decode from %d bytes (want %d): err = %v, want ErrSize", n, rb, err)
				}
			}
		})
	}
	t.Run("unknown dtype", func(t *testing.T) {
		bad := tensor.DType(len(tensor.DTypes))
		if err := tensor.Encode(bad, make([]byte, 4), []float32{1}); !errors.Is(err, tensor.ErrDType) {
			t.Errorf("Encode: err = %v, want ErrDType", err)
		}
		if err := tensor.Decode(bad, make([]float32, 1), make([]byte, 4)); !errors.Is(err, tensor.ErrDType) {
			t.Errorf("Decode: err = %v, want ErrDType", err)
		}
	})
}
