package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// EvalSize is the default size of an evaluation set.
const EvalSize = 512

// EvalSet returns n seeded evaluation inputs for spec. Encoder inputs have lengths
// uniform in [16, min(128, Context)] and token ids uniform over the vocabulary; MLP rows
// have standard normal features.
func EvalSet(spec Spec, n int, seed uint64) []Input {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]Input, n)
	for i := range out {
		switch spec.Arch {
		case Encoder:
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
	// Top1 is the share of inputs whose highest output is the same class (0..1).
	Top1 float64
	// KLD is the mean Kullback–Leibler divergence KL(ref ‖ cand) of the softmax of the
	// outputs, in nats.
	KLD float64
	// N is the number of inputs.
	N int
}

// fidelityBatch is how many inputs run together during a fidelity measurement.
const fidelityBatch = 16

// Fidelity runs eval through ref (usually fp32) and cand (a converted model) and returns
// their agreement.
func Fidelity(ref, cand *Runner, eval []Input) (Agreement, error) {
	rs, cs := ref.m.Spec, cand.m.Spec
	if rs.Name != cs.Name || rs.Arch != cs.Arch || rs.Classes != cs.Classes {
		return Agreement{}, fmt.Errorf("fidelity: models differ in shape (%s %s, %s %s)", rs.Name, rs.Arch, cs.Name, cs.Arch)
	}
	if len(eval) == 0 {
		return Agreement{}, fmt.Errorf("fidelity: empty evaluation set")
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

// Argmax returns the index of the largest of x (the first on ties): a classifier's class.
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// klDivergence returns KL(softmax(p) ‖ softmax(q)).
func klDivergence(p, q []float32) float64 {
	lp, lq := logSoftmax(p), logSoftmax(q)
	var kl float64
	for i := range lp {
		kl += math.Exp(lp[i]) * (lp[i] - lq[i])
	}
	return max(kl, 0)
}

func logSoftmax(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - lse
	}
	return out
}
