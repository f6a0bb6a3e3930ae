package model_test

import (
	"math"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// The reference forward pass: the model's arithmetic written out once more, scalar and
// in float64, straight from the description in the package documentation and none of
// the runner's code. It reads every weight through Matrix.ToF32, so run on a converted
// model it computes that model's dequantized weights exactly.

// refLinear is a matmul's weight widened to float64: y = W·(s ⊙ x).
type refLinear struct {
	rows, cols int
	w          []float64 // rows×cols, row-major
	s          []float64 // per input column, nil for none
}

func newRefLinear(tb testing.TB, l model.Linear) refLinear {
	tb.Helper()
	f := make([]float32, l.W.Rows*l.W.Cols)
	if err := l.W.ToF32(f); err != nil {
		tb.Fatalf("weights to f32: %v", err)
	}
	r := refLinear{rows: l.W.Rows, cols: l.W.Cols, w: widen(f)}
	if l.InScale != nil {
		if len(l.InScale) != l.W.Cols {
			tb.Fatalf("InScale has %d values for %d columns", len(l.InScale), l.W.Cols)
		}
		r.s = widen(l.InScale)
	}
	return r
}

// apply returns y[i] = Σ_k W[i][k]·s[k]·x[k].
func (l refLinear) apply(x []float64) []float64 {
	if len(x) != l.cols {
		panic("refLinear: input length")
	}
	xs := x
	if l.s != nil {
		xs = make([]float64, l.cols)
		for k := range xs {
			xs[k] = x[k] * l.s[k]
		}
	}
	y := make([]float64, l.rows)
	for i := range y {
		var acc float64
		for k, w := range l.w[i*l.cols : (i+1)*l.cols] {
			acc += w * xs[k]
		}
		y[i] = acc
	}
	return y
}

func widen(f []float32) []float64 {
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

type refLayer struct {
	attnNorm, ffnNorm          []float64
	wq, wk, wv, wo, w1, w2, w3 refLinear
}

// refModel is a model with every weight in float64.
type refModel struct {
	spec      model.Spec
	embed     []float64
	layers    []refLayer
	finalNorm []float64
	head      refLinear
	dense     []refLinear
	bias      [][]float64
}

func newRefModel(tb testing.TB, m *model.Model) *refModel {
	tb.Helper()
	r := &refModel{spec: m.Spec}
	switch m.Spec.Arch {
	case model.Encoder, model.Decoder:
		r.embed = widen(m.Embed)
		for _, l := range m.Layers {
			r.layers = append(r.layers, refLayer{
				attnNorm: widen(l.AttnNorm), ffnNorm: widen(l.FFNNorm),
				wq: newRefLinear(tb, l.Wq), wk: newRefLinear(tb, l.Wk), wv: newRefLinear(tb, l.Wv),
				wo: newRefLinear(tb, l.Wo), w1: newRefLinear(tb, l.W1), w2: newRefLinear(tb, l.W2),
				w3: newRefLinear(tb, l.W3),
			})
		}
		r.finalNorm = widen(m.FinalNorm)
		r.head = newRefLinear(tb, m.Head)
		if m.Spec.Arch == model.Decoder && m.Head.W.DType == tensor.F32 && m.Head.InScale == nil {
			// The tied classifier by its definition, logits = FinalNorm(x)·Embedᵀ, rather
			// than through whatever the model holds as its head. A converted model's head is
			// a rounding of Embed, which the reference reads as it is.
			r.head = refLinear{rows: m.Spec.Vocab, cols: m.Spec.Dim, w: widen(m.Embed)}
		}
	case model.MLP:
		for i, d := range m.Dense {
			r.dense = append(r.dense, newRefLinear(tb, d))
			r.bias = append(r.bias, widen(m.Bias[i]))
		}
	}
	return r
}

// forward returns the outputs of one input: for a decoder, the next-token logits of its
// last position.
func (r *refModel) forward(in model.Input) []float64 {
	switch r.spec.Arch {
	case model.MLP:
		return r.mlp(in.Features)
	case model.Decoder:
		all := r.decoder(in.Tokens)
		return all[len(all)-1]
	}
	return r.encoder(in.Tokens)
}

func (r *refModel) mlp(features []float32) []float64 {
	x := widen(features)
	for i, d := range r.dense {
		y := d.apply(x)
		for j := range y {
			y[j] += r.bias[i][j]
			if i < len(r.dense)-1 {
				y[j] = max(y[j], 0)
			}
		}
		x = y
	}
	return x
}

func (r *refModel) encoder(toks []int32) []float64 {
	d, L := r.spec.Dim, len(toks)
	x := r.blocks(toks, false)
	pooled := make([]float64, d)
	for p := range L {
		xn := refRMSNorm(x[p], r.finalNorm)
		for j := range pooled {
			pooled[j] += xn[j]
		}
	}
	for j := range pooled {
		pooled[j] /= float64(L)
	}
	return r.head.apply(pooled)
}

// decoder returns the next-token logits of every position of toks: the tied classifier
// on each position's final state, after blocks whose attention is causal.
func (r *refModel) decoder(toks []int32) [][]float64 {
	x := r.blocks(toks, true)
	out := make([][]float64, len(toks))
	for p := range x {
		out[p] = r.head.apply(refRMSNorm(x[p], r.finalNorm))
	}
	return out
}

// blocks returns the residual stream of every position after the last block. With
// causal set, position i attends to positions 0 to i only; otherwise to all of them.
func (r *refModel) blocks(toks []int32, causal bool) [][]float64 {
	s := r.spec
	d, hd, L := s.Dim, s.HeadDim(), len(toks)
	x := make([][]float64, L)
	for p, id := range toks {
		x[p] = append([]float64(nil), r.embed[int(id)*d:(int(id)+1)*d]...)
	}
	for _, l := range r.layers {
		q, k, v := make([][]float64, L), make([][]float64, L), make([][]float64, L)
		for p := range L {
			xn := refRMSNorm(x[p], l.attnNorm)
			q[p], k[p], v[p] = l.wq.apply(xn), l.wk.apply(xn), l.wv.apply(xn)
			for h := range s.Heads {
				refRoPE(q[p][h*hd:(h+1)*hd], p)
				refRoPE(k[p][h*hd:(h+1)*hd], p)
			}
		}
		att := make([][]float64, L)
		for p := range L {
			att[p] = make([]float64, d)
		}
		scale := 1 / math.Sqrt(float64(hd))
		for h := range s.Heads {
			lo, hi := h*hd, (h+1)*hd
			for i := range L {
				seen := L
				if causal {
					seen = i + 1
				}
				score := make([]float64, seen)
				mx := math.Inf(-1)
				for j := range seen {
					var dot float64
					for c := lo; c < hi; c++ {
						dot += q[i][c] * k[j][c]
					}
					score[j] = dot * scale
					mx = max(mx, score[j])
				}
				var sum float64
				for j := range score {
					score[j] = math.Exp(score[j] - mx)
					sum += score[j]
				}
				for j := range seen {
					for c := lo; c < hi; c++ {
						att[i][c] += score[j] / sum * v[j][c]
					}
				}
			}
		}
		for p := range L {
			o := l.wo.apply(att[p])
			for j := range o {
				x[p][j] += o[j]
			}
			xn := refRMSNorm(x[p], l.ffnNorm)
			g, u := l.w1.apply(xn), l.w3.apply(xn)
			for j := range g {
				g[j] = g[j] / (1 + math.Exp(-g[j])) * u[j]
			}
			f := l.w2.apply(g)
			for j := range f {
				x[p][j] += f[j]
			}
		}
	}
	return x
}

// refRMSNorm returns x/√(mean(x²)+eps) ⊙ w.
func refRMSNorm(x, w []float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+model.NormEps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * inv * w[i]
	}
	return out
}

// refRoPE rotates each pair (x[2i], x[2i+1]) of one head by pos·base^(-2i/hd).
func refRoPE(x []float64, pos int) {
	hd := len(x)
	for i := 0; i < hd/2; i++ {
		theta := float64(pos) * math.Pow(model.RopeBase, -2*float64(i)/float64(hd))
		c, s := math.Cos(theta), math.Sin(theta)
		a, b := x[2*i], x[2*i+1]
		x[2*i] = a*c - b*s
		x[2*i+1] = a*s + b*c
	}
}

// TestReferenceSelfCheck holds the reference to facts that do not depend on the runner,
// so that a wrong reference cannot pass for a right runner: RoPE at position 0 is the
// identity and preserves norms elsewhere; a one-token encoder's attention returns v
// unchanged whatever q and k, so its logits equal a hand-rolled path without attention.
func TestReferenceSelfCheck(t *testing.T) {
	t.Run("rope", func(t *testing.T) {
		x := []float64{1, 2, 3, 4, 5, 6, 7, 8}
		y := append([]float64(nil), x...)
		refRoPE(y, 0)
		if relErr(y, x) != 0 {
			t.Errorf("rope at position 0 = %v, want %v", y, x)
		}
		refRoPE(y, 37)
		for i := 0; i < len(x); i += 2 {
			n0 := math.Hypot(x[i], x[i+1])
			n1 := math.Hypot(y[i], y[i+1])
			if math.Abs(n0-n1) > 1e-12 {
				t.Errorf("rope changed the norm of pair %d from %v to %v", i/2, n0, n1)
			}
		}
		// Pair 0 turns by exactly pos radians.
		z := []float64{1, 0, 1, 0}
		refRoPE(z, 2)
		if math.Abs(z[0]-math.Cos(2)) > 1e-15 || math.Abs(z[1]-math.Sin(2)) > 1e-15 {
			t.Errorf("rope pair 0 at position 2 = (%v, %v), want (cos 2, sin 2)", z[0], z[1])
		}
	})
	t.Run("one token", func(t *testing.T) {
		m := fixture(t, tinyModel)
		ref := newRefModel(t, m)
		id := int32(7)
		got := ref.encoder([]int32{id})
		d := m.Spec.Dim
		x := widen(m.Embed[int(id)*d : (int(id)+1)*d])
		for _, l := range ref.layers {
			o := l.wo.apply(l.wv.apply(refRMSNorm(x, l.attnNorm)))
			for j := range x {
				x[j] += o[j]
			}
			xn := refRMSNorm(x, l.ffnNorm)
			g, u := l.w1.apply(xn), l.w3.apply(xn)
			for j := range g {
				g[j] *= u[j] / (1 + math.Exp(-g[j]))
			}
			f := l.w2.apply(g)
			for j := range x {
				x[j] += f[j]
			}
		}
		want := ref.head.apply(refRMSNorm(x, ref.finalNorm))
		if e := relErr(got, want); e > 1e-12 {
			t.Errorf("one-token reference differs from the attention-free path by %.3g: %v vs %v", e, got, want)
		}
	})
	t.Run("decoder one token", func(t *testing.T) {
		// A decoder's first position sees itself alone, so it is the encoder's one-token
		// path with the tied classifier in place of the pooled head.
		m := fixture(t, tinyDecoder)
		ref := newRefModel(t, m)
		id := int32(7)
		got := ref.decoder([]int32{id, 3, 9})[0]
		x := ref.blocks([]int32{id}, false)[0]
		xn := refRMSNorm(x, ref.finalNorm)
		d := m.Spec.Dim
		want := make([]float64, m.Spec.Vocab)
		for v := range want {
			for j, e := range m.Embed[v*d : (v+1)*d] {
				want[v] += xn[j] * float64(e)
			}
		}
		if e := relErr(got, want); e > 1e-12 {
			t.Errorf("first position differs from the one-token path by %.3g", e)
		}
	})
	t.Run("decoder causal", func(t *testing.T) {
		// Position p's logits depend on tokens 0..p only: a prefix gives the same rows, and
		// changing a later token changes no earlier row (but does change its own).
		m := fixture(t, tinyDecoder)
		ref := newRefModel(t, m)
		toks := tokens(12, m.Spec.Vocab, 5)
		all := ref.decoder(toks)
		for _, p := range []int{0, 5, 11} {
			pre := ref.decoder(toks[:p+1])
			if e := relErr(pre[p], all[p]); e > 1e-12 {
				t.Errorf("position %d: prefix of %d tokens gives %.3g different logits", p, p+1, e)
			}
		}
		changed := append([]int32(nil), toks...)
		changed[8] = (changed[8] + 1) % int32(m.Spec.Vocab)
		other := ref.decoder(changed)
		for p := range toks {
			e := relErr(other[p], all[p])
			if p < 8 && e != 0 {
				t.Errorf("changing token 8 moved position %d's logits by %.3g", p, e)
			}
			if p >= 8 && e == 0 {
				t.Errorf("changing token 8 left position %d's logits unchanged", p)
			}
		}
	})
}

// TestForwardMatchesReference runs fp32 models on the generic tier, one thread, against
// the float64 reference, and quantized models against the reference run on their own
// dequantized weights. Errors are measured against the largest |logit| of the case's
// inputs: one input's own logits can all sit near zero (two MLP outputs often do), which
// makes a per-input ratio meaningless.
func TestForwardMatchesReference(t *testing.T) {
	tiny := fixture(t, tinyModel)
	mlp := fixture(t, mlpModel)
	// fp32 tolerance: the runner rounds every product and sum to float32 (about 6e-8
	// relative) over at most a few thousand terms per dot; measured errors are below 5e-7
	// of the logits' scale, so 1e-5 has twenty-fold headroom and still catches small
	// formula errors: a norm epsilon of 1e-6 instead of 1e-5 moves the logits by 1.4e-5,
	// RoPE on split halves instead of interleaved pairs by 0.16. (Shifting every position
	// by the same offset is invisible: RoPE scores depend on position differences only.)
	//
	// Quantized tolerance: the weights are the same on both sides (the reference reads the
	// dequantized matrices and InScale), but the kernels also round every activation
	// entering an int8 or int4 matmul to Q8_0: 8 bits with one scale per 32 values, an error
	// of up to max|block|/254 on each input, larger relative to the rest of a block that
	// holds a channel InScale has amplified. Through the chain of matmuls that comes to
	// about 0.5% of the logits' scale, 1.8% at worst over 30 seeded batches of 3 tiny or 8
	// MLP inputs at both precisions; 5e-2 leaves room for that spread. Dropping InScale from
	// the reference moves the outputs by 175% to 500%, which the test checks (at ten times
	// the tolerance) so that the tolerance stays meaningful.
	const fp32Tol, quantTol = 1e-5, 5e-2
	cases := []struct {
		name  string
		m     *model.Model
		p     model.Precision
		batch []model.Input
		tol   float64
	}{
		{"tiny/fp32", tiny, tensor.F32, encoderInputs(tiny.Spec, 1, 2, 17, 64, 128), fp32Tol},
		{"tiny/int8", tiny, tensor.Q8_0, encoderInputs(tiny.Spec, 1, 33, 128), quantTol},
		{"tiny/int4", tiny, tensor.Q4_0, encoderInputs(tiny.Spec, 1, 33, 128), quantTol},
		{"mlp/fp32", mlp, tensor.F32, mlpInputs(mlp.Spec, 8), fp32Tol},
		{"mlp/int8", mlp, tensor.Q8_0, mlpInputs(mlp.Spec, 8), quantTol},
		{"mlp/int4", mlp, tensor.Q4_0, mlpInputs(mlp.Spec, 8), quantTol},
	}
	k := newKernels(t, kernels.Generic, 1)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := convert(t, tc.m, tc.p)
			ref := newRefModel(t, m)
			r := model.NewRunner(m, k)
			var got []float32
			var want []float64
			for _, in := range tc.batch {
				got = append(got, run(t, r, []model.Input{in})...)
				want = append(want, ref.forward(in)...)
			}
			e := relErr(got, want)
			t.Logf("error %.2e of the logits' scale", e)
			if e > tc.tol {
				c := m.Spec.Classes
				for i, in := range tc.batch {
					t.Logf("input %d (%d tokens): logits %v, reference %v", i, len(in.Tokens), got[i*c:(i+1)*c], want[i*c:(i+1)*c])
				}
				t.Errorf("logits differ from the reference by %.3g of their scale, want <= %.3g", e, tc.tol)
			}
			if !tc.p.Quantized() {
				return
			}
			ref.dropInScale()
			var off []float64
			for _, in := range tc.batch {
				off = append(off, ref.forward(in)...)
			}
			if e := relErr(got, off); e < 10*tc.tol {
				t.Errorf("the reference without InScale is only %.3g from the runner: the tolerance %.3g cannot tell them apart", e, tc.tol)
			}
		})
	}
}

