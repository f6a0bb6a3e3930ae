package kernels

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/infertune/infertune/engine/tensor"
)

// Config selects the implementation and the parallelism of a Kernels.
type Config struct {
	// Tier is Generic or SIMD.
	Tier Tier
	// Threads is the number of threads that share each MatVec and MatMul, the caller's
	// included; 0 means runtime.NumCPU().
	Threads int
	// Nice, when positive, lowers the priority of the worker threads (Linux): 1..19 is a
	// niceness, NiceIdle the idle scheduling class. An in-process load generator is then
	// not starved when the workers fill every CPU; see LowerThreadPriority. The calling
	// goroutine's thread is the caller's to set.
	Nice int
	// ISA forces a less capable path of the simd tier (tests and benchmarks use it to cover
	// every path on one machine); ISANone means the best this CPU supports. Ignored by Generic.
	ISA ISA
	// Prefetch sets how the simd tier's MatVec kernels prefetch the rows they read;
	// PrefetchAuto takes DetectPrefetch's choice. Generic issues none (PrefetchOff).
	Prefetch Prefetch
}

// Kernels runs the kernels of one tier on a persistent pool of threads. Its methods may be
// called from several goroutines; operations run one at a time.
type Kernels struct {
	cfg  Config
	impl *impl
	pool *pool

	mu      sync.Mutex
	act     q8Act       // activations quantized by the current operation
	packed  workspace   // activations packed by the current operation, read by all workers
	scratch []workspace // one per worker, for weight panels and tiles
	packs   map[*tensor.Matrix]*weightPack
	// The matrices of the current MatMul (or MatMuls) on the tiles, and their distinct
	// inputs packed for the tiles (quantized for the int8 tiles), one workspace each.
	outs     []mmOut
	actPacks []workspace
}

// The simd tier's MatMul paths (gemm_amd64.go).
const (
	// floatColsF32 is the fewest columns an fp32 MatMul runs on the tiles, floatColsHalf
	// an fp16 or bf16 one; fewer run as row groups against each column (matVecColsFloat).
	// The tiles compute whole tiles of 32 columns (16 on AVX2) whatever n is; the row
	// groups' work grows with n. Microseconds, tiles vs row groups (with the Cached kernels
	// after the first column), one thread (two), best of five calls, medians of five: fp32
	// 768×288 n=20 160/194 (89/97), n=24 166/242 (92/111); 32000×288 n=20 10,918/8,909
	// (5,457/4,508), n=24 10,195/10,002 (4,748/4,715); 1024×1024 n=20 1,036/874 (443/350),
	// n=24 1,063/1,020 (430/400). fp16 768×288 n=24 194/261 (102/103); 32000×288 n=24
	// 9,594/8,931 (4,899/4,470), n=28 10,196/10,531 (5,182/5,591); 1024×1024 n=24
	// 1,132/1,070 (636/443), n=28 1,026/1,128 (641/519). bf16 32000×288 n=28 10,864/10,301
	// (4,217/4,453); 1024×1024 n=28 917/867 (481/422): the row groups win up to 24 (fp32)
	// and 28 (fp16, bf16) on the 32000×288 classifier, most of a decoder's weights. The
	// thresholds stay at 16 and 24 all the same: the two paths add in different orders, and
	// a decoder's logits must not depend on what a sequence is batched with by more than
	// 1e-5 of their scale (model's TestDecodeBatchEqualsAlone). At 24 and 28 the prompt
	// chunks of 16 and 23 tokens there take the row groups alone and the tiles batched, and
	// through the fp16 KV cache's rounding one sequence's logits moved by 1.4e-5; at 16 and
	// 24, by 3.1e-7 at most. A row-group path that adds in the tiles' order would allow
	// both. The AVX2 tile is 16 columns wide, and there the row groups win
	// below 12 (fp32) and 16 (fp16, bf16): fp32 768×288 n=8 78/67, n=12 82/96; 1024×1024
	// n=8 348/306, n=12 349/419 (two threads 213/247); fp16 1024×1024 n=12 446/365, n=16
	// 452/489; bf16 768×288 n=12 187/134, n=16 198/181 (two threads 74/64).
	floatColsF32      = 16
	floatColsHalf     = 24
	floatColsF32AVX2  = 12
	floatColsHalfAVX2 = 16

	// quantColsMax is the fewest columns a Q8_0 or Q4_0 MatMul runs on qgemm6x32VNNI;
	// fewer run as row groups against each column (matVecColsQuant).
	quantColsMax = 16
	// quantColsPacked is quantColsMax for a prepacked matrix, which the tiles read without
	// unpacking it first. Microseconds on two threads, four-row path vs tiles, Q8_0 32000×288:
	// n=6 1,089 vs 1,186, n=8 1,252 vs 1,420, n=10 1,717 vs 1,414; 768×288: n=6 57 vs 66,
	// n=8 86 vs 68, n=10 96 vs 69.
	quantColsPacked = 9
	// rowMinBlocks is the fewest blocks a row of a Q8_0 or Q4_0 matrix has for Prepack to
	// make its superblock rows (quantrows_amd64.go): shorter rows run faster on the block
	// kernels, which make one call per row group and column where the superblocks take
	// two (their own and the block kernel's for the blocks after the last superblock) and
	// lay the activations out first. One thread, ns per row and block, 1024 rows, medians
	// of three, block kernels vs superblocks: Q4_0 k=768 1.36 vs 1.62, k=1024 1.36 vs 1.23,
	// k=1536 1.29 vs 1.03; Q8_0 k=1024 1.27 vs 1.48, k=1536 1.19 vs 1.19 (8 columns 1.25
	// vs 1.01), k=2048 1.27 vs 1.20; s15m's 288-wide rows 1.43-1.69 vs 2.11-2.61.
	rowMinBlocks = 48
)

