package model_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// TestFidelity measures converted tiny models against fp32 on 64 evaluation inputs.
func TestFidelity(t *testing.T) {
	tiny := fixture(t, tinyModel)
	k := newKernels(t, kernels.BestTier(), 2)
	eval := model.EvalSet(tiny.Spec, 64, 1)
	ref := model.NewRunner(tiny, k)

	t.Run("fp32 against itself", func(t *testing.T) {
		// A second runner of the same model: its buffers are its own, the arithmetic is the
		// same, so the outputs are bit-identical.
		a, err := model.Fidelity(ref, model.NewRunner(tiny, k), eval)
		if err != nil {
			t.Fatal(err)
		}
		if a != (model.Agreement{Top1: 1, KLD: 0, N: 64}) {
			t.Errorf("fp32 vs fp32: %+v, want Top1 1, KLD 0, N 64", a)
		}
	})

	// Bounds for the converted models. fp16 must agree on at least 95% (observed: all 64).
	// The int8 and int4 bounds sit a few inputs below what tiny shows (61 and 60 of 64: its
	// random class head leaves many near-ties, which activation rounding alone can flip),
	// so a kernel that merely rounds differently does not fail them while a broken
	// conversion, near chance (1/8), does. The KLD bounds are about ten times the observed
	// values (5e-10, 3e-7, 4e-5): tiny's logits are small, so even a flipped class costs
	// little divergence, and these bounds are what tells a gross error from a near-tie.
	for _, tc := range []struct {
		p       model.Precision
		minTop1 float64
		maxKLD  float64
	}{
		{tensor.F16, 0.95, 1e-8},
		{tensor.Q8_0, 0.9, 5e-6},
		{tensor.Q4_0, 0.85, 5e-4},
	} {
		t.Run(model.PrecisionName(tc.p), func(t *testing.T) {
			a, err := model.Fidelity(ref, model.NewRunner(convert(t, tiny, tc.p), k), eval)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: top-1 %.3f, KLD %.3g", model.PrecisionName(tc.p), a.Top1, a.KLD)
			if a.N != len(eval) {
				t.Errorf("N = %d, want %d", a.N, len(eval))
			}
			if a.Top1 < tc.minTop1 || a.Top1 > 1 {
				t.Errorf("top-1 agreement %.3f, want >= %.2f", a.Top1, tc.minTop1)
			}
			if a.KLD < 0 || a.KLD > tc.maxKLD || math.IsNaN(a.KLD) {
				t.Errorf("KLD %.3g, want in [0, %g]", a.KLD, tc.maxKLD)
			}
		})
	}

	t.Run("matches a hand count", func(t *testing.T) {
		// Fidelity runs in batches of 16; recompute its figures from single runs, over a set
		// that ends in a partial batch.
		eval := eval[:20]
		cand := model.NewRunner(convert(t, tiny, tensor.Q4_0), k)
		a, err := model.Fidelity(ref, cand, eval)
		if err != nil {
			t.Fatal(err)
		}
		agree, kld := 0, 0.0
		for _, in := range eval {
			p := widen(run(t, ref, []model.Input{in}))
			q := widen(run(t, cand, []model.Input{in}))
			if argmax(p) == argmax(q) {
				agree++
			}
			kld += kl(p, q)
		}
		if want := float64(agree) / float64(len(eval)); a.Top1 != want {
			t.Errorf("Top1 %v, counted %v", a.Top1, want)
		}
		if want := kld / float64(len(eval)); math.Abs(a.KLD-want) > 1e-6*want+1e-12 {
			t.Errorf("KLD %v, computed %v", a.KLD, want)
		}
	})

	t.Run("errors", func(t *testing.T) {
		mlp := fixture(t, mlpModel)
		other := fixture(t, s15mModel)
		bad := []model.Input{eval[0], {Tokens: []int32{int32(tiny.Spec.Vocab)}}}
		for _, tc := range []struct {
			name      string
			cand      *model.Model
			eval      []model.Input
			want      string
			wantInput bool
		}{
			{"tiny vs mlp", mlp, eval, "differ", false},
			{"tiny vs s15m", other, eval[:1], "differ", false},
			{"empty eval", tiny, nil, "empty", false},
			{"empty slice", tiny, []model.Input{}, "empty", false},
			{"bad input", tiny, bad, "request 1", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := model.Fidelity(ref, model.NewRunner(tc.cand, k), tc.eval)
				if err == nil {
					t.Fatal("Fidelity succeeded")
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q does not mention %q", err, tc.want)
				}
				if errors.Is(err, model.ErrInput) != tc.wantInput {
					t.Errorf("error %q: wraps ErrInput = %v, want %v", err, !tc.wantInput, tc.wantInput)
				}
			})
		}
	})
}

