package tensor_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// TestDTypeProperties checks each dtype's name, block shape and storage cost.
func TestDTypeProperties(t *testing.T) {
	tests := []struct {
		dt         tensor.DType
		name       string
		blockElems int
		blockBytes int
		quantized  bool
		bits       float64
	}{
		{tensor.F32, "f32", 1, 4, false, 32},
		{tensor.F16, "f16", 1, 2, false, 16},
		{tensor.BF16, "bf16", 1, 2, false, 16},
		{tensor.Q8_0, "q8_0", 32, 34, true, 8.5},
		{tensor.Q4_0, "q4_0", 32, 18, true, 4.5},
	}
	if len(tests) != len(tensor.DTypes) {
		t.Fatalf("%d dtypes tested, %d defined", len(tests), len(tensor.DTypes))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tensor.DTypes[i] != tc.dt {
				t.Errorf("DTypes[%d] = %v, want %v (declaration order)", i, tensor.DTypes[i], tc.dt)
			}
			if got := tc.dt.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			if !tc.dt.Valid() {
				t.Errorf("Valid() = false")
			}
			if got := tc.dt.BlockElems(); got != tc.blockElems {
				t.Errorf("BlockElems() = %d, want %d", got, tc.blockElems)
			}
			if got := tc.dt.BlockBytes(); got != tc.blockBytes {
				t.Errorf("BlockBytes() = %d, want %d", got, tc.blockBytes)
			}
			if got := tc.dt.Quantized(); got != tc.quantized {
				t.Errorf("Quantized() = %v, want %v", got, tc.quantized)
			}
			if got := tc.dt.BitsPerWeight(); got != tc.bits {
				t.Errorf("BitsPerWeight() = %v, want %v", got, tc.bits)
			}
		})
	}
	t.Run("zero value is f32", func(t *testing.T) {
		var d tensor.DType
		if d != tensor.F32 {
			t.Errorf("zero DType = %v, want f32", d)
		}
	})
	t.Run("block size constants", func(t *testing.T) {
		if tensor.QK != 32 || tensor.Q8_0BlockBytes != 34 || tensor.Q4_0BlockBytes != 18 {
			t.Errorf("QK, Q8_0BlockBytes, Q4_0BlockBytes = %d, %d, %d, want 32, 34, 18", tensor.QK, tensor.Q8_0BlockBytes, tensor.Q4_0BlockBytes)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		for _, d := range []tensor.DType{5, 99, 255} {
			if d.Valid() {
				t.Errorf("DType(%d).Valid() = true", d)
			}
			if got := d.String(); !strings.HasPrefix(got, "dtype(") {
				t.Errorf("DType(%d).String() = %q, want dtype(N)", d, got)
			}
			if d.Quantized() || d.BlockBytes() != 0 {
				t.Errorf("DType(%d): Quantized %v, BlockBytes %d", d, d.Quantized(), d.BlockBytes())
			}
		}
		if got := tensor.DType(7).String(); got != "dtype(7)" {
			t.Errorf("DType(7).String() = %q, want dtype(7)", got)
		}
	})
}

// TestParseDType checks names, aliases and case, and the round trip with String.
func TestParseDType(t *testing.T) {
	for _, dt := range tensor.DTypes {
		t.Run("round trip/"+dt.String(), func(t *testing.T) {
			got, err := tensor.ParseDType(dt.String())
			if err != nil || got != dt {
				t.Errorf("ParseDType(%q) = %v, %v; want %v", dt.String(), got, err, dt)
			}
		})
	}
	tests := []struct {
		in   string
		want tensor.DType
	}{
		{"fp32", tensor.F32},
		{"FP32", tensor.F32},
		{"float32", tensor.F32},
		{"F32", tensor.F32},
		{"fp16", tensor.F16},
		{"Fp16", tensor.F16},
		{"float16", tensor.F16},
		{"half", tensor.F16},
		{" f16 ", tensor.F16},
		{"BF16", tensor.BF16},
		{"bfloat16", tensor.BF16},
		{"int8", tensor.Q8_0},
		{"INT8", tensor.Q8_0},
		{"q8", tensor.Q8_0},
		{"Q8_0", tensor.Q8_0},
		{"int4", tensor.Q4_0},
		{"Int4", tensor.Q4_0},
		{"q4", tensor.Q4_0},
		{"Q4_0", tensor.Q4_0},
		{"\tq4_0\n", tensor.Q4_0},
	}
	for _, tc := range tests {
		t.Run("alias/"+tc.in, func(t *testing.T) {
			got, err := tensor.ParseDType(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseDType(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{"", "f64", "fp8", "q5_0", "q4_1", "int2", "float", "q8_0x", "f 16"} {
		t.Run("unknown/"+in, func(t *testing.T) {
			_, err := tensor.ParseDType(in)
			if err == nil {
				t.Fatalf("ParseDType(%q) succeeded", in)
			}
			msg := err.Error()
			for _, name := range []string{"f32", "f16", "bf16", "q8_0", "q4_0", "fp32", "fp16", "int8", "int4"} {
				if !strings.Contains(msg, name) {
					t.Errorf("error %q does not mention the accepted name %s", msg, name)
				}
			}
			if !strings.Contains(msg, `"`+in+`"`) {
				t.Errorf("error %q does not quote the input", msg)
			}
		})
	}
}

// TestRowBytes checks the bytes needed for n elements of each dtype, and the refusals.
func TestRowBytes(t *testing.T) {
	tests := []struct {
		name string
		dt   tensor.DType
		n    int
		want int
		err  error // nil: no error; errAny: an error without a sentinel
	}{
		{"f32 zero", tensor.F32, 0, 0, nil},
		{"f32 odd", tensor.F32, 3, 12, nil},
		{"f16", tensor.F16, 5, 10, nil},
		{"bf16", tensor.BF16, 7, 14, nil},
		{"q8_0 one block", tensor.Q8_0, 32, 34, nil},
		{"q8_0 two blocks", tensor.Q8_0, 64, 68, nil},
		{"q8_0 4096", tensor.Q8_0, 4096, 4352, nil},
		{"q4_0 one block", tensor.Q4_0, 32, 18, nil},
		{"q4_0 4096", tensor.Q4_0, 4096, 2304, nil},
		{"q8_0 zero", tensor.Q8_0, 0, 0, nil},
		{"q8_0 unaligned", tensor.Q8_0, 31, 0, tensor.ErrBlockAlign},
		{"q8_0 one past", tensor.Q8_0, 33, 0, tensor.ErrBlockAlign},
		{"q4_0 unaligned", tensor.Q4_0, 48, 0, tensor.ErrBlockAlign},
		{"f32 negative", tensor.F32, -1, 0, errAny},
		{"q8_0 negative", tensor.Q8_0, -32, 0, errAny},
		{"unknown dtype", tensor.DType(9), 32, 0, tensor.ErrDType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.dt.RowBytes(tc.n)
			switch {
			case tc.err == nil && err != nil:
				t.Fatalf("RowBytes(%d) failed: %v", tc.n, err)
			case tc.err == errAny && err == nil, tc.err != nil && tc.err != errAny && !errors.Is(err, tc.err):
				t.Fatalf("RowBytes(%d) = %d, %v; want error %v", tc.n, got, err, tc.err)
			}
			if got != tc.want {
				t.Errorf("RowBytes(%d) = %d, want %d", tc.n, got, tc.want)
			}
		})
	}
}

// errAny marks a case that must fail without a particular sentinel.
var errAny = errors.New("any error")
