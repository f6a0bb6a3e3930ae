package tensor_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// The seeds for these targets are in testdata/fuzz/<FuzzName>/. Run one with, for example,
//
//	go test -run='^$' -fuzz=FuzzDequantizeQ8_0 -fuzztime=20s ./engine/tensor

// maxFuzzBlocks caps the blocks a fuzz input is cut to, to keep each execution short.
const maxFuzzBlocks = 64

// FuzzDequantizeQ8_0 decodes arbitrary bytes as Q8_0. It must never panic; a length that is
// not a whole number of blocks fails with ErrSize; every value is d×q exactly, hence finite
// whenever the block's fp16 scale is.
func FuzzDequantizeQ8_0(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:min(len(data), maxFuzzBlocks*tensor.Q8_0BlockBytes)]
		nb := len(data) / tensor.Q8_0BlockBytes
		n := nb * tensor.QK
		err := tensor.DequantizeQ8_0(make([]float32, n), data)
		if whole := len(data)%tensor.Q8_0BlockBytes == 0; whole != (err == nil) || (!whole && !errors.Is(err, tensor.ErrSize)) {
			t.Fatalf("%d bytes into %d values: err = %v", len(data), n, err)
		}
		if err := tensor.DequantizeQ8_0(make([]float32, n+1), data); !errors.Is(err, tensor.ErrBlockAlign) {
			t.Fatalf("%d values: err = %v, want ErrBlockAlign", n+1, err)
		}
		if err := tensor.DequantizeQ8_0(make([]float32, n+tensor.QK), data); !errors.Is(err, tensor.ErrSize) {
			t.Fatalf("%d bytes into %d values: err = %v, want ErrSize", len(data), n+tensor.QK, err)
		}

		src := data[:nb*tensor.Q8_0BlockBytes]
		y := make([]float32, n)
		if err := tensor.DequantizeQ8_0(y, src); err != nil {
			t.Fatal(err)
		}
		for b := range nb {
			blk := src[b*tensor.Q8_0BlockBytes:]
			d := refF16Value(binary.LittleEndian.Uint16(blk))
			if math.IsInf(d, 0) || math.IsNaN(d) {
				continue
			}
			for j := range tensor.QK {
				v := y[b*tensor.QK+j]
				if want := d * float64(int8(blk[2+j])); float64(v) != want {
					t.Fatalf("block %d: y[%d] = %v, want %v (d = %v, q = %d)", b, j, v, want, d, int8(blk[2+j]))
				}
				if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
					t.Fatalf("block %d: y[%d] = %v with finite scale %v", b, j, v, d)
				}
			}
		}
	})
}

// FuzzDequantizeQ4_0 decodes arbitrary bytes as Q4_0, as FuzzDequantizeQ8_0 does for Q8_0:
// every value is (q-8)×d exactly, element j from the low nibble of byte j and element j+16
// from its high nibble.
func FuzzDequantizeQ4_0(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:min(len(data), maxFuzzBlocks*tensor.Q4_0BlockBytes)]
		nb := len(data) / tensor.Q4_0BlockBytes
		n := nb * tensor.QK
		err := tensor.DequantizeQ4_0(make([]float32, n), data)
		if whole := len(data)%tensor.Q4_0BlockBytes == 0; whole != (err == nil) || (!whole && !errors.Is(err, tensor.ErrSize)) {
			t.Fatalf("%d bytes into %d values: err = %v", len(data), n, err)
		}
		if err := tensor.DequantizeQ4_0(make([]float32, n+1), data); !errors.Is(err, tensor.ErrBlockAlign) {
			t.Fatalf("%d values: err = %v, want ErrBlockAlign", n+1, err)
		}
		if err := tensor.DequantizeQ4_0(make([]float32, n+tensor.QK), data); !errors.Is(err, tensor.ErrSize) {
			t.Fatalf("%d bytes into %d values: err = %v, want ErrSize", len(data), n+tensor.QK, err)
		}

		src := data[:nb*tensor.Q4_0BlockBytes]
		y := make([]float32, n)
		if err := tensor.DequantizeQ4_0(y, src); err != nil {
			t.Fatal(err)
		}
		for b := range nb {
			blk := src[b*tensor.Q4_0BlockBytes:]
			d := refF16Value(binary.LittleEndian.Uint16(blk))
			if math.IsInf(d, 0) || math.IsNaN(d) {
				continue
			}
			for j := range tensor.QK {
				q := int(blk[2+j%16] & 0x0f)
				if j >= 16 {
					q = int(blk[2+j%16] >> 4)
				}
				v := y[b*tensor.QK+j]
				if want := d * float64(q-8); float64(v) != want {
					t.Fatalf("block %d: y[%d] = %v, want %v (d = %v, q = %d)", b, j, v, want, d, q)
				}
				if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
					t.Fatalf("block %d: y[%d] = %v with finite scale %v", b, j, v, d)
				}
			}
		}
	})
}

