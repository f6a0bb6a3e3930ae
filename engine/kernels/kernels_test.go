package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// variant is one kernel implementation under test.
type variant struct {
	name string
	cfg  Config
}

// variants lists every implementation usable here: the generic tier and the simd tier on
// each ISA path this CPU supports (so one machine covers AVX2, AVX-512 and VNNI), with the
// prefetches into L2, whatever this CPU's default, so that both kernel forms run (the
// prefetching ones on MatVec and MatMul's first column, the Cached ones on the others).
// The other prefetch settings compute the same sums in the same order: TestPrefetchAgrees
// holds them to these bit for bit.
func variants() []variant {
	vs := []variant{{"generic", Config{Tier: Generic, Threads: 1}}}
	for _, isa := range ISAs() {
		vs = append(vs, variant{"simd-" + isa.String(), Config{Tier: SIMD, ISA: isa, Threads: 1, Prefetch: PrefetchL2}})
	}
	return vs
}

func newKernels(t testing.TB, cfg Config) *Kernels {
	t.Helper()
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// randVec returns n Gaussian values with a few large outliers, like trained activations.
func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
		if r.IntN(50) == 0 {
			v[i] *= 20
		}
	}
	return v
}

func randMatrix(t testing.TB, r *rand.Rand, dt tensor.DType, m, k int) *tensor.Matrix {
	t.Helper()
	w, err := tensor.FromF32(dt, m, k, randVec(r, m*k))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// guarded returns a slice of n values inside a buffer whose 16 values on each side hold a
// sentinel, and a check that the sentinels survived.
func guarded(t *testing.T, n int) ([]float32, func()) {
	const g = 16
	buf := make([]float32, n+2*g)
	sentinel := float32(math.Float32frombits(0x7fc0dead))
	for i := range buf {
		buf[i] = sentinel
	}
	return buf[g : g+n : g+n], func() {
		t.Helper()
		for i := range g {
			if math.Float32bits(buf[i]) != 0x7fc0dead || math.Float32bits(buf[g+n+i]) != 0x7fc0dead {
				t.Fatalf("guard value overwritten around an output of %d", n)
			}
		}
	}
}

// tolerance bounds the difference between two float summation orders of Σ w·x: a few ulps
// of the sum of magnitudes (the float error of any order is below n·ε·Σ|w·x|; real orders
// stay far below that, so 64·ε is a tight, order-independent check).
func tolerance(mag float64) float64 { return 64 * 0x1p-23 * mag }

// magnitudes returns Σ_k |W[i][k]·x[j][k]| per output, from the decoded weights (and, for
// block formats, the quantized activations), for the tolerance.
func magnitudes(t *testing.T, w *tensor.Matrix, x []float32, n int) []float64 {
	wf := make([]float32, w.Rows*w.Cols)
	if err := w.ToF32(wf); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, n*w.Rows)
	for j := range n {
		for i := range w.Rows {
			var s float64
			for c := range w.Cols {
				s += math.Abs(float64(wf[i*w.Cols+c]) * float64(x[j*w.Cols+c]) * 1.01)
			}
			out[j*w.Rows+i] = s
		}
	}
	return out
}

func sizesFor(dt tensor.DType) []int {
	if dt.Quantized() {
		return []int{32, 64, 96, 128, 160, 4064, 4096, 4128}
	}
	return []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 4095, 4096, 4097}
}

// TestMatVecMatchesGeneric holds every path's MatVec to the generic tier's, on each matrix
// as it is and prepacked for MatVec (PrepackMatVec: Q8_0 and Q4_0 superblock rows on VNNI,
// for the sizes of rowMinBlocks blocks and more).
func TestMatVecMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	ref := newKernels(t, Config{Tier: Generic, Threads: 1})
	for _, v := range variants()[1:] {
		k, packed := newKernels(t, v.cfg), newKernels(t, v.cfg)
		for _, dt := range tensor.DTypes {
			for _, kk := range sizesFor(dt) {
				for _, m := range []int{1, 3, 4, 5, 8, 33} {
					t.Run(fmt.Sprintf("%s/%s/m=%d/k=%d", v.name, dt, m, kk), func(t *testing.T) {
						w := randMatrix(t, r, dt, m, kk)
						x := randVec(r, kk)
						want := make([]float32, m)
						ref.MatVec(want, w, x)
						mag := magnitudes(t, w, x, 1)
						packed.PrepackMatVec(w)
						for _, kern := range []*Kernels{k, packed} {
							got, check := guarded(t, m)
							kern.MatVec(got, w, x)
							check()
							for i := range m {
								if d := math.Abs(float64(got[i] - want[i])); d > tolerance(mag[i]) {
									t.Errorf("prepacked=%v: y[%d] = %v, generic %v (diff %g, tolerance %g)", kern == packed, i, got[i], want[i], d, tolerance(mag[i]))
								}
							}
						}
					})
				}
			}
		}
	}
}

func TestMatMulMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	ref := newKernels(t, Config{Tier: Generic, Threads: 1})
	type shape struct{ m, k, n int }
	for _, v := range variants()[1:] {
		k := newKernels(t, v.cfg)
		for _, dt := range tensor.DTypes {
			shapes := []shape{{1, 32, 1}, {5, 64, 3}, {8, 64, 2}, {37, 288, 15}, {16, 96, 16}, {16, 96, 17}, {33, 128, 31}, {47, 256, 33}, {64, 512, 64}, {31, 544, 40}}
			if !dt.Quantized() {
				shapes = append(shapes, shape{3, 17, 5}, shape{35, 65, 13}, shape{12, 1, 12})
			}
			for _, s := range shapes {
				t.Run(fmt.Sprintf("%s/%s/m=%d/k=%d/n=%d", v.name, dt, s.m, s.k, s.n), func(t *testing.T) {
					w := randMatrix(t, r, dt, s.m, s.k)
					x := randVec(r, s.n*s.k)
					want := make([]float32, s.n*s.m)
					ref.MatMul(want, w, x, s.n)
					got, check := guarded(t, s.n*s.m)
					k.MatMul(got, w, x, s.n)
					check()
					mag := magnitudes(t, w, x, s.n)
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > tolerance(mag[i]) {
							t.Fatalf("y[%d][%d] = %v, generic %v (diff %g, tolerance %g)", i/s.m, i%s.m, got[i], want[i], d, tolerance(mag[i]))
						}
					}
				})
			}
		}
	}
}

// TestIntegerPathsExact holds every Q8_0 and Q4_0 kernel to the generic tier bit for bit
// where float rounding cannot enter: all scales are 1 and the values small, so every block
// sum and every partial sum is an integer below 2^24, exact in any order.
func TestIntegerPathsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	one := tensor.F32ToF16(1)
	for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0} {
		for _, kk := range []int{32, 64, 96, 256, 1024} {
			const m, n = 9, 5
			w, _ := tensor.NewMatrix(dt, m, kk)
			bb := dt.BlockBytes()
			for b := 0; b < len(w.Data); b += bb {
				binary.LittleEndian.PutUint16(w.Data[b:], one)
				for j := 2; j < bb; j++ {
					w.Data[b+j] = byte(r.IntN(256))
				}
			}
			// Activations of ±127 multiples give scale 1 after quantization.
			x := make([]float32, n*kk)
			for i := range x {
				x[i] = float32(r.IntN(255) - 127)
			}
			for b := 0; b < len(x); b += 32 {
				x[b] = 127 // pin each block's max so d = 127/127 = 1
			}
			ref := newKernels(t, Config{Tier: Generic, Threads: 1})
			want := make([]float32, n*m)
			ref.MatMul(want, w, x, n)
			for _, v := range variants()[1:] {
				k := newKernels(t, v.cfg)
				t.Run(fmt.Sprintf("%s/%s/k=%d", v.name, dt, kk), func(t *testing.T) {
					got := make([]float32, n*m)
					k.MatMul(got, w, x, n)
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("matmul y[%d] = %v, generic %v", i, got[i], want[i])
						}
					}
					y := make([]float32, m)
					k.MatVec(y, w, x[:kk])
					for i := range y {
						if y[i] != want[i] {
							t.Fatalf("matvec y[%d] = %v, generic %v", i, y[i], want[i])
						}
					}
					if d := k.Dot(dt, w.Row(0), x[:kk]); d != want[0] {
						t.Fatalf("dot = %v, generic %v", d, want[0])
					}
				})
			}
		}
	}
}

func TestDotMatchesMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, dt := range tensor.DTypes {
			kk := 4096
			w := randMatrix(t, r, dt, 4, kk)
			x := randVec(r, kk)
			y := make([]float32, 4)
			k.MatVec(y, w, x)
			mag := magnitudes(t, w, x, 1)
			for i := range 4 {
				d := k.Dot(dt, w.Row(i), x)
				if diff := math.Abs(float64(d - y[i])); diff > tolerance(mag[i]) {
					t.Errorf("%s/%s: dot row %d = %v, matvec %v", v.name, dt, i, d, y[i])
				}
			}
		}
	}
}

