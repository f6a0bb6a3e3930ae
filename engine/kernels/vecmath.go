package kernels

import (
	"fmt"
	"math"

	"github.com/infertune/infertune/engine/tensor"
)

// Exp32 returns e^x in float32 to within 2 ulp over the whole float32 range: x = n·ln2 + r
// with |r| ≤ ln2/2, e^r by a degree-6 polynomial (the Cephes expf coefficients), scaled
// by 2^n through the exponent bits. The vector paths of SiLUMul and Softmax evaluate the
// same polynomial sixteen or eight lanes at a time.
func Exp32(x float32) float32 {
	if x > expMax {
		return float32(math.Inf(1))
	}
	if x < -103.97208 {
		return 0
	}
	n := float32(math.Floor(float64(x*expLog2e + 0.5)))
	r := x - n*expLn2Hi - n*expLn2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*r*r + r + 1
	ni := int32(n)
	if ni < -126 { // subnormal result: scale in two steps
		return y * math.Float32frombits(uint32(ni+126+127)<<23) * math.Float32frombits(1<<23)
	}
	if ni > 127 {
		return y * 2 * math.Float32frombits(uint32(ni-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}

// Coefficients of e^r on |r| ≤ ln2/2 shared by every path.
const (
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4
	expLog2e = 1.44269504088896341
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
	// expMin and expMax bound the vector paths' argument: e^x stays a normal float32.
	expMin = -87.33654
	expMax = 88.72283
)

// siluMulGeneric sets g[i] = silu(g[i])·u[i], silu(x) = x/(1+e^-x).
func siluMulGeneric(g, u []float32) {
	u = u[:len(g)]
	for i, x := range g {
		g[i] = x / (1 + Exp32(-x)) * u[i]
	}
}

// softmaxGeneric replaces each row of x (rows of cols) with softmax(scale·row).
func softmaxGeneric(x []float32, cols int, scale float32) { softmaxRows(x, cols, scale, rowHeads{}) }

// rowHeads are a vector path's loops over a prefix of a row (a multiple of its width); each
// returns how many elements it did, and the scalar loops of softmaxRows do the rest. A nil
// field leaves the whole row to the scalar loop.
type rowHeads struct {
	// max returns the largest of the prefix.
	max func(row []float32) (int, float32)
	// exp replaces the prefix's v with e^(scale·(v-mx)) and returns their sum.
	exp func(row []float32, mx, scale float32) (int, float32)
	// mul multiplies the prefix by s.
	mul func(row []float32, s float32) int
}

// softmaxRows is every path's softmax: per row, the max, then e^(scale·(v-max)) in place
// and their sum, then the division, each on h's vector loops where given.
func softmaxRows(x []float32, cols int, scale float32, h rowHeads) {
	for r := 0; r+cols <= len(x); r += cols {
		row := x[r : r+cols]
		i, mx := 0, row[0]
		if h.max != nil {
			i, mx = h.max(row)
			if i == 0 {
				mx = row[0]
			}
		}
		for _, v := range row[i:] {
			mx = max(mx, v)
		}
		var sum float32
		i = 0
		if h.exp != nil {
			i, sum = h.exp(row, mx, scale)
		}
		for ; i < cols; i++ {
			e := Exp32((row[i] - mx) * scale)
			row[i] = e
			sum += e
		}
		inv := 1 / sum
		i = 0
		if h.mul != nil {
			i = h.mul(row, inv)
		}
		for j := range row[i:] {
			row[i+j] *= inv
		}
	}
}

// mulColsGeneric sets each row r of dst to x's row r times s element by element, from
// column c on (rows of len(s)).
func mulColsGeneric(dst, x, s []float32) { mulColsFrom(dst, x, s, 0) }

// mulColsFrom is mulColsGeneric from column c on, the tail of the vector paths.
func mulColsFrom(dst, x, s []float32, c int) {
	n := len(s)
	for r := 0; r+n <= len(x); r += n {
		xr, dr := x[r+c:r+n], dst[r+c:r+n]
		for j, v := range s[c:] {
			dr[j] = xr[j] * v
		}
	}
}

// MulCols sets dst to x with column c of every row multiplied by s[c]: dst[r·n+c] =
// x[r·n+c]·s[c], n = len(s), for the len(x)/n rows of x. dst may be x. It runs on the
// calling goroutine.
func (k *Kernels) MulCols(dst, x, s []float32) {
	if len(s) == 0 || len(x)%len(s) != 0 || len(dst) < len(x) {
		panic(fmt.Sprintf("kernels: mul-cols: %d elements are not rows of %d, or dst has %d", len(x), len(s), len(dst)))
	}
	k.impl.mulCols(dst[:len(x)], x, s)
}

// addScaledGeneric sets y[i] += a·x[i] for i < len(y).
func addScaledGeneric(y, x []float32, a float32) { addScaledFrom(y, x, a, 0) }

// addScaledFrom is addScaledGeneric from element i on, the tail of the vector paths.
func addScaledFrom(y, x []float32, a float32, i int) {
	x = x[:len(y)]
	for j := i; j < len(y); j++ {
		y[j] += a * x[j]
	}
}

// DotF32 returns Σ w[i]·x[i] for fp32 vectors of equal length on the calling goroutine:
// Dot of an F32 row without the dtype switch and the lock that Dot's shared activation
// buffer needs, for callers that take many short dots (attention scores).
func (k *Kernels) DotF32(w, x []float32) float32 {
	if len(w) != len(x) {
		panic(fmt.Sprintf("kernels: dot-f32: w has %d, x %d", len(w), len(x)))
	}
	return k.impl.dotF32(w, x)
}

// AddScaled sets y[i] += a·x[i] for every element of y (BLAS's axpy), on the calling
// goroutine; the vector paths fuse the multiply and add. x must be at least as long as y.
func (k *Kernels) AddScaled(y, x []float32, a float32) {
	if len(x) < len(y) {
		panic(fmt.Sprintf("kernels: add-scaled: y has %d, x %d", len(y), len(x)))
	}
	k.impl.addScaled(y, x, a)
}

// DotHeads sets out[h] = Σ_i k[h·hd+i]·q[h·hd+i] for each of the len(out) heads of
// hd = len(q)/len(out) values (the scores of one query against one position's keys, all
// heads at once), on the calling goroutine. len(q) must be a multiple of len(out) and k
// at least as long as q. Attention over a cached context calls it once per position where
// it called DotF32 once per head: for s15m's 48-value heads the call and the reduction of
// each small dot cost more than its multiply-adds.
func (k *Kernels) DotHeads(out, keys, q []float32) {
	if len(out) == 0 || len(q)%len(out) != 0 || len(keys) < len(q) {
		panic(fmt.Sprintf("kernels: dot-heads: %d heads, q has %d, k %d", len(out), len(q), len(keys)))
	}
	k.impl.dotHeads(out, keys, q)
}

// AddScaledHeads sets y[h·hd+i] += a[h]·v[h·hd+i] for each of the len(a) heads of
// hd = len(y)/len(a) values (one position's values, weighted per head, added to the
// output), on the calling goroutine: AddScaled per head in one call. len(y) must be a
// multiple of len(a) and v at least as long as y.
func (k *Kernels) AddScaledHeads(y, v, a []float32) {
	if len(a) == 0 || len(y)%len(a) != 0 || len(v) < len(y) {
		panic(fmt.Sprintf("kernels: add-scaled-heads: %d heads, y has %d, v %d", len(a), len(y), len(v)))
	}
	k.impl.addScaledHeads(y, v, a)
}

// DotHeadsF16 is DotHeads over rows of fp16 keys (a KV cache kept in fp16), several
// positions in one call: for each of rows rows of keys, ldk values apart, and each of the
// nh heads of hd = len(q)/nh values, out[h·ldo+r] = Σ_i fp32(keys[r·ldk+h·hd+i])·q[h·hd+i]
// (head h's scores are a row of out, ldo apart). On the calling goroutine.
func (k *Kernels) DotHeadsF16(out []float32, ldo int, keys []uint16, ldk int, q []float32, nh, rows int) {
	if !headRowsFit(len(q), nh, rows, ldk, len(keys), ldo, len(out)) {
		panic(fmt.Sprintf("kernels: dot-heads-f16: %d heads of q (%d), %d rows of keys (%d, %d apart), out %d (%d apart)",
			nh, len(q), rows, len(keys), ldk, len(out), ldo))
	}
	k.impl.dotHeadsF16(out, ldo, keys, ldk, q, nh, rows)
}

// AddScaledHeadsF16 is AddScaledHeads over rows of fp16 values, several positions in
// one call: y[h·hd+i] += Σ_r a[h·lda+r]·fp32(v[r·ldv+h·hd+i]) for the rows rows of v, ldv
// values apart, and the nh heads of hd = len(y)/nh values (head h's weights are a row of
// a, lda apart), added row by row in order. On the calling goroutine.
func (k *Kernels) AddScaledHeadsF16(y []float32, v []uint16, ldv int, a []float32, lda int, nh, rows int) {
	if !headRowsFit(len(y), nh, rows, ldv, len(v), lda, len(a)) {
		panic(fmt.Sprintf("kernels: add-scaled-heads-f16: %d heads of y (%d), %d rows of v (%d, %d apart), a %d (%d apart)",
			nh, len(y), rows, len(v), ldv, len(a), lda))
	}
	k.impl.addScaledHeadsF16(y, v, ldv, a, lda, nh, rows)
}

// headRowsFit reports whether the head-row kernels' operands fit: n values in nh heads
// of at least one value; rows rows of kv values (kvLen) ld apart, each holding the n; nh
// rows of per-row values (sLen) sld apart, each holding rows.
func headRowsFit(n, nh, rows, ld, kvLen, sld, sLen int) bool {
	return nh >= 1 && n >= nh && n%nh == 0 && rows >= 1 && ld >= n && kvLen >= (rows-1)*ld+n &&
		sld >= rows && sLen >= (nh-1)*sld+rows
}

// Argmax returns the index of the largest element of x (the first of equals; NaNs never
// win, unless x[0] is one, which then does), on the calling goroutine: greedy sampling
// over a vocabulary's logits. x must not be empty.
func (k *Kernels) Argmax(x []float32) int {
	if len(x) == 0 {
		panic("kernels: argmax of nothing")
	}
	return k.impl.argmax(x)
}

// ArgmaxScan is Argmax by one comparison per element, on any tier and without a Kernels:
// the definition the vector paths keep. x must not be empty.
func ArgmaxScan(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// ToF16 sets dst[i] to src[i] in fp16, rounded to nearest even (tensor.F32ToF16: values
// past the fp16 range become ±Inf), on the calling goroutine. len(dst) must equal
// len(src).
func (k *Kernels) ToF16(dst []uint16, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: to-f16: dst has %d, src %d", len(dst), len(src)))
	}
	k.impl.toF16(dst, src)
}

// FromF16 sets dst[i] to the value of the fp16 src[i] (tensor.F16ToF32), on the calling
// goroutine. len(dst) must equal len(src).
func (k *Kernels) FromF16(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: from-f16: dst has %d, src %d", len(dst), len(src)))
	}
	k.impl.fromF16(dst, src)
}

func dotHeadsF16Generic(out []float32, ldo int, k []uint16, ldk int, q []float32, nh, rows int) {
	hd := len(q) / nh
	for r := range rows {
		kr := k[r*ldk:]
		for h := range nh {
			out[h*ldo+r] = dotF16Generic(kr[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd])
		}
	}
}

func addScaledHeadsF16Generic(y []float32, v []uint16, ldv int, a []float32, lda int, nh, rows int) {
	tab := f16Table()
	hd := len(y) / nh
	for r := range rows {
		vr := v[r*ldv:]
		for h := range nh {
			s := a[h*lda+r]
			yh, vh := y[h*hd:(h+1)*hd], vr[h*hd:(h+1)*hd]
			for i := range yh {
				yh[i] += s * tab[vh[i]]
			}
		}
	}
}

func toF16Generic(dst []uint16, src []float32) { toF16From(dst, src, 0) }

// toF16From is toF16Generic from element i on, the tail of the vector path.
func toF16From(dst []uint16, src []float32, i int) {
	for ; i < len(src); i++ {
		dst[i] = tensor.F32ToF16(src[i])
	}
}

func fromF16Generic(dst []float32, src []uint16) { fromF16From(dst, src, 0) }

// fromF16From is fromF16Generic from element i on, the tail of the vector path.
func fromF16From(dst []float32, src []uint16, i int) {
	tab := f16Table()
	for ; i < len(src); i++ {
		dst[i] = tab[src[i]]
	}
}

func dotHeadsGeneric(out, k, q []float32)     { dotHeadsWith(dotF32Generic, out, k, q) }
func addScaledHeadsGeneric(y, v, a []float32) { addScaledHeadsWith(addScaledGeneric, y, v, a) }

// dotHeadsWith is DotHeads head by head with dot.
func dotHeadsWith(dot func(w, x []float32) float32, out, k, q []float32) {
	hd := len(q) / len(out)
	for h := range out {
		out[h] = dot(k[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd])
	}
}

// addScaledHeadsWith is AddScaledHeads head by head with add.
func addScaledHeadsWith(add func(y, x []float32, a float32), y, v, a []float32) {
	hd := len(y) / len(a)
	for h, s := range a {
		add(y[h*hd:(h+1)*hd], v[h*hd:(h+1)*hd], s)
	}
}

// SiLUMul sets g[i] = silu(g[i])·u[i] (SwiGLU's gate), silu(x) = x/(1+e^-x), on the
// calling goroutine. len(u) must be at least len(g).
func (k *Kernels) SiLUMul(g, u []float32) {
	if len(u) < len(g) {
		panic(fmt.Sprintf("kernels: silu-mul: g has %d, u %d", len(g), len(u)))
	}
	k.impl.siluMul(g, u)
}

// Softmax replaces each row of x, rows of cols elements, with softmax(scale·row) on the
// calling goroutine: e^(scale·(v-max)) / Σ. The scale must be positive.
func (k *Kernels) Softmax(x []float32, cols int, scale float32) {
	if cols < 1 || len(x)%cols != 0 {
		panic(fmt.Sprintf("kernels: softmax: %d elements are not rows of %d", len(x), cols))
	}
	k.impl.softmax(x, cols, scale)
}