// FuzzQuantizeRoundTrip reads fp32 values (little endian) from arbitrary bytes, quantizes
// them to Q8_0 and Q4_0 and decodes them again. It must never panic. A count that is not a
// multiple of 32 fails with ErrBlockAlign (the input is then padded with zeros and used
// anyway); a NaN or Inf fails with ErrNonFinite naming the first such element; otherwise
// every block decodes within the bounds derived on checkQ8Block and checkQ4Block, unless its
// fp16 scale overflowed.
func FuzzQuantizeRoundTrip(f *testing.F) {
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
	f.Fuzz(func(t *testing.T, data []byte) {
		x := make([]float32, min(len(data)/4, maxFuzzBlocks*tensor.QK))
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		if len(x)%tensor.QK != 0 {
			for _, fm := range formats {
				if err := fm.quantize(make([]byte, fm.blockBytes), x); !errors.Is(err, tensor.ErrBlockAlign) {
					t.Fatalf("%s: %d values: err = %v, want ErrBlockAlign", fm.name, len(x), err)
				}
			}
			x = append(x, make([]float32, tensor.QK-len(x)%tensor.QK)...)
		}
		firstBad := -1
		for i, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				firstBad = i
				break
			}
		}
		nb := len(x) / tensor.QK
		for _, fm := range formats {
			q := make([]byte, nb*fm.blockBytes)
			err := fm.quantize(q, x)
			if firstBad >= 0 {
				if !errors.Is(err, tensor.ErrNonFinite) {
					t.Fatalf("%s: element %d is %v: err = %v, want ErrNonFinite", fm.name, firstBad, x[firstBad], err)
				}
				if want := fmt.Sprintf("element %d ", firstBad); !strings.Contains(err.Error()+" ", want) {
					t.Fatalf("%s: error %q does not name element %d", fm.name, err, firstBad)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", fm.name, err)
			}
			y := make([]float32, len(x))
			if err := fm.dequantize(y, q); err != nil {
				t.Fatalf("%s: %v", fm.name, err)
			}
			for b := range nb {
				fm.check(t, x[b*tensor.QK:(b+1)*tensor.QK], q[b*fm.blockBytes:(b+1)*fm.blockBytes], y[b*tensor.QK:(b+1)*tensor.QK])
			}
			if t.Failed() {
				t.FailNow()
			}
		}
	})
}

// FuzzF16 checks that F32ToF16(F16ToF32(h)) == h for every non-NaN h (a NaN stays a quiet
// NaN of the same sign), and that F32ToF16(x) is the correctly rounded pattern of the float64
// reference.
func FuzzF16(f *testing.F) {
	f.Fuzz(func(t *testing.T, h uint16, x float32) {
		back := tensor.F32ToF16(tensor.F16ToF32(h))
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !isF16QuietNaN(back) || back&0x8000 != h&0x8000 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
		} else if back != h {
			t.Fatalf("%#04x came back as %#04x", h, back)
		}
		got := tensor.F32ToF16(x)
		want, ok := refF16Bits(x)
		if !ok {
			if !isF16QuietNaN(got) || (got&0x8000 != 0) != math.Signbit(float64(x)) {
				t.Fatalf("F32ToF16(NaN %#08x) = %#04x, want a quiet NaN of the same sign", math.Float32bits(x), got)
			}
			return
		}
		if got != want {
			t.Fatalf("F32ToF16(%v [%#08x]) = %#04x, reference %#04x", x, math.Float32bits(x), got, want)
		}
	})
}

// FuzzBF16 is FuzzF16 for bfloat16.
func FuzzBF16(f *testing.F) {
	f.Fuzz(func(t *testing.T, h uint16, x float32) {
		back := tensor.F32ToBF16(tensor.BF16ToF32(h))
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			if !isBF16QuietNaN(back) || back&0x8000 != h&0x8000 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
		} else if back != h {
			t.Fatalf("%#04x came back as %#04x", h, back)
		}
		got := tensor.F32ToBF16(x)
		want, ok := refBF16Bits(x)
		if !ok {
			if !isBF16QuietNaN(got) || (got&0x8000 != 0) != math.Signbit(float64(x)) {
				t.Fatalf("F32ToBF16(NaN %#08x) = %#04x, want a quiet NaN of the same sign", math.Float32bits(x), got)
			}
			return
		}
		if got != want {
			t.Fatalf("F32ToBF16(%v [%#08x]) = %#04x, reference %#04x", x, math.Float32bits(x), got, want)
		}
	})
}
