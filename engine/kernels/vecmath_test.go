package kernels

import (
	"fmt"
	"github.com/infertune/infertune/engine/tensor"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestExp32 holds exp32 against math.Exp over the float32 range, in ulps of the result.
func TestExp32(t *testing.T) {
	worst := 0.0
	check := func(x float32) {
		got := Exp32(x)
		want := math.Exp(float64(x))
		if want > math.MaxFloat32 {
			if !math.IsInf(float64(got), 1) {
				t.Fatalf("Exp32(%v) = %v, want +Inf", x, got)
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
			t.Fatalf("Exp32(%v) = %v, want %v (%.1f ulp)", x, got, want, e)
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

// TestActivationsMatchGeneric holds every path's SiLUMul and Softmax against the generic
// tier, at lengths around the vector widths, within a few ulps (the vector exp clamps its
// argument to keep e^x normal; the results differ only by rounding).
func TestActivationsMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	gen := newKernels(t, Config{Tier: Generic, Threads: 1})
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 768} {
			t.Run(fmt.Sprintf("%s/n=%d", v.name, n), func(t *testing.T) {
				g, u := randVec(r, n), randVec(r, n)
				for i := range g {
					g[i] *= 20 // reach both tails of the sigmoid
				}
				want := slices.Clone(g)
				gen.SiLUMul(want, u)
				got := slices.Clone(g)
				k.SiLUMul(got, u)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 4*0x1p-23*math.Abs(float64(want[i]))+1e-30 {
						t.Fatalf("silu-mul [%d]: %v, generic %v", i, got[i], want[i])
					}
				}
				rows := 3
				x := randVec(r, rows*n)
				for i := range x {
					x[i] *= 30
				}
				want = slices.Clone(x)
				gen.Softmax(want, n, 0.7)
				got = slices.Clone(x)
				k.Softmax(got, n, 0.7)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 8*0x1p-23*float64(want[i])+1e-37 {
						t.Fatalf("softmax [%d]: %v, generic %v", i, got[i], want[i])
					}
				}
				var sum float64
				for _, p := range got[:n] {
					sum += float64(p)
				}
				if math.Abs(sum-1) > 1e-5 {
					t.Fatalf("softmax row sums to %v", sum)
				}
			})
		}
	}
}

// TestMulColsMatchesGeneric holds every path's MulCols against plain multiplication, for
// row lengths around the vector widths, in place and into another slice; a guard value past
// the rows must survive.
func TestMulColsMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 33, 288, 300} {
			t.Run(fmt.Sprintf("%s/n=%d", v.name, n), func(t *testing.T) {
				const rows = 3
				x, s := randVec(r, rows*n), randVec(r, n)
				want := make([]float32, rows*n)
				for i := range want {
					want[i] = x[i] * s[i%n]
				}
				dst := make([]float32, rows*n+1)
				dst[rows*n] = 42
				k.MulCols(dst, x, s)
				if dst[rows*n] != 42 {
					t.Fatalf("guard past the rows overwritten: %v", dst[rows*n])
				}
				if !slices.Equal(dst[:rows*n], want) {
					t.Fatalf("into dst: %v, want %v", dst[:rows*n], want)
				}
				k.MulCols(x, x, s)
				if !slices.Equal(x, want) {
					t.Fatalf("in place: %v, want %v", x, want)
				}
			})
		}
	}
}

// TestAddScaledMatchesGeneric holds every path's AddScaled against y + a·x, for lengths
// around the vector widths: within one rounding of each element (the vector paths fuse the
// multiply and add); a guard value past y must survive.
func TestAddScaledMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 48, 63, 300} {
			t.Run(fmt.Sprintf("%s/n=%d", v.name, n), func(t *testing.T) {
				x, y0 := randVec(r, n+1), randVec(r, n+1)
				a := float32(r.NormFloat64())
				y := slices.Clone(y0)
				y[n] = 42
				k.AddScaled(y[:n], x, a)
				if y[n] != 42 {
					t.Fatalf("guard past y overwritten: %v", y[n])
				}
				for i := range n {
					want := float64(y0[i]) + float64(a)*float64(x[i])
					if d := math.Abs(float64(y[i]) - want); d > 1e-6*(math.Abs(want)+math.Abs(float64(a*x[i]))) {
						t.Fatalf("y[%d] = %v, want %v (a %v, x %v, y %v)", i, y[i], want, a, x[i], y0[i])
					}
				}
			})
		}
	}
}

// TestDotF32MatchesDot: DotF32 is Dot of an F32 row, bit for bit, on every path.
func TestDotF32MatchesDot(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, n := range []int{1, 15, 16, 48, 300} {
			w, x := randVec(r, n), randVec(r, n)
			if got, want := k.DotF32(w, x), k.Dot(tensor.F32, tensor.F32Bytes(w), x); got != want {
				t.Errorf("%s/n=%d: DotF32 %v, Dot %v", v.name, n, got, want)
			}
		}
	}
}

