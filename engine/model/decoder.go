package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/tensor"
)

// KVStore holds every layer's keys and values for a pool of blocks of BlockSize
// positions, as DType values (F32, or F16: half the memory, and half the bytes attention
// reads): layer l's key of the position at offset o of block b is the Dim values from
// element (b*BlockSize+o)*Dim of K[l] (after RoPE), V likewise. Which blocks belong to
// which sequence is the caller's (a paged KV allocator's) to decide; a Step names its
// sequence's blocks in order.
type KVStore struct {
	BlockSize, Blocks int
	DType             tensor.DType
	K, V              [][]byte
}

// KVDType is the dtype of the generation engine's KV cache: fp16, as llama.cpp keeps its
// cache by default. The keys and values lose what fp16 rounding loses (a relative 2^-11);
// attention computes in fp32.
const KVDType = tensor.F16

// NewKVStore allocates a zeroed KVStore of blocks blocks of blockSize positions, in dt
// (F32 or F16), for the decoder spec: KVBlockBytes(spec, blockSize, dt) bytes per block.
func NewKVStore(spec Spec, blocks, blockSize int, dt tensor.DType) (*KVStore, error) {
	if spec.Arch != Decoder {
		return nil, fmt.Errorf("kv store: the %s model is an %s; only a decoder keeps a KV cache", spec.Name, spec.Arch)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("kv store: %w", err)
	}
	if dt != tensor.F32 && dt != tensor.F16 {
		return nil, fmt.Errorf("kv store: dtype %s: accepted: %s, %s", dt, tensor.F32, tensor.F16)
	}
	if blocks < 1 || blockSize < 1 {
		return nil, fmt.Errorf("kv store: %d blocks of %d positions: both must be positive", blocks, blockSize)
	}
	if blocks > math.MaxInt/blockSize/(2*dt.BlockBytes()*spec.Dim*spec.Layers) {
		return nil, fmt.Errorf("kv store: %d blocks of %d positions: too many positions to address", blocks, blockSize)
	}
	n := blocks * blockSize * spec.Dim * dt.BlockBytes()
	kv := &KVStore{BlockSize: blockSize, Blocks: blocks, DType: dt, K: make([][]byte, spec.Layers), V: make([][]byte, spec.Layers)}
	for l := range spec.Layers {
		kv.K[l] = tensor.AlignedBytes(n)
		kv.V[l] = tensor.AlignedBytes(n)
	}
	return kv, nil
}

// KVBlockBytes returns the bytes one KV block of blockSize positions takes for spec in dt
// (F32 or F16): a key and a value of Dim values per position and layer.
func KVBlockBytes(spec Spec, blockSize int, dt tensor.DType) int64 {
	return 2 * int64(dt.BlockBytes()) * int64(spec.Layers) * int64(blockSize) * int64(spec.Dim)
}

// kvLayer is one layer's keys (k) and values (v) in the store's dtype.
type kvLayer struct{ k, v kvValues }

// kvValues is one layer's keys or values as a typed slice: f16 for an F16 store, f32 for
// an F32 one (the other nil).
type kvValues struct {
	f32 []float32
	f16 []uint16
}

func (kv *KVStore) layer(l int) kvLayer {
	if kv.DType == tensor.F16 {
		return kvLayer{kvValues{f16: tensor.AsU16(kv.K[l])}, kvValues{f16: tensor.AsU16(kv.V[l])}}
	}
	return kvLayer{kvValues{f32: tensor.AsF32(kv.K[l])}, kvValues{f32: tensor.AsF32(kv.V[l])}}
}

// put stores x as the len(x) values from element o.
func (c kvValues) put(k *kernels.Kernels, o int, x []float32) {
	if c.f16 != nil {
		k.ToF16(c.f16[o:o+len(x)], x)
		return
	}
	copy(c.f32[o:o+len(x)], x)
}

// get loads the len(x) values from element o into x.
func (c kvValues) get(k *kernels.Kernels, o int, x []float32) {
	if c.f16 != nil {
		k.FromF16(x, c.f16[o:o+len(x)])
		return
	}
	copy(x, c.f32[o:o+len(x)])
}

