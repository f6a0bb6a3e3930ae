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
// and the other on row groups, and the row groups of a Q8_0 or Q4_0 matrix of rowMinBlocks
// blocks or more read its superblock rows, so there the two agree within the float
// tolerance. A matrix
// whose data is replaced afterwards is unpacked per call again.
func TestPrepackSameResults(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, c := range benchConfigs() {
		plain, packed := newKernels(t, c.cfg), newKernels(t, c.cfg)
		for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0, tensor.F32} {
			for _, m := range []int{1, 5, 6, 7, 13, 100} {
				for _, k := range []int{32, 288, 1568} {
					w := randMatrix(t, r, dt, m, k)
					added := packed.Prepack(w)
					vnni := c.cfg.Tier == SIMD && packed.ISA() >= ISAAVX512VNNI && dt != tensor.F32
					if (added > 0) != vnni {
						t.Fatalf("%s %s %dx%d: Prepack added %d bytes; want some only for VNNI's quantized layouts", c.name, dt, m, k, added)
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
						// Row groups (all columns below quantColsPacked, a last few
						// past the tiles) of a matrix of eight blocks or more read its
						// superblock rows when prepacked, in another order of float
						// operations.
						exact := (n < quantColsPacked || n >= quantColsMax) && !(vnni && k >= rowMinBlocks*tensor.QK)
						if exact {
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

// TestPrepackMatVec holds MatVec and few-column MatMul on Q8_0 and Q4_0 matrices prepacked
// for MatVec (superblock rows on the VNNI path) to the generic tier within the float
// tolerance, for k on both sides of rowMinBlocks and of multiples of a superblock's eight
// blocks (the blocks after the last superblock run on the block kernel) and row counts on
// both sides of the four-row groups, on every tier and thread count; and checks the bytes
// PrepackMatVec adds, that a second call adds none, that Prepack then adds only the tiles,
// and that a matrix whose data is replaced is read as it is again.
func TestPrepackMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	ref := newKernels(t, Config{Tier: Generic, Threads: 1})
	for _, c := range benchConfigs() {
		kern := newKernels(t, c.cfg)
		vnni := c.cfg.Tier == SIMD && kern.ISA() >= ISAAVX512VNNI
		for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0} {
			for _, m := range []int{1, 4, 5, 8, 11, 64} {
				for _, k := range []int{32, 288, 1504, 1536, 1568, 1792, 4096, 4128} {
					name := fmt.Sprintf("%s/%s/m=%d/k=%d", c.name, dt, m, k)
					w := randMatrix(t, r, dt, m, k)
					want := int64(0)
					if vnni && k >= rowMinBlocks*tensor.QK {
						want = int64(len(w.Data))
					}
					if added := kern.PrepackMatVec(w); added != want {
						t.Fatalf("%s: PrepackMatVec added %d bytes; want %d", name, added, want)
					}
					if again := kern.PrepackMatVec(w); again != 0 {
						t.Fatalf("%s: a second PrepackMatVec added %d bytes", name, again)
					}
					for _, n := range []int{1, 3} {
						x := randVec(r, n*k)
						got, exp := make([]float32, n*m), make([]float32, n*m)
						if n == 1 {
							kern.MatVec(got, w, x)
						} else {
							kern.MatMul(got, w, x, n)
						}
						ref.MatMul(exp, w, x, n)
						mag := magnitudes(t, w, x, n)
						for i := range got {
							if d := math.Abs(float64(got[i] - exp[i])); d > tolerance(mag[i]) {
								t.Fatalf("%s/n=%d: y[%d] = %v prepacked, %v generic (diff %g, tolerance %g)", name, n, i, got[i], exp[i], d, tolerance(mag[i]))
							}
						}
					}
					// Both layouts, made at once by another Kernels, less the rows.
					tiles := newKernels(t, c.cfg).Prepack(w) - want
					if added := kern.Prepack(w); added != tiles {
						t.Fatalf("%s: Prepack after PrepackMatVec added %d bytes; want the tiles' %d", name, added, tiles)
					}
					fresh := randMatrix(t, r, dt, m, k)
					w.Data = fresh.Data
					x := randVec(r, k)
					got, exp := make([]float32, m), make([]float32, m)
					kern.MatVec(got, w, x)
					ref.MatVec(exp, w, x)
					mag := magnitudes(t, w, x, 1)
					for i := range got {
						if d := math.Abs(float64(got[i] - exp[i])); d > tolerance(mag[i]) {
							t.Fatalf("%s: after the data changed, y[%d] = %v, generic %v: the stale pack was read", name, i, got[i], exp[i])
						}
					}
				}
			}
		}
	}
}

// TestPackedBytes holds PackedBytes to the bytes Prepack and PrepackMatVec reported adding
// (none where the tier and path keep no layouts, some on the simd tier with VNNI), and to
// zero after Close.
func TestPackedBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	for _, c := range benchConfigs() {
		kern, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		vnni := c.cfg.Tier == SIMD && kern.ISA() >= ISAAVX512VNNI
		a := randMatrix(t, r, tensor.Q8_0, 64, 1536)
		b := randMatrix(t, r, tensor.Q4_0, 8, 4096)
		f := randMatrix(t, r, tensor.F16, 8, 64)
		added := kern.PrepackMatVec(b) + kern.Prepack(a, b, f) + kern.Prepack(a)
		if got := kern.PackedBytes(); got != added {
			t.Errorf("%s: PackedBytes %d after Prepack reported %d", c.name, got, added)
		}
		if vnni != (added > 0) {
			t.Errorf("%s: Prepack added %d bytes; VNNI path %v", c.name, added, vnni)
		}
		kern.Close()
		if got := kern.PackedBytes(); got != 0 {
			t.Errorf("%s: PackedBytes %d after Close", c.name, got)
		}
	}
}

// TestMatMulsSameResults holds MatMuls to MatMul on each of its matrices, bit for bit
// (together or not, every matrix runs the same kernels on the same packed x), on every
// tier and thread count: matrices of row counts on both sides of a weight panel, dtypes
// alike (int8 and int4 together, the float dtypes together) and mixed (a float among
// int8 runs one MatMul after another), some prepacked,
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
			{tensor.F32, tensor.F16, tensor.BF16, tensor.F32},
			{tensor.BF16, tensor.F16},
			{tensor.F16},
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

// TestQuantNaNPropagates checks that a NaN or an infinity reaches the outputs it should on
// every path, prepacked for MatVec or not (superblock rows and their tail blocks included):
// a non-finite activation makes its block's scale NaN, so every row's output is NaN; a
// weight block whose fp16 scale is NaN or infinite makes its own row's output non-finite
// and leaves the other rows finite.
func TestQuantNaNPropagates(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	for _, v := range variants() {
		for _, prepack := range []bool{false, true} {
			kern := newKernels(t, v.cfg)
			for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0} {
				const m = 9
				for _, k := range []int{288, 1568} {
					for _, block := range []int{0, k/tensor.QK - 1} { // in a superblock; in the tail
						name := fmt.Sprintf("%s/prepacked=%v/%s/k=%d/block=%d", v.name, prepack, dt, k, block)
						for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
							w := randMatrix(t, r, dt, m, k)
							if prepack {
								kern.PrepackMatVec(w)
							}
							x := randVec(r, k)
							x[block*tensor.QK+5] = bad
							y := make([]float32, m)
							kern.MatVec(y, w, x)
							for i, v := range y {
								if !math.IsNaN(float64(v)) {
									t.Fatalf("%s: activation %v: y[%d] = %v, want NaN", name, bad, i, v)
								}
							}
							// A non-finite weight scale in row 2 (in a group of four rows) and in
							// row 8 (left over past the two groups).
							for _, row := range []int{2, 8} {
								w := randMatrix(t, r, dt, m, k)
								h := tensor.F32ToF16(bad)
								off := row*w.RowBytes() + block*dt.BlockBytes()
								w.Data[off], w.Data[off+1] = byte(h), byte(h>>8)
								if prepack {
									kern.PrepackMatVec(w)
								}
								x := randVec(r, k)
								kern.MatVec(y, w, x)
								for i, v := range y {
									finite := !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
									if finite == (i == row) {
										t.Fatalf("%s: weight scale %v in row %d: y[%d] = %v", name, bad, row, i, v)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestRowPairsAgree holds the Q4_0 superblock kernel's Pairs forms (two rows to a 512-bit
// register, chosen on CPUs with full-rate 512-bit operations; without prefetches, and with
// PREFETCHNTA for the first column under the nta setting) to the 256-bit Cached form, bit
// for bit, whatever this CPU would choose: MatVec and a MatMul on the row groups of
// prepacked int4 matrices (int8 has no such form), rows of superblocks and a tail block,
// and row counts with rows left over.
func TestRowPairsAgree(t *testing.T) {
	if !slices.Contains(ISAs(), ISAAVX512VNNI) {
		t.Skip("no VNNI path here")
	}
	r := rand.New(rand.NewPCG(9, 9))
	forms := []struct {
		pairs bool
		pf    Prefetch
	}{{false, PrefetchOff}, {true, PrefetchOff}, {true, PrefetchNTA}}
	var ks [3]*Kernels
	for i, f := range forms {
		ks[i] = newKernels(t, Config{Tier: SIMD, ISA: ISAAVX512VNNI, Threads: 2, Prefetch: f.pf})
		ks[i].impl.rowPairs = f.pairs
	}
	for _, s := range []struct{ m, k int }{{37, 1568}, {64, 4096}, {5, 2048}} {
		w := randMatrix(t, r, tensor.Q4_0, s.m, s.k)
		x := randVec(r, 3*s.k)
		for _, kn := range ks {
			kn.PrepackMatVec(w)
		}
		for _, n := range []int{1, 3} {
			var ys [len(ks)][]float32
			for i, kn := range ks {
				ys[i] = make([]float32, n*s.m)
				if n == 1 {
					kn.MatVec(ys[i], w, x[:s.k])
				} else {
					kn.MatMul(ys[i], w, x[:n*s.k], n)
				}
			}
			for f := 1; f < len(ys); f++ {
				for i := range ys[0] {
					if math.Float32bits(ys[f][i]) != math.Float32bits(ys[0][i]) {
						t.Fatalf("q4_0 %dx%d n=%d: y[%d] = %v with pairs (prefetch %s), %v without", s.m, s.k, n, i, ys[f][i], ks[f].cfg.Prefetch, ys[0][i])
					}
				}
			}
		}
	}
}
