package model_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// usableTiers returns the tiers to run on here, Generic first.
func usableTiers() []kernels.Tier {
	if simdUsable() {
		return []kernels.Tier{kernels.Generic, kernels.SIMD}
	}
	return []kernels.Tier{kernels.Generic}
}

// TestBatchEqualsAlone runs a batch of inputs of different lengths together and each one
// alone: a request's outputs must not depend on what it is batched with, nor on its place
// in the batch (attention stays inside the request, pooling divides by its own length,
// RoPE reads its table from the request's own positions).
func TestBatchEqualsAlone(t *testing.T) {
	// The tolerance: every weight matmul computes each token's row from that row alone, and
	// Q8_0 activation quantization (int8, int4) works per row in blocks of 32, so batching
	// changes no arithmetic; observed differences are exactly zero on both tiers. 1e-5 of
	// the logits' scale leaves room for a kernel that picks its tile shape by batch size
	// (a different summation order), not for a value leaking between requests.
	const tol = 1e-5
	tiny := fixture(t, tinyModel)
	mlp := fixture(t, mlpModel)
	for _, tier := range usableTiers() {
		k := newKernels(t, tier, 2)
		for _, tc := range []struct {
			name  string
			m     *model.Model
			batch []model.Input
		}{
			{"tiny", tiny, encoderInputs(tiny.Spec, 17, 1, 128, 40, 2)},
			{"mlp", mlp, mlpInputs(mlp.Spec, 5)},
		} {
			for _, p := range []model.Precision{tensor.F32, tensor.Q8_0, tensor.Q4_0} {
				t.Run(fmt.Sprintf("tier=%s/%s/%s", tier, tc.name, model.PrecisionName(p)), func(t *testing.T) {
					r := model.NewRunner(convert(t, tc.m, p), k)
					c := tc.m.Spec.Classes
					together := run(t, r, tc.batch)
					var alone []float32
					for _, in := range tc.batch {
						alone = append(alone, run(t, r, []model.Input{in})...)
					}
					if e := relErr(together, alone); e > tol {
						for i := range tc.batch {
							t.Logf("request %d: batched %v, alone %v", i, together[i*c:(i+1)*c], alone[i*c:(i+1)*c])
						}
						t.Errorf("batched outputs differ from single runs by %.3g of their scale, want <= %g", e, tol)
					} else if e != 0 {
						t.Logf("batched vs alone: %.3g", e)
					}

					// Reversed, each request's outputs move with it.
					rev := slices.Clone(tc.batch)
					slices.Reverse(rev)
					back := run(t, r, rev)
					for i := range tc.batch {
						j := len(tc.batch) - 1 - i
						if e := relErr(back[j*c:(j+1)*c], together[i*c:(i+1)*c]); e > tol {
							t.Errorf("request %d at position %d: %v, at position %d: %v", i, j, back[j*c:(j+1)*c], i, together[i*c:(i+1)*c])
						}
					}
				})
			}
		}
	}
}

// forwardAll runs batch through m on k and returns the outputs.
func forwardAll(tb testing.TB, m *model.Model, k *kernels.Kernels, batch []model.Input) []float32 {
	tb.Helper()
	return run(tb, model.NewRunner(m, k), batch)
}

