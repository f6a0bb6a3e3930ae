package roofline

import "github.com/infertune/infertune/engine/tensor"

// sumLoop is one loop that reads a buffer for the read roof.
type sumLoop struct {
	name string // avx512, avx2 or go
	sum  func(s []float32) float32
}

// readSum reads every byte of b once and returns a value that depends on all of them: the
// float32 sum of its 4-byte words (by sum) plus its last len(b)%4 bytes as small integers. b
// must be 4-byte aligned. It is the read roof's loop; the value only keeps the reads alive.
func readSum(b []byte, sum func([]float32) float32) float32 {
	n := len(b) &^ 3
	s := sum(tensor.AsF32(b[:n]))
	for _, v := range b[n:] {
		s += float32(v)
	}
	return s
}

// sumGo returns Σ s[i] with eight partial sums (i mod 8), added at the end as
// ((p0+p1)+(p2+p3))+((p4+p5)+(p6+p7)), then the tail. It is the read loop of builds without
// archsimd and the twin the vector loops are tested against (on integer data, where the order
// does not matter).
func sumGo(s []float32) float32 {
	var p0, p1, p2, p3, p4, p5, p6, p7 float32
	for len(s) >= 8 {
		q := (*[8]float32)(s)
		p0 += q[0]
		p1 += q[1]
		p2 += q[2]
		p3 += q[3]
		p4 += q[4]
		p5 += q[5]
		p6 += q[6]
		p7 += q[7]
		s = s[8:]
	}
	t := ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7))
	for _, v := range s {
		t += v
	}
	return t
}