func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// kl returns KL(softmax(p) ‖ softmax(q)).
func kl(p, q []float64) float64 {
	lse := func(x []float64) float64 {
		mx := math.Inf(-1)
		for _, v := range x {
			mx = max(mx, v)
		}
		var s float64
		for _, v := range x {
			s += math.Exp(v - mx)
		}
		return mx + math.Log(s)
	}
	lp, lq := lse(p), lse(q)
	var d float64
	for i := range p {
		d += math.Exp(p[i]-lp) * ((p[i] - lp) - (q[i] - lq))
	}
	return d
}

// TestEvalSet checks the evaluation inputs: seeded, valid for the model, of the documented
// lengths.
func TestEvalSet(t *testing.T) {
	tiny, _ := model.Preset("tiny", model.Encoder)
	s15m, _ := model.Preset("s15m", model.Encoder)
	mlp, _ := model.Preset("mlp", model.MLP)
	short := tiny
	short.Context = 40
	tooShort := tiny
	tooShort.Context = 8
	for _, tc := range []struct {
		name   string
		spec   model.Spec
		lo, hi int
	}{
		{"tiny", tiny, 16, 128},
		{"s15m", s15m, 16, 128},
		{"context 40", short, 16, 40},
		{"context 8", tooShort, 8, 8},
		{"mlp", mlp, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := model.EvalSet(tc.spec, 256, 1)
			if len(a) != 256 {
				t.Fatalf("%d inputs, want 256", len(a))
			}
			if b := model.EvalSet(tc.spec, 256, 1); !reflect.DeepEqual(a, b) {
				t.Errorf("two sets from seed 1 differ")
			}
			if c := model.EvalSet(tc.spec, 256, 2); reflect.DeepEqual(a, c) {
				t.Errorf("seeds 1 and 2 give the same set")
			}
			if p := model.EvalSet(tc.spec, 10, 1); !reflect.DeepEqual(p, a[:10]) {
				t.Errorf("a set of 10 is not the first 10 of a set of 256")
			}
			minLen, maxLen := math.MaxInt, 0
			for i, in := range a {
				if err := tc.spec.CheckInput(in); err != nil {
					t.Fatalf("input %d: %v", i, err)
				}
				if tc.spec.Arch == model.MLP {
					if in.Tokens != nil {
						t.Fatalf("input %d: an MLP row with tokens", i)
					}
					continue
				}
				minLen, maxLen = min(minLen, len(in.Tokens)), max(maxLen, len(in.Tokens))
				if in.Features != nil {
					t.Fatalf("input %d: an encoder input with features", i)
				}
			}
			if tc.spec.Arch == model.Encoder && (minLen < tc.lo || maxLen > tc.hi) {
				t.Errorf("lengths span [%d, %d], want within [%d, %d]", minLen, maxLen, tc.lo, tc.hi)
			}
			if tc.spec.Arch == model.Encoder && tc.hi-tc.lo >= 20 && maxLen-minLen < (tc.hi-tc.lo)/2 {
				t.Errorf("lengths span only [%d, %d] of [%d, %d]", minLen, maxLen, tc.lo, tc.hi)
			}
		})
	}
	if got := model.EvalSet(tiny, 0, 1); len(got) != 0 {
		t.Errorf("EvalSet of 0 = %d inputs", len(got))
	}
}
