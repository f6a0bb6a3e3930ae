package tensor_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"unsafe"

	"github.com/infertune/infertune/engine/tensor"
)

// aligned64 reports whether b's first byte is 64-byte aligned.
func aligned64(b []byte) bool { return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64 == 0 }

// TestMatrixFromF32 builds a matrix of every dtype from seeded data and checks its shape,
// alignment, rows and decoding.
func TestMatrixFromF32(t *testing.T) {
	shapes := []struct{ rows, cols int }{{1, 32}, {3, 64}, {5, 96}, {0, 32}, {2, 0}}
	for _, dt := range tensor.DTypes {
		for _, s := range shapes {
			t.Run(fmt.Sprintf("dtype=%v/rows=%d/cols=%d", dt, s.rows, s.cols), func(t *testing.T) {
				src := gaussian(newRand(uint64(s.rows*1000+s.cols)), s.rows*s.cols, 1)
				m, err := tensor.FromF32(dt, s.rows, s.cols, src)
				if err != nil {
					t.Fatal(err)
				}
				if m.DType != dt || m.Rows != s.rows || m.Cols != s.cols {
					t.Fatalf("matrix is %v %d×%d", m.DType, m.Rows, m.Cols)
				}
				if err := m.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
				rb, _ := dt.RowBytes(s.cols)
				if m.RowBytes() != rb || len(m.Data) != s.rows*rb {
					t.Errorf("RowBytes %d, len(Data) %d; want %d, %d", m.RowBytes(), len(m.Data), rb, s.rows*rb)
				}
				if len(m.Data) > 0 && !aligned64(m.Data) {
					t.Errorf("Data at %p is not 64-byte aligned", unsafe.SliceData(m.Data))
				}
				for i := range s.rows {
					row := m.Row(i)
					want := make([]byte, rb)
					if err := tensor.Encode(dt, want, src[i*s.cols:(i+1)*s.cols]); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(row, want) {
						t.Errorf("Row(%d) differs from Encode of that row", i)
					}
					if len(row) != rb || cap(row) != rb {
						t.Errorf("Row(%d): len %d cap %d, want %d %d", i, len(row), cap(row), rb, rb)
					}
					if len(row) > 0 && &row[0] != &m.Data[i*rb] {
						t.Errorf("Row(%d) is not a view of Data", i)
					}
				}
				y := make([]float32, s.rows*s.cols)
				if err := m.ToF32(y); err != nil {
					t.Fatal(err)
				}
				for i := range s.rows {
					xr, yr := src[i*s.cols:(i+1)*s.cols], y[i*s.cols:(i+1)*s.cols]
					checkDecoded(t, dt, xr, m.Row(i), yr)
				}
			})
		}
	}
}

// checkDecoded checks one decoded row against its source: exact for f32, the nearest value
// for f16 and bf16, the block bounds for q8_0 and q4_0.
func checkDecoded(t *testing.T, dt tensor.DType, x []float32, row []byte, y []float32) {
	t.Helper()
	switch dt {
	case tensor.F32:
		for j := range x {
			if y[j] != x[j] {
				t.Errorf("f32: y[%d] = %v, want %v", j, y[j], x[j])
			}
		}
	case tensor.F16, tensor.BF16:
		ref, val := refF16Bits, refF16Value
		if dt == tensor.BF16 {
			ref, val = refBF16Bits, refBF16Value
		}
		for j := range x {
			h, _ := ref(x[j])
			if float64(y[j]) != val(h) {
				t.Errorf("%v: y[%d] = %v, want %v", dt, j, y[j], val(h))
			}
		}
	case tensor.Q8_0:
		for b := 0; b < len(x)/32; b++ {
			checkQ8Block(t, x[b*32:(b+1)*32], row[b*34:(b+1)*34], y[b*32:(b+1)*32])
		}
	case tensor.Q4_0:
		for b := 0; b < len(x)/32; b++ {
			checkQ4Block(t, x[b*32:(b+1)*32], row[b*18:(b+1)*18], y[b*32:(b+1)*32])
		}
	}
}

