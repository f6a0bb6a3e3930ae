package tensor

import (
	"fmt"
	"math"
	"unsafe"
)

// Matrix is a row-major matrix of Rows×Cols elements of DType. Each row occupies RowBytes
// bytes of Data, rows back to back, so a row of a block format is a run of whole blocks.
// Data is 64-byte aligned when the Matrix is made by NewMatrix or FromF32.
type Matrix struct {
	DType      DType
	Rows, Cols int
	Data       []byte
}

// NewMatrix allocates a zeroed rows×cols matrix of dt. cols must be a whole number of blocks
// for Q8_0 and Q4_0.
func NewMatrix(dt DType, rows, cols int) (*Matrix, error) {
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("new matrix: negative shape %d×%d", rows, cols)
	}
	rb, err := dt.RowBytes(cols)
	if err != nil {
		return nil, fmt.Errorf("new matrix: %w", err)
	}
	if rb != 0 && rows > (math.MaxInt-64)/rb {
		return nil, fmt.Errorf("new matrix: %w: %d×%d %s overflows", ErrSize, rows, cols, dt)
	}
	return &Matrix{DType: dt, Rows: rows, Cols: cols, Data: AlignedBytes(rows * rb)}, nil
}

// FromF32 builds a rows×cols matrix of dt from row-major fp32 values, converting or
// quantizing every row (see Encode).
func FromF32(dt DType, rows, cols int, src []float32) (*Matrix, error) {
	if rows < 0 || cols < 0 || (cols != 0 && rows > math.MaxInt/cols) {
		return nil, fmt.Errorf("matrix from f32: %w: shape %d×%d", ErrSize, rows, cols)
	}
	if len(src) != rows*cols {
		return nil, fmt.Errorf("matrix from f32: %w: %d values for %d×%d", ErrSize, len(src), rows, cols)
	}
	m, err := NewMatrix(dt, rows, cols)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if err := Encode(dt, m.Row(i), src[i*cols:(i+1)*cols]); err != nil {
			return nil, fmt.Errorf("matrix from f32: row %d: %w", i, err)
		}
	}
	return m, nil
}

// RowBytes returns the bytes one row occupies.
func (m *Matrix) RowBytes() int {
	rb, _ := m.DType.RowBytes(m.Cols)
	return rb
}

// Row returns row i's bytes (a slice of Data, not a copy).
func (m *Matrix) Row(i int) []byte {
	rb := m.RowBytes()
	return m.Data[i*rb : (i+1)*rb : (i+1)*rb]
}

// Validate reports whether the shape, dtype and Data length agree.
func (m *Matrix) Validate() error {
	if !m.DType.Valid() {
		return fmt.Errorf("matrix: %w: %v", ErrDType, m.DType)
	}
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("matrix: negative shape %d×%d", m.Rows, m.Cols)
	}
	rb, err := m.DType.RowBytes(m.Cols)
	if err != nil {
		return fmt.Errorf("matrix: %w", err)
	}
	if rb != 0 && m.Rows > math.MaxInt/rb {
		return fmt.Errorf("matrix: %w: %d×%d %s overflows", ErrSize, m.Rows, m.Cols, m.DType)
	}
	if len(m.Data) != m.Rows*rb {
		return fmt.Errorf("matrix: %w: %d bytes of data for %d×%d %s, want %d", ErrSize, len(m.Data), m.Rows, m.Cols, m.DType, m.Rows*rb)
	}
	return nil
}

// ToF32 decodes the whole matrix into dst (Rows*Cols values, row-major).
func (m *Matrix) ToF32(dst []float32) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("matrix to f32: %w", err)
	}
	if len(dst) != m.Rows*m.Cols {
		return fmt.Errorf("matrix to f32: %w: %d values for %d×%d", ErrSize, len(dst), m.Rows, m.Cols)
	}
	for i := range m.Rows {
		if err := Decode(m.DType, dst[i*m.Cols:(i+1)*m.Cols], m.Row(i)); err != nil {
			return fmt.Errorf("matrix to f32: row %d: %w", i, err)
		}
	}
	return nil
}

// AlignedBytes returns n zeroed bytes whose first byte is 64-byte aligned (a cache line, and
// the width of an AVX-512 vector).
func AlignedBytes(n int) []byte {
	const align = 64
	buf := make([]byte, n+align)
	off := 0
	if r := uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % align; r != 0 {
		off = int(align - r)
	}
	return buf[off : off+n : off+n]
}

// AsF32 views b as float32 values (len(b)/4 of them) without copying. b must be 4-byte
// aligned, as every Matrix's Data is.
func AsF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// AsU16 views b as uint16 values (len(b)/2 of them) without copying. b must be 2-byte
// aligned.
func AsU16(b []byte) []uint16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}

// F32Bytes views float32 values as their bytes without copying.
func F32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}
