package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/infertune/infertune/engine/kernels"
)

// EvalSize is the default size of an evaluation set.
const EvalSize = 512

// EvalSet returns n seeded evaluation inputs for spec. Encoder inputs (and decoder
// prompts) have lengths uniform in [16, min(128, Context)] and token ids uniform over the
// vocabulary; MLP rows have standard normal features.
func EvalSet(spec Spec, n int, seed uint64) []Input {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]Input, n)
	for i := range out {
		switch spec.Arch {
		case Encoder, Decoder:
			lo, hi := min(16, spec.Context), min(128, spec.Context)
			toks := make([]int32, lo+r.IntN(hi-lo+1))
			for j := range toks {
				toks[j] = int32(r.IntN(spec.Vocab))
			}
			out[i].Tokens = toks
		case MLP:
			f := make([]float32, spec.Widths[0])
			for j := range f {
				f[j] = float32(r.NormFloat64())
			}
			out[i].Features = f
		}
	}
	return out
}

// Agreement is how faithfully one model reproduces another on an evaluation set.
type Agreement struct {
	// Top1 is the share of inputs (for a decoder, of predicted positions) whose highest
	// output is the same class or token (0..1).
	Top1 float64
	// KLD is the mean Kullback–Leibler divergence KL(ref ‖ cand) of the softmax of the
	// outputs, in nats.
	KLD float64
	// N is the number of inputs compared; for a decoder, the number of next-token
	// distributions (every position of every prompt).
	N int
}

// fidelityBatch is how many inputs run together during a fidelity measurement.
const fidelityBatch = 16

// Fidelity runs eval through ref (usually fp32) and cand (a converted model) and returns
// their agreement. A decoder is compared on its next-token distributions, teacher-forced:
// each prompt is prefilled whole with the logits of every position returned, so that
// position p of both models predicts from the same tokens 0..p.
func Fidelity(ref, cand *Runner, eval []Input) (Agreement, error) {
	rs, cs := ref.m.Spec, cand.m.Spec
	if rs.Name != cs.Name || rs.Arch != cs.Arch || rs.Classes != cs.Classes {
		return Agreement{}, fmt.Errorf("fidelity: models differ in shape (%s %s, %s %s)", rs.Name, rs.Arch, cs.Name, cs.Arch)
	}
	if len(eval) == 0 {
		return Agreement{}, fmt.Errorf("fidelity: empty evaluation set")
	}
	if rs.Arch == Decoder {
		return generationFidelity(ref, cand, eval)
	}
	c := rs.Classes
	a := Agreement{N: len(eval)}
	ro := make([]float32, fidelityBatch*c)
	co := make([]float32, fidelityBatch*c)
	var agree int
	var kld float64
	for i := 0; i < len(eval); i += fidelityBatch {
		b := eval[i:min(i+fidelityBatch, len(eval))]
		n := len(b) * c
		if err := ref.Run(b, ro[:n]); err != nil {
			return Agreement{}, fmt.Errorf("fidelity: reference: %w", err)
		}
		if err := cand.Run(b, co[:n]); err != nil {
			return Agreement{}, fmt.Errorf("fidelity: candidate: %w", err)
		}
		for j := range b {
			p, q := ro[j*c:(j+1)*c], co[j*c:(j+1)*c]
			if Argmax(p) == Argmax(q) {
				agree++
			}
			kld += klDivergence(p, q)
		}
	}
	a.Top1 = float64(agree) / float64(len(eval))
	a.KLD = kld / float64(len(eval))
	return a, nil
}

// Argmax returns the index of the largest of x (the first on ties): a classifier's class
// (kernels.ArgmaxScan).
func Argmax(x []float32) int { return kernels.ArgmaxScan(x) }

// Generation fidelity runs prompts in iterations of at most fidelityTokens tokens (whole
// prompts; a longer prompt alone, in chunks of that size), each a Decode with the logits
// of every token returned, over KV blocks of fidelityBlockSize positions.
const (
	fidelityTokens    = 256
	fidelityBlockSize = 16
)

// generationFidelity is Fidelity for decoders.
func generationFidelity(ref, cand *Runner, eval []Input) (Agreement, error) {
	s := ref.m.Spec
	for i, in := range eval {
		if err := s.CheckInput(in); err != nil {
			return Agreement{}, fmt.Errorf("fidelity: request %d: %w", i, err)
		}
	}
	v, bs := s.Vocab, fidelityBlockSize
	var rkv, ckv *KVStore // one each: a long prompt's later chunks read its earlier keys
	var steps []Step
	var ro, co []float32
	var agree, n int
	var kld float64
	for i := 0; i < len(eval); {
		// A group of whole prompts within the token budget, or one longer prompt.
		j, tokens, longest := i, 0, 0
		for j < len(eval) && (j == i || tokens+len(eval[j].Tokens) <= fidelityTokens) {
			tokens += len(eval[j].Tokens)
			longest = max(longest, len(eval[j].Tokens))
			j++
		}
		group := eval[i:j]
		i = j
		blocks := 0
		for _, in := range group {
			blocks += (len(in.Tokens) + bs - 1) / bs
		}
		if rkv == nil || rkv.Blocks < blocks {
			var err error
			// Both caches hold what the engine serves with (KVDType): the figure is the
			// weights' precision.
			if rkv, err = NewKVStore(s, blocks, bs, KVDType); err != nil {
				return Agreement{}, fmt.Errorf("fidelity: %w", err)
			}
			if ckv, err = NewKVStore(s, blocks, bs, KVDType); err != nil {
				return Agreement{}, fmt.Errorf("fidelity: %w", err)
			}
		}
		for pos := 0; pos < longest; pos += fidelityTokens {
			steps = steps[:0]
			next := 0
			for _, in := range group {
				nb := (len(in.Tokens) + bs - 1) / bs
				table := make([]int, nb)
				for b := range table {
					table[b] = next + b
				}
				next += nb
				if pos < len(in.Tokens) {
					end := min(pos+fidelityTokens, len(in.Tokens))
					steps = append(steps, Step{Tokens: in.Tokens[pos:end], Pos: pos, Blocks: table, AllLogits: true})
				}
			}
			m := LogitsLen(s, steps)
			ro, co = grow(&ro, m), grow(&co, m)
			if err := ref.Decode(steps, rkv, ro); err != nil {
				return Agreement{}, fmt.Errorf("fidelity: reference: %w", err)
			}
			if err := cand.Decode(steps, ckv, co); err != nil {
				return Agreement{}, fmt.Errorf("fidelity: candidate: %w", err)
			}
			for r := range m / v {
				p, q := ro[r*v:(r+1)*v], co[r*v:(r+1)*v]
				if Argmax(p) == Argmax(q) {
					agree++
				}
				kld += klDivergence(p, q)
				n++
			}
		}
	}
	return Agreement{Top1: float64(agree) / float64(n), KLD: kld / float64(n), N: n}, nil
}

// klDivergence returns KL(softmax(p) ‖ softmax(q)).
func klDivergence(p, q []float32) float64 {
	lp, lq := logSumExp(p), logSumExp(q)
	var kl float64
	for i := range p {
		a, b := float64(p[i])-lp, float64(q[i])-lq
		kl += math.Exp(a) * (a - b)
	}
	return max(kl, 0)
}

// logSumExp returns log Σ e^x.
func logSumExp(x []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(sum)
}