// TestNewMatrix checks the zeroed allocation and the shape errors.
func TestNewMatrix(t *testing.T) {
	for _, dt := range tensor.DTypes {
		t.Run("zeroed/"+dt.String(), func(t *testing.T) {
			m, err := tensor.NewMatrix(dt, 4, 64)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if !aligned64(m.Data) {
				t.Errorf("Data is not 64-byte aligned")
			}
			for i, b := range m.Data {
				if b != 0 {
					t.Fatalf("Data[%d] = %#02x, want 0", i, b)
				}
			}
			y := make([]float32, 4*64)
			for i := range y {
				y[i] = 1
			}
			if err := m.ToF32(y); err != nil {
				t.Fatal(err)
			}
			for i, v := range y {
				if v != 0 {
					t.Fatalf("y[%d] = %v, want 0", i, v)
				}
			}
		})
	}
	tests := []struct {
		name       string
		dt         tensor.DType
		rows, cols int
		want       error // errAny: an error without a sentinel
	}{
		{"negative rows", tensor.F32, -1, 4, errAny},
		{"negative cols", tensor.F16, 2, -4, errAny},
		{"q8_0 cols not a block multiple", tensor.Q8_0, 2, 31, tensor.ErrBlockAlign},
		{"q4_0 cols not a block multiple", tensor.Q4_0, 2, 40, tensor.ErrBlockAlign},
		{"unknown dtype", tensor.DType(200), 2, 32, tensor.ErrDType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tensor.NewMatrix(tc.dt, tc.rows, tc.cols)
			if err == nil || (tc.want != errAny && !errors.Is(err, tc.want)) {
				t.Errorf("NewMatrix(%v, %d, %d) = %v, %v; want error %v", tc.dt, tc.rows, tc.cols, m, err, tc.want)
			}
			if tc.rows >= 0 && tc.cols >= 0 {
				src := make([]float32, tc.rows*tc.cols)
				if _, err := tensor.FromF32(tc.dt, tc.rows, tc.cols, src); err == nil || (tc.want != errAny && !errors.Is(err, tc.want)) {
					t.Errorf("FromF32: err = %v, want %v", err, tc.want)
				}
			}
		})
	}
}

// TestFromF32Errors checks FromF32's refusals: a source of the wrong length and values the
// format cannot hold, with the failing row named.
func TestFromF32Errors(t *testing.T) {
	tests := []struct {
		name       string
		dt         tensor.DType
		rows, cols int
		n          int // len(src)
		nanAt      int // -1: none
		want       error
		wantInMsg  string
	}{
		{"src short", tensor.F32, 2, 3, 5, -1, tensor.ErrSize, "5 values"},
		{"src long", tensor.Q8_0, 1, 32, 33, -1, tensor.ErrSize, "33 values"},
		{"NaN in row 1 of q8_0", tensor.Q8_0, 3, 32, 96, 40, tensor.ErrNonFinite, "row 1"},
		{"NaN in row 2 of q4_0", tensor.Q4_0, 3, 64, 192, 130, tensor.ErrNonFinite, "row 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := gaussian(newRand(12), tc.n, 1)
			if tc.nanAt >= 0 {
				src[tc.nanAt] = float32(math.NaN())
			}
			_, err := tensor.FromF32(tc.dt, tc.rows, tc.cols, src)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.wantInMsg)) {
				t.Errorf("error %q does not contain %q", err, tc.wantInMsg)
			}
		})
	}
	t.Run("f16 and bf16 keep NaN and Inf", func(t *testing.T) {
		src := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1}
		for _, dt := range []tensor.DType{tensor.F16, tensor.BF16} {
			m, err := tensor.FromF32(dt, 2, 2, src)
			if err != nil {
				t.Fatalf("%v: %v", dt, err)
			}
			y := make([]float32, 4)
			if err := m.ToF32(y); err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(float64(y[0])) || !math.IsInf(float64(y[1]), 1) || !math.IsInf(float64(y[2]), -1) || y[3] != 1 {
				t.Errorf("%v: decoded %v", dt, y)
			}
		}
	})
}

