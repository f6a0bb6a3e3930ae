package model_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// onesSchedule returns n chunks of one token: token by token.
func onesSchedule(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// TestDecodeChunking runs one prompt through prefill whole, token by token, in seeded
// random chunks and as one token then the rest, then decodes a few teacher-forced tokens
// after it: every schedule must give the logits of the whole prefill at every position,
// and the same greedy tokens.
//
// Tolerances. fp32: each token's row is computed from that row alone in every matmul, and
// its attention reads the same keys and values whatever the schedule; what differs is the
// length of the score rows (a causal row of a whole prefill carries masked zeros that a
// token-by-token row lacks), which regroups the partial sums of a kernel's dot product
// for the attention output, a rounding-level change. Observed: at most 1.5e-7 of the
// logits' scale on the generic tier (its dot keeps four partial sums), exactly 0 on the
// simd tier; 1e-5 leaves room for that and still catches a key at the wrong position
// (TestDecoderMatchesReference checks chunked prefill against the reference too). int8
// and int4: the same rounding differences can move an activation across a Q8_0 rounding
// boundary, a step of max|block|/127 that later layers carry on; observed exactly 0 here;
// 1e-2 as in TestSIMDMatchesGeneric.
func TestDecodeChunking(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	const prompt, extra = 100, 8
	toks := tokens(prompt+extra, tiny.Spec.Vocab, 11)
	rng := rand.New(rand.NewPCG(3, 4))
	var random []int
	for n := 0; n < prompt; {
		c := 1 + rng.IntN(24)
		random = append(random, c)
		n += c
	}
	schedules := []struct {
		name   string
		chunks []int
	}{
		{"token by token", onesSchedule(prompt)},
		{"random chunks", random},
		{"one then the rest", []int{1, prompt - 1}},
		{"block-sized chunks", []int{16, 16, 16, 16, 16, 16, 4}},
	}
	tol := map[model.Precision]float64{tensor.F32: 1e-5, tensor.Q8_0: 1e-2, tensor.Q4_0: 1e-2}
	for _, tier := range usableTiers() {
		k := newKernels(t, tier, 2)
		for _, p := range []model.Precision{tensor.F32, tensor.Q8_0, tensor.Q4_0} {
			r := model.NewRunner(convert(t, tiny, p), k)
			// run prefills the prompt by chunks, then decodes the extra tokens one by one.
			run := func(chunks []int) []float32 {
				kv := newKV(t, r.Model(), 7, 16)
				table := span(0, 7)
				out := prefill(t, r, kv, table, toks[:prompt], chunks...)
				for i := prompt; i < prompt+extra; i++ {
					out = append(out, decode(t, r, kv, model.Step{Tokens: toks[i : i+1], Pos: i, Blocks: table})...)
				}
				return out
			}
			whole := run(nil)
			wantTokens := greedyTokens(whole, tiny.Spec.Vocab)
			for _, sc := range schedules {
				t.Run(fmt.Sprintf("tier=%s/%s/%s", tier, model.PrecisionName(p), sc.name), func(t *testing.T) {
					got := run(sc.chunks)
					e := relErr(got, whole)
					if e > tol[p] {
						t.Errorf("logits differ from the whole prefill by %.3g of their scale, want <= %g", e, tol[p])
					} else if e != 0 {
						t.Logf("differs from the whole prefill by %.3g", e)
					}
					if g := greedyTokens(got, tiny.Spec.Vocab); !slices.Equal(g, wantTokens) {
						t.Errorf("greedy tokens %v, whole prefill %v", g, wantTokens)
					}
				})
			}
		}
	}
}

// seqPlan is one sequence of a batched decoding schedule: its tokens, the iteration it
// joins, the sizes of its chunks (one per iteration; prefill chunks, then 1 for decode
// tokens) and whether its steps ask for every token's logits.
type seqPlan struct {
	toks   []int32
	start  int
	chunks []int
	all    bool
}

// runPlans runs seqs through r on kv. Batched, iteration i holds the next chunk of every
// sequence that has joined and not finished (in reverse order when reverse is set); alone,
// each sequence runs by itself. tables gives each sequence's block table. It returns the
// logits of each sequence's steps, concatenated.
func runPlans(t *testing.T, r *model.Runner, kv *model.KVStore, seqs []seqPlan, tables [][]int, batched, reverse bool) [][]float32 {
	t.Helper()
	out := make([][]float32, len(seqs))
	pos := make([]int, len(seqs))
	next := make([]int, len(seqs))
	v := r.Model().Spec.Vocab
	for it := 0; ; it++ {
		var steps []model.Step
		var who []int
		for s, sp := range seqs {
			if (batched && it < sp.start) || next[s] == len(sp.chunks) {
				continue
			}
			n := sp.chunks[next[s]]
			steps = append(steps, model.Step{Tokens: sp.toks[pos[s] : pos[s]+n], Pos: pos[s], Blocks: tables[s], AllLogits: sp.all})
			who = append(who, s)
			pos[s] += n
			next[s]++
			if !batched {
				break
			}
		}
		if len(steps) == 0 {
			if !slices.ContainsFunc(seqs, func(sp seqPlan) bool { return sp.start > it }) {
				break // every sequence has finished
			}
			continue
		}
		if reverse {
			slices.Reverse(steps)
			slices.Reverse(who)
		}
		logits := decode(t, r, kv, steps...)
		for i, s := range who {
			n := v
			if steps[i].AllLogits {
				n *= len(steps[i].Tokens)
			}
			out[s] = append(out[s], logits[:n]...)
			logits = logits[n:]
		}
	}
	return out
}

// TestDecodeBatchEqualsAlone runs four sequences through a mixed schedule (in one
// iteration a prefill chunk of one, the decode tokens of others, a whole prompt joining)
// and each sequence alone with the same chunks: a sequence's logits must not depend on what
// shares its iterations, nor on its place among the steps, nor on which blocks it has.
//
// Tolerance: every weight matmul computes each token's row from that row alone, Q8_0
// activation quantization works per row, and attention reads only the sequence's own
// keys and values, so batching changes no value it reads; the kernels pick their path by
// the number of rows (a MatVec for one, row groups for a few float rows, the tiles for
// more), each path adding in its own order: observed differences are up to 3.1e-7 of the
// logits' scale on both tiers. 1e-5 leaves room for that, not for a value leaking between
// sequences.
func TestDecodeBatchEqualsAlone(t *testing.T) {
	const tol = 1e-5
	tiny := fixture(t, tinyDecoder)
	vocab := tiny.Spec.Vocab
	seqs := []seqPlan{
		{toks: tokens(48, vocab, 21), start: 0, chunks: append([]int{16, 24}, onesSchedule(8)...), all: true},
		{toks: tokens(30, vocab, 22), start: 0, chunks: append([]int{23}, onesSchedule(7)...)},
		{toks: tokens(12, vocab, 23), start: 1, chunks: append([]int{5}, onesSchedule(7)...), all: true},
		{toks: tokens(70, vocab, 24), start: 3, chunks: append([]int{64}, onesSchedule(6)...)},
	}
	// Batched, the sequences share one store, their blocks interleaved; alone, each has
	// blocks 0, 1, 2, ... of a store of its own.
	const blockSize = 16
	shared := make([][]int, len(seqs))
	alone := make([][]int, len(seqs))
	for s, sp := range seqs {
		nb := (len(sp.toks) + blockSize - 1) / blockSize
		for b := range nb {
			shared[s] = append(shared[s], b*len(seqs)+s)
		}
		alone[s] = span(0, nb)
	}
	for _, tier := range usableTiers() {
		k := newKernels(t, tier, 2)
		for _, c := range []struct {
			p  model.Precision
			kv tensor.DType
		}{{tensor.F32, tensor.F32}, {tensor.Q8_0, tensor.F32}, {tensor.Q4_0, tensor.F32}, {tensor.F32, tensor.F16}, {tensor.Q8_0, tensor.F16}} {
			p := c.p
			t.Run(fmt.Sprintf("tier=%s/%s/kv=%s", tier, model.PrecisionName(p), c.kv), func(t *testing.T) {
				r := model.NewRunner(convert(t, tiny, p), k)
				together := runPlans(t, r, newKVOf(t, r.Model(), 5*len(seqs), blockSize, c.kv), seqs, shared, true, false)
				backwards := runPlans(t, r, newKVOf(t, r.Model(), 5*len(seqs), blockSize, c.kv), seqs, shared, true, true)
				for s := range seqs {
					by := runPlans(t, r, newKVOf(t, r.Model(), 5, blockSize, c.kv), seqs[s:s+1], alone[s:s+1], false, false)[0]
					if len(together[s]) != len(by) || len(by) == 0 {
						t.Fatalf("sequence %d: %d logits batched, %d alone", s, len(together[s]), len(by))
					}
					if e := relErr(together[s], by); e > tol {
						t.Errorf("sequence %d: batched logits differ from alone by %.3g of their scale, want <= %g", s, e, tol)
					} else if e != 0 {
						t.Logf("sequence %d: batched vs alone %.3g", s, e)
					}
					if e := relErr(backwards[s], together[s]); e > tol {
						t.Errorf("sequence %d: reversing the steps changed its logits by %.3g", s, e)
					}
				}
			})
		}
	}
}

// TestDecodeF16Cache holds Decode over an fp16 KV store to the same over an fp32 one:
// prompts prefilled in chunks, then decoded token by token, on every tier. The keys and
// values lose fp16's rounding (a relative 2^-11 each), which reaches the logits damped by
// the softmax's averaging: observed 2.2e-4 of the logits' scale with fp32 weights, 3.6e-3
// with int8 (whose activation quantization turns small differences into whole steps of
// a block's scale, as in TestDecodeChunking). The bounds are about 5 and 3 times those,
// and far below what a misplaced or misconverted value gives (a wrong position's keys, or
// keys read as fp32: differences of the logits' own scale).
func TestDecodeF16Cache(t *testing.T) {
	tols := map[model.Precision]float64{tensor.F32: 1e-3, tensor.Q8_0: 1e-2}
	tiny := fixture(t, tinyDecoder)
	const prompt, extra = 90, 10
	toks := tokens(prompt+extra, tiny.Spec.Vocab, 31)
	for _, tier := range usableTiers() {
		k := newKernels(t, tier, 2)
		for _, p := range []model.Precision{tensor.F32, tensor.Q8_0} {
			t.Run(fmt.Sprintf("tier=%s/%s", tier, model.PrecisionName(p)), func(t *testing.T) {
				r := model.NewRunner(convert(t, tiny, p), k)
				run := func(dt tensor.DType) []float32 {
					kv := newKVOf(t, r.Model(), 7, 16, dt)
					table := span(0, 7)
					out := prefill(t, r, kv, table, toks[:prompt], 37, 1, 52)
					for i := prompt; i < prompt+extra; i++ {
						out = append(out, decode(t, r, kv, model.Step{Tokens: toks[i : i+1], Pos: i, Blocks: table})...)
					}
					return out
				}
				f32, f16 := run(tensor.F32), run(tensor.F16)
				e := relErr(f16, f32)
				t.Logf("fp16 cache vs fp32: %.3g of the logits' scale", e)
				if tol := tols[p]; e > tol || e == 0 {
					t.Errorf("fp16 cache logits differ from the fp32 cache's by %.3g of their scale, want (0, %g]", e, tol)
				}
				a, b := greedyTokens(f16, tiny.Spec.Vocab), greedyTokens(f32, tiny.Spec.Vocab)
				same := 0
				for i := range a {
					if a[i] == b[i] {
						same++
					}
				}
				if same < len(a)*99/100 {
					t.Errorf("greedy tokens agree at %d of %d positions, want 99%%", same, len(a))
				}
			})
		}
	}
}

// TestDecodeBlockLayout runs one sequence (a prefill in two chunks, then decode tokens)
// over block tables of different block sizes and orders, in stores whose every other
// slot holds NaN: the logits must be bit-identical, since attention gathers the same keys
// and values in the same order whatever their addresses, and must never read a slot the
// sequence has not written (a NaN would spread to every logit).
func TestDecodeBlockLayout(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	toks := tokens(75, tiny.Spec.Vocab, 31)
	chunks := append([]int{40, 30}, onesSchedule(5)...)
	rng := rand.New(rand.NewPCG(5, 6))
	layouts := []struct {
		name              string
		blockSize, blocks int
		table             []int
	}{
		{"16 contiguous", 16, 5, span(0, 5)},
		{"16 permuted", 16, 10, []int{9, 2, 7, 0, 5}},
		{"16 with spare entries", 16, 12, []int{11, 3, 8, 1, 6, 10, 0}},
		{"1 reversed", 1, 80, func() []int { s := span(0, 80); slices.Reverse(s); return s[:75] }()},
		{"5 shuffled", 5, 20, rng.Perm(20)[:15]},
		{"one block of 128", 128, 3, []int{2}},
	}
	for _, tier := range usableTiers() {
		k := newKernels(t, tier, 2)
		for _, p := range []model.Precision{tensor.F32, tensor.Q4_0} {
			r := model.NewRunner(convert(t, tiny, p), k)
			var want []float32
			for _, l := range layouts {
				t.Run(fmt.Sprintf("tier=%s/%s/%s", tier, model.PrecisionName(p), l.name), func(t *testing.T) {
					kv := newKV(t, r.Model(), l.blocks, l.blockSize)
					for i := range kv.K {
						for j := range kv.K[i] {
							kv.K[i][j], kv.V[i][j] = 0xff, 0xff // NaN, read anywhere
						}
					}
					got := runPlans(t, r, kv, []seqPlan{{toks: toks, chunks: chunks, all: true}}, [][]int{l.table}, false, false)[0]
					if want == nil {
						want = got
						return
					}
					if !slices.Equal(got, want) {
						t.Errorf("logits differ from the contiguous layout's by %.3g of their scale, want identical", relErr(got, want))
					}
				})
			}
		}
	}
}

// TestDecodeSharedPrefix lets two sequences read one block of keys and values that a
// first iteration wrote (a shared prompt prefix) while each writes blocks of its own: each
// must get the logits it gets with a private copy of the prefix.
func TestDecodeSharedPrefix(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	r := model.NewRunner(tiny, newKernels(t, kernels.Generic, 2))
	vocab := tiny.Spec.Vocab
	prefix := tokens(16, vocab, 41)
	a := append(slices.Clone(prefix), tokens(5, vocab, 42)...)
	b := append(slices.Clone(prefix), tokens(9, vocab, 43)...)

	kv := newKV(t, tiny, 3, 16)
	decode(t, r, kv, model.Step{Tokens: prefix, Blocks: []int{0}})
	got := decode(t, r, kv,
		model.Step{Tokens: a[16:], Pos: 16, Blocks: []int{0, 1}, AllLogits: true},
		model.Step{Tokens: b[16:], Pos: 16, Blocks: []int{0, 2}, AllLogits: true})
	wantA := prefill(t, r, newKV(t, tiny, 2, 16), span(0, 2), a)[16*vocab:]
	wantB := prefill(t, r, newKV(t, tiny, 2, 16), span(0, 2), b)[16*vocab:]
	if e := relErr(got, append(wantA, wantB...)); e > 1e-6 {
		t.Errorf("sequences over a shared prefix differ from private copies by %.3g of their scale", e)
	}
}

// TestDecodeThreadsAgree runs a mixed iteration with one thread and with two: matmuls split
// by output rows and attention by (step, head), each computed whole by one worker, so the
// logits are identical.
func TestDecodeThreadsAgree(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	seqs := mixedPlans(tiny.Spec.Vocab)
	for _, tier := range usableTiers() {
		one := newKernels(t, tier, 1)
		two := newKernels(t, tier, 2)
		for _, p := range model.Precisions {
			t.Run(fmt.Sprintf("tier=%s/%s", tier, model.PrecisionName(p)), func(t *testing.T) {
				m := convert(t, tiny, p)
				a := flatPlans(t, model.NewRunner(m, one), seqs)
				b := flatPlans(t, model.NewRunner(m, two), seqs)
				if e := relErr(b, a); e > 1e-6 {
					t.Errorf("2 threads differ from 1 by %.3g of the logits' scale", e)
				} else if e != 0 {
					t.Logf("threads differ by %.3g (within 1e-6)", e)
				}
			})
		}
	}
}

// mixedPlans is a small schedule with prefill chunks and decode tokens in one iteration.
func mixedPlans(vocab int) []seqPlan {
	return []seqPlan{
		{toks: tokens(40, vocab, 51), chunks: []int{33, 1, 1, 5}, all: true},
		{toks: tokens(9, vocab, 52), chunks: []int{6, 1, 1, 1}},
		{toks: tokens(20, vocab, 53), start: 1, chunks: []int{20}, all: true},
	}
}

// flatPlans runs seqs batched on a fresh store and returns all their logits.
func flatPlans(t *testing.T, r *model.Runner, seqs []seqPlan) []float32 {
	t.Helper()
	tables := [][]int{span(0, 3), span(3, 3), span(6, 3)}
	var out []float32
	for _, l := range runPlans(t, r, newKV(t, r.Model(), 9, 16), seqs, tables, true, false) {
		out = append(out, l...)
	}
	return out
}

// TestDecodeSIMDMatchesGeneric runs the mixed schedule of every precision through the simd
// tier and the generic one, with the tolerances of TestSIMDMatchesGeneric and for the
// same reasons (observed here: at most 2e-7 for the float formats, 1.4e-6 for int8 and
// int4).
func TestDecodeSIMDMatchesGeneric(t *testing.T) {
	if !simdUsable() {
		t.Skipf("simd tier not usable here (built: %v, tiers: %v)", kernels.SIMDBuilt(), kernels.Tiers())
	}
	tol := map[model.Precision]float64{
		tensor.F32: 1e-5, tensor.F16: 1e-5, tensor.BF16: 1e-5,
		tensor.Q8_0: 1e-2, tensor.Q4_0: 1e-2,
	}
	tiny := fixture(t, tinyDecoder)
	seqs := mixedPlans(tiny.Spec.Vocab)
	gen := newKernels(t, kernels.Generic, 1)
	simd := newKernels(t, kernels.SIMD, 1)
	for _, p := range model.Precisions {
		t.Run(model.PrecisionName(p), func(t *testing.T) {
			m := convert(t, tiny, p)
			want := flatPlans(t, model.NewRunner(m, gen), seqs)
			got := flatPlans(t, model.NewRunner(m, simd), seqs)
			e := relErr(got, want)
			t.Logf("simd vs generic: %.3g of the logits' scale", e)
			if e > tol[p] {
				t.Errorf("simd differs from generic by %.3g of the logits' scale, want <= %g", e, tol[p])
			}
		})
	}
}

// decodeNoPanic calls r.Decode and turns a panic into a test failure.
func decodeNoPanic(t *testing.T, r *model.Runner, steps []model.Step, kv *model.KVStore, logits []float32) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("decode panicked: %v", p)
		}
	}()
	return r.Decode(steps, kv, logits)
}

