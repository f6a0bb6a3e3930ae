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

// BenchmarkDecode measures the s15m decoder's iterations on the best tier: a 64-token
// prefill (the last token's logits), and a decode iteration of 1 and of 8 sequences with 64
// tokens cached each (one token and its logits per sequence), on one thread and on two (the
// pool's hand-off between small MatVecs; the few-column MatMuls of a batch), in every
// precision. Compare runs with benchstat over -count 6 or more.
func BenchmarkDecode(b *testing.B) {
	m := fixture(b, s15mDecoder)
	k1 := newKernels(b, kernels.BestTier(), 1)
	k2 := newKernels(b, kernels.BestTier(), 2)
	const ctx, blockSize = 64, 16
	perSeq := ctx/blockSize + 1
	for _, p := range []model.Precision{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0} {
		cm := convert(b, m, p)
		r, r2 := model.NewRunner(cm, k1), model.NewRunner(cm, k2)
		b.Run(fmt.Sprintf("precision=%s/phase=prefill/tokens=%d/threads=1", model.PrecisionName(p), ctx), func(b *testing.B) {
			kv := newKVOf(b, m, perSeq, blockSize, model.KVDType)
			step := []model.Step{{Tokens: tokens(ctx, m.Spec.Vocab, 1), Blocks: span(0, perSeq)}}
			benchDecode(b, r, kv, step, ctx)
		})
		for _, c := range []struct {
			seqs, threads int
			r             *model.Runner
		}{{1, 1, r}, {8, 1, r}, {1, 2, r2}, {8, 2, r2}} {
			seqs := c.seqs
			b.Run(fmt.Sprintf("precision=%s/phase=decode/seqs=%d/ctx=%d/threads=%d", model.PrecisionName(p), seqs, ctx, c.threads), func(b *testing.B) {
				kv := newKVOf(b, m, seqs*perSeq, blockSize, model.KVDType)
				steps := make([]model.Step, seqs)
				for s := range steps {
					table := span(s*perSeq, perSeq)
					decode(b, c.r, kv, model.Step{Tokens: tokens(ctx, m.Spec.Vocab, uint64(s)), Blocks: table})
					// Each iteration writes position ctx again: the same work every time.
					steps[s] = model.Step{Tokens: []int32{int32(s)}, Pos: ctx, Blocks: table}
				}
				benchDecode(b, c.r, kv, steps, seqs)
			})
		}
	}
}

// benchDecode runs one iteration of steps in a loop and reports tokens per second.
func benchDecode(b *testing.B, r *model.Runner, kv *model.KVStore, steps []model.Step, tokensPerIter int) {
	logits := make([]float32, model.LogitsLen(r.Model().Spec, steps))
	if err := r.Decode(steps, kv, logits); err != nil { // size the runner's buffers outside the loop
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Decode(steps, kv, logits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tokensPerIter*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkIteration measures iterations shaped like a chat workload's on two threads:
// seqs sequences decoding one token each at context ctx (the logits of each), and, with
// prefill > 0, one more sequence's prompt chunk of that many tokens (no logits), as a
// continuous batcher mixes them; over an fp32 and an fp16 KV cache. tokens/s counts every
// token fed to the model.
func BenchmarkIteration(b *testing.B) {
	m := fixture(b, s15mDecoder)
	const ctx, blockSize, threads = 128, 16, 2
	k := newKernels(b, kernels.BestTier(), threads)
	perSeq := ctx/blockSize + 1
	r := model.NewRunner(convert(b, m, tensor.Q8_0), k)
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16} {
		for _, shape := range []struct{ seqs, prefill int }{{16, 0}, {32, 0}, {64, 0}, {32, 48}} {
			name := fmt.Sprintf("precision=int8/kv=%s/seqs=%d/ctx=%d/prefill=%d/threads=%d", dt, shape.seqs, ctx, shape.prefill, threads)
			b.Run(name, func(b *testing.B) {
				kv := newKVOf(b, m, (shape.seqs+1)*perSeq, blockSize, dt)
				steps := make([]model.Step, shape.seqs, shape.seqs+1)
				for s := range steps {
					table := span(s*perSeq, perSeq)
					decode(b, r, kv, model.Step{Tokens: tokens(ctx, m.Spec.Vocab, uint64(s)), Blocks: table, NoLogits: true})
					steps[s] = model.Step{Tokens: []int32{int32(s)}, Pos: ctx, Blocks: table}
				}
				if shape.prefill > 0 {
					steps = append(steps, model.Step{Tokens: tokens(shape.prefill, m.Spec.Vocab, 99), Blocks: span(shape.seqs*perSeq, perSeq), NoLogits: true})
				}
				benchDecode(b, r, kv, steps, shape.seqs+shape.prefill)
			})
		}
	}
}