// dotHeads sets out[h·ldo+r] to the dot of q's head h with head h of the keys of row r,
// from element o+r·ld, for rows rows of nh = len(a) heads (Kernels.DotHeadsF16). An F32
// store goes row by row through Kernels.DotHeads, with a as its scratch.
func (c kvValues) dotHeads(k *kernels.Kernels, out []float32, ldo, o, ld, rows int, q, a []float32) {
	if c.f16 != nil {
		k.DotHeadsF16(out, ldo, c.f16[o:], ld, q, len(a), rows)
		return
	}
	for r := range rows {
		k.DotHeads(a, c.f32[o+r*ld:o+r*ld+len(q)], q)
		for h, s := range a {
			out[h*ldo+r] = s
		}
	}
}

// addScaledHeads adds, for rows rows from element o, ld apart, w[h·ldw+r] times head h of
// row r to y's head h, for nh = len(a) heads (Kernels.AddScaledHeadsF16). An F32 store goes
// row by row through Kernels.AddScaledHeads, with a as its scratch.
func (c kvValues) addScaledHeads(k *kernels.Kernels, y []float32, o, ld, rows int, w []float32, ldw int, a []float32) {
	if c.f16 != nil {
		k.AddScaledHeadsF16(y, c.f16[o:], ld, w, ldw, len(a), rows)
		return
	}
	for r := range rows {
		for h := range a {
			a[h] = w[h*ldw+r]
		}
		k.AddScaledHeads(y, c.f32[o+r*ld:o+r*ld+len(y)], a)
	}
}

// A Step is one sequence's share of a decoder iteration: Tokens at positions Pos ...
// Pos+len(Tokens)-1 (a prefill chunk or one decode token) of a sequence whose KV blocks
// are Blocks (covering at least Pos+len(Tokens) positions). AllLogits asks for the logits
// of every token of the step (teacher-forced fidelity), NoLogits for none (a prefill chunk
// that does not end its prompt: the classifier, the largest matmul, skips it), otherwise
// the step returns its last token's.
//
// The keys and values of positions 0 to Pos-1 must already be in the sequence's blocks
// (written by earlier steps); the step writes those of its own positions.
type Step struct {
	Tokens    []int32
	Pos       int
	Blocks    []int
	AllLogits bool
	NoLogits  bool
}

// returned is the number of tokens whose logits the step returns.
func (st *Step) returned() int {
	switch {
	case st.AllLogits:
		return len(st.Tokens)
	case st.NoLogits:
		return 0
	}
	return 1
}

// LogitsLen returns the number of floats Decode writes for steps: Vocab per returned
// token (every token of a step with AllLogits, none of one with NoLogits, the last one of
// the others).
func LogitsLen(spec Spec, steps []Step) int {
	n := 0
	for i := range steps {
		n += steps[i].returned()
	}
	return n * spec.Vocab
}

// Decode runs one iteration: selective batching, as in Orca: every token-wise op (RMSNorm,
// the QKV and output projections, the MLP, the classifier) runs once over the flattened
// tokens of all steps (one MatMul per weight per iteration); attention runs per sequence
// (and head) over its own KV blocks, causally: position p attends to positions 0..p. The
// step's new keys/values are written into kv before attention reads them. logits receives
// Vocab floats per returned token, steps in order.
//
// The classifier, the largest matmul (Vocab×Dim), runs only over the returned tokens.
// Every step is checked first; nothing runs and kv is untouched when one is invalid:
// token and length problems wrap ErrInput, block table and buffer problems do not. No
// two steps may use a block that one of them writes (blocks the steps only read, such as
// a shared prefix, may be shared).
func (r *Runner) Decode(steps []Step, kv *KVStore, logits []float32) error {
	if err := r.checkDecode(steps, kv, logits); err != nil {
		return err
	}
	d := r.m.Spec.Dim
	T, rows := 0, 0
	r.starts = r.starts[:0]
	for i := range steps {
		r.starts = append(r.starts, T)
		T += len(steps[i].Tokens)
		rows += steps[i].returned()
	}
	if T == 0 {
		return nil
	}
	x := grow(&r.x, T*d)
	t := 0
	for i := range steps {
		t = r.embed(x, t, steps[i].Tokens)
	}
	r.transformer(T, func(layer int, q, k, v, att []float32) {
		r.decodeAttention(steps, kv, layer, q, k, v, att)
	})
	// Gather the returned tokens' rows; RMSNorm is row-wise, so norming after the gather
	// is the same as before it.
	sel := grow(&r.rows, rows*d)
	j := 0
	for i := range steps {
		st := &steps[i]
		from, to := r.starts[i], r.starts[i]+len(st.Tokens)
		from = to - st.returned()
		j += copy(sel[j:], x[from*d:to*d])
	}
	xn := r.xn[:rows*d]
	rmsNorm(xn, sel, r.m.FinalNorm, rows, d)
	r.linear(logits, r.m.Head, xn, rows)
	return nil
}

