package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// benchConfig is a kernels configuration named for key=value sub-benchmarks.
type benchConfig struct {
	name string
	cfg  Config
}

// benchConfigs lists the tiers (and the simd tier's best ISA) at each thread count from 1 to
// NumCPU.
func benchConfigs() []benchConfig {
	var out []benchConfig
	for threads := 1; threads <= runtime.NumCPU(); threads++ {
		for _, tier := range Tiers() {
			out = append(out, benchConfig{fmt.Sprintf("threads=%d/tier=%s", threads, tier), Config{Tier: tier, Threads: threads}})
		}
	}
	return out
}

// benchPathConfigs is benchConfigs and, for the simd tier, each less capable ISA path this
// CPU has, named …/tier=simd/isa=avx2: what a CPU without the better path would run.
func benchPathConfigs() []benchConfig {
	out := benchConfigs()
	isas := ISAs()
	for threads := 1; threads <= runtime.NumCPU(); threads++ {
		for _, isa := range isas[:max(len(isas)-1, 0)] {
			out = append(out, benchConfig{fmt.Sprintf("threads=%d/tier=%s/isa=%s", threads, SIMD, isa), Config{Tier: SIMD, Threads: threads, ISA: isa}})
		}
	}
	return out
}

// BenchmarkDot measures one row dot of k=4096 (weights and activations in L1).
func BenchmarkDot(b *testing.B) {
	const k = 4096
	r := rand.New(rand.NewPCG(1, 1))
	for _, dt := range tensor.DTypes {
		w := randMatrix(b, r, dt, 1, k)
		x := randVec(r, k)
		for _, tier := range Tiers() {
			b.Run(fmt.Sprintf("dtype=%s/k=%d/tier=%s", dt, k, tier), func(b *testing.B) {
				kn := newKernels(b, Config{Tier: tier, Threads: 1})
				b.ReportAllocs()
				for b.Loop() {
					kn.Dot(dt, w.Data, x)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*k/sec/1e9, "GFLOP/s")
				b.ReportMetric(float64(len(w.Data))/sec/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkMatVec measures the decode shape, 4096×4096, with the matrix served from cache
// (the same matrix every call); `infertune bench kernels` also measures it cold.
func BenchmarkMatVec(b *testing.B) {
	const m, k = 4096, 4096
	r := rand.New(rand.NewPCG(2, 2))
	for _, dt := range tensor.DTypes {
		w := randMatrix(b, r, dt, m, k)
		x := randVec(r, k)
		y := make([]float32, m)
		for _, c := range benchPathConfigs() {
			for _, prepack := range []bool{false, true} {
				kn := newKernels(b, c.cfg)
				name := fmt.Sprintf("dtype=%s/m=%d/k=%d/n=1/%s", dt, m, k, c.name)
				if prepack {
					if kn.PrepackMatVec(w) == 0 {
						continue // no layout of its own for MatVec here
					}
					name += "/prepacked"
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						kn.MatVec(y, w, x)
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(2*m*k/sec/1e9, "GFLOP/s")
					b.ReportMetric(float64(len(w.Data))/sec/1e9, "GB/s")
				})
			}
		}
	}
}

// BenchmarkMatMul measures the batched shape m=k=1024, n=128.
func BenchmarkMatMul(b *testing.B) {
	const m, k, n = 1024, 1024, 128
	r := rand.New(rand.NewPCG(3, 3))
	for _, dt := range tensor.DTypes {
		w := randMatrix(b, r, dt, m, k)
		x := randVec(r, n*k)
		y := make([]float32, n*m)
		for _, c := range benchPathConfigs() {
			b.Run(fmt.Sprintf("dtype=%s/m=%d/k=%d/n=%d/%s", dt, m, k, n, c.name), func(b *testing.B) {
				kn := newKernels(b, c.cfg)
				b.ReportAllocs()
				for b.Loop() {
					kn.MatMul(y, w, x, n)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*m*k*n/sec/1e9, "GFLOP/s")
				b.ReportMetric(float64(len(w.Data))/sec/1e9, "GB/s")
			})
		}
	}
}
