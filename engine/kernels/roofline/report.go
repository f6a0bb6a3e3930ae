package roofline

import (
	"runtime"

	"github.com/infertune/infertune/engine/kernels"
)

// Roofs are the machine's measured limits. Map keys are working-set sizes in bytes and
// thread counts; encoding/json writes them as decimal strings.
type Roofs struct {
	// ReadGBps is the read bandwidth (GB/s, 1e9 bytes per second) at one thread, by
	// working-set bytes.
	ReadGBps map[int64]float64 `json:"read_gbps"`
	// FMAGFlops is the register-only FMA peak (GFLOP/s, an FMA counting 2) at one thread.
	FMAGFlops float64 `json:"fma_gflops"`
	// ReadGBpsByThreads is the read bandwidth by thread count, then by working-set bytes:
	// every thread reads a disjoint part of the working set, all at once.
	ReadGBpsByThreads map[int]map[int64]float64 `json:"read_gbps_by_threads"`
	// FMAGFlopsByThreads is the FMA peak of all threads together, by thread count.
	FMAGFlopsByThreads map[int]float64 `json:"fma_gflops_by_threads"`
}

// Row is one measurement: one kernel on one dtype, tier and thread count.
type Row struct {
	// DType is the weight dtype: f32, f16, bf16, q8_0 or q4_0.
	DType string `json:"dtype"`
	// Tier is the kernel tier: generic or simd.
	Tier string `json:"tier"`
	// ISA is the tier's instruction-set path ("none" for generic).
	ISA string `json:"isa"`
	// Prefetch is how the MatVec kernels prefetched (kernels.Prefetch): l2, nta or off
	// (always off for generic; MatMul's tiles issue none either way).
	Prefetch string `json:"prefetch"`
	// Threads is the number of threads per call.
	Threads int `json:"threads"`
	// Op is the kernel: "matvec" or "matmul".
	Op string `json:"op"`
	// M, K and N are the shape: an M×K weight matrix times N activation rows (N is 1 for
	// matvec).
	M int `json:"m"`
	K int `json:"k"`
	N int `json:"n"`
	// Cache is "hot" (one matrix, reused) or "cold" (a cycle of matrices of at least
	// Options.ColdBytes).
	Cache string `json:"cache"`
	// WorkingSetBytes is the weight bytes the row cycles over: one matrix when hot, all of
	// them when cold.
	WorkingSetBytes int64 `json:"working_set_bytes"`
	// GFlops is 2·M·K·N floating-point operations per call over the time per call, in 1e9/s.
	GFlops float64 `json:"gflops"`
	// GBps is the weight bytes of one matrix over the time per call, in 1e9 bytes/s.
	GBps float64 `json:"gbps"`
	// NsPerCall is the time of one call in nanoseconds: the mean over the fastest batch of
	// consecutive calls (see Options.MinTime).
	NsPerCall float64 `json:"ns_per_call"`
	// PctOfRoof is GBps over the read roof at (Threads, WorkingSetBytes) for matvec rows,
	// GFlops over the FMA peak at Threads for matmul rows, in percent; 0 when the roof is
	// unknown. The roof is Roof: measured between the row's batches, in trials as long as a
	// batch, so the row and its roof see the same neighbours on a shared machine. The FMA
	// peak is an fp32 roof: q8_0 and q4_0 kernels multiply in int8, where one VPDPBUSD does
	// four multiply-adds per 32-bit lane, so their matmul rows can pass 100%.
	PctOfRoof float64 `json:"pct_of_roof"`
	// Roof is the roof PctOfRoof divides by (GB/s for matvec, GFLOP/s for matmul): the best
	// of the row's roof trials, one between every two of its batches (see Options.MinTime).
	Roof float64 `json:"roof"`
}

// Report is the result of Run.
type Report struct {
	// Host describes the machine; Run fills it with a Host, and a caller may replace it with
	// its own fingerprint before encoding.
	Host any `json:"host"`
	// Roofs are the machine's measured limits.
	Roofs Roofs `json:"roofs"`
	// Rows are the measurements, in order: dtype, tier, threads, op.
	Rows []Row `json:"rows"`
}

// Host is what Run records about the machine it measured.
type Host struct {
	// OS and Arch are runtime.GOOS and runtime.GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// CPUs is runtime.NumCPU().
	CPUs int `json:"cpus"`
	// GoVersion is runtime.Version().
	GoVersion string `json:"go_version"`
	// ISA is the most capable kernel ISA path of this CPU (kernels.DetectISA).
	ISA string `json:"isa"`
	// SIMDBuilt reports whether this binary has the simd tier.
	SIMDBuilt bool `json:"simd_built"`
	// SumLoops are the read roof's loops (avx512, avx2, go); the roof is the fastest.
	SumLoops []string `json:"sum_loops"`
	// FMALoops are the FMA peak's loops (avx512, avx2, go); the peak is the fastest.
	FMALoops []string `json:"fma_loops"`
}

// thisHost describes the running machine.
func thisHost() Host {
	h := Host{
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		ISA:       kernels.DetectISA().String(),
		SIMDBuilt: kernels.SIMDBuilt(),
	}
	for _, l := range sumLoops() {
		h.SumLoops = append(h.SumLoops, l.name)
	}
	for _, l := range fmaLoops() {
		h.FMALoops = append(h.FMALoops, l.name)
	}
	return h
}