// dropInScale forgets every InScale, the mistake a runner that ignored it would make.
func (r *refModel) dropInScale() {
	for i := range r.layers {
		l := &r.layers[i]
		for _, w := range []*refLinear{&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3} {
			w.s = nil
		}
	}
	r.head.s = nil
	for i := range r.dense {
		r.dense[i].s = nil
	}
}

// TestForwardMatchesReferenceS15M checks the one preset whose head size (48) differs from
// tiny's (16) and which runs six layers, on two short inputs: the RoPE frequencies and the
// per-head split depend on the head size.
func TestForwardMatchesReferenceS15M(t *testing.T) {
	if testing.Short() {
		t.Skip("s15m in -short")
	}
	m := fixture(t, s15mModel)
	ref := newRefModel(t, m)
	k := newKernels(t, kernels.BestTier(), 2)
	r := model.NewRunner(m, k)
	for i, in := range encoderInputs(m.Spec, 1, 9) {
		got := run(t, r, []model.Input{in})
		want := ref.forward(in)
		// 1e-4 as for tiny: the best tier may use FMA and another summation order, both
		// within float32 rounding.
		if e := relErr(got, want); e > 1e-4 {
			t.Errorf("input %d (%d tokens): logits %v, reference %v: error %.3g", i, len(in.Tokens), got, want, e)
		}
	}
}