// TestMatrixValidate checks that Validate catches every disagreement between the fields.
func TestMatrixValidate(t *testing.T) {
	good := func(dt tensor.DType) *tensor.Matrix {
		m, err := tensor.NewMatrix(dt, 3, 64)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, dt := range tensor.DTypes {
		rb, _ := dt.RowBytes(64)
		tests := []struct {
			name   string
			mutate func(*tensor.Matrix)
			want   error // nil: valid; errAny: an error without a sentinel
		}{
			{"as made", func(*tensor.Matrix) {}, nil},
			{"data one byte short", func(m *tensor.Matrix) { m.Data = m.Data[:len(m.Data)-1] }, tensor.ErrSize},
			{"data one byte long", func(m *tensor.Matrix) { m.Data = append(m.Data, 0) }, tensor.ErrSize},
			{"data one row short", func(m *tensor.Matrix) { m.Data = m.Data[:2*rb] }, tensor.ErrSize},
			{"data nil", func(m *tensor.Matrix) { m.Data = nil }, tensor.ErrSize},
			{"rows changed", func(m *tensor.Matrix) { m.Rows = 4 }, tensor.ErrSize},
			// 2 rows of 96 hold as many bytes as 3 rows of 64: Validate cannot tell, and need not.
			{"same bytes, other shape", func(m *tensor.Matrix) { m.Cols = 96; m.Rows = 2 }, nil},
			{"negative rows", func(m *tensor.Matrix) { m.Rows = -3 }, errAny},
			{"negative cols", func(m *tensor.Matrix) { m.Cols = -64 }, errAny},
			{"unknown dtype", func(m *tensor.Matrix) { m.DType = 77 }, tensor.ErrDType},
		}
		if dt.Quantized() {
			tests = append(tests, struct {
				name   string
				mutate func(*tensor.Matrix)
				want   error
			}{"cols not a block multiple", func(m *tensor.Matrix) { m.Cols = 63 }, tensor.ErrBlockAlign})
		}
		for _, tc := range tests {
			t.Run(dt.String()+"/"+tc.name, func(t *testing.T) {
				m := good(dt)
				tc.mutate(m)
				err := m.Validate()
				switch {
				case tc.want == nil && err != nil:
					t.Errorf("Validate: %v", err)
				case tc.want != nil && err == nil:
					t.Errorf("Validate accepted %v %d×%d with %d bytes", m.DType, m.Rows, m.Cols, len(m.Data))
				case tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
					t.Errorf("Validate: err = %v, want %v", err, tc.want)
				}
			})
		}
	}
}

// TestMatrixToF32Size checks that ToF32 refuses a destination of the wrong length.
func TestMatrixToF32Size(t *testing.T) {
	m, err := tensor.NewMatrix(tensor.Q4_0, 2, 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 63, 65} {
		if err := m.ToF32(make([]float32, n)); !errors.Is(err, tensor.ErrSize) {
			t.Errorf("ToF32 into %d values: err = %v, want ErrSize", n, err)
		}
	}
}

// TestAlignedBytes checks length, capacity, alignment and zeroing for sizes around the
// alignment, over many allocations so that the allocator's offsets vary.
func TestAlignedBytes(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 7, 31, 63, 64, 65, 100, 127, 128, 1000, 4095, 4096, 65537}
	for _, n := range sizes {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var keep [][]byte // keep them alive so later ones land elsewhere
			for k := range 64 {
				b := tensor.AlignedBytes(n)
				if len(b) != n || cap(b) != n {
					t.Fatalf("len %d cap %d, want %d %d", len(b), cap(b), n, n)
				}
				if b == nil {
					t.Fatalf("AlignedBytes(%d) = nil", n)
				}
				if !aligned64(b) {
					t.Fatalf("allocation %d: %p is not 64-byte aligned", k, unsafe.SliceData(b))
				}
				for i, v := range b {
					if v != 0 {
						t.Fatalf("b[%d] = %#02x, want 0", i, v)
					}
				}
				for i := range b {
					b[i] = 0xff // the whole length is writable
				}
				keep = append(keep, b)
			}
			_ = keep
		})
	}
	t.Run("odd-sized neighbours", func(t *testing.T) {
		// Small odd allocations in between push the next one to unaligned addresses.
		var keep [][]byte
		for k := range 200 {
			keep = append(keep, make([]byte, 1+k%13))
			b := tensor.AlignedBytes(1 + k%70)
			if !aligned64(b) {
				t.Fatalf("allocation %d: %p is not 64-byte aligned", k, unsafe.SliceData(b))
			}
			keep = append(keep, b)
		}
		_ = keep
	})
}

// TestViews checks AsF32, AsU16 and F32Bytes: they share memory with their argument and
// have the right lengths; too-short inputs give nil.
func TestViews(t *testing.T) {
	t.Run("AsF32", func(t *testing.T) {
		tests := []struct {
			name string
			n    int
			want int
		}{
			{"empty", 0, 0},
			{"three bytes", 3, 0},
			{"four bytes", 4, 1},
			{"ten bytes", 10, 2},
			{"sixty-four bytes", 64, 16},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := tensor.AlignedBytes(tc.n)
				f := tensor.AsF32(b)
				if len(f) != tc.want {
					t.Fatalf("len = %d, want %d", len(f), tc.want)
				}
				if tc.want == 0 {
					if f != nil {
						t.Errorf("AsF32 of %d bytes = %v, want nil", tc.n, f)
					}
					return
				}
				f[0] = 1.5 // 0x3fc00000, little endian
				if b[0] != 0 || b[1] != 0 || b[2] != 0xc0 || b[3] != 0x3f {
					t.Errorf("writing 1.5 through the view gave bytes % x", b[:4])
				}
			})
		}
	})
	t.Run("AsU16", func(t *testing.T) {
		tests := []struct {
			name string
			n    int
			want int
		}{
			{"empty", 0, 0},
			{"one byte", 1, 0},
			{"two bytes", 2, 1},
			{"five bytes", 5, 2},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := tensor.AlignedBytes(tc.n)
				u := tensor.AsU16(b)
				if len(u) != tc.want {
					t.Fatalf("len = %d, want %d", len(u), tc.want)
				}
				if tc.want == 0 {
					if u != nil {
						t.Errorf("AsU16 of %d bytes = %v, want nil", tc.n, u)
					}
					return
				}
				u[0] = 0x3c00
				if b[0] != 0x00 || b[1] != 0x3c {
					t.Errorf("writing 0x3c00 through the view gave bytes % x", b[:2])
				}
			})
		}
	})
	t.Run("F32Bytes", func(t *testing.T) {
		if b := tensor.F32Bytes(nil); b != nil {
			t.Errorf("F32Bytes(nil) = %v, want nil", b)
		}
		f := []float32{1, -2}
		b := tensor.F32Bytes(f)
		if want := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}; !bytes.Equal(b, want) {
			t.Errorf("F32Bytes = % x, want % x", b, want)
		}
		b[7] = 0x40
		if f[1] != 2 {
			t.Errorf("writing through the byte view: f[1] = %v, want 2", f[1])
		}
		if g := tensor.AsF32(b); &g[0] != &f[0] || len(g) != 2 {
			t.Errorf("AsF32(F32Bytes(f)) is not f")
		}
	})
}