// weightPack is a matrix in the layouts the simd tier's kernels read (see Prepack), with the
// address and length of the data it was made from, to check that the matrix still holds
// them. Either layout may be missing.
type weightPack struct {
	data *byte
	size int
	// The layout a MatMul tile reads (packTiles), nil when not made.
	quant []byte    // Q8_0 and Q4_0: the int8 values
	scale []float32 // the block scales
	corr  []int32   // the blocks' corrections
	// rows is a Q8_0 or Q4_0 matrix in superblock rows (packRows; quantrows_amd64.go), nil
	// when not made.
	rows []byte
}

// packKind is a set of a matrix's prepacked layouts.
type packKind uint8

const (
	packTiles packKind = 1 << iota // the MatMul tiles' weight panels
	packRows                       // the MatVec row groups' superblock rows
)

// of returns p when it was made from w's data as it is now, else nil.
func (p *weightPack) of(w *tensor.Matrix) *weightPack {
	if p == nil || p.size != len(w.Data) || p.data != &w.Data[0] { // size > 0: Data[0] exists
		return nil
	}
	return p
}

func (p *weightPack) bytes() int64 {
	return int64(len(p.quant)) + 4*int64(len(p.scale)) + 4*int64(len(p.corr)) + int64(len(p.rows))
}

// mmOut is one matrix of a MatMul on the simd tier's tiles (gemm_amd64.go), alone or
// among MatMuls': y = X·wᵀ for the activations x, which xf (float tiles) or xp and xd
// (int8 tiles) hold packed; an int8 matrix's weight panels are prepacked in pk (nil:
// unpacked per call); first is w's first row block in the loop's numbering.
type mmOut struct {
	y     []float32
	w     *tensor.Matrix
	x     []float32
	pk    *weightPack
	xf    []float32
	xp    []byte
	xd    []float32
	first int
}

// workspace is reusable scratch memory for MatMul, named by use. Buffers grow to the
// largest size asked for and are reused; their contents are undefined between uses.
type workspace struct {
	tile   []float32 // the micro-kernel's output tile
	panel  []float32 // a weight block widened to fp32, or the packed activations
	scales []float32 // block scales: of a weight panel, or of the packed activations
	quants []byte    // int8 values: of a weight panel, or of the packed activations
	corr   []int32   // a weight panel's corrections
}

// grow returns (*buf)[:n], reallocating with headroom when it is too small.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n+n/4)
	}
	return (*buf)[:n]
}

