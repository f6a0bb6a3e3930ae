package engine_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infertune/infertune/engine"
	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/sched"
	"github.com/infertune/infertune/engine/tensor"
	"github.com/infertune/infertune/loadgen"
)

func tinyDecoder(t *testing.T, p model.Precision) *model.Model {
	t.Helper()
	spec, err := model.Preset("tiny", model.Decoder)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.Generate(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ref.Convert(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// greedyAlone generates n tokens after prompt with the model by itself: one prefill, then
// one decode step per token, in a private cache.
func greedyAlone(t *testing.T, m *model.Model, prompt []int32, n int) []int32 {
	t.Helper()
	k, err := kernels.New(kernels.Config{Tier: kernels.BestTier(), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	const bs = 16
	blocks := (len(prompt) + n + bs - 1) / bs
	kv, err := model.NewKVStore(m.Spec, blocks, bs, model.KVDType) // as the generator serves
	if err != nil {
		t.Fatal(err)
	}
	table := make([]int, blocks)
	for i := range table {
		table[i] = i
	}
	r := model.NewRunner(m, k)
	logits := make([]float32, m.Spec.Vocab)
	all := slices.Clone(prompt)
	pos, feed := 0, prompt
	for range n {
		if err := r.Decode([]model.Step{{Tokens: feed, Pos: pos, Blocks: table}}, kv, logits); err != nil {
			t.Fatal(err)
		}
		pos += len(feed)
		tok := model.Greedy(logits)
		all = append(all, tok)
		feed = []int32{tok}
	}
	return all[len(prompt):]
}

func genConfig(batching string, p model.Precision) engine.GenConfig {
	return engine.GenConfig{Model: "tiny", Precision: p, Seed: 1, Tier: kernels.BestTier(), Threads: 2, Batching: batching,
		Sched: sched.GenConfig{MaxSeqs: 6, MaxBatchedTokens: 40, KV: sched.KVConfig{BlockSize: 16, Blocks: 10}, MaxQueue: 256,
			StaticWait: time.Millisecond}}
}

// TestGeneratorServesTheModel: concurrent requests through either batcher, in a cache
// small enough to preempt, get exactly the greedy tokens of the model run alone, each
// with a time, in order.
func TestGeneratorServesTheModel(t *testing.T) {
	for _, batching := range []string{engine.BatchingContinuous, engine.BatchingStatic} {
		for _, p := range []model.Precision{tensor.F32, tensor.Q8_0} {
			t.Run(fmt.Sprintf("%s/%s", batching, model.PrecisionName(p)), func(t *testing.T) {
				m := tinyDecoder(t, p)
				g, err := engine.NewGenerator(genConfig(batching, p), m)
				if err != nil {
					t.Fatal(err)
				}
				defer g.Close()
				r := rand.New(rand.NewPCG(4, 4))
				var wg sync.WaitGroup
				for i := range 16 {
					prompt := make([]int32, 1+r.IntN(60))
					for j := range prompt {
						prompt[j] = int32(r.IntN(m.Spec.Vocab))
					}
					n := 1 + r.IntN(30)
					want := greedyAlone(t, m, prompt, n)
					wg.Go(func() {
						resp, err := g.Do(t.Context(), &loadgen.Request{Tokens: prompt, MaxTokens: n})
						if err != nil {
							t.Errorf("request %d: %v", i, err)
							return
						}
						if !slices.Equal(resp.Tokens, want) || len(resp.TokenTimes) != n {
							t.Errorf("request %d: %v (%d times), alone %v", i, resp.Tokens, len(resp.TokenTimes), want)
						}
						if !slices.IsSortedFunc(resp.TokenTimes, func(a, b time.Time) int { return a.Compare(b) }) {
							t.Errorf("request %d: token times out of order", i)
						}
					})
				}
				wg.Wait()
				mt := g.Metrics()
				t.Logf("%d iterations, %d preemptions, peak %d of 10 blocks", mt.Iterations, mt.Preemptions, mt.KVPeak)

			})
		}
	}
}

// TestGeneratorPreempts: two long requests at once in a cache that holds only one of them
// whole: once both run, a decode finds no free block and the later one is preempted and
// recomputed; both still get exactly the tokens of the model run alone.
func TestGeneratorPreempts(t *testing.T) {
	m := tinyDecoder(t, tensor.F32)
	cfg := genConfig(engine.BatchingContinuous, tensor.F32) // 10 blocks of 16 positions
	g, err := engine.NewGenerator(cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// 4 blocks to start, 8 at the end: once two are held, one must be preempted before both
	// finish, and a second is admitted only while the first holds at most 6.
	const prompt, n = 60, 60
	var wg sync.WaitGroup
	for i := range 2 {
		p := make([]int32, prompt)
		for j := range p {
			p[j] = int32((31*i + 7*j) % m.Spec.Vocab)
		}
		want := greedyAlone(t, m, p, n)
		wg.Go(func() {
			resp, err := g.Do(t.Context(), &loadgen.Request{Tokens: p, MaxTokens: n})
			if err != nil || !slices.Equal(resp.Tokens, want) {
				t.Errorf("request %d: %v, %v; alone %v", i, resp, err, want)
			}
		})
	}
	wg.Wait()
	mt := g.Metrics()
	t.Logf("%d preemptions, at most %d sequences held at once", mt.Preemptions, mt.PeakSeqsHeld)
	if mt.Preemptions == 0 && mt.PeakSeqsHeld > 1 {
		t.Errorf("two sequences held at once in a cache for one, and no preemption")
	}
}

// TestGeneratorRefuses: bad configs and requests that cannot fit, with clear errors.
func TestGeneratorRefuses(t *testing.T) {
	m := tinyDecoder(t, tensor.F32)
	bad := genConfig("dynamic", tensor.F32)
	if _, err := engine.NewGenerator(bad, m); err == nil || !strings.Contains(err.Error(), `batching "dynamic": accepted: continuous, static`) {
		t.Errorf("bad batching: %v", err)
	}
	enc, err := model.Generate(mustPreset(t, "tiny", model.Encoder), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewGenerator(genConfig(engine.BatchingContinuous, tensor.F32), enc); err == nil || !strings.Contains(err.Error(), "want a decoder") {
		t.Errorf("an encoder: %v", err)
	}
	g, err := engine.NewGenerator(genConfig(engine.BatchingContinuous, tensor.F32), m)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	_, err = g.Do(t.Context(), &loadgen.Request{Tokens: make([]int32, 120), MaxTokens: 20})
	if !errors.Is(err, model.ErrInput) || !strings.Contains(err.Error(), "more than the context of 128") {
		t.Errorf("past the context: %v", err)
	}
	// An unknown token id is refused alone, before it could fail an iteration shared with
	// others; the generator serves the next request.
	_, err = g.Do(t.Context(), &loadgen.Request{Tokens: []int32{1, int32(m.Spec.Vocab)}, MaxTokens: 2})
	if !errors.Is(err, model.ErrInput) {
		t.Errorf("a token id past the vocabulary: %v", err)
	}
	if _, err := g.Do(t.Context(), &loadgen.Request{Tokens: []int32{1, 2}, MaxTokens: 2}); err != nil {
		t.Errorf("a good request after a refused one: %v", err)
	}
	noSeqs := genConfig(engine.BatchingContinuous, tensor.F32)
	noSeqs.Sched.MaxSeqs = 0
	if _, err := engine.NewGenerator(noSeqs, m); err == nil || !strings.Contains(err.Error(), "max_seqs is 0") {
		t.Errorf("max_seqs 0: %v", err)
	}
	if n, err := engine.KVBlocks("s15m", 64<<20, 16, 0); err != nil || n != 606 { // fp16: 110,592 bytes a block
		t.Errorf("s15m, 64 MiB of 16-position blocks: %d blocks, %v; want 606", n, err)
	}
	if _, err := engine.KVBlocks("s15m", 1000, 16, 0); err == nil || !strings.Contains(err.Error(), "kv_budget 1000") {
		t.Errorf("a budget below one block: %v", err)
	}
}

func mustPreset(t *testing.T, name string, a model.Arch) model.Spec {
	t.Helper()
	s, err := model.Preset(name, a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