// TestDecodeRejects feeds each kind of invalid iteration: Decode must refuse it with an
// error naming the problem (wrapping ErrInput for what a request's tokens cause), leave
// the logits and the KV store untouched, and keep working afterwards.
func TestDecodeRejects(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	enc := fixture(t, tinyModel)
	k := newKernels(t, kernels.Generic, 2)
	vocab, ctx := tiny.Spec.Vocab, tiny.Spec.Context
	good := model.Step{Tokens: []int32{1, 2, 3}, Blocks: []int{9}}
	s15m, err := model.Preset("s15m", model.Decoder)
	if err != nil {
		t.Fatal(err)
	}
	otherKV, err := model.NewKVStore(s15m, 1, 16, tensor.F32)
	if err != nil {
		t.Fatal(err)
	}
	withToken := func(i int, id int32) model.Step {
		toks := tokens(5, vocab, 1)
		toks[i] = id
		return model.Step{Tokens: toks, Blocks: []int{0}}
	}
	cases := []struct {
		name      string
		m         *model.Model
		steps     []model.Step
		kv        *model.KVStore // nil: a fresh store of 10 blocks of 16
		noKV      bool
		logits    int // -1: LogitsLen
		want      []string
		wantInput bool
	}{
		{name: "prompt longer than the context", steps: []model.Step{good, {Tokens: make([]int32, ctx+1), Blocks: span(0, 9)}},
			want: []string{"step 1", "prompt of 129 tokens", "context of 128"}, wantInput: true},
		{name: "decode past the context", steps: []model.Step{{Tokens: []int32{5}, Pos: ctx, Blocks: span(0, 9)}},
			want: []string{"step 0", "prompt of 129 tokens", "128 cached", "context of 128"}, wantInput: true},
		{name: "negative token", steps: []model.Step{withToken(2, -1)}, want: []string{"token 2 (position 2)", "id -1", "[0, 512)"}, wantInput: true},
		{name: "token = vocab", steps: []model.Step{good, withToken(4, int32(vocab))}, want: []string{"step 1", "token 4", "id 512", "[0, 512)"}, wantInput: true},
		{name: "empty step", steps: []model.Step{good, {Blocks: []int{0}}}, want: []string{"step 1", "no tokens"}, wantInput: true},
		{name: "negative position", steps: []model.Step{{Tokens: []int32{1}, Pos: -1, Blocks: []int{0}}}, want: []string{"position -1"}},
		{name: "blocks not covering", steps: []model.Step{{Tokens: make([]int32, 20), Blocks: []int{0}}},
			want: []string{"1 blocks of 16 positions cover 16", "positions 0 to 19 need 2"}},
		{name: "no blocks", steps: []model.Step{{Tokens: []int32{1}, Pos: 40}}, want: []string{"0 blocks", "positions 0 to 40 need 3"}},
		{name: "block out of range", steps: []model.Step{{Tokens: []int32{1}, Pos: 16, Blocks: []int{0, 10}}},
			want: []string{"entry 1 is block 10", "[0, 10)"}},
		{name: "negative block", steps: []model.Step{{Tokens: []int32{1}, Blocks: []int{-1}}}, want: []string{"block -1"}},
		{name: "block listed twice", steps: []model.Step{good, {Tokens: make([]int32, 40), Blocks: []int{3, 4, 3}}},
			want: []string{"step 1", "block 3 is listed twice"}},
		{name: "two steps write one block", steps: []model.Step{{Tokens: []int32{1}, Blocks: []int{4}}, good, {Tokens: []int32{2}, Pos: 3, Blocks: []int{4}}},
			want: []string{"steps 0 and 2", "write block 4"}},
		{name: "a step reads a block another writes", steps: []model.Step{{Tokens: []int32{1}, Pos: 16, Blocks: []int{5, 6}}, {Tokens: []int32{2}, Blocks: []int{5}}},
			want: []string{"step 0 reads block 5", "step 1 writes"}},
		{name: "logits too short", steps: []model.Step{good, good2()}, logits: 2*vocab - 1, want: []string{fmt.Sprint(2*vocab - 1), fmt.Sprint(2 * vocab)}},
		{name: "logits too long", steps: []model.Step{{Tokens: []int32{1, 2}, Blocks: []int{0}, AllLogits: true}}, logits: 3 * vocab, want: []string{fmt.Sprint(3 * vocab), fmt.Sprint(2 * vocab)}},
		{name: "no KV store", steps: []model.Step{good}, noKV: true, want: []string{"no KV store"}},
		{name: "KV store of another model", steps: []model.Step{good}, kv: otherKV, want: []string{"6 layers", "needs 2 layers"}},
		{name: "encoder model", m: enc, steps: []model.Step{good}, want: []string{"encoder", "Decode runs decoders"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			if m == nil {
				m = tiny
			}
			r := model.NewRunner(m, k)
			kv := tc.kv
			if kv == nil && !tc.noKV {
				kv = newKV(t, tiny, 10, 16)
				for l := range kv.K {
					for j := range kv.K[l] {
						kv.K[l][j], kv.V[l][j] = guardByte, guardByte
					}
				}
			}
			n := tc.logits
			if n == 0 {
				n = model.LogitsLen(tiny.Spec, tc.steps)
			}
			logits := make([]float32, n)
			for i := range logits {
				logits[i] = guard
			}
			err := decodeNoPanic(t, r, tc.steps, kv, logits)
			if err == nil {
				t.Fatal("Decode succeeded")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if errors.Is(err, model.ErrInput) != tc.wantInput {
				t.Errorf("error %q: wraps ErrInput = %v, want %v", err, !tc.wantInput, tc.wantInput)
			}
			if i := slices.IndexFunc(logits, func(v float32) bool { return v != guard }); i >= 0 {
				t.Errorf("logits[%d] = %v after a refused iteration, want it untouched", i, logits[i])
			}
			if kv != nil && tc.kv == nil {
				for l := range kv.K {
					if slices.ContainsFunc(kv.K[l], func(v byte) bool { return v != guardByte }) ||
						slices.ContainsFunc(kv.V[l], func(v byte) bool { return v != guardByte }) {
						t.Errorf("layer %d of the KV store changed after a refused iteration", l)
					}
				}
			}
			if m == tiny {
				// The runner still works after refusing.
				decode(t, r, newKV(t, tiny, 10, 16), good)
			}
		})
	}
}

// good2 is a valid step on blocks of its own, beside the cases' good step.
func good2() model.Step { return model.Step{Tokens: []int32{4, 5}, Blocks: []int{8}} }

// TestDecoderRunAndKVStore covers the rest of the decoder's surface that refuses input:
// Run on a decoder, and NewKVStore's arguments; and KVBlockBytes against a real store.
func TestDecoderRunAndKVStore(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	r := model.NewRunner(tiny, newKernels(t, kernels.Generic, 1))
	if err := runNoPanic(t, r, encoderInputs(tiny.Spec, 3), make([]float32, tiny.Spec.Classes)); err == nil || !strings.Contains(err.Error(), "Decode") {
		t.Errorf("Run on a decoder = %v, want an error pointing at Decode", err)
	}
	enc, _ := model.Preset("tiny", model.Encoder)
	for _, tc := range []struct {
		name              string
		spec              model.Spec
		blocks, blockSize int
		want              string
	}{
		{"encoder", enc, 4, 16, "only a decoder"},
		{"no blocks", tiny.Spec, 0, 16, "0 blocks of 16"},
		{"negative block size", tiny.Spec, 4, -1, "4 blocks of -1"},
		{"too many", tiny.Spec, math.MaxInt / 16, 16, "too many"},
		{"int8 values", tiny.Spec, 4, 16, "dtype q8_0: accepted: f32, f16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dt := tensor.F32
			if strings.HasPrefix(tc.name, "int8") {
				dt = tensor.Q8_0
			}
			if _, err := model.NewKVStore(tc.spec, tc.blocks, tc.blockSize, dt); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewKVStore = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16} {
		kv := newKVOf(t, tiny, 3, 16, dt)
		var bytes int
		for l := range kv.K {
			bytes += len(kv.K[l]) + len(kv.V[l])
		}
		if got, want := model.KVBlockBytes(tiny.Spec, 16, dt), int64(bytes/3); got != want {
			t.Errorf("%s: KVBlockBytes = %d, a store of 3 blocks holds %d bytes per block", dt, got, want)
		}
		if want := int64(2 * tiny.Spec.Layers * 16 * tiny.Spec.Dim * dt.BlockBytes()); model.KVBlockBytes(tiny.Spec, 16, dt) != want {
			t.Errorf("%s: KVBlockBytes = %d, want %d", dt, model.KVBlockBytes(tiny.Spec, 16, dt), want)
		}
	}
	kv := newKV(t, tiny, 3, 16)
	if kv.Blocks != 3 || kv.BlockSize != 16 || len(kv.K) != tiny.Spec.Layers {
		t.Errorf("store of %d blocks of %d over %d layers", kv.Blocks, kv.BlockSize, len(kv.K))
	}
	if n := model.LogitsLen(tiny.Spec, []model.Step{{Tokens: make([]int32, 5)}, {Tokens: make([]int32, 5), AllLogits: true}}); n != 6*tiny.Spec.Vocab {
		t.Errorf("LogitsLen = %d, want 6 rows of %d", n, tiny.Spec.Vocab)
	}
	if err := r.Decode(nil, kv, nil); err != nil {
		t.Errorf("empty iteration: %v", err)
	}
}

// generate prefills prompt and then generates n tokens one decode step at a time, each
// drawn by pick from the last logits.
func generate(t *testing.T, r *model.Runner, kv *model.KVStore, table []int, prompt []int32, n int, pick func([]float32) int32) []int32 {
	t.Helper()
	logits := decode(t, r, kv, model.Step{Tokens: prompt, Blocks: table})
	var out []int32
	for i := range n {
		tok := pick(logits)
		out = append(out, tok)
		if i < n-1 {
			logits = decode(t, r, kv, model.Step{Tokens: []int32{tok}, Pos: len(prompt) + i, Blocks: table})
		}
	}
	return out
}

// TestGreedyGeneration generates 20 tokens greedily from a prompt: fp32 runs with their own
// runners, thread counts and block layouts give the same tokens; a seeded sampler repeats
// itself for one seed and, at a high temperature, differs between seeds.
func TestGreedyGeneration(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	prompt := tokens(12, tiny.Spec.Vocab, 61)
	const n = 20
	greedy := func(l []float32) int32 { return model.Greedy(l) }
	var want []int32
	for i, tc := range []struct {
		threads int
		table   []int
	}{{1, span(0, 2)}, {1, span(0, 2)}, {2, []int{5, 1}}, {4, []int{0, 3}}} {
		r := model.NewRunner(tiny, newKernels(t, kernels.Generic, tc.threads))
		got := generate(t, r, newKV(t, tiny, 6, 16), tc.table, prompt, n, greedy)
		if i == 0 {
			want = got
			t.Logf("prompt %v, greedy continuation %v", prompt, got)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("run %d (%d threads, blocks %v): %v, want %v", i, tc.threads, tc.table, got, want)
		}
	}
	if len(want) != n {
		t.Fatalf("%d tokens generated, want %d", len(want), n)
	}

	r := model.NewRunner(tiny, newKernels(t, kernels.BestTier(), 2))
	sampled := func(seed uint64) []int32 {
		rng := rand.New(rand.NewPCG(seed, 9))
		return generate(t, r, newKV(t, tiny, 2, 16), span(0, 2), prompt, n, func(l []float32) int32 { return model.Sample(l, 5, rng) })
	}
	a, b, c := sampled(1), sampled(1), sampled(2)
	if !slices.Equal(a, b) {
		t.Errorf("two samplings with seed 1 differ: %v, %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 sample the same %d tokens at temperature 5: %v", n, a)
	}
}

// TestSample checks Greedy's ties and Sample's distribution: temperature 0 (or less, or
// NaN) is Greedy and draws nothing; otherwise draws follow softmax(logits/T) within five
// standard errors over 70000 seeded draws, never pick a -Inf logit, and survive large
// logits.
func TestSample(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		logits []float32
		want   int32
	}{
		{[]float32{1, 3, 3, 2}, 1},
		{[]float32{-inf, -1}, 1},
		{[]float32{7}, 0},
		{[]float32{0, 0, 0}, 0},
	} {
		if got := model.Greedy(tc.logits); got != tc.want {
			t.Errorf("Greedy(%v) = %d, want %d", tc.logits, got, tc.want)
		}
	}
	logits := []float32{0, float32(math.Ln2), float32(2 * math.Ln2), -inf}
	for _, temp := range []float32{0, -1, float32(math.NaN())} {
		r1, r2 := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
		if got := model.Sample(logits, temp, r1); got != 2 {
			t.Errorf("Sample at temperature %v = %d, want the greedy 2", temp, got)
		}
		if r1.Uint64() != r2.Uint64() {
			t.Errorf("Sample at temperature %v drew from the generator", temp)
		}
	}
	for _, tc := range []struct {
		temp float32
		want []float64
	}{
		{1, []float64{1.0 / 7, 2.0 / 7, 4.0 / 7, 0}},
		{2, []float64{1 / (3 + math.Sqrt2), math.Sqrt2 / (3 + math.Sqrt2), 2 / (3 + math.Sqrt2), 0}},
	} {
		const draws = 70000
		r := rand.New(rand.NewPCG(7, 8))
		counts := make([]int, len(logits))
		for range draws {
			counts[model.Sample(logits, tc.temp, r)]++
		}
		for i, p := range tc.want {
			got := float64(counts[i]) / draws
			if se := math.Sqrt(p * (1 - p) / draws); math.Abs(got-p) > 5*se || (p == 0 && counts[i] != 0) {
				t.Errorf("temperature %v: token %d drawn %.4f of the time, want %.4f", tc.temp, i, got, p)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	big := []float32{1e4, 1e4 - 1}
	var first int
	for range 10000 {
		if model.Sample(big, 1, r) == 0 {
			first++
		}
	}
	if p := float64(first) / 10000; math.Abs(p-math.E/(1+math.E)) > 0.03 {
		t.Errorf("logits near 1e4: the larger drawn %.3f of the time, want %.3f", p, math.E/(1+math.E))
	}
}

// TestDecodeNoLogits prefills a prompt in two chunks, the first with NoLogits, batched
// beside another sequence's decode step: the iteration returns only the decode step's
// logits (the same ones as when the chunk returns its own, to rounding: one row runs the
// classifier as a MatVec, two as a MatMul, which sum in another order), and the second chunk's
// logits equal those of a prefill whose first chunk returned logits: the chunk still wrote
// its keys and values. A step asking for every token's logits and for none is refused.
func TestDecodeNoLogits(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	v := tiny.Spec.Vocab
	toks := tokens(40, v, 5)
	other := tokens(9, v, 6)
	for _, tier := range usableTiers() {
		r := model.NewRunner(tiny, newKernels(t, tier, 2))
		run := func(skip bool) (first, second []float32) {
			kv := newKV(t, r.Model(), 6, 16)
			a, b := span(0, 3), span(3, 3)
			prefill(t, r, kv, b, other[:8])
			first = decode(t, r, kv,
				model.Step{Tokens: toks[:25], Blocks: a, NoLogits: skip},
				model.Step{Tokens: other[8:9], Pos: 8, Blocks: b})
			second = decode(t, r, kv, model.Step{Tokens: toks[25:], Pos: 25, Blocks: a})
			return first, second
		}
		wantFirst, wantSecond := run(false)
		gotFirst, gotSecond := run(true)
		if len(gotFirst) != v || len(wantFirst) != 2*v {
			t.Fatalf("tier %s: the iteration returned %d and %d logits, want %d with NoLogits and %d without", tier, len(gotFirst), len(wantFirst), v, 2*v)
		}
		if e := relErr(gotFirst, wantFirst[v:]); e > 1e-5 {
			t.Errorf("tier %s: the decode step's logits moved by %.3g of their scale when the chunk beside it asked for none", tier, e)
		}
		if !slices.Equal(gotSecond, wantSecond) {
			t.Errorf("tier %s: the chunk after a NoLogits chunk gave other logits", tier)
		}
		kv := newKV(t, r.Model(), 6, 16)
		err := r.Decode([]model.Step{{Tokens: toks[:3], Blocks: span(0, 1), AllLogits: true, NoLogits: true}}, kv, make([]float32, 3*v))
		if err == nil || !strings.Contains(err.Error(), "NoLogits") {
			t.Errorf("tier %s: a step with AllLogits and NoLogits: err %v, want a refusal naming them", tier, err)
		}
	}
}