// growAligned is grow for bytes that vector code loads: the memory is 64-byte aligned.
func growAligned(buf *[]byte, n int) []byte {
	if cap(*buf) < n {
		*buf = tensor.AlignedBytes(n + n/4)
	}
	return (*buf)[:n]
}

// NiceIdle, as a Nice value, puts threads in Linux's idle scheduling class (SCHED_IDLE)
// rather than raising their niceness. A thread of any other class that wakes up takes a
// CPU such a thread runs on at once, and the kernel places waking threads on such CPUs as
// on idle ones. Niceness only shifts shares: a load generator's thread woken beside a
// computing thread niced to 19 still started its sends milliseconds late here, about 2%
// of them at 40 requests/s (with the idle class, well under 1%).
const NiceIdle = 20

// New builds a Kernels. It fails when the tier is not usable in this binary or on this CPU,
// or when Threads is negative.
func New(cfg Config) (*Kernels, error) {
	if cfg.Nice < 0 || cfg.Nice > NiceIdle {
		return nil, fmt.Errorf("kernels: nice %d: must be 0 (unchanged) to 19, or %d (idle class)", cfg.Nice, NiceIdle)
	}
	if cfg.Threads < 0 {
		return nil, fmt.Errorf("kernels: threads %d: must be 0 (all CPUs) or more", cfg.Threads)
	}
	if cfg.Prefetch > PrefetchOff {
		return nil, fmt.Errorf("kernels: prefetch %s: accepted %s", cfg.Prefetch, PrefetchNames())
	}
	if cfg.Threads == 0 {
		cfg.Threads = runtime.NumCPU()
	}
	var im *impl
	switch cfg.Tier {
	case Generic:
		cfg.ISA = ISANone
		cfg.Prefetch = PrefetchOff
		im = genericImpl()
	case SIMD:
		if !simdBuilt {
			return nil, fmt.Errorf("kernels: tier simd: this binary was built without GOEXPERIMENT=simd; accepted: generic")
		}
		best := DetectISA()
		if best < ISAAVX2 {
			return nil, fmt.Errorf("kernels: tier simd: this CPU lacks AVX2 and FMA; accepted: generic")
		}
		if cfg.ISA == ISANone {
			cfg.ISA = best
		}
		if cfg.ISA > best {
			return nil, fmt.Errorf("kernels: isa %s: not supported by this CPU (best: %s)", cfg.ISA, best)
		}
		cfg.Prefetch = cfg.Prefetch.Resolve()
		im = simdImpl(cfg.ISA)
	default:
		return nil, fmt.Errorf("kernels: unknown tier %d", cfg.Tier)
	}
	return &Kernels{
		cfg:     cfg,
		impl:    im,
		pool:    newPool(cfg.Threads, cfg.Nice),
		scratch: make([]workspace, cfg.Threads),
	}, nil
}

// Close stops the worker goroutines and drops the prepacked matrices. The Kernels must not
// be used afterwards.
func (k *Kernels) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pool != nil {
		k.pool.close()
		k.pool = nil
	}
	k.packs = nil
}

// Serial returns a Kernels of the same tier and ISA path that runs every operation on the
// calling goroutine alone (one thread, no workers). Work split by Parallel gives one to
// each worker, so that each runs its own operations beside the others.
func (k *Kernels) Serial() *Kernels {
	cfg := k.cfg
	cfg.Threads, cfg.Nice = 1, 0
	return &Kernels{cfg: cfg, impl: k.impl, pool: newPool(1, 0), scratch: make([]workspace, 1)}
}

// Prepack keeps the matrices ws in the layouts this tier's kernels read fastest, where they
// differ from the matrix's own; MatMul and MatVec then read those. On the simd tier with
// VNNI: for MatMul, Q8_0 and Q4_0 weight panels as the tiles read them (without them MatMul
// widens every block to int8 with its correction on every call: for s15m's 32000×288
// classifier in Q8_0 that took about 2.1 of the 2.9 ms of a 32-column MatMul on two
// threads), about as much memory again for Q8_0 and twice for Q4_0; for MatVec (and
// MatMul's few-column row groups), Q8_0 and Q4_0 rows in superblocks of eight blocks
// (PrepackMatVec), as much memory again. Other matrices, tiers and paths are left alone.
// Prepack returns the bytes it added. The matrices must not change afterwards (a matrix
// whose Data is replaced by another slice is read as it is again). Prepack runs on the
// pool, like MatMul.
func (k *Kernels) Prepack(ws ...*tensor.Matrix) int64 {
	return k.prepack(packTiles|packRows, ws)
}

