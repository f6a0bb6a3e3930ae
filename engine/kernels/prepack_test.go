package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// TestPrepackSameResults holds MatMul on prepacked matrices to MatMul on the same matrices
// unpacked per call, bit for bit (the tiles do the same arithmetic on the same values), on
// every tier and thread count, for row counts on both sides of a weight panel (6 rows).
// Between quantColsPacked and quantColsMax columns the prepacked matrix runs on the tiles
// and the other on row groups, so there the two agree within the float tolerance. A matrix
// whose data is replaced afterwards is unpacked per call again.
func TestPrepackSameResults(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, c := range benchConfigs() {
		plain, packed := newKernels(t, c.cfg), newKernels(t, c.cfg)
		for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0, tensor.F32} {
			for _, m := range []int{1, 5, 6, 7, 13, 100} {
				for _, k := range []int{32, 288} {
					w := randMatrix(t, r, dt, m, k)
					added := packed.Prepack(w)
					vnni := c.cfg.Tier == SIMD && packed.ISA() >= ISAAVX512VNNI && dt != tensor.F32
					if (added > 0) != vnni {
						t.Fatalf("%s %s %dx%d: Prepack added %d bytes; want some only for VNNI's quantized tiles", c.name, dt, m, k, added)
					}
					if again := packed.Prepack(w); again != 0 {
						t.Fatalf("%s %s: a second Prepack added %d bytes", c.name, dt, again)
					}
					for _, n := range []int{2, quantColsPacked - 1, quantColsPacked, quantColsMax - 1, quantColsMax, 33, 70} {
						name := fmt.Sprintf("%s/%s/m=%d/k=%d/n=%d", c.name, dt, m, k, n)
						x := randVec(r, n*k)
						want, got := make([]float32, n*m), make([]float32, n*m)
						plain.MatMul(want, w, x, n)
						packed.MatMul(got, w, x, n)
						if n < quantColsPacked || n >= quantColsMax {
							if !slices.Equal(got, want) {
								t.Fatalf("%s: prepacked MatMul differs from unpacked", name)
							}
							continue
						}
						mag := magnitudes(t, w, x, n)
						for i := range got {
							if d := math.Abs(float64(got[i] - want[i])); d > tolerance(mag[i]) {
								t.Fatalf("%s: y[%d] = %v prepacked, %v unpacked (diff %g, tolerance %g)", name, i, got[i], want[i], d, tolerance(mag[i]))
							}
						}
					}
					// New data under the same matrix: the pack no longer applies.
					fresh := randMatrix(t, r, dt, m, k)
					w.Data = fresh.Data
					x := randVec(r, 40*k)
					want, got := make([]float32, 40*m), make([]float32, 40*m)
					plain.MatMul(want, w, x, 40)
					packed.MatMul(got, w, x, 40)
					if !slices.Equal(got, want) {
						t.Fatalf("%s %s m=%d k=%d: MatMul after the data changed used the stale pack", c.name, dt, m, k)
					}
				}
			}
		}
	}
}