// TestSIMDMatchesGeneric runs every precision through the simd tier and the generic one.
func TestSIMDMatchesGeneric(t *testing.T) {
	if !simdUsable() {
		t.Skipf("simd tier not usable here (built: %v, tiers: %v)", kernels.SIMDBuilt(), kernels.Tiers())
	}
	// The tolerances. fp32, fp16, bf16: the simd kernels widen the same weights to fp32 and
	// differ only in summation order and fused multiply-adds, rounding-level differences
	// (observed: up to 1.6e-6 of the logits' scale over 128 seeded inputs per preset); 1e-5
	// is six times that. int8, int4: the integer block dots are exact on both tiers, but
	// the fp32 arithmetic upstream differs at rounding level, and where an activation sits
	// on a Q8_0 rounding boundary that difference flips it by one step (max|block|/127),
	// which later layers carry on: observed up to 2.2e-3 of the logits' scale over the same
	// inputs (5e-8 on this test's own, where no value happens to flip). 1e-2 covers that and
	// stays well under what a wrong block scale or a lost block costs.
	tol := map[model.Precision]float64{
		tensor.F32: 1e-5, tensor.F16: 1e-5, tensor.BF16: 1e-5,
		tensor.Q8_0: 1e-2, tensor.Q4_0: 1e-2,
	}
	gen := newKernels(t, kernels.Generic, 1)
	simd := newKernels(t, kernels.SIMD, 1)
	tiny := fixture(t, tinyModel)
	mlp := fixture(t, mlpModel)
	for _, tc := range []struct {
		name  string
		m     *model.Model
		batch []model.Input
	}{
		{"tiny", tiny, encoderInputs(tiny.Spec, 1, 5, 31, 33, 128)},
		{"mlp", mlp, mlpInputs(mlp.Spec, 9)},
	} {
		for _, p := range model.Precisions {
			t.Run(tc.name+"/"+model.PrecisionName(p), func(t *testing.T) {
				m := convert(t, tc.m, p)
				want := forwardAll(t, m, gen, tc.batch)
				got := forwardAll(t, m, simd, tc.batch)
				e := relErr(got, want)
				t.Logf("simd vs generic: %.3g of the logits' scale", e)
				if e > tol[p] {
					t.Errorf("simd %v\ngeneric %v\ndiffer by %.3g of the logits' scale, want <= %g", got, want, e, tol[p])
				}
			})
		}
	}
}

// TestThreadsAgree runs each tier with one thread and with two: kernels split a matmul by
// output rows, each row computed whole by one worker, so the outputs are identical.
func TestThreadsAgree(t *testing.T) {
	tiny := fixture(t, tinyModel)
	mlp := fixture(t, mlpModel)
	for _, tier := range usableTiers() {
		one := newKernels(t, tier, 1)
		two := newKernels(t, tier, 2)
		for _, tc := range []struct {
			name  string
			m     *model.Model
			batch []model.Input
		}{
			{"tiny", tiny, encoderInputs(tiny.Spec, 3, 64, 128)},
			{"mlp", mlp, mlpInputs(mlp.Spec, 33)},
		} {
			for _, p := range model.Precisions {
				t.Run(fmt.Sprintf("tier=%s/%s/%s", tier, tc.name, model.PrecisionName(p)), func(t *testing.T) {
					m := convert(t, tc.m, p)
					a := forwardAll(t, m, one, tc.batch)
					b := forwardAll(t, m, two, tc.batch)
					if e := relErr(b, a); e > 1e-6 {
						t.Errorf("2 threads %v\n1 thread %v\ndiffer by %.3g of the logits' scale", b, a, e)
					} else if e != 0 {
						t.Logf("threads differ by %.3g (within 1e-6)", e)
					}
				})
			}
		}
	}
}

// runNoPanic calls r.Run and turns a panic into a test failure.
func runNoPanic(t *testing.T, r *model.Runner, batch []model.Input, out []float32) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("run panicked: %v", p)
		}
	}()
	return r.Run(batch, out)
}