// TestDecoderMatchesReference runs prompts through Decode (the logits of every position),
// whole and in chunks over several iterations, against the float64 reference's causal
// decoder, with the tolerances of TestForwardMatchesReference for the same reasons: fp32
// on the generic tier, one thread, within 1e-5 of the largest |logit| of the case
// (measured: 2.1e-7 whole, 2.0e-7 chunked); int8 and int4
// against the reference on their own dequantized weights within 5e-2 (activation rounding
// to Q8_0). The tied head's logits are large (a token's own embedding dominates its
// state), so the scale is that of the whole vocabulary's logits.
func TestDecoderMatchesReference(t *testing.T) {
	tiny := fixture(t, tinyDecoder)
	k := newKernels(t, kernels.Generic, 1)
	for _, tc := range []struct {
		name    string
		p       model.Precision
		lengths []int
		chunks  []int // prefill chunk sizes, nil for whole prompts
		tol     float64
	}{
		{"tiny/fp32", tensor.F32, []int{1, 2, 17, 64, 128}, nil, 1e-5},
		{"tiny/fp32/chunked", tensor.F32, []int{2, 64, 128}, []int{1, 16, 7, 33}, 1e-5},
		{"tiny/int8", tensor.Q8_0, []int{1, 33, 128}, nil, 5e-2},
		{"tiny/int4", tensor.Q4_0, []int{1, 33, 128}, nil, 5e-2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := convert(t, tiny, tc.p)
			ref := newRefModel(t, m)
			r := model.NewRunner(m, k)
			var got []float32
			var want []float64
			for i, n := range tc.lengths {
				toks := tokens(n, m.Spec.Vocab, uint64(300+i))
				kv := newKV(t, m, (n+15)/16, 16)
				got = append(got, prefill(t, r, kv, span(0, kv.Blocks), toks, tc.chunks...)...)
				for _, row := range ref.decoder(toks) {
					want = append(want, row...)
				}
			}
			e := relErr(got, want)
			t.Logf("error %.2e of the logits' scale", e)
			if e > tc.tol {
				t.Errorf("logits differ from the reference by %.3g of their scale, want <= %.3g", e, tc.tol)
			}
		})
	}
}

// TestDecoderMatchesReferenceS15M checks s15m's head size (48) and six layers on a short
// prompt, on the best tier with two threads (FMA and another summation order: 1e-4).
func TestDecoderMatchesReferenceS15M(t *testing.T) {
	if testing.Short() {
		t.Skip("s15m in -short")
	}
	m := fixture(t, s15mDecoder)
	ref := newRefModel(t, m)
	r := model.NewRunner(m, newKernels(t, kernels.BestTier(), 2))
	toks := tokens(9, m.Spec.Vocab, 7)
	got := prefill(t, r, newKV(t, m, 1, 16), []int{0}, toks)
	var want []float64
	for _, row := range ref.decoder(toks) {
		want = append(want, row...)
	}
	if e := relErr(got, want); e > 1e-4 {
		t.Errorf("logits differ from the reference by %.3g of their scale", e)
	}
}