// PrepackMatVec is Prepack for MatVec alone: only the layout MatVec and MatMul's row
// groups read (Q8_0 and Q4_0 superblock rows on the simd tier with VNNI), not the tiles'.
func (k *Kernels) PrepackMatVec(ws ...*tensor.Matrix) int64 {
	return k.prepack(packRows, ws)
}

// PackedBytes returns the memory the prepacked layouts hold beside their matrices: what
// Prepack and PrepackMatVec have added, until Close drops it.
func (k *Kernels) PackedBytes() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var n int64
	for _, p := range k.packs {
		n += p.bytes()
	}
	return n
}

func (k *Kernels) prepack(kinds packKind, ws []*tensor.Matrix) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.impl.prepack == nil {
		return 0
	}
	var added int64
	for _, w := range ws {
		if w == nil || len(w.Data) == 0 {
			continue
		}
		checkMatrix(w)
		p := k.packs[w].of(w)
		if p == nil {
			p = &weightPack{data: &w.Data[0], size: len(w.Data)}
		}
		before := p.bytes()
		k.impl.prepack(k, w, p, kinds)
		if p.bytes() == before {
			continue
		}
		if k.packs == nil {
			k.packs = make(map[*tensor.Matrix]*weightPack)
		}
		k.packs[w] = p
		added += p.bytes() - before
	}
	return added
}

// Parallel calls fn(i, worker) for every i in [0, n), spread over the pool's threads, and
// returns when all calls are done. worker (0 to Threads-1) names the thread that runs the
// call, for per-worker state: fn may use a Serial Kernels of its own per worker, never k,
// which is busy until Parallel returns. It suits many independent small operations (the
// heads of attention), where splitting each operation over the threads would cost a
// hand-off per operation.
func (k *Kernels) Parallel(n int, fn func(i, worker int)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pool.run(n, fn)
}

// Tier returns the tier in use.
func (k *Kernels) Tier() Tier { return k.cfg.Tier }

// ISA returns the ISA path in use (ISANone for Generic).
func (k *Kernels) ISA() ISA { return k.cfg.ISA }

// Prefetch returns how the MatVec kernels prefetch (PrefetchL2, PrefetchNTA or
// PrefetchOff, never PrefetchAuto).
func (k *Kernels) Prefetch() Prefetch { return k.cfg.Prefetch }

// Threads returns the number of threads per operation.
func (k *Kernels) Threads() int { return k.cfg.Threads }

// String describes the kernels, for example "simd/avx512vnni×2".
func (k *Kernels) String() string {
	if k.cfg.Tier == Generic {
		return fmt.Sprintf("generic×%d", k.cfg.Threads)
	}
	return fmt.Sprintf("simd/%s×%d", k.cfg.ISA, k.cfg.Threads)
}

// Dot returns Σ w[i]·x[i] over one row w of dtype dt (len(x) elements stored as dt) on the
// calling goroutine. Q8_0 and Q4_0 quantize x to Q8_0 first. It panics when the lengths
// disagree, like a slice index out of range: shapes are the caller's contract.
func (k *Kernels) Dot(dt tensor.DType, w []byte, x []float32) float32 {
	checkRow(dt, len(w), len(x))
	k.mu.Lock()
	defer k.mu.Unlock()
	im := k.impl
	switch dt {
	case tensor.F32:
		return im.dotF32(tensor.AsF32(w), x)
	case tensor.F16:
		return im.dotF16(tensor.AsU16(w), x)
	case tensor.BF16:
		return im.dotBF16(tensor.AsU16(w), x)
	case tensor.Q8_0:
		k.act.quantize(x, 1, len(x), im.corrQ8, k.impl)
		return im.dotQ8(w, k.act.row(0, len(x)))
	case tensor.Q4_0:
		k.act.quantize(x, 1, len(x), im.corrQ4, k.impl)
		return im.dotQ4(w, k.act.row(0, len(x)))
	}
	panic(fmt.Sprintf("kernels: dot: unknown dtype %v", dt))
}

