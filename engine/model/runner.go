package model

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/tensor"
)

// Input is one request: Tokens for an encoder (or a decoder's prompt), Features for an MLP.
type Input struct {
	Tokens   []int32
	Features []float32
}

// ErrInput marks a request the model refuses (wrapped with the reason).
var ErrInput = errors.New("invalid input")

// CheckInput reports whether the model can run in: an encoder input (or a decoder's
// prompt) must hold 1 to Context tokens, each in [0, Vocab); an MLP input exactly
// Widths[0] finite features.
func (s Spec) CheckInput(in Input) error {
	switch s.Arch {
	case Encoder, Decoder:
		n := len(in.Tokens)
		if n == 0 {
			return fmt.Errorf("%w: no tokens; accepted: 1 to %d token ids", ErrInput, s.Context)
		}
		if n > s.Context {
			return fmt.Errorf("%w: %d tokens is longer than the %s context of %d", ErrInput, n, s.Name, s.Context)
		}
		for i, t := range in.Tokens {
			if t < 0 || int(t) >= s.Vocab {
				return fmt.Errorf("%w: token %d is id %d, outside the vocabulary [0, %d)", ErrInput, i, t, s.Vocab)
			}
		}
	case MLP:
		if len(in.Features) != s.Widths[0] {
			return fmt.Errorf("%w: %d features; the %s model takes exactly %d", ErrInput, len(in.Features), s.Name, s.Widths[0])
		}
		for i, f := range in.Features {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return fmt.Errorf("%w: feature %d is %v; accepted: finite numbers", ErrInput, i, f)
			}
		}
	}
	return nil
}

// A Runner runs a model's forward pass on a Kernels. It reuses its buffers and runs one
// batch at a time; it is not safe for concurrent use.
type Runner struct {
	m *Model
	k *kernels.Kernels

	// Flattened token (or row) buffers, grown to the largest batch seen.
	x, xn, q, kk, v, att, tmp, g, u []float32
	rows                            []float32 // what the classifier reads: pooled vectors, or the decoder's returned tokens
	rope                            []float32 // cos, sin pairs per position and frequency
	// A linears call's activations times each linear's InScale, and its outputs, inputs
	// and weights for MatMuls.
	scaled, ys, xs [][]float32
	ws             []*tensor.Matrix
	// Attention: one headWork per kernel thread, and each request's (or step's) first token.
	heads  []headWork
	starts []int
	// direct lists the steps of a decode iteration that attend over their blocks in place.
	direct []int
	// Decode: the block table check's stamps.
	blocks blockCheck
}

// NewRunner returns a runner of m on k. It prepacks m's weights on k (Kernels.Prepack),
// where k's MatMul would otherwise unpack them on every call.
func NewRunner(m *Model, k *kernels.Kernels) *Runner {
	r := &Runner{m: m, k: k}
	for _, l := range m.Linears() {
		k.Prepack(l.W)
	}
	if m.Spec.Arch.transformer() {
		r.rope = ropeTable(m.Spec.Context, m.Spec.HeadDim())
	}
	return r
}

// Model returns the runner's model.
func (r *Runner) Model() *Model { return r.m }

