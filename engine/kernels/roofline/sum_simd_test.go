//go:build goexperiment.simd && amd64

package roofline

import (
	"simd/archsimd"
	"testing"
)

func TestSum512(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("no AVX-512 on this CPU")
	}
	testSum(t, "sum512", sum512)
}

func TestSum256(t *testing.T) {
	if !archsimd.X86.AVX2() {
		t.Skip("no AVX2 on this CPU")
	}
	testSum(t, "sum256", sum256)
}
