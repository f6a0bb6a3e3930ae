package roofline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/tensor"
)

func TestValidate(t *testing.T) {
	tiny := func(o Options) Options {
		if o.ColdBytes == 0 {
			o.ColdBytes = 1 << 20
		}
		if o.MatVecM == 0 {
			o.MatVecM, o.MatVecK = 64, 256
		}
		return o
	}
	tests := []struct {
		name string
		opt  Options
		want []string // substrings of the error, each; nil: valid
	}{
		{name: "zero value: all defaults", opt: Options{}},
		{name: "tiny shapes", opt: tiny(Options{Threads: []int{1, 2}, MinTime: time.Millisecond})},
		{name: "dtypes empty", opt: Options{DTypes: []tensor.DType{}}, want: []string{"DTypes: empty list", "accepted"}},
		{name: "dtype unknown", opt: Options{DTypes: []tensor.DType{tensor.F32, 9}}, want: []string{"DTypes[1]", "dtype(9)", "accepted: f32, f16, bf16, q8_0, q4_0"}},
		{name: "dtype twice", opt: Options{DTypes: []tensor.DType{tensor.F16, tensor.F16}}, want: []string{"DTypes[1]", "f16 listed twice"}},
		{name: "tiers empty", opt: Options{Tiers: []kernels.Tier{}}, want: []string{"Tiers: empty list", "accepted: one or more of generic"}},
		{name: "tier unknown", opt: Options{Tiers: []kernels.Tier{7}}, want: []string{"Tiers[0]", "tier(7)", "accepted: generic"}},
		{name: "tier twice", opt: Options{Tiers: []kernels.Tier{kernels.Generic, kernels.Generic}}, want: []string{"Tiers[1]", "generic listed twice"}},
		{name: "threads empty", opt: Options{Threads: []int{}}, want: []string{"Threads: empty list", "1..1024"}},
		{name: "threads zero", opt: Options{Threads: []int{0}}, want: []string{"Threads[0]: 0", "accepted: 1..1024"}},
		{name: "threads negative", opt: Options{Threads: []int{1, -2}}, want: []string{"Threads[1]: -2", "accepted: 1..1024"}},
		{name: "threads too many", opt: Options{Threads: []int{1025}}, want: []string{"Threads[0]: 1025", "accepted: 1..1024"}},
		{name: "threads at the limit", opt: Options{Threads: []int{1024}}},
		{name: "threads twice", opt: Options{Threads: []int{2, 2}}, want: []string{"Threads[1]: 2 listed twice"}},
		{name: "ops empty", opt: Options{Ops: []Op{}}, want: []string{"Ops: empty list", "matvec-hot, matvec-cold, matmul"}},
		{name: "op unknown", opt: Options{Ops: []Op{"matvec"}}, want: []string{`Ops[0]: unknown op "matvec"`, "accepted: matvec-hot, matvec-cold, matmul"}},
		{name: "op twice", opt: Options{Ops: []Op{OpMatMul, OpMatMul}}, want: []string{"Ops[1]: matmul listed twice"}},
		{name: "min time negative", opt: Options{MinTime: -time.Second}, want: []string{"MinTime: -1s", "accepted: 0"}},
		{name: "cold bytes negative", opt: Options{ColdBytes: -1}, want: []string{"ColdBytes: -1", "accepted: 0"}},
		{name: "cold bytes below the f32 matrix", opt: Options{ColdBytes: 1 << 20},
			want: []string{"ColdBytes: 1048576 is below one 4096×4096 f32 matrix (67108864 bytes)", "accepted: at least 67108864"}},
		{name: "cold bytes below the q4_0 matrix", opt: Options{ColdBytes: 1 << 20, DTypes: []tensor.DType{tensor.Q4_0}},
			want: []string{"4096×4096 q4_0 matrix (9437184 bytes)"}},
		{name: "cold bytes small without cold rows", opt: Options{ColdBytes: 1, Ops: []Op{OpMatVecHot, OpMatMul}}},
		{name: "matvec k not a block multiple", opt: tiny(Options{MatVecM: 64, MatVecK: 100}),
			want: []string{"MatVecK: 100 is not a multiple of 32, which q8_0 and q4_0 need", "accepted: a multiple of 32"}},
		{name: "matvec k any length for float dtypes", opt: tiny(Options{MatVecM: 64, MatVecK: 100, DTypes: []tensor.DType{tensor.F32, tensor.BF16}})},
		{name: "matvec m odd is fine", opt: tiny(Options{MatVecM: 63, MatVecK: 256})},
		{name: "matvec m negative", opt: tiny(Options{MatVecM: -1, MatVecK: 256}), want: []string{"MatVecM: -1", "accepted: 0 (default) or 1..1048576"}},
		{name: "matvec m too large", opt: Options{MatVecM: MaxDim + 1, Ops: []Op{OpMatVecHot}}, want: []string{"MatVecM: 1048577"}},
		{name: "matvec too many elements", opt: Options{MatVecM: MaxDim, MatVecK: MaxDim, Ops: []Op{OpMatVecHot}}, want: []string{"MatVecM×MatVecK: 1048576×1048576"}},
		{name: "matvec shape ignored without matvec rows", opt: Options{MatVecK: 100, Ops: []Op{OpMatMul}}},
		{name: "matmul k not a block multiple", opt: Options{MatMulK: 48, DTypes: []tensor.DType{tensor.Q4_0}},
			want: []string{"MatMulK: 48 is not a multiple of 32, which q4_0 need"}},
		{name: "matmul n negative", opt: Options{MatMulN: -8}, want: []string{"MatMulN: -8"}},
		{name: "matmul m negative", opt: Options{MatMulM: -8}, want: []string{"MatMulM: -8"}},
		{name: "matmul batch too large", opt: Options{MatMulN: MaxDim, MatMulK: MaxDim, Ops: []Op{OpMatMul}}, want: []string{"MatMulM×MatMulK×MatMulN"}},
		{name: "every problem at once", opt: Options{DTypes: []tensor.DType{}, Threads: []int{0}, MinTime: -1, MatMulN: -1},
			want: []string{"DTypes: empty", "Threads[0]: 0", "MinTime: -1ns", "MatMulN: -1"}},
	}
	paths := kernels.ISAs()
	if len(paths) > 0 {
		tests = append(tests, []struct {
			name string
			opt  Options
			want []string
		}{
			{name: "every path", opt: Options{ISAs: paths}},
			{name: "isas empty", opt: Options{ISAs: []kernels.ISA{}}, want: []string{"ISAs: empty list", "accepted: one or more of " + paths[0].String()}},
			{name: "isa none", opt: Options{ISAs: []kernels.ISA{kernels.ISANone}}, want: []string{"ISAs[0]: none is not a path of the simd tier", "accepted: " + paths[0].String()}},
			{name: "isa unknown", opt: Options{ISAs: []kernels.ISA{9}}, want: []string{"ISAs[0]: isa(9)"}},
			{name: "isa twice", opt: Options{ISAs: []kernels.ISA{paths[0], paths[0]}}, want: []string{"ISAs[1]: " + paths[0].String() + " listed twice"}},
			{name: "isas without simd", opt: Options{Tiers: []kernels.Tier{kernels.Generic}, ISAs: paths[:1]}, want: []string{"ISAs: " + paths[0].String() + " given without the simd tier"}},
			{name: "prefetch every setting", opt: Options{Prefetch: []kernels.Prefetch{kernels.PrefetchL2, kernels.PrefetchNTA, kernels.PrefetchOff}}},
			{name: "prefetch empty", opt: Options{Prefetch: []kernels.Prefetch{}}, want: []string{"Prefetch: empty list", "accepted: one or more of auto, l2, nta, off"}},
			{name: "prefetch unknown", opt: Options{Prefetch: []kernels.Prefetch{7}}, want: []string{"Prefetch[0]: prefetch(7)", "accepted: auto, l2, nta, off"}},
			{name: "prefetch twice", opt: Options{Prefetch: []kernels.Prefetch{kernels.PrefetchOff, kernels.PrefetchOff}}, want: []string{"Prefetch[1]: off measures the same", "accepted: each setting once"}},
			{name: "prefetch auto beside its setting", opt: Options{Prefetch: []kernels.Prefetch{kernels.DetectPrefetch(), kernels.PrefetchAuto}},
				want: []string{"Prefetch[1]: auto measures the same", "auto is " + kernels.DetectPrefetch().String()}},
			{name: "prefetch without simd", opt: Options{Tiers: []kernels.Tier{kernels.Generic}, Prefetch: []kernels.Prefetch{kernels.PrefetchL2}}, want: []string{"Prefetch: given without the simd tier"}},
		}...)
	} else {
		tests = append(tests, struct {
			name string
			opt  Options
			want []string
		}{name: "no simd paths here", opt: Options{Tiers: []kernels.Tier{kernels.Generic}, ISAs: []kernels.ISA{kernels.ISAAVX2}},
			want: []string{"ISAs[0]: avx2 is not a path of the simd tier on this CPU", "accepted: none here"}})
	}
	if !kernels.SIMDBuilt() || kernels.BestTier() != kernels.SIMD {
		tests = append(tests, struct {
			name string
			opt  Options
			want []string
		}{name: "simd not usable", opt: Options{Tiers: []kernels.Tier{kernels.SIMD}}, want: []string{"Tiers[0]: tier simd is not usable in this process", "accepted: generic"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opt.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q\nwant it to contain %q", err, w)
				}
			}
			// Every line names what would be accepted.
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, "accepted") {
					t.Errorf("message %q does not say what is accepted", line)
				}
			}
		})
	}
}

func TestValidateJoinsEveryProblem(t *testing.T) {
	err := Options{Threads: []int{0, 2000}, MinTime: -1, ColdBytes: -5}.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate() = %v, want errors.Join of several", err)
	}
	if n := len(joined.Unwrap()); n != 4 {
		t.Errorf("Validate() joined %d errors, want 4:\n%v", n, err)
	}
}

func TestParseOp(t *testing.T) {
	tests := []struct {
		in   string
		want []Op
	}{
		{"matvec", []Op{OpMatVecHot, OpMatVecCold}},
		{" MatVec-Hot ", []Op{OpMatVecHot}},
		{"matvec-cold", []Op{OpMatVecCold}},
		{"matmul", []Op{OpMatMul}},
		{"gemm", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOp(tt.in)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), "accepted") {
					t.Fatalf("ParseOp(%q) = %v, %v; want an error naming what is accepted", tt.in, got, err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("ParseOp(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ParseOp(%q) = %v; want %v", tt.in, got, tt.want)
				}
			}
		})
	}
}
