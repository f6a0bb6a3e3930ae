package model

import (
	"math"
	"math/rand/v2"
)

// Greedy returns the token with the highest logit, the lowest id on ties. logits must
// not be empty.
func Greedy(logits []float32) int32 { return int32(Argmax(logits)) }

// Sample draws a token from softmax(logits/temperature) with r, so that a seeded r gives
// a reproducible sequence. A temperature of 0 (or less, or NaN) is Greedy and draws
// nothing from r. logits must not be empty.
func Sample(logits []float32, temperature float32, r *rand.Rand) int32 {
	if !(temperature > 0) {
		return Greedy(logits)
	}
	mx := float64(logits[Argmax(logits)])
	inv := 1 / float64(temperature)
	var sum float64
	for _, v := range logits {
		sum += math.Exp((float64(v) - mx) * inv)
	}
	u := r.Float64() * sum
	for i, v := range logits {
		u -= math.Exp((float64(v) - mx) * inv)
		if u < 0 {
			return int32(i)
		}
	}
	// Rounding left u a hair above zero: the draw fell at the very top, on the last token
	// with any weight.
	for i := len(logits) - 1; i > 0; i-- {
		if math.Exp((float64(logits[i])-mx)*inv) > 0 {
			return int32(i)
		}
	}
	return 0
}
