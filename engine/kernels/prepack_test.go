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

// TestMatMulsSameResults holds MatMuls to MatMul on each of its matrices, bit for bit
// (together or not, every matrix runs the same kernels on the same packed x), on every
// tier and thread count: matrices of row counts on both sides of a weight panel, dtypes
// alike and mixed (a float among int8 runs one MatMul after another), some prepacked,
// some reading one x and some their own, for column counts on both sides of the tiles'
// thresholds.
func TestMatMulsSameResults(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	const k = 64
	for _, c := range benchConfigs() {
		kern := newKernels(t, c.cfg)
		for _, dts := range [][]tensor.DType{
			{tensor.Q8_0, tensor.Q8_0, tensor.Q8_0, tensor.Q4_0},
			{tensor.Q4_0, tensor.Q8_0},
			{tensor.Q8_0, tensor.F32},
			{tensor.Q4_0},
		} {
			for _, prepack := range []bool{false, true} {
				ws := make([]*tensor.Matrix, len(dts))
				for i, dt := range dts {
					ws[i] = randMatrix(t, r, dt, []int{7, 12, 1, 100}[i], k)
					if prepack && i == 0 {
						kern.Prepack(ws[i])
					}
				}
				for _, n := range []int{1, 2, quantColsPacked, quantColsMax, 33, 70} {
					name := fmt.Sprintf("%s/%v/prepacked=%v/n=%d", c.name, dts, prepack, n)
					// Matrices 0 and 1 read one x, the others their own.
					shared := randVec(r, n*k)
					ys, xs := make([][]float32, len(ws)), make([][]float32, len(ws))
					for i, w := range ws {
						ys[i], xs[i] = make([]float32, n*w.Rows), shared
						if i > 1 {
							xs[i] = randVec(r, n*k)
						}
					}
					kern.MatMuls(ys, ws, xs, n)
					for i, w := range ws {
						want := make([]float32, n*w.Rows)
						kern.MatMul(want, w, xs[i], n)
						if !slices.Equal(ys[i], want) {
							t.Fatalf("%s: matrix %d differs from its MatMul", name, i)
						}
					}
				}
			}
		}
	}
}