// MatVec computes y = W·x: y[i] = Σ_k W[i][k]·x[k] for every row i of w. len(x) must be
// w.Cols and len(y) w.Rows; it panics otherwise.
func (k *Kernels) MatVec(y []float32, w *tensor.Matrix, x []float32) {
	if len(x) != w.Cols || len(y) != w.Rows {
		panic(fmt.Sprintf("kernels: matvec: W is %d×%d, x has %d, y has %d", w.Rows, w.Cols, len(x), len(y)))
	}
	checkMatrix(w)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.impl.matVec(k, y, w, x)
}

// MatMul computes Y = X·Wᵀ for n activation rows: y[j][i] = Σ_k W[i][k]·x[j][k], with x an
// n×w.Cols and y an n×w.Rows row-major matrix (each token's vector contiguous, the layout
// of ggml's mul_mat). It panics when the lengths disagree.
func (k *Kernels) MatMul(y []float32, w *tensor.Matrix, x []float32, n int) {
	checkMatMul(y, w, x, n)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.matMul(y, w, x, n)
}

// MatMuls computes ys[i] = Xᵢ·ws[i]ᵀ for each i, as MatMul does with xs[i], n rows each,
// as one operation: matrices that a decode iteration runs one after another on their
// norm's output (a layer's Q, K and V projections; its gate and up projections). Where
// MatMul packs x for its tiles (the simd tier's int8 and int4 tiles, and its float tiles
// from floatCols columns), each distinct x is packed once (however many of the matrices
// read it), and the row blocks of all the matrices run in one parallel loop: one hand-off
// to the threads instead of one per matrix (on s15m, 64 int8 decodes an iteration ran 8%
// faster, 16 decodes 6%). Elsewhere the matrices run one MatMul after another. It panics
// when the lengths disagree.
func (k *Kernels) MatMuls(ys [][]float32, ws []*tensor.Matrix, xs [][]float32, n int) {
	if len(ys) != len(ws) || len(xs) != len(ws) {
		panic(fmt.Sprintf("kernels: matmuls: %d outputs and %d inputs for %d matrices", len(ys), len(xs), len(ws)))
	}
	for i, w := range ws {
		checkMatMul(ys[i], w, xs[i], n)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if n > 1 && k.impl.matMuls != nil && k.impl.matMuls(k, ys, ws, xs, n) {
		return
	}
	for i, w := range ws {
		k.matMul(ys[i], w, xs[i], n)
	}
}

func checkMatMul(y []float32, w *tensor.Matrix, x []float32, n int) {
	if n < 0 || len(x) != n*w.Cols || len(y) != n*w.Rows {
		panic(fmt.Sprintf("kernels: matmul: W is %d×%d, n=%d, x has %d, y has %d", w.Rows, w.Cols, n, len(x), len(y)))
	}
	checkMatrix(w)
}

// matMul is MatMul with k.mu held.
func (k *Kernels) matMul(y []float32, w *tensor.Matrix, x []float32, n int) {
	if n == 0 || w.Rows == 0 {
		return
	}
	if n == 1 {
		// One column is the decode shape: the matrix kernels would compute a whole tile of
		// columns (32 for the AVX-512 kernels) to use one.
		k.impl.matVec(k, y, w, x)
		return
	}
	k.impl.matMul(k, y, w, x, n)
}

func checkRow(dt tensor.DType, wBytes, n int) {
	rb, err := dt.RowBytes(n)
	if err != nil {
		panic(fmt.Sprintf("kernels: %v", err))
	}
	if rb != wBytes {
		panic(fmt.Sprintf("kernels: %s row of %d elements needs %d bytes, got %d", dt, n, rb, wBytes))
	}
}

func checkMatrix(w *tensor.Matrix) {
	if err := w.Validate(); err != nil {
		panic(fmt.Sprintf("kernels: %v", err))
	}
}
