package model

import (
	"math"
	"testing"
)

// TestExp32 holds exp32 against math.Exp over the float32 range, in ulps of the result.
func TestExp32(t *testing.T) {
	worst := 0.0
	check := func(x float32) {
		got := exp32(x)
		want := math.Exp(float64(x))
		if want > math.MaxFloat32 {
			if !math.IsInf(float64(got), 1) {
				t.Fatalf("exp32(%v) = %v, want +Inf", x, got)
			}
			return
		}
		ulp := math.Abs(float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want)))
		if ulp == 0 {
			ulp = math.SmallestNonzeroFloat32
		}
		e := math.Abs(float64(got)-want) / ulp
		worst = max(worst, e)
		if e > 2 {
			t.Fatalf("exp32(%v) = %v, want %v (%.1f ulp)", x, got, want, e)
		}
	}
	for x := float32(-104); x < 89; x += 0.0007 {
		check(x)
	}
	for _, x := range []float32{0, -0, 1, -1, 88.7, 88.72, 88.73, -87.3, -100, -103.9, -104, 1e-8, -1e-8} {
		check(x)
	}
	t.Logf("worst error %.2f ulp", worst)
}
