package tensor

import (
	"fmt"
	"math"
	"strings"
)

// DType is the element type of a tensor.
type DType uint8

// The element types. The zero value is F32.
const (
	F32  DType = iota // IEEE 754 binary32
	F16               // IEEE 754 binary16
	BF16              // bfloat16: the top half of a binary32
	Q8_0              // ggml Q8_0: blocks of 32 int8 with an fp16 scale
	Q4_0              // ggml Q4_0: blocks of 32 4-bit values with an fp16 scale
)

// QK is the number of elements in one block of Q8_0 and Q4_0.
const QK = 32

// Block sizes in bytes.
const (
	Q8_0BlockBytes = 2 + QK   // 34
	Q4_0BlockBytes = 2 + QK/2 // 18
)

// DTypes lists every element type, in declaration order.
var DTypes = []DType{F32, F16, BF16, Q8_0, Q4_0}

var dtypeNames = [...]string{F32: "f32", F16: "f16", BF16: "bf16", Q8_0: "q8_0", Q4_0: "q4_0"}

// String returns the lowercase ggml name of d: f32, f16, bf16, q8_0 or q4_0.
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Valid reports whether d is one of the defined element types.
func (d DType) Valid() bool { return int(d) < len(dtypeNames) }

// ParseDType reads a dtype name. It accepts the ggml names (f32, f16, bf16, q8_0, q4_0) and
// the precision names used across infertune (fp32, fp16, int8 for q8_0, int4 for q4_0),
// case-insensitively.
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f32", "fp32", "float32":
		return F32, nil
	case "f16", "fp16", "float16", "half":
		return F16, nil
	case "bf16", "bfloat16":
		return BF16, nil
	case "q8_0", "q8", "int8":
		return Q8_0, nil
	case "q4_0", "q4", "int4":
		return Q4_0, nil
	}
	return 0, fmt.Errorf("unknown dtype %q: accepted f32 (fp32), f16 (fp16), bf16, q8_0 (int8), q4_0 (int4)", s)
}

// BlockElems returns how many elements one storage block of d holds: 1 for the float types,
// QK for the block formats.
func (d DType) BlockElems() int {
	if d == Q8_0 || d == Q4_0 {
		return QK
	}
	return 1
}

// BlockBytes returns the size in bytes of one storage block of d.
func (d DType) BlockBytes() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	case Q8_0:
		return Q8_0BlockBytes
	case Q4_0:
		return Q4_0BlockBytes
	}
	return 0
}

// Quantized reports whether d is a block format (Q8_0 or Q4_0).
func (d DType) Quantized() bool { return d == Q8_0 || d == Q4_0 }

// RowBytes returns the bytes needed for n elements of d. It fails with ErrBlockAlign when n
// is not a whole number of blocks, and for negative n.
func (d DType) RowBytes(n int) (int, error) {
	if !d.Valid() {
		return 0, fmt.Errorf("row bytes: %w: %v", ErrDType, d)
	}
	if n < 0 {
		return 0, fmt.Errorf("row bytes: negative length %d", n)
	}
	be := d.BlockElems()
	if n%be != 0 {
		return 0, fmt.Errorf("row bytes: %w: %s length %d is not a multiple of %d", ErrBlockAlign, d, n, be)
	}
	if n/be > math.MaxInt/d.BlockBytes() {
		return 0, fmt.Errorf("row bytes: %w: %s length %d overflows", ErrSize, d, n)
	}
	return n / be * d.BlockBytes(), nil
}

// BitsPerWeight returns the storage cost of one element of d in bits (8.5 for Q8_0, 4.5 for
// Q4_0: the fp16 scale is shared by 32 elements).
func (d DType) BitsPerWeight() float64 {
	return float64(d.BlockBytes()*8) / float64(d.BlockElems())
}
