package tuner

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactPasses reports, in integer arithmetic, whether P[Bin(n, a/b) <= over] <= 1/100, the
// pass condition of a percentile whose tail share is q = a/b exactly:
//
//	100 · Σ_{j<=over} C(n,j) a^j (b-a)^(n-j) <= b^n.
func exactPasses(n, over, a, b int64) bool {
	sum := new(big.Int)
	for j := int64(0); j <= over && j <= n; j++ {
		t := new(big.Int).Binomial(n, j)
		t.Mul(t, new(big.Int).Exp(big.NewInt(a), big.NewInt(j), nil))
		t.Mul(t, new(big.Int).Exp(big.NewInt(b-a), big.NewInt(n-j), nil))
		sum.Add(sum, t)
	}
	sum.Mul(sum, big.NewInt(100))
	return sum.Cmp(new(big.Int).Exp(big.NewInt(b), big.NewInt(n), nil)) <= 0
}

// TestSamplesToPass pins the least sample counts that pass, each checked in exact integer
// arithmetic at n (passes) and n-1 (does not). For over = 0 the condition is
// (1-q)^n <= 0.01, so n = ceil(ln 0.01 / ln(1-q)): p99 458.2 → 459, p50 6.64 → 7,
// p90 43.7 → 44, p95 89.8 → 90, p99.9 4602.9 → 4603. For p99 and over = 1 it is
// 0.99^n + n·0.01·0.99^(n-1) <= 0.01: at n = 661 the sum is 0.0100010 and at 662 it is
// 0.0099140, so 662 (as in MLPerf LoadGen's early-stopping table).
func TestSamplesToPass(t *testing.T) {
	tests := []struct {
		p      float64
		a, b   int64 // q = a/b exactly
		over   int64
		want   int64
		leftTo float64 // P[X <= over] at n, rounded, for the record
	}{
		{50, 1, 2, 0, 7, 0.0078125},
		{50, 1, 2, 1, 11, 0.0058594},
		{50, 1, 2, 10, 35, 0.0083369},
		{90, 1, 10, 0, 44, 0.0096977},
		{90, 1, 10, 1, 64, 0.0095631},
		{90, 1, 10, 10, 197, 0.0095906},
		{95, 1, 20, 0, 90, 0.0098884},
		{95, 1, 20, 1, 130, 0.0099656},
		{95, 1, 20, 5, 259, 0.0096944},
		{99, 1, 100, 0, 459, 0.0099210},
		{99, 1, 100, 1, 662, 0.0099140},
		{99, 1, 100, 2, 838, 0.0099514},
		{99, 1, 100, 5, 1307, 0.0099860},
		{99, 1, 100, 10, 2010, 0.0099666},
		{99.9, 1, 1000, 0, 4603, 0.0099987},
		{99.9, 1, 1000, 1, 6636, 0.0099959},
		{99.9, 1, 1000, 2, 8403, 0.0099980},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("p=%g/over=%d", tt.p, tt.over), func(t *testing.T) {
			got := SamplesToPass(tt.p, tt.over)
			if got != tt.want {
				t.Errorf("SamplesToPass(%g, %d) = %d, want %d", tt.p, tt.over, got, tt.want)
			}
			if !exactPasses(tt.want, tt.over, tt.a, tt.b) || exactPasses(tt.want-1, tt.over, tt.a, tt.b) {
				t.Errorf("exact arithmetic disagrees that %d is the least count that passes", tt.want)
			}
			q, _ := tailShare(tt.p)
			if tail := binomLowerTail(tt.want, tt.over, q); math.Abs(tail-tt.leftTo) > 1e-7 {
				t.Errorf("P[X <= %d] at n = %d is %.7f, want %.7f", tt.over, tt.want, tail, tt.leftTo)
			}
			if v := PercentileVerdict(tt.p, got, tt.over, 0); v != Pass {
				t.Errorf("PercentileVerdict at SamplesToPass = %v, want pass", v)
			}
			if v := PercentileVerdict(tt.p, got-1, tt.over, 0); v == Pass {
				t.Errorf("PercentileVerdict one sample short = %v, want not pass", v)
			}
		})
	}

	for _, bad := range []struct {
		p    float64
		over int64
	}{{0, 0}, {100, 0}, {-1, 0}, {101, 0}, {math.NaN(), 0}, {99, -1}} {
		if got := SamplesToPass(bad.p, bad.over); got != -1 {
			t.Errorf("SamplesToPass(%g, %d) = %d, want -1", bad.p, bad.over, got)
		}
	}
	if got := SamplesToPass(99, math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("SamplesToPass(99, MaxInt64) = %d, want MaxInt64", got)
	}
	// Near p = 100 the count is ln(100)/q to within a few parts in a million, q being the
	// tail share of p as a float64.
	p := 100 - 1e-12
	q := (100 - p) / 100
	if got, want := float64(SamplesToPass(p, 0)), math.Log(100)/q; math.Abs(got-want) > 1e-6*want {
		t.Errorf("SamplesToPass(%g, 0) = %g, want about %g", p, got, want)
	}
}