// Run runs a batch: out receives len(batch)×Classes outputs (class logits, or the MLP's
// last layer). Every input is checked first; nothing runs when one is invalid. A decoder
// runs by Decode instead.
func (r *Runner) Run(batch []Input, out []float32) error {
	s := r.m.Spec
	if s.Arch == Decoder {
		return fmt.Errorf("run: the %s model is a decoder, which runs by Decode", s.Name)
	}
	if len(out) != len(batch)*s.Classes {
		return fmt.Errorf("run: out has %d floats, want %d×%d", len(out), len(batch), s.Classes)
	}
	for i, in := range batch {
		if err := s.CheckInput(in); err != nil {
			return fmt.Errorf("request %d of the batch: %w", i, err)
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if s.Arch == MLP {
		r.mlp(batch, out)
		return nil
	}
	r.encoder(batch, out)
	return nil
}

// linear computes y = l.W·(l.InScale ⊙ x) for n rows of x.
func (r *Runner) linear(y []float32, l Linear, x []float32, n int) {
	r.linears(x, n, linearOut{y, l})
}

// linearOut is one linear of a linears call and the rows it computes.
type linearOut struct {
	y []float32
	l Linear
}

// linears computes o.y = o.l.W·(o.l.InScale ⊙ x) for n rows of x for each of outs, linears
// that read the same x, as one Kernels.MatMuls (one hand-off to the threads for all of
// them). x is scaled once per distinct InScale.
func (r *Runner) linears(x []float32, n int, outs ...linearOut) {
	r.ys, r.ws, r.xs = r.ys[:0], r.ws[:0], r.xs[:0]
	for i, o := range outs {
		xi := x
		if o.l.InScale != nil {
			xi = nil
			for j := range i {
				if slices.Equal(outs[j].l.InScale, o.l.InScale) {
					xi = r.xs[j]
					break
				}
			}
			if xi == nil {
				for len(r.scaled) <= i {
					r.scaled = append(r.scaled, nil)
				}
				xi = grow(&r.scaled[i], n*o.l.W.Cols)
				r.k.MulCols(xi, x[:n*o.l.W.Cols], o.l.InScale)
			}
		}
		r.ys, r.ws, r.xs = append(r.ys, o.y), append(r.ws, o.l.W), append(r.xs, xi)
	}
	r.k.MatMuls(r.ys, r.ws, r.xs, n)
}

func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// viewF32 points m at a row-major float32 slice as a rows×cols F32 matrix. Attention
// reuses two such views for every head instead of allocating one per call.
func viewF32(m *tensor.Matrix, data []float32, rows, cols int) *tensor.Matrix {
	*m = tensor.Matrix{DType: tensor.F32, Rows: rows, Cols: cols, Data: tensor.F32Bytes(data[:rows*cols])}
	return m
}

// embed copies the embeddings of toks into the token rows of x from row t on and returns
// the row after them.
func (r *Runner) embed(x []float32, t int, toks []int32) int {
	d := r.m.Spec.Dim
	for _, id := range toks {
		copy(x[t*d:(t+1)*d], r.m.Embed[int(id)*d:(int(id)+1)*d])
		t++
	}
	return t
}

// transformer runs every block over the T token rows of r.x, in place: x += attention, then
// x += SwiGLU feed-forward, each after its RMSNorm. Every token-wise operation runs once
// over all T tokens (one MatMul per weight); attend(layer, q, k, v, att) computes layer's
// attention, whose grouping of tokens into sequences is the caller's, from the projected
// q, k and v (T×dim each, before RoPE) into att (T×dim).
func (r *Runner) transformer(T int, attend func(layer int, q, k, v, att []float32)) {
	s := r.m.Spec
	d, hid := s.Dim, s.Hidden
	x := r.x[:T*d]
	xn := grow(&r.xn, T*d)
	q, k, v := grow(&r.q, T*d), grow(&r.kk, T*d), grow(&r.v, T*d)
	att, tmp := grow(&r.att, T*d), grow(&r.tmp, T*d)
	g, u := grow(&r.g, T*hid), grow(&r.u, T*hid)
	for li, l := range r.m.Layers {
		rmsNorm(xn, x, l.AttnNorm, T, d)
		r.linears(xn, T, linearOut{q, l.Wq}, linearOut{k, l.Wk}, linearOut{v, l.Wv})
		attend(li, q, k, v, att)
		r.linear(tmp, l.Wo, att, T)
		addInPlace(x, tmp)

		rmsNorm(xn, x, l.FFNNorm, T, d)
		r.linears(xn, T, linearOut{g, l.W1}, linearOut{u, l.W3})
		r.k.SiLUMul(g, u)
		r.linear(tmp, l.W2, g, T)
		addInPlace(x, tmp)
	}
}

// encoder runs the llama-style encoder over the batch, flattened to T tokens.
func (r *Runner) encoder(batch []Input, out []float32) {
	d := r.m.Spec.Dim
	T := 0
	for _, in := range batch {
		T += len(in.Tokens)
	}
	x := grow(&r.x, T*d)
	t := 0
	for _, in := range batch {
		t = r.embed(x, t, in.Tokens)
	}
	r.transformer(T, func(_ int, q, k, v, att []float32) { r.attention(batch, q, k, v, att) })
	xn := r.xn[:T*d]
	rmsNorm(xn, x, r.m.FinalNorm, T, d)
	pooled := grow(&r.rows, len(batch)*d)
	clear(pooled)
	t = 0
	for b, in := range batch {
		p := pooled[b*d : (b+1)*d]
		for range in.Tokens {
			for j, xv := range xn[t*d : (t+1)*d] {
				p[j] += xv
			}
			t++
		}
		inv := 1 / float32(len(in.Tokens))
		for j := range p {
			p[j] *= inv
		}
	}
	r.linear(out, r.m.Head, pooled, len(batch))
}

// attention runs bidirectional multi-head attention per request: RoPE on q and k by
// position in the request, then softmax(q·kᵀ/√hd)·v per head, into att (T×dim). The
// (request, head) pairs are independent and small, so they are spread over the kernels'
// threads whole, each worker on its own serial kernels and buffers, rather than each of
// their matrix products over every thread (a hand-off per product).
func (r *Runner) attention(batch []Input, q, k, v, att []float32) {
	heads := r.m.Spec.Heads
	r.headWorkers()
	r.starts = r.starts[:0]
	t0 := 0
	for _, in := range batch {
		r.starts = append(r.starts, t0)
		t0 += len(in.Tokens)
	}
	r.k.Parallel(len(batch)*heads, func(i, w int) {
		b := i / heads
		r.head(&r.heads[w], len(batch[b].Tokens), r.starts[b], i%heads, q, k, v, att)
	})
}

// headWorkers makes one headWork per kernel thread, on first use.
func (r *Runner) headWorkers() {
	if len(r.heads) == 0 {
		r.heads = make([]headWork, r.k.Threads())
		for w := range r.heads {
			r.heads[w].k = r.k.Serial()
		}
	}
}

// headWork is one worker's attention state: its serial kernels and per-head buffers.
type headWork struct {
	k                 *kernels.Kernels
	qh, kh, vt, s, oh []float32
	a                 []float32     // attendHeads: one position's score per head
	v                 []float32     // decodeHead: one position's values, read from the cache
	kView, vView      tensor.Matrix // the head's keys and values, as matrices
}

// buffers sizes the head's queries (n×hd), keys (L×hd) and transposed values (hd×L).
func (hw *headWork) buffers(n, L, hd int) (qh, kh, vt []float32) {
	return grow(&hw.qh, n*hd), grow(&hw.kh, L*hd), grow(&hw.vt, hd*L)
}

// attend computes one head's attention from the buffers set up by buffers: for each of
// the n queries, softmax(q·kᵀ/√hd) over the L keys, times the values, into the returned
// n×hd rows. With causal set the queries are the last n of the L positions and query i
// sees keys 0 to L-n+i only; otherwise every query sees every key.
func (hw *headWork) attend(n, L, hd int, causal bool) []float32 {
	scale := float32(1 / math.Sqrt(float64(hd)))
	sc, oh := grow(&hw.s, n*L), grow(&hw.oh, n*hd)
	// sc[i][j] = Σ_c qh[i][c]·kh[j][c]
	hw.k.MatMul(sc, viewF32(&hw.kView, hw.kh, L, hd), hw.qh, n)
	if causal {
		for i := range n {
			row, seen := sc[i*L:(i+1)*L], L-n+i+1
			hw.k.Softmax(row[:seen], seen, scale)
			clear(row[seen:])
		}
	} else {
		hw.k.Softmax(sc, L, scale)
	}
	// oh[i][c] = Σ_j sc[i][j]·v[j][c]
	hw.k.MatMul(oh, viewF32(&hw.vView, hw.vt, hd, L), sc, n)
	return oh
}

// head runs head h of one request of L tokens starting at token t0.
func (r *Runner) head(hw *headWork, L, t0, h int, q, k, v, att []float32) {
	s := r.m.Spec
	d, hd := s.Dim, s.HeadDim()
	qh, kh, vt := hw.buffers(L, L, hd)
	for p := range L {
		row := (t0 + p) * d
		copy(qh[p*hd:(p+1)*hd], q[row+h*hd:row+(h+1)*hd])
		copy(kh[p*hd:(p+1)*hd], k[row+h*hd:row+(h+1)*hd])
		rope(qh[p*hd:(p+1)*hd], r.rope[p*hd:(p+1)*hd])
		rope(kh[p*hd:(p+1)*hd], r.rope[p*hd:(p+1)*hd])
		for j := range hd {
			vt[j*L+p] = v[row+h*hd+j]
		}
	}
	oh := hw.attend(L, L, hd, false)
	for p := range L {
		row := (t0 + p) * d
		copy(att[row+h*hd:row+(h+1)*hd], oh[p*hd:(p+1)*hd])
	}
}

// mlp runs the MLP over the batch's rows: ReLU after every layer but the last.
func (r *Runner) mlp(batch []Input, out []float32) {
	s := r.m.Spec
	n := len(batch)
	in := grow(&r.x, n*s.Widths[0])
	for i, b := range batch {
		copy(in[i*s.Widths[0]:], b.Features)
	}
	bufs := [2]*[]float32{&r.g, &r.u}
	for li, w := range r.m.Dense {
		last := li == len(r.m.Dense)-1
		var y []float32
		if last {
			y = out
		} else {
			y = grow(bufs[li%2], n*w.W.Rows)
		}
		r.linear(y, w, in, n)
		rowsOut := w.W.Rows
		bias := r.m.Bias[li]
		for row := range n {
			yr := y[row*rowsOut : (row+1)*rowsOut]
			for j := range yr {
				yr[j] += bias[j]
				if !last && yr[j] < 0 {
					yr[j] = 0
				}
			}
		}
		in = y
	}
}

func rmsNorm(dst, x, w []float32, rows, d int) {
	for t := range rows {
		xr, dr := x[t*d:(t+1)*d], dst[t*d:(t+1)*d]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(ss/float64(d)+NormEps))
		for j, v := range xr {
			dr[j] = v * inv * w[j]
		}
	}
}

func addInPlace(x, y []float32) {
	for i, v := range y {
		x[i] += v
	}
}

// ropeTable returns, per position p and pair i of a head, cos and sin of
// p·RopeBase^(-2i/hd), interleaved.
func ropeTable(context, hd int) []float32 {
	t := make([]float32, context*hd)
	for p := range context {
		for i := 0; i < hd/2; i++ {
			theta := float64(p) * math.Pow(RopeBase, -2*float64(i)/float64(hd))
			t[p*hd+2*i] = float32(math.Cos(theta))
			t[p*hd+2*i+1] = float32(math.Sin(theta))
		}
	}
	return t
}

// rope rotates each pair (x[2i], x[2i+1]) of one head's vector by its angle.
func rope(x, cs []float32) {
	for i := 0; i+1 < len(x); i += 2 {
		c, s := cs[i], cs[i+1]
		a, b := x[i], x[i+1]
		x[i] = a*c - b*s
		x[i+1] = a*s + b*c
	}
}