// checkDecode validates a Decode call; see Decode.
func (r *Runner) checkDecode(steps []Step, kv *KVStore, logits []float32) error {
	s := r.m.Spec
	if s.Arch != Decoder {
		return fmt.Errorf("decode: the %s model is an %s; Decode runs decoders", s.Name, s.Arch)
	}
	if kv == nil {
		return errors.New("decode: no KV store")
	}
	if kv.DType != tensor.F32 && kv.DType != tensor.F16 {
		return fmt.Errorf("decode: the KV store's dtype is %s; accepted: %s, %s (see NewKVStore)", kv.DType, tensor.F32, tensor.F16)
	}
	per := kv.Blocks * kv.BlockSize * s.Dim * kv.DType.BlockBytes()
	if kv.Blocks < 1 || kv.BlockSize < 1 || len(kv.K) != s.Layers || len(kv.V) != s.Layers {
		return fmt.Errorf("decode: the KV store has %d layers of %d blocks of %d positions; the %s model needs %d layers (see NewKVStore)", len(kv.K), kv.Blocks, kv.BlockSize, s.Name, s.Layers)
	}
	for l := range s.Layers {
		if len(kv.K[l]) != per || len(kv.V[l]) != per {
			return fmt.Errorf("decode: the KV store's layer %d holds %d bytes of keys and %d of values, want %d (blocks × block size × dim %d × %d bytes)", l, len(kv.K[l]), len(kv.V[l]), per, s.Dim, kv.DType.BlockBytes())
		}
	}
	for i := range steps {
		if err := r.checkStep(&steps[i], kv); err != nil {
			return fmt.Errorf("decode: step %d: %w", i, err)
		}
	}
	if err := r.blocks.check(steps, kv); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if want := LogitsLen(s, steps); len(logits) != want {
		return fmt.Errorf("decode: logits has %d floats, want %d (%d returned tokens × vocabulary %d)", len(logits), want, want/s.Vocab, s.Vocab)
	}
	return nil
}

// checkStep validates one step's tokens, positions and block table.
func (r *Runner) checkStep(st *Step, kv *KVStore) error {
	s := r.m.Spec
	n := len(st.Tokens)
	if n == 0 {
		return fmt.Errorf("%w: no tokens; a step holds 1 or more token ids", ErrInput)
	}
	if st.AllLogits && st.NoLogits {
		return fmt.Errorf("AllLogits and NoLogits both set; a step asks for every token's logits, none, or (neither set) its last token's")
	}
	if st.Pos < 0 {
		return fmt.Errorf("position %d is negative", st.Pos)
	}
	if st.Pos > s.Context-n {
		return fmt.Errorf("%w: a prompt of %d tokens (%d cached, %d new) is longer than the %s context of %d", ErrInput, st.Pos+n, st.Pos, n, s.Name, s.Context)
	}
	for i, t := range st.Tokens {
		if t < 0 || int(t) >= s.Vocab {
			return fmt.Errorf("%w: token %d (position %d) is id %d, outside the vocabulary [0, %d)", ErrInput, i, st.Pos+i, t, s.Vocab)
		}
	}
	need := (st.Pos+n-1)/kv.BlockSize + 1
	if len(st.Blocks) < need {
		return fmt.Errorf("%d blocks of %d positions cover %d positions; positions 0 to %d need %d blocks", len(st.Blocks), kv.BlockSize, len(st.Blocks)*kv.BlockSize, st.Pos+n-1, need)
	}
	for e, b := range st.Blocks[:need] {
		if b < 0 || b >= kv.Blocks {
			return fmt.Errorf("block table entry %d is block %d, outside the KV store's [0, %d)", e, b, kv.Blocks)
		}
	}
	return nil
}