// TestHeadsMatchPerHead: DotHeads and AddScaledHeads on every path equal DotF32 and
// AddScaled head by head, within float rounding (the heads' sums reduce in another order;
// the multiply-adds may or may not fuse), for head counts on both sides of the AVX-512
// path's groups of four and head sizes with and without a multiple of 16 values. Guards
// past out and y stay untouched.
func TestHeadsMatchPerHead(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, nh := range []int{1, 3, 4, 5, 6, 8, 12} {
			for _, hd := range []int{5, 16, 48, 64} {
				t.Run(fmt.Sprintf("%s/heads=%d/hd=%d", v.name, nh, hd), func(t *testing.T) {
					n := nh * hd
					q, keys, vals := randVec(r, n), randVec(r, n+3), randVec(r, n)
					out := make([]float32, nh+1)
					out[nh] = 42
					k.DotHeads(out[:nh], keys, q)
					if out[nh] != 42 {
						t.Fatalf("guard past out overwritten: %v", out[nh])
					}
					for h := range nh {
						want := k.DotF32(keys[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd])
						var mag float64
						for i := h * hd; i < (h+1)*hd; i++ {
							mag += math.Abs(float64(keys[i] * q[i]))
						}
						if d := math.Abs(float64(out[h] - want)); d > 1e-6*mag {
							t.Fatalf("head %d: %v, DotF32 %v", h, out[h], want)
						}
					}
					a := randVec(r, nh)
					y0 := randVec(r, n+1)
					y, want := slices.Clone(y0), slices.Clone(y0)
					y[n] = 42
					k.AddScaledHeads(y[:n], vals, a)
					if y[n] != 42 {
						t.Fatalf("guard past y overwritten: %v", y[n])
					}
					for h := range nh {
						k.AddScaled(want[h*hd:(h+1)*hd], vals[h*hd:(h+1)*hd], a[h])
					}
					for i := range n {
						if d := math.Abs(float64(y[i] - want[i])); d > 1e-6*(math.Abs(float64(want[i]))+math.Abs(float64(vals[i]))) {
							t.Fatalf("y[%d] = %v, AddScaled per head %v", i, y[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestF16Conversions: ToF16 rounds as tensor.F32ToF16 does, bit for bit, and FromF16
// decodes as tensor.F16ToF32, on every path: values from fp16's subnormals past its
// largest (to ±Inf), ties, every fp16 bit pattern back, and lengths around the vector
// path's eight lanes. Guards past dst stay untouched.
func TestF16Conversions(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	src := make([]float32, 0, 4096)
	for range 4000 {
		// Magnitudes 2^-30 .. 2^20: below the subnormals, through them, past 65504.
		src = append(src, float32(r.NormFloat64()*math.Exp2(float64(r.IntN(51)-30))))
	}
	for _, h := range []uint16{0x0001, 0x03ff, 0x0400, 0x3c00, 0x3c01, 0x7bff} {
		// Halfway between h and the next fp16 value: ties go to even.
		lo, hi := float64(tensor.F16ToF32(h)), float64(tensor.F16ToF32(h+1))
		src = append(src, float32((lo+hi)/2), -float32((lo+hi)/2), 65520, 1e-8, 0, float32(math.Inf(-1)))
	}
	patterns := make([]uint16, 1<<16)
	for i := range patterns {
		patterns[i] = uint16(i)
	}
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, n := range []int{0, 1, 7, 8, 9, 17, len(src)} {
			dst := make([]uint16, n+1)
			dst[n] = 0xabcd
			k.ToF16(dst[:n], src[:n])
			if dst[n] != 0xabcd {
				t.Fatalf("%s: n=%d: guard past dst overwritten", v.name, n)
			}
			for i := range n {
				if want := tensor.F32ToF16(src[i]); dst[i] != want {
					t.Fatalf("%s: ToF16(%v) = %#04x, want %#04x", v.name, src[i], dst[i], want)
				}
			}
		}
		got := make([]float32, len(patterns)+1)
		got[len(patterns)] = 42
		k.FromF16(got[:len(patterns)], patterns)
		if got[len(patterns)] != 42 {
			t.Fatalf("%s: guard past dst overwritten", v.name)
		}
		for i, h := range patterns {
			want := tensor.F16ToF32(h)
			if math.Float32bits(got[i]) != math.Float32bits(want) && !(isNaN32(got[i]) && isNaN32(want)) {
				t.Fatalf("%s: FromF16(%#04x) = %v, want %v", v.name, h, got[i], want)
			}
		}
	}
}

func isNaN32(f float32) bool { return f != f }

// TestHeadsF16MatchF32: DotHeadsF16 and AddScaledHeadsF16 on every path equal DotHeads
// and AddScaledHeads row by row over the fp16 values decoded, within float rounding, for
// head sizes with and without a multiple of eight values, one row or several (whole
// groups of eight and the rest), rows apart by more than their width. Values between and
// past the operands stay untouched.
func TestHeadsF16MatchF32(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	const guard = 42
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, nh := range []int{1, 3, 6, 8} {
			for _, hd := range []int{5, 8, 16, 24, 48, 64} {
				for _, rows := range []int{1, 3, 8, 11, 16} {
					t.Run(fmt.Sprintf("%s/heads=%d/hd=%d/rows=%d", v.name, nh, hd, rows), func(t *testing.T) {
						n := nh * hd
						ld, ls := n+5, rows+2 // apart: rows of keys and values; rows of scores and weights
						q := randVec(r, n)
						keys, vals := make([]uint16, rows*ld), make([]uint16, rows*ld)
						k.ToF16(keys, randVec(r, rows*ld))
						k.ToF16(vals, randVec(r, rows*ld))
						kf, vf := make([]float32, rows*ld), make([]float32, rows*ld)
						k.FromF16(kf, keys)
						k.FromF16(vf, vals)

						out := make([]float32, nh*ls)
						for i := range out {
							out[i] = guard
						}
						k.DotHeadsF16(out, ls, keys, ld, q, nh, rows)
						want := make([]float32, nh)
						for row := range rows {
							k.DotHeads(want, kf[row*ld:row*ld+n], q)
							for h := range nh {
								var mag float64
								for i := h * hd; i < (h+1)*hd; i++ {
									mag += math.Abs(float64(kf[row*ld+i] * q[i]))
								}
								if d := math.Abs(float64(out[h*ls+row] - want[h])); d > 1e-6*mag {
									t.Fatalf("row %d head %d: %v, DotHeads %v", row, h, out[h*ls+row], want[h])
								}
							}
						}
						for h := range nh {
							for i := rows; i < ls; i++ {
								if out[h*ls+i] != guard {
									t.Fatalf("out[%d], past head %d's scores, overwritten: %v", h*ls+i, h, out[h*ls+i])
								}
							}
						}

						a := randVec(r, nh*ls)
						y0 := randVec(r, n+1)
						y, wantY := slices.Clone(y0), slices.Clone(y0[:n])
						y[n] = guard
						k.AddScaledHeadsF16(y[:n], vals, ld, a, ls, nh, rows)
						ah, mag := make([]float32, nh), make([]float64, n)
						for row := range rows {
							for h := range nh {
								ah[h] = a[h*ls+row]
							}
							k.AddScaledHeads(wantY, vf[row*ld:row*ld+n], ah)
							for i := range n {
								mag[i] += math.Abs(float64(ah[i/hd] * vf[row*ld+i]))
							}
						}
						if y[n] != guard {
							t.Fatalf("guard past y overwritten: %v", y[n])
						}
						for i := range n {
							if d := math.Abs(float64(y[i] - wantY[i])); d > 1e-6*(math.Abs(float64(y0[i]))+mag[i]) {
								t.Fatalf("y[%d] = %v, AddScaledHeads %v", i, y[i], wantY[i])
							}
						}
					})
				}
			}
		}
	}
}

// TestArgmaxMatchesGeneric holds every path's Argmax to the one comparison per element
// (ArgmaxScan: the first of equals; NaNs pass unless first): lengths below, at and
// past the vector paths' 32, a vocabulary's, with ties, NaNs, ±0 and ±Inf placed at
// random, the maximum first, last and in the tail.
func TestArgmaxMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1, 1}
	for _, v := range variants() {
		k := newKernels(t, v.cfg)
		for _, n := range []int{1, 2, 15, 31, 32, 33, 47, 48, 100, 32000} {
			for trial := range 40 {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(r.IntN(7)) // ties
				}
				switch trial % 4 {
				case 1:
					for range 1 + n/8 {
						x[r.IntN(n)] = specials[r.IntN(len(specials))]
					}
				case 2:
					for i := range x {
						x[i] = specials[r.IntN(len(specials))]
					}
				case 3:
					x[[]int{0, n - 1, n - 1 - r.IntN(min(n, 16))}[r.IntN(3)]] = 9
				}
				if got, want := k.Argmax(x), ArgmaxScan(x); got != want {
					t.Fatalf("%s: n=%d trial %d: Argmax = %d (%v), want %d (%v)", v.name, n, trial, got, x[got], want, x[want])
				}
			}
		}
	}
}
