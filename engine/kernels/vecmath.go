package kernels

import (
	"fmt"
	"math"
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
func softmaxGeneric(x []float32, cols int, scale float32) { softmaxRows(x, cols, scale, nil) }

// softmaxRows is every path's softmax: per row, the max, then e^(scale·(v-max)) in place
// and their sum, then the division. expHead, when not nil, does the exponentials of a
// prefix of the row on vector lanes and returns how many it did and their sum; the
// scalar loop does the rest.
func softmaxRows(x []float32, cols int, scale float32, expHead func(row []float32, mx, scale float32) (int, float32)) {
	for r := 0; r+cols <= len(x); r += cols {
		row := x[r : r+cols]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var sum float32
		i := 0
		if expHead != nil {
			i, sum = expHead(row, mx, scale)
		}
		for ; i < cols; i++ {
			e := Exp32((row[i] - mx) * scale)
			row[i] = e
			sum += e
		}
		inv := 1 / sum
		for j := range row {
			row[j] *= inv
		}
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