// blockCheck finds block table entries that alias within one Decode call: a block listed
// twice by one step, or a block one step writes and another uses. It stamps blocks rather
// than clearing a table per call; stamps only grow, so stale ones never match.
type blockCheck struct {
	seen    []uint64 // the stamp of the last step that listed the block
	written []uint64 // the stamp of the last call in which a step wrote the block
	writer  []int    // the step that wrote it
	stamp   uint64
}

// check runs on steps whose tables have been checked to be in range by checkStep.
func (c *blockCheck) check(steps []Step, kv *KVStore) error {
	if len(c.seen) < kv.Blocks {
		c.seen = make([]uint64, kv.Blocks)
		c.written = make([]uint64, kv.Blocks)
		c.writer = make([]int, kv.Blocks)
	}
	c.stamp++
	call := c.stamp
	bs := kv.BlockSize
	for i := range steps {
		st := &steps[i]
		c.stamp++
		need := (st.Pos+len(st.Tokens)-1)/bs + 1
		for e, b := range st.Blocks[:need] {
			if c.seen[b] == c.stamp {
				return fmt.Errorf("step %d: block %d is listed twice in its block table (entry %d)", i, b, e)
			}
			c.seen[b] = c.stamp
		}
		for _, b := range st.Blocks[st.Pos/bs : need] {
			if c.written[b] == call {
				return fmt.Errorf("steps %d and %d both write block %d", c.writer[b], i, b)
			}
			c.written[b], c.writer[b] = call, i
		}
	}
	for i := range steps {
		st := &steps[i]
		for _, b := range st.Blocks[:st.Pos/bs] {
			if c.written[b] == call && c.writer[b] != i {
				return fmt.Errorf("step %d reads block %d, which step %d writes in the same iteration", i, b, c.writer[b])
			}
		}
	}
	return nil
}

// decodeAttention runs layer's attention for every step. First the (step, head) pairs,
// spread over the kernels' threads as in attention, rotate and store their keys and
// values, and the steps of more than directQueries queries attend. Then the other steps'
// queries attend over the KV blocks in place, each step's heads cut into as many groups as
// keeps every thread busy.
func (r *Runner) decodeAttention(steps []Step, kv *KVStore, layer int, q, k, v, att []float32) {
	heads := r.m.Spec.Heads
	r.headWorkers()
	r.k.Parallel(len(steps)*heads, func(i, w int) {
		st := i / heads
		r.decodeHead(&r.heads[w], &steps[st], r.starts[st], layer, i%heads, kv, q, k, v, att)
	})
	cache := kv.layer(layer)
	r.direct = r.direct[:0]
	for i := range steps {
		if len(steps[i].Tokens) <= directQueries {
			r.direct = append(r.direct, i)
		}
	}
	if len(r.direct) == 0 {
		return
	}
	groups := min(heads, max(1, (r.k.Threads()+len(r.direct)-1)/len(r.direct)))
	s := r.m.Spec
	d, hd, bs := s.Dim, s.HeadDim(), kv.BlockSize
	r.k.Parallel(len(r.direct)*groups, func(i, w int) {
		st := &steps[r.direct[i/groups]]
		g := i % groups
		h0, h1 := g*heads/groups, (g+1)*heads/groups
		t0 := r.starts[r.direct[i/groups]]
		for j := range st.Tokens {
			row := (t0+j)*d + h0*hd
			cols := (h1 - h0) * hd
			r.heads[w].attendHeads(q[row:row+cols], h1-h0, st.Pos+j+1, st.Blocks, bs, d, h0*hd,
				cache, att[row:row+cols])
		}
	})
}