// TestShapeOverflow checks that shapes whose byte count does not fit in an int are refused
// with an error, neither wrapped around to a small (or negative) size nor left to panic in
// make. Shapes come from file headers (GGUF), so a corrupt or hostile file must not yield a
// Matrix whose Data is shorter than its shape, nor crash the process.
func TestShapeOverflow(t *testing.T) {
	// noPanic runs f and turns a panic into a test error.
	noPanic := func(t *testing.T, what string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s panicked: %v; want an error", what, r)
			}
		}()
		f()
	}
	t.Run("RowBytes", func(t *testing.T) {
		tests := []struct {
			name string
			dt   tensor.DType
			n    int
		}{
			{"f32 2^62 elements (2^64 bytes wraps to 0)", tensor.F32, 1 << 62},
			{"f16 2^62 elements", tensor.F16, 1 << 62},
			{"q8_0 max int rounded to blocks", tensor.Q8_0, math.MaxInt &^ 31},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.dt.RowBytes(tc.n)
				if err == nil {
					t.Errorf("%v.RowBytes(%d) = %d, nil; want an error (the size overflows int)", tc.dt, tc.n, got)
				}
			})
		}
	})
	tests := []struct {
		name       string
		dt         tensor.DType
		rows, cols int
	}{
		{"f32 2^62×4 (rows×16 bytes wraps to 0)", tensor.F32, 1 << 62, 4},
		{"f32 2^31×2^31 (2^64 bytes wraps to 0)", tensor.F32, 1 << 31, 1 << 31},
		{"q8_0 2^62×32 (rows×34 bytes wraps negative)", tensor.Q8_0, 1 << 62, 32},
		{"q4_0 2^60×2^10", tensor.Q4_0, 1 << 60, 1 << 10},
	}
	for _, tc := range tests {
		t.Run("NewMatrix/"+tc.name, func(t *testing.T) {
			noPanic(t, "NewMatrix", func() {
				m, err := tensor.NewMatrix(tc.dt, tc.rows, tc.cols)
				if err == nil {
					t.Errorf("NewMatrix(%v, %d, %d) succeeded with %d bytes of Data; want an error", tc.dt, tc.rows, tc.cols, len(m.Data))
				}
			})
		})
		if n := tc.rows * tc.cols; n >= 0 && n <= 1<<10 {
			// rows×cols wraps to a small count: a source of that length passes FromF32's
			// length check, and only the byte size is left to catch the shape.
			t.Run("FromF32/"+tc.name, func(t *testing.T) {
				src := make([]float32, n)
				noPanic(t, "FromF32", func() {
					if _, err := tensor.FromF32(tc.dt, tc.rows, tc.cols, src); err == nil {
						t.Errorf("FromF32(%v, %d, %d, %d values) succeeded; want an error", tc.dt, tc.rows, tc.cols, n)
					}
				})
			})
		}
		t.Run("Validate/"+tc.name, func(t *testing.T) {
			m := &tensor.Matrix{DType: tc.dt, Rows: tc.rows, Cols: tc.cols}
			rb, _ := tc.dt.RowBytes(tc.cols)
			m.Data = make([]byte, max(0, tc.rows*rb)) // what the wrapped size asks for
			noPanic(t, "Validate", func() {
				if err := m.Validate(); err == nil {
					t.Errorf("Validate accepted %v %d×%d with %d bytes of Data", tc.dt, tc.rows, tc.cols, len(m.Data))
				}
			})
		})
	}
}