func TestPercentileVerdict(t *testing.T) {
	tests := []struct {
		name          string
		p             float64
		n, over, maxN int64
		want          Verdict
	}{
		{"p99 one short of 459", 99, 458, 0, 0, Inconclusive},
		{"p99 459 clean", 99, 459, 0, 0, Pass},
		{"p99 661 one over", 99, 661, 1, 0, Inconclusive}, // P[X <= 1] = 0.0100010
		{"p99 662 one over", 99, 662, 1, 0, Pass},
		{"p50 7 clean", 50, 7, 0, 0, Pass},
		{"p50 6 clean", 50, 6, 0, 0, Inconclusive},
		// P[Bin(100, 0.01) >= 10] = 7.6e-8.
		{"p99 fail 10 of 100", 99, 100, 10, 0, Fail},
		{"p99 fail 5 of 100", 99, 100, 5, 0, Fail},              // P[X >= 5] = 0.0034
		{"p99 4 of 100 not yet", 99, 100, 4, 0, Inconclusive},   // P[X >= 4] = 0.0184
		{"p90 fail 19 of 100", 90, 100, 19, 0, Fail},            // P[X >= 19] = 0.00458
		{"p90 18 of 100 not yet", 90, 100, 18, 0, Inconclusive}, // P[X >= 18] = 0.0100073
		{"p50 all 10 over", 50, 10, 10, 0, Fail},                // 2^-10
		{"p50 9 of 10 over", 50, 10, 9, 0, Inconclusive},        // 11/1024 = 0.0107
		{"p99.9 fail 19 of 10000", 99.9, 10000, 19, 0, Fail},    // P[X >= 19] = 0.0072
		{"p99.9 18 of 10000", 99.9, 10000, 18, 0, Inconclusive}, // P[X >= 18] = 0.0138
		{"no samples", 99, 0, 0, 0, Inconclusive},
		{"ten million, below the tail share", 99, 10_000_000, 99_000, 0, Pass}, // 3.2σ below the mean 100000
		{"ten million, at the tail share", 99, 10_000_000, 100_000, 0, Inconclusive},
		{"ten million, above the tail share", 99, 10_000_000, 101_000, 0, Fail},
		{"cap below 459", 99, 0, 0, 458, Fail},
		{"cap at 459", 99, 0, 0, 459, Inconclusive},
		{"cap at 459 reached", 99, 459, 0, 459, Pass},
		{"cap too small for one over", 99, 100, 1, 661, Fail},
		{"cap enough for one over", 99, 100, 1, 662, Inconclusive},
		{"cap below n", 99, 500, 3, 10, Fail},
		{"p 0", 0, 100, 0, 0, Inconclusive},
		{"p 100", 100, 100000, 0, 0, Inconclusive},
		{"p NaN", math.NaN(), 1000, 0, 0, Inconclusive},
		{"n negative", 99, -1, 0, 0, Inconclusive},
		{"over negative", 99, 10, -1, 0, Inconclusive},
		{"over above n", 99, 10, 11, 0, Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PercentileVerdict(tt.p, tt.n, tt.over, tt.maxN); got != tt.want {
				t.Errorf("PercentileVerdict(%g, %d, %d, %d) = %v, want %v", tt.p, tt.n, tt.over, tt.maxN, got, tt.want)
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{Inconclusive: "inconclusive", Pass: "pass", Fail: "fail", Verdict(7): "Verdict(7)"} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", int(v), got, want)
		}
	}
	var zero Verdict
	if zero != Inconclusive {
		t.Errorf("the zero Verdict is %v, want inconclusive", zero)
	}
}

// exactTails returns P[X <= k] and P[X > k] for X ~ Bin(n, q) at each of ks (ascending),
// summed term by term in 256-bit floating point from P[X = 0] = (1-q)^n with q taken
// exactly as the float64 given; the reference the float64 tails are held against.
func exactTails(n int64, q float64, ks []int64) (lower, above []float64) {
	const prec = 256
	newF := func() *big.Float { return new(big.Float).SetPrec(prec) }
	bq := newF().SetFloat64(q)
	bp := newF().Sub(newF().SetInt64(1), bq)
	ratio := newF().Quo(bq, bp)
	term := newF().SetInt64(1) // (1-q)^n by squaring
	for base, e := newF().Set(bp), n; e > 0; e >>= 1 {
		if e&1 == 1 {
			term.Mul(term, base)
		}
		base.Mul(base, base)
	}
	sum := newF().Set(term)
	lower, above = make([]float64, len(ks)), make([]float64, len(ks))
	j := int64(0)
	for i, k := range ks {
		for ; j < k; j++ {
			term.Mul(term, newF().SetInt64(n-j))
			term.Quo(term, newF().SetInt64(j+1))
			term.Mul(term, ratio)
			sum.Add(sum, term)
		}
		lower[i], _ = sum.Float64()
		above[i], _ = newF().Sub(newF().SetInt64(1), sum).Float64()
	}
	return lower, above
}

// TestBinomialTails holds both tails against sums in 256-bit arithmetic: small n, where
// every k is checked, and n up to ten million around the mean and far into the tails.
func TestBinomialTails(t *testing.T) {
	type tcase struct {
		n  int64
		q  float64
		ks []int64
	}
	var cases []tcase
	for _, n := range []int64{1, 2, 3, 7, 20, 100, 459, 662} {
		for _, q := range []float64{0.5, 0.1, 0.05, 0.01, 0.001, 0.9, 0.999} {
			ks := make([]int64, n+1)
			for k := range ks {
				ks[k] = int64(k)
			}
			cases = append(cases, tcase{n, q, ks})
		}
	}
	around := func(n int64, q float64, sigmas ...float64) []int64 {
		mean, sd := float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
		var ks []int64
		for _, s := range sigmas {
			if k := int64(math.Round(mean + s*sd)); k >= 0 && k <= n && (len(ks) == 0 || k > ks[len(ks)-1]) {
				ks = append(ks, k)
			}
		}
		return ks
	}
	sig := []float64{-40, -20, -8, -3, -1, -0.1, 0, 0.1, 1, 3, 8, 20, 40}
	cases = append(cases,
		tcase{5000, 0.01, around(5000, 0.01, sig...)},
		tcase{100_000, 0.5, around(100_000, 0.5, sig...)},
		tcase{1_000_000, 0.001, around(1_000_000, 0.001, sig...)},
		tcase{10_000_000, 0.01, around(10_000_000, 0.01, sig...)},
		tcase{10_000_000, 0.001, around(10_000_000, 0.001, sig...)},
	)
	for _, c := range cases {
		want, wantAbove := exactTails(c.n, c.q, c.ks)
		for i, k := range c.ks {
			if want[i] < 1e-280 {
				continue // near the subnormals relative precision is not kept
			}
			if got := binomLowerTail(c.n, k, c.q); !closeRel(got, want[i], 1e-10) {
				t.Errorf("P[Bin(%d, %g) <= %d] = %.15g, want %.15g", c.n, c.q, k, got, want[i])
			}
			// P[X >= k+1] = 1 - P[X <= k], compared where 256 bits resolve it.
			if up := wantAbove[i]; up > 1e-60 {
				if got := binomUpperTail(c.n, k+1, c.q); !closeRel(got, up, 1e-10) {
					t.Errorf("P[Bin(%d, %g) >= %d] = %.15g, want %.15g", c.n, c.q, k+1, got, up)
				}
			}
		}
	}
}

// TestBinomialUpperTailFar checks far upper tails, which 1 - P[X <= k] cannot resolve,
// against their leading terms: P[X >= n] = q^n, and P[X >= n-1] = q^n + n q^(n-1) (1-q).
func TestBinomialUpperTailFar(t *testing.T) {
	for _, c := range []struct {
		n int64
		q float64
	}{{10, 0.01}, {100, 0.01}, {1000, 0.5}, {50, 0.001}} {
		n, q := float64(c.n), c.q
		if got, want := binomUpperTail(c.n, c.n, q), math.Pow(q, n); !closeRel(got, want, 1e-12) {
			t.Errorf("P[Bin(%d, %g) >= %d] = %g, want %g", c.n, q, c.n, got, want)
		}
		want := math.Pow(q, n) + n*math.Pow(q, n-1)*(1-q)
		if got := binomUpperTail(c.n, c.n-1, q); !closeRel(got, want, 1e-12) {
			t.Errorf("P[Bin(%d, %g) >= %d] = %g, want %g", c.n, q, c.n-1, got, want)
		}
	}
	if got := binomUpperTail(5, 0, 0.3); got != 1 {
		t.Errorf("P[X >= 0] = %g, want 1", got)
	}
	if got := binomUpperTail(5, 6, 0.3); got != 0 {
		t.Errorf("P[X >= 6] of 5 = %g, want 0", got)
	}
}

func closeRel(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Abs(want)
}

func BenchmarkPercentileVerdict(b *testing.B) {
	for _, c := range []struct {
		n, over int64
	}{{1000, 3}, {100_000, 1000}, {10_000_000, 100_000}} {
		b.Run(fmt.Sprintf("p=99/n=%d/over=%d", c.n, c.over), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				PercentileVerdict(99, c.n, c.over, 0)
			}
		})
	}
}