// TestRunRejectsBadInput feeds each kind of invalid request alone and inside a batch of
// good ones: Run must refuse the whole batch with an error wrapping ErrInput that names the
// problem and the request, and leave out untouched.
func TestRunRejectsBadInput(t *testing.T) {
	tiny := fixture(t, tinyModel)
	mlp := fixture(t, mlpModel)
	good := model.Input{Tokens: []int32{1, 2, 3}}
	goodRow := model.Input{Features: features(mlp.Spec.Widths[0], 1)}
	withFeature := func(i int, v float32) model.Input {
		f := features(mlp.Spec.Widths[0], 2)
		f[i] = v
		return model.Input{Features: f}
	}
	cases := []struct {
		name string
		m    *model.Model
		in   model.Input
		ok   model.Input
		want []string // substrings of the error
	}{
		{"no tokens", tiny, model.Input{}, good, []string{"no tokens", "1 to 128"}},
		{"empty tokens", tiny, model.Input{Tokens: []int32{}}, good, []string{"no tokens", "1 to 128"}},
		{"too long", tiny, model.Input{Tokens: make([]int32, 129)}, good, []string{"129 tokens", "128"}},
		{"negative id", tiny, model.Input{Tokens: []int32{4, -1, 4}}, good, []string{"token 1", "id -1", "[0, 512)"}},
		{"id = vocab", tiny, model.Input{Tokens: []int32{511, 512}}, good, []string{"token 1", "id 512", "[0, 512)"}},
		{"features for an encoder", tiny, model.Input{Features: []float32{1}}, good, []string{"no tokens"}},
		{"too few features", mlp, model.Input{Features: make([]float32, 255)}, goodRow, []string{"255 features", "exactly 256"}},
		{"too many features", mlp, model.Input{Features: make([]float32, 257)}, goodRow, []string{"257 features", "exactly 256"}},
		{"tokens for an mlp", mlp, model.Input{Tokens: []int32{1}}, goodRow, []string{"0 features", "exactly 256"}},
		{"NaN feature", mlp, withFeature(3, float32(math.NaN())), goodRow, []string{"feature 3", "NaN", "finite"}},
		{"+Inf feature", mlp, withFeature(255, float32(math.Inf(1))), goodRow, []string{"feature 255", "+Inf", "finite"}},
		{"-Inf feature", mlp, withFeature(0, float32(math.Inf(-1))), goodRow, []string{"feature 0", "-Inf", "finite"}},
	}
	k := newKernels(t, kernels.Generic, 1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.m.Spec.CheckInput(tc.in); !errors.Is(err, model.ErrInput) {
				t.Errorf("CheckInput = %v, want an error wrapping ErrInput", err)
			}
			if err := tc.m.Spec.CheckInput(tc.ok); err != nil {
				t.Fatalf("CheckInput of the good input: %v", err)
			}
			r := model.NewRunner(tc.m, k)
			c := tc.m.Spec.Classes
			for _, b := range []struct {
				batch []model.Input
				bad   int
			}{
				{[]model.Input{tc.in}, 0},
				{[]model.Input{tc.ok, tc.ok, tc.in, tc.ok}, 2},
			} {
				out := make([]float32, len(b.batch)*c)
				for i := range out {
					out[i] = guard
				}
				err := runNoPanic(t, r, b.batch, out)
				if !errors.Is(err, model.ErrInput) {
					t.Fatalf("batch of %d: Run = %v, want an error wrapping ErrInput", len(b.batch), err)
				}
				for _, s := range append([]string{fmt.Sprintf("request %d", b.bad)}, tc.want...) {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("batch of %d: error %q does not mention %q", len(b.batch), err, s)
					}
				}
				for i, v := range out {
					if v != guard {
						t.Errorf("batch of %d: out[%d] = %v after a refused batch, want it untouched", len(b.batch), i, v)
						break
					}
				}
			}
			// The runner still works after refusing.
			run(t, r, []model.Input{tc.ok})
		})
	}
}

// TestRunChecksOut covers the output buffer's size and the empty batch.
func TestRunChecksOut(t *testing.T) {
	tiny := fixture(t, tinyModel)
	r := model.NewRunner(tiny, newKernels(t, kernels.Generic, 1))
	batch := encoderInputs(tiny.Spec, 4, 5)
	for _, n := range []int{0, 8, 15, 17} {
		err := runNoPanic(t, r, batch, make([]float32, n))
		if err == nil || errors.Is(err, model.ErrInput) || !strings.Contains(err.Error(), fmt.Sprint(n)) {
			t.Errorf("out of %d floats for 2×8: Run = %v, want an error naming %d that is not ErrInput", n, err, n)
		}
	}
	if err := runNoPanic(t, r, nil, nil); err != nil {
		t.Errorf("empty batch: Run = %v, want nil", err)
	}
}