// TestGenericAgainstFloat64 checks the oracle itself against a float64 reference computed
// from the decoded weights and, for block formats, the decoded Q8_0 activations.
func TestGenericAgainstFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	k := newKernels(t, Config{Tier: Generic, Threads: 1})
	for _, dt := range tensor.DTypes {
		const m, kk = 7, 256
		w := randMatrix(t, r, dt, m, kk)
		x := randVec(r, kk)
		xr := x
		if dt.Quantized() {
			q := make([]byte, kk/32*34)
			if err := tensor.QuantizeQ8_0(q, x); err != nil {
				t.Fatal(err)
			}
			xr = make([]float32, kk)
			if err := tensor.DequantizeQ8_0(xr, q); err != nil {
				t.Fatal(err)
			}
		}
		wf := make([]float32, m*kk)
		if err := w.ToF32(wf); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, m)
		k.MatVec(y, w, x)
		mag := magnitudes(t, w, x, 1)
		for i := range m {
			var want float64
			for c := range kk {
				want += float64(wf[i*kk+c]) * float64(xr[c])
			}
			if d := math.Abs(float64(y[i]) - want); d > tolerance(mag[i]) {
				t.Errorf("%s: y[%d] = %v, float64 reference %v", dt, i, y[i], want)
			}
		}
	}
}

func TestParallelEqualsSerial(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, v := range variants() {
		serial := newKernels(t, v.cfg)
		for _, threads := range []int{2, 3, 5} {
			cfg := v.cfg
			cfg.Threads = threads
			par := newKernels(t, cfg)
			for _, dt := range tensor.DTypes {
				t.Run(fmt.Sprintf("%s/threads=%d/%s", v.name, threads, dt), func(t *testing.T) {
					// kk: superblock rows and a tail block; n: row groups (7 on every path, 19
					// where the tiles are 32 wide) and tiles (19 on AVX2, 40).
					const m, kk, maxN = 301, 1568, 40
					w := randMatrix(t, r, dt, m, kk)
					x := randVec(r, maxN*kk)
					for _, prepack := range []bool{false, true} {
						if prepack { // Q8_0 and Q4_0 superblock rows on VNNI
							serial.PrepackMatVec(w)
							par.PrepackMatVec(w)
						}
						a, b := make([]float32, m), make([]float32, m)
						serial.MatVec(a, w, x[:kk])
						par.MatVec(b, w, x[:kk])
						for i := range a {
							if a[i] != b[i] {
								t.Fatalf("prepacked=%v: matvec y[%d]: serial %v, %d threads %v", prepack, i, a[i], threads, b[i])
							}
						}
					}
					for _, n := range []int{7, 19, maxN} {
						a, b := make([]float32, n*m), make([]float32, n*m)
						serial.MatMul(a, w, x[:n*kk], n)
						par.MatMul(b, w, x[:n*kk], n)
						for i := range a {
							if a[i] != b[i] {
								t.Fatalf("matmul n=%d y[%d]: serial %v, %d threads %v", n, i, a[i], threads, b[i])
							}
						}
					}
				})
			}
		}
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"negative threads", Config{Threads: -1}},
		{"unknown tier", Config{Tier: 9}},
		{"isa beyond cpu", Config{Tier: SIMD, ISA: 200}},
		{"unknown prefetch", Config{Tier: Generic, Prefetch: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := New(tt.cfg); err == nil {
				k.Close()
				t.Fatalf("New(%+v) succeeded", tt.cfg)
			}
		})
	}
	if !SIMDBuilt() {
		if _, err := New(Config{Tier: SIMD}); err == nil {
			t.Fatal("simd tier accepted in a build without it")
		}
	}
}