// TestPercentileVerdictProperties checks, on seeded random arguments including extreme
// percentiles, that the tails are probabilities that cover every outcome, and that a pass
// stays a pass with one sample more or one over the bound fewer, and a fail with one more
// over the bound.
func TestPercentileVerdictProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ps := []float64{1e-300, 1e-9, 0.5, 50, 90, 95, 99, 99.9, 99.99, 100 - 1e-9, math.Nextafter(100, 0)}
	for i := range 20000 {
		p := ps[i%len(ps)]
		if i%2 == 1 {
			p = 100 * r.Float64()
			if p == 0 {
				continue
			}
		}
		q, _ := tailShare(p)
		n := int64(r.IntN(1 << uint(1+r.IntN(24))))
		over := int64(0)
		if n > 0 {
			over = int64(float64(n) * q * 2 * r.Float64())
			over = min(over, n)
		}
		lo, up := binomLowerTail(n, over, q), binomUpperTail(n, over, q)
		if !(lo >= 0 && lo <= 1+1e-12 && up >= 0 && up <= 1+1e-12 && lo+up >= 1-1e-9) {
			t.Fatalf("p=%g n=%d over=%d: P[X <= over] = %g, P[X >= over] = %g", p, n, over, lo, up)
		}
		v := PercentileVerdict(p, n, over, 0)
		switch v {
		case Pass:
			if PercentileVerdict(p, n+1, over, 0) != Pass || (over > 0 && PercentileVerdict(p, n, over-1, 0) != Pass) {
				t.Fatalf("p=%g n=%d over=%d passes, but not with a sample more or one fewer over", p, n, over)
			}
		case Fail:
			if over < n && PercentileVerdict(p, n, over+1, 0) != Fail {
				t.Fatalf("p=%g n=%d over=%d fails, but not with one more over", p, n, over)
			}
		}
	}
}
