package model_test

import (
	"fmt"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// BenchmarkForward measures batched forward passes on the best tier here: the s15m
// encoder on one 64-token request, and the MLP on one row and on 32. Compare runs with
// benchstat over -count 6 or more.
func BenchmarkForward(b *testing.B) {
	precisions := []model.Precision{tensor.F32, tensor.Q8_0, tensor.Q4_0}
	tier := kernels.BestTier()
	b.Run("preset=s15m", func(b *testing.B) {
		m := fixture(b, s15mModel)
		const tokens, batch, threads = 64, 1, 1
		k := newKernels(b, tier, threads)
		in := encoderInputs(m.Spec, tokens)
		for _, p := range precisions {
			name := fmt.Sprintf("precision=%s/tokens=%d/batch=%d/threads=%d", model.PrecisionName(p), tokens, batch, threads)
			b.Run(name, func(b *testing.B) {
				benchForward(b, model.NewRunner(convert(b, m, p), k), in, tokens*batch, "tokens/s")
			})
		}
	})
	b.Run("preset=mlp", func(b *testing.B) {
		m := fixture(b, mlpModel)
		k := newKernels(b, tier, 1)
		for _, p := range precisions {
			r := model.NewRunner(convert(b, m, p), k)
			for _, batch := range []int{1, 32} {
				name := fmt.Sprintf("precision=%s/batch=%d", model.PrecisionName(p), batch)
				b.Run(name, func(b *testing.B) {
					benchForward(b, r, mlpInputs(m.Spec, batch), batch, "rows/s")
				})
			}
		}
	})
}

// benchForward runs batch through r in a loop and reports work units per second.
func benchForward(b *testing.B, r *model.Runner, batch []model.Input, units int, unit string) {
	out := make([]float32, len(batch)*r.Model().Spec.Classes)
	if err := r.Run(batch, out); err != nil { // size the runner's buffers outside the loop
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(batch, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(units*b.N)/b.Elapsed().Seconds(), unit)
}