// decodeHead runs head h of one step (whose tokens start at token row t0) at layer: it
// rotates the step's queries (in place in q) and keys by their positions and writes the
// keys and values into the sequence's KV slots; a step of more than directQueries
// queries then attends causally over all Pos+len(Tokens) positions (decodeAttention
// attends for the others). (step, head) pairs write disjoint slots: a head owns its hd
// columns of every slot, and blockCheck keeps other steps off the blocks a step writes.
func (r *Runner) decodeHead(hw *headWork, st *Step, t0, layer, h int, kv *KVStore, q, k, v, att []float32) {
	s := r.m.Spec
	d, hd, bs := s.Dim, s.HeadDim(), kv.BlockSize
	n := len(st.Tokens)
	L := st.Pos + n
	cache := kv.layer(layer)
	for i := range n {
		p, row := st.Pos+i, (t0+i)*d+h*hd
		cs := r.rope[p*hd : (p+1)*hd]
		rope(q[row:row+hd], cs)
		rope(k[row:row+hd], cs) // in place: the projected keys are read only here
		o := (st.Blocks[p/bs]*bs+p%bs)*d + h*hd
		cache.k.put(hw.k, o, k[row:row+hd])
		cache.v.put(hw.k, o, v[row:row+hd])
	}
	if n <= directQueries {
		return
	}
	qh, kh, vt := hw.buffers(n, L, hd)
	for i := range n {
		row := (t0+i)*d + h*hd
		copy(qh[i*hd:(i+1)*hd], q[row:row+hd])
	}
	vp := grow(&hw.v, hd)
	for p := range L {
		o := (st.Blocks[p/bs]*bs+p%bs)*d + h*hd
		cache.k.get(hw.k, o, kh[p*hd:(p+1)*hd])
		cache.v.get(hw.k, o, vp)
		for j, x := range vp {
			vt[j*L+p] = x
		}
	}
	oh := hw.attend(n, L, hd, true)
	for i := range n {
		row := (t0+i)*d + h*hd
		copy(att[row:row+hd], oh[i*hd:(i+1)*hd])
	}
}

// directQueries is the most queries of a step whose attention reads the KV blocks in
// place (attendHeads) rather than gathering each head's keys and values into matrices
// for two matrix products: a decode step's one query would otherwise pay for moving and
// transposing every key and value of its context (a third of an s15m decode token's time
// outside the weight reads).
const directQueries = 2

// attendHeads computes one query's attention for nh consecutive heads over the first
// seen positions of a sequence: for each head, softmax(q·kᵀ/√hd) times the values, into
// out (nh·hd, like q). It reads the keys and values where their blocks hold them, at
// column off of rows of width d, a block of positions per kernel call with the nh heads of
// each position together, so that it streams through each block's rows instead of
// striding down them once per head (the KV cache of a long context is out of cache by the
// time a layer's attention reads it, after the weights of the whole model streamed past).
// A call per head, then per position, was measured slower than a call per position, then
// per block (DotHeadsF16, AddScaledHeadsF16): 12% less attention time for 64 decodes of
// s15m at context 128.
func (hw *headWork) attendHeads(q []float32, nh, seen int, blocks []int, bs, d, off int, cache kvLayer, out []float32) {
	sc := grow(&hw.s, nh*seen) // head h's scores at sc[h*seen:]
	a := grow(&hw.a, nh)
	for t := 0; t < seen; t += bs {
		cache.k.dotHeads(hw.k, sc[t:], seen, blocks[t/bs]*bs*d+off, d, min(bs, seen-t), q, a)
	}
	hw.k.Softmax(sc, seen, float32(1/math.Sqrt(float64(len(q)/nh))))
	clear(out)
	for t := 0; t < seen; t += bs {
		cache.v.addScaledHeads(hw.k, out, blocks[t/bs]*bs*d+off, d, min(bs, seen-t), sc[t:], seen, a)
	}
}
