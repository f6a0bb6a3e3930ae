package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// Shared fixtures: the fp32 models of the presets the tests use, generated once per
// test binary (Generate is deterministic, so sharing them hides nothing).
var (
	tinyModel = sync.OnceValues(func() (*model.Model, error) { return presetModel("tiny", model.Encoder, 1) })
	mlpModel  = sync.OnceValues(func() (*model.Model, error) { return presetModel("mlp", model.MLP, 1) })
	s15mModel = sync.OnceValues(func() (*model.Model, error) { return presetModel("s15m", model.Encoder, 1) })

	tinyDecoder = sync.OnceValues(func() (*model.Model, error) { return presetModel("tiny", model.Decoder, 1) })
	s15mDecoder = sync.OnceValues(func() (*model.Model, error) { return presetModel("s15m", model.Decoder, 1) })
)

func presetModel(name string, arch model.Arch, seed uint64) (*model.Model, error) {
	spec, err := model.Preset(name, arch)
	if err != nil {
		return nil, err
	}
	return model.Generate(spec, seed)
}

// fixture returns one of the shared models or fails the test.
func fixture(tb testing.TB, get func() (*model.Model, error)) *model.Model {
	tb.Helper()
	m, err := get()
	if err != nil {
		tb.Fatalf("generate: %v", err)
	}
	return m
}

// convert returns m in precision p or fails the test.
func convert(tb testing.TB, m *model.Model, p model.Precision) *model.Model {
	tb.Helper()
	c, err := m.Convert(p)
	if err != nil {
		tb.Fatalf("convert %s to %s: %v", m.Spec.Name, model.PrecisionName(p), err)
	}
	return c
}

// newKernels builds kernels of tier with threads and closes them when the test ends.
func newKernels(tb testing.TB, tier kernels.Tier, threads int) *kernels.Kernels {
	tb.Helper()
	k, err := kernels.New(kernels.Config{Tier: tier, Threads: threads})
	if err != nil {
		tb.Fatalf("kernels %s×%d: %v", tier, threads, err)
	}
	tb.Cleanup(k.Close)
	return k
}

// simdUsable reports whether the simd tier can run here; tests comparing it with the
// generic tier skip otherwise.
func simdUsable() bool {
	if !kernels.SIMDBuilt() {
		return false
	}
	for _, t := range kernels.Tiers() {
		if t == kernels.SIMD {
			return true
		}
	}
	return false
}

// guard is the value written around every output buffer; a forward pass that writes
// outside its out slice changes it.
const guard = float32(-12345.678)

const guardLen = 16

// guardByte fills a KV store's bytes where a refused iteration must write nothing.
const guardByte = 0x5a

// run runs batch through r into a guarded buffer and returns the outputs. It fails the
// test when Run errors or writes outside out.
func run(tb testing.TB, r *model.Runner, batch []model.Input) []float32 {
	tb.Helper()
	c := r.Model().Spec.Classes
	buf := make([]float32, guardLen+len(batch)*c+guardLen)
	for i := range buf {
		buf[i] = guard
	}
	out := buf[guardLen : guardLen+len(batch)*c]
	if err := r.Run(batch, out); err != nil {
		tb.Fatalf("run: %v", err)
	}
	for i, v := range buf {
		if (i < guardLen || i >= guardLen+len(out)) && v != guard {
			tb.Fatalf("run wrote %v at guard %d (outputs are [%d, %d))", v, i, guardLen, guardLen+len(out))
		}
	}
	for i, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			tb.Fatalf("output %d is %v", i, v)
		}
	}
	return out
}

// tokens returns n token ids uniform over [0, vocab), from seed.
func tokens(n, vocab int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(vocab))
	}
	return out
}

// features returns n standard normal features, from seed.
func features(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

// encoderInputs returns one input per length, with distinct seeded tokens.
func encoderInputs(spec model.Spec, lengths ...int) []model.Input {
	out := make([]model.Input, len(lengths))
	for i, n := range lengths {
		out[i].Tokens = tokens(n, spec.Vocab, uint64(100+i))
	}
	return out
}

// mlpInputs returns n rows of seeded features.
func mlpInputs(spec model.Spec, n int) []model.Input {
	out := make([]model.Input, n)
	for i := range out {
		out[i].Features = features(spec.Widths[0], uint64(200+i))
	}
	return out
}

// relErr returns max |got-want| over max |want|: the error relative to the outputs' scale.
func relErr[T, U float32 | float64](got []T, want []U) float64 {
	if len(got) != len(want) {
		panic(fmt.Sprintf("relErr: %d values against %d", len(got), len(want)))
	}
	var diff, scale float64
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// newKV returns an fp32 KV store of blocks blocks of blockSize positions for m, or fails
// the test: the store of the tests that hold Decode to the float64 reference, and of those
// whose properties hold for any store (the fp16 store has tests of its own).
func newKV(tb testing.TB, m *model.Model, blocks, blockSize int) *model.KVStore {
	tb.Helper()
	return newKVOf(tb, m, blocks, blockSize, tensor.F32)
}

// newKVOf is newKV in dtype dt.
func newKVOf(tb testing.TB, m *model.Model, blocks, blockSize int, dt tensor.DType) *model.KVStore {
	tb.Helper()
	kv, err := model.NewKVStore(m.Spec, blocks, blockSize, dt)
	if err != nil {
		tb.Fatalf("kv store: %v", err)
	}
	return kv
}

// span returns the block table first, first+1, ..., first+n-1.
func span(first, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = first + i
	}
	return out
}

// decode runs one Decode iteration into a guarded buffer and returns the logits. It fails
// the test when Decode errors, writes outside its logits or returns a non-finite logit.
func decode(tb testing.TB, r *model.Runner, kv *model.KVStore, steps ...model.Step) []float32 {
	tb.Helper()
	n := model.LogitsLen(r.Model().Spec, steps)
	buf := make([]float32, guardLen+n+guardLen)
	for i := range buf {
		buf[i] = guard
	}
	out := buf[guardLen : guardLen+n]
	if err := r.Decode(steps, kv, out); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	for i, v := range buf {
		if (i < guardLen || i >= guardLen+n) && v != guard {
			tb.Fatalf("decode wrote %v at guard %d (logits are [%d, %d))", v, i, guardLen, guardLen+n)
		}
	}
	for i, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			tb.Fatalf("logit %d is %v", i, v)
		}
	}
	return out
}

// prefill runs toks through r as one sequence with block table blocks, in chunks of the
// given sizes (one iteration each; the last chunk takes what is left), and returns the
// logits of every position.
func prefill(tb testing.TB, r *model.Runner, kv *model.KVStore, blocks []int, toks []int32, chunks ...int) []float32 {
	tb.Helper()
	var out []float32
	pos := 0
	for i := 0; pos < len(toks); i++ {
		n := len(toks) - pos
		if i < len(chunks) {
			n = min(n, chunks[i])
		}
		out = append(out, decode(tb, r, kv, model.Step{Tokens: toks[pos : pos+n], Pos: pos, Blocks: blocks, AllLogits: true})...)
		pos += n
	}
	return out
}

// greedyTokens returns the argmax of each row of vocab logits.
func greedyTokens(logits []float32, vocab int) []int32 {
	out := make([]int32, len(logits)/vocab)
	for i := range out {
		out[i] = model.Greedy(logits[i*vocab : (i+1)*vocab])
	}
	return out
}
