package tuner

import (
	"math"
	"strconv"
)

// Verdict is the outcome of checking one SLO term against a probe: pass, fail, or
// inconclusive while the evidence allows neither at the confidence the tuner requires.
type Verdict int

// Verdicts. The zero value is Inconclusive.
const (
	// Inconclusive means the samples so far neither pass nor fail the term; more may decide it.
	Inconclusive Verdict = iota
	// Pass means the term holds at Confidence.
	Pass
	// Fail means the term is broken at Confidence, or cannot pass within the samples allowed.
	Fail
)

// String returns "inconclusive", "pass" or "fail".
func (v Verdict) String() string {
	switch v {
	case Inconclusive:
		return "inconclusive"
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Confidence is the confidence at which a percentile verdict passes or fails: each wrong
// verdict of either kind has a chance of at most 1 - Confidence.
const Confidence = 0.99

// alpha is the chance of a wrong verdict that Confidence allows.
const alpha = 1 - Confidence

// PercentileVerdict decides "the p-th percentile of the latency is at most the bound" from
// n samples of which over exceed the bound, with at most maxN samples in total (0: no cap).
// It is the order-statistic bound MLPerf LoadGen uses for early stopping. If the p-th
// percentile were at the bound, each sample would exceed it with chance q = 1 - p/100, and
// the number of samples over the bound would be X ~ Bin(n, q). Then:
//
//   - Pass when P[X <= over] <= 1 - Confidence: so few samples over the bound would be
//     that unlikely if the true tail share were q or more;
//   - Fail when P[X >= over] <= 1 - Confidence: so many would be that unlikely if the true
//     tail share were q or less; or when maxN > 0 and a run that went on to maxN samples
//     with none of the rest over the bound still would not pass;
//   - Inconclusive otherwise, and for arguments out of range (p outside (0, 100), n or over
//     negative, over above n).
//
// Both tails are computed in the log domain (Loader's saddle-point binomial terms), summed
// from the cut inward until the rest is negligible, so they keep full relative precision
// for n in the tens of millions and tails far below the smallest float64 sum of terms.
func PercentileVerdict(p float64, n, over, maxN int64) Verdict {
	q, ok := tailShare(p)
	if !ok || n < 0 || over < 0 || over > n {
		return Inconclusive
	}
	if binomLowerTail(n, over, q) <= alpha {
		return Pass
	}
	if binomUpperTail(n, over, q) <= alpha {
		return Fail
	}
	if maxN > 0 && binomLowerTail(max(maxN, n), over, q) > alpha {
		return Fail
	}
	return Inconclusive
}

// SamplesToPass returns the least number of samples n at which a run with over samples
// above the bound passes the p-th percentile (PercentileVerdict(p, n, over, 0) == Pass):
// 459 for p = 99 and over = 0, since 0.99^458 > 0.01 >= 0.99^459. It returns -1 for p
// outside (0, 100) or a negative over, and math.MaxInt64 when no int64 count suffices.
func SamplesToPass(p float64, over int64) int64 {
	q, ok := tailShare(p)
	if !ok || over < 0 {
		return -1
	}
	passes := func(n int64) bool { return binomLowerTail(n, over, q) <= alpha }
	// With n = over every sample is over the bound, which never passes; gallop up from
	// there to a count that passes, then bisect.
	lo, hi := over, over+1
	if hi < 0 {
		return math.MaxInt64
	}
	for !passes(hi) {
		if hi > math.MaxInt64/2 {
			return math.MaxInt64
		}
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if passes(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// ValueVerdict checks a term on a measured value that carries no sampling verdict of its
// own (rps, tps, fidelity, kld, errors): Pass when the value meets the bound as the term
// states it (at most or at least, strict or not), Fail otherwise. It returns Inconclusive
// for a latency term, which PercentileVerdict decides, and for a NaN measurement.
func ValueVerdict(t Term, measured float64) Verdict {
	if t.Percentile != 0 || isLatencyMetric(t.Metric) || math.IsNaN(measured) {
		return Inconclusive
	}
	var ok bool
	switch {
	case t.AtMost && t.Strict:
		ok = measured < t.Value
	case t.AtMost:
		ok = measured <= t.Value
	case t.Strict:
		ok = measured > t.Value
	default:
		ok = measured >= t.Value
	}
	if ok {
		return Pass
	}
	return Fail
}

// tailShare returns q = 1 - p/100, the share of samples above the p-th percentile, and
// whether p is in (0, 100). It is computed as (100-p)/100, exact in the subtraction for
// p near 100 where q is small.
func tailShare(p float64) (float64, bool) {
	if !(p > 0 && p < 100) {
		return 0, false
	}
	return (100 - p) / 100, true
}

// binomLowerTail returns P[X <= k] for X ~ Bin(n, q), 0 < q < 1. Below the mode it sums
// the terms down from k; above it, it is 1 minus the upper tail from k+1, so the sum always
// runs over decreasing terms.
func binomLowerTail(n, k int64, q float64) float64 {
	switch {
	case k < 0:
		return 0
	case k >= n:
		return 1
	}
	if float64(k) <= float64(n+1)*q {
		return binomSumDown(n, k, q)
	}
	return 1 - binomSumUp(n, k+1, q)
}

// binomUpperTail returns P[X >= k] for X ~ Bin(n, q), 0 < q < 1.
func binomUpperTail(n, k int64, q float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	}
	if float64(k) > float64(n+1)*q {
		return binomSumUp(n, k, q)
	}
	return 1 - binomSumDown(n, k-1, q)
}

// binomSumEps is the share of the sum below which the rest of a tail is dropped.
const binomSumEps = 1e-17

// binomSumDown returns P[X <= k] = sum of P[X = j] for j = k down to 0, for k at most
// (n+1)q, where the ratio r_j = P[X = j-1] / P[X = j] = j(1-q) / ((n-j+1)q) is at most 1
// and falls as j falls. The terms are summed relative to P[X = k] and the sum stops once
// the rest, at most term·r/(1-r), is negligible.
func binomSumDown(n, k int64, q float64) float64 {
	odds := (1 - q) / q
	term, sum := 1.0, 1.0
	for j := k; j > 0; j-- {
		r := float64(j) / float64(n-j+1) * odds
		term *= r
		sum += term
		if term == 0 || (r < 1 && term*r <= sum*binomSumEps*(1-r)) {
			break
		}
	}
	return math.Exp(binomLogPMF(n, k, q) + math.Log(sum))
}

// binomSumUp returns P[X >= k] = sum of P[X = j] for j = k up to n, for k above (n+1)q,
// where the ratio r_j = P[X = j+1] / P[X = j] = (n-j)q / ((j+1)(1-q)) is below 1 and falls
// as j rises.
func binomSumUp(n, k int64, q float64) float64 {
	odds := q / (1 - q)
	term, sum := 1.0, 1.0
	for j := k; j < n; j++ {
		r := float64(n-j) / float64(j+1) * odds
		term *= r
		sum += term
		if term == 0 || (r < 1 && term*r <= sum*binomSumEps*(1-r)) {
			break
		}
	}
	return math.Exp(binomLogPMF(n, k, q) + math.Log(sum))
}

// binomLogPMF returns log P[X = k] for X ~ Bin(n, q), 0 <= k <= n, by Loader's saddle-point
// form ("Fast and accurate computation of binomial probabilities", 2000), as R's dbinom:
//
//	P[X = k] = sqrt(n / (2π k (n-k))) · exp(δ(n) - δ(k) - δ(n-k) - D(k, nq) - D(n-k, n(1-q)))
//
// with δ the Stirling remainder (stirlerr) and D(x, m) = x log(x/m) + m - x (bd0), both
// computed without the cancellation that lgamma differences suffer at large n.
func binomLogPMF(n, k int64, q float64) float64 {
	switch k {
	case 0:
		return float64(n) * math.Log1p(-q)
	case n:
		return float64(n) * math.Log(q)
	}
	nf, kf := float64(n), float64(k)
	mf := nf - kf
	lc := stirlerr(nf) - stirlerr(kf) - stirlerr(mf) - bd0(kf, nf*q) - bd0(mf, nf*(1-q))
	return lc + 0.5*math.Log(nf/(2*math.Pi*kf*mf))
}

// stirlerr returns δ(n) = log(n!) - log(sqrt(2πn) (n/e)^n) for a whole n >= 1: directly
// from lgamma up to 15, from the asymptotic series above.
func stirlerr(n float64) float64 {
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	if n <= 15 {
		lg, _ := math.Lgamma(n + 1)
		return lg - (n+0.5)*math.Log(n) + n - 0.5*math.Log(2*math.Pi)
	}
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	}
	return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
}

// bd0 returns D(x, m) = x log(x/m) + m - x, the deviance term of a binomial or Poisson
// probability, by a series in v = (x-m)/(x+m) when x is near m, where the direct form
// cancels.
func bd0(x, m float64) float64 {
	if math.Abs(x-m) < 0.1*(x+m) {
		v := (x - m) / (x + m)
		s := (x - m) * v
		ej := 2 * x * v
		v *= v
		for j := 1; j < 1000; j++ {
			ej *= v
			s1 := s + ej/float64(2*j+1)
			if s1 == s {
				return s1
			}
			s = s1
		}
		return s
	}
	return x*math.Log(x/m) + m - x
}
