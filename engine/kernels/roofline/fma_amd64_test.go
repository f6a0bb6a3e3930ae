//go:build amd64

package roofline

import (
	"math"
	"testing"
)

// fmaTwin is the Go twin of fmaZMM and fmaYMM: for every lane, n times
// acc = fma(a, b, acc), rounded once to float32.
//
// math.FMA works in float64, and rounding its result to float32 rounds twice; the twin is
// exact only where the float64 result is exact, that is where a·b + acc needs at most 53
// significant bits. The test's values see to that (see TestFMAAsmMatchesTwin).
func fmaTwin(n int, a, b float32, acc []float32) {
	for i := range acc {
		v := acc[i]
		for range n {
			v = float32(math.FMA(float64(a), float64(b), float64(v)))
		}
		acc[i] = v
	}
}

func TestFMAAsmMatchesTwin(t *testing.T) {
	loops := []struct {
		loop fmaLoop
		ok   bool
	}{{zmmLoop(), hasZMM()}, {ymmLoop(), hasYMM()}}
	// a = 1+2^-10 and b = 1+2^-7: a·b has 18 significant bits (2^0 .. 2^-17) and the
	// accumulators stay in [1, 2^11), so a·b + acc spans at most 2^10 .. 2^-17: 28 bits, exact
	// in float64. The float32 rounding of the sum is real (ulp(1024) = 2^-13 > 2^-17), so the
	// test sees the hardware round exactly as the twin does. a = 1, b = 2^-2 is exact
	// throughout.
	cases := []struct {
		name string
		a, b float32
	}{
		{"rounding", 1 + 1.0/1024, 1 + 1.0/128},
		{"exact", 1, 0.25},
	}
	for _, l := range loops {
		t.Run(l.loop.name, func(t *testing.T) {
			if !l.ok {
				t.Skipf("this CPU cannot run the %s loop", l.loop.name)
			}
			for _, c := range cases {
				for _, n := range []int{0, 1, 2, 7, 1000} {
					size := l.loop.lanes * l.loop.accs
					got := make([]float32, size+2)
					got[0], got[size+1] = -7, -7 // guards
					acc := got[1 : size+1 : size+1]
					for i := range acc {
						acc[i] = 1 + float32(i)
					}
					want := append([]float32(nil), acc...)
					l.loop.run(n, c.a, c.b, acc)
					fmaTwin(n, c.a, c.b, want)
					rounded := false
					for i := range acc {
						if acc[i] != want[i] {
							t.Fatalf("%s n=%d: acc[%d] = %v, twin %v", c.name, n, i, acc[i], want[i])
						}
						exact := (1 + float64(i)) + float64(n)*float64(c.a)*float64(c.b)
						rounded = rounded || float64(acc[i]) != exact
					}
					if got[0] != -7 || got[size+1] != -7 {
						t.Fatalf("%s n=%d: guard values overwritten: %v, %v", c.name, n, got[0], got[size+1])
					}
					if c.name == "rounding" && n == 1000 && !rounded {
						t.Errorf("%s n=%d: no lane rounded; the test would not catch a wrong rounding", c.name, n)
					}
				}
			}
		})
	}
}