func TestShapePanics(t *testing.T) {
	k := newKernels(t, Config{Tier: Generic, Threads: 1})
	w, _ := tensor.NewMatrix(tensor.F32, 4, 8)
	for name, f := range map[string]func(){
		"matvec short x": func() { k.MatVec(make([]float32, 4), w, make([]float32, 7)) },
		"matvec short y": func() { k.MatVec(make([]float32, 3), w, make([]float32, 8)) },
		"matmul bad n":   func() { k.MatMul(make([]float32, 8), w, make([]float32, 16), 3) },
		"dot bad row":    func() { k.Dot(tensor.Q8_0, make([]byte, 33), make([]float32, 32)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"generic", "simd", " SIMD "} {
		if _, err := ParseTier(s); err != nil {
			t.Errorf("ParseTier(%q): %v", s, err)
		}
	}
	if _, err := ParseTier("gpu"); err == nil {
		t.Error("ParseTier(gpu) accepted")
	}
	for _, i := range []ISA{ISANone, ISAAVX2, ISAAVX512, ISAAVX512VNNI} {
		got, err := ParseISA(i.String())
		if err != nil || got != i {
			t.Errorf("ParseISA(%q) = %v, %v", i, got, err)
		}
	}
	for _, p := range []Prefetch{PrefetchAuto, PrefetchL2, PrefetchNTA, PrefetchOff} {
		if got, err := ParsePrefetch(p.String()); err != nil || got != p {
			t.Errorf("ParsePrefetch(%q) = %v, %v", p, got, err)
		}
	}
	if PrefetchAuto.Resolve() != DetectPrefetch() || PrefetchOff.Resolve() != PrefetchOff || PrefetchL2.Resolve() != PrefetchL2 {
		t.Error("Resolve: auto must become DetectPrefetch's choice, the others stay")
	}
	if _, err := ParsePrefetch("sometimes"); err == nil {
		t.Error("ParsePrefetch(sometimes) accepted")
	}
	if _, err := ParseISA("neon"); err == nil {
		t.Error("ParseISA(neon) accepted")
	}
}

// TestF16Table pins the table the fp16 kernels convert through to tensor.F16ToF32, bit for
// bit, over every fp16 pattern.
func TestF16Table(t *testing.T) {
	tab := f16Table()
	for h := range 1 << 16 {
		if got, want := math.Float32bits(tab[h]), math.Float32bits(tensor.F16ToF32(uint16(h))); got != want {
			t.Fatalf("f16Table[%#04x] = %#08x, want %#08x", h, got, want)
		}
	}
}

// TestPrefetchAgrees checks that every prefetch setting gives the same results, bit for
// bit, on every path: the settings change which loads are issued ahead, never the
// arithmetic. MatVec (prepacked and not: superblock rows for the int8 and int4 rows of at
// least 48 blocks) and MatMul on the row groups (n=3) and the tiles (n=40).
func TestPrefetchAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, isa := range ISAs() {
		var ks []*Kernels
		for _, p := range []Prefetch{PrefetchL2, PrefetchNTA, PrefetchOff} {
			ks = append(ks, newKernels(t, Config{Tier: SIMD, ISA: isa, Threads: 2, Prefetch: p}))
		}
		for _, dt := range tensor.DTypes {
			for _, s := range []struct{ m, k int }{{37, 1568}, {64, 96}} {
				w := randMatrix(t, r, dt, s.m, s.k)
				x := randVec(r, 40*s.k)
				check := func(what string, run func(kn *Kernels, y []float32), n int) {
					t.Helper()
					want := make([]float32, n*s.m)
					run(ks[0], want)
					for _, kn := range ks[1:] {
						got := make([]float32, n*s.m)
						run(kn, got)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s %s %dx%d %s: prefetch %s y[%d] = %v, l2 %v", isa, dt, s.m, s.k, what, kn.Prefetch(), i, got[i], want[i])
							}
						}
					}
				}
				for _, prepacked := range []bool{false, true} {
					if prepacked {
						for _, kn := range ks {
							kn.PrepackMatVec(w)
						}
					}
					check(fmt.Sprintf("matvec prepacked=%v", prepacked), func(kn *Kernels, y []float32) { kn.MatVec(y, w, x[:s.k]) }, 1)
				}
				for _, n := range []int{3, 40} {
					check(fmt.Sprintf("matmul n=%d", n), func(kn *Kernels, y []float32) { kn.MatMul(y, w, x[:n*s.k], n) }, n)
				}
			}
		}
	}
}

// TestPrefetchResolved checks that PrefetchAuto becomes this CPU's DetectPrefetch on the
// simd tier, that an explicit setting stays, and that the generic tier reports none.
func TestPrefetchResolved(t *testing.T) {
	if g := newKernels(t, Config{Tier: Generic, Threads: 1, Prefetch: PrefetchL2}); g.Prefetch() != PrefetchOff {
		t.Errorf("generic tier: Prefetch() = %s, want off", g.Prefetch())
	}
	if BestTier() != SIMD {
		t.Skip("no simd tier here")
	}
	if k := newKernels(t, Config{Tier: SIMD, Threads: 1}); k.Prefetch() != DetectPrefetch() {
		t.Errorf("auto: Prefetch() = %s, want %s", k.Prefetch(), DetectPrefetch())
	}
	for _, p := range []Prefetch{PrefetchL2, PrefetchNTA, PrefetchOff} {
		if k := newKernels(t, Config{Tier: SIMD, Threads: 1, Prefetch: p}); k.Prefetch() != p {
			t.Errorf("%s: Prefetch() = %s", p, k.Prefetch())
		}
	}
}
