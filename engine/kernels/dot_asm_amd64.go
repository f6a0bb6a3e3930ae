//go:build goexperiment.simd && amd64

package kernels

import "unsafe"

// Declarations of the routines in dot_amd64.s. Their Go twins are dotF16Generic,
// dotQ8Generic and dotQ4Generic.

//go:noescape
func dotF16AVX2(w *uint16, x *float32, n int) float32

//go:noescape
func dotQ8VNNI(w *byte, xq *int8, xd *float32, corr *int32, tab *float32, nb int) float32

//go:noescape
func dotQ4VNNI(w *byte, xq *int8, xd *float32, corr *int32, tab *float32, nb int) float32

//go:noescape
func matVec4Q8VNNI(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

//go:noescape
func matVec4Q4VNNI(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

//go:noescape
func matVec4Q8VNNICached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

//go:noescape
func matVec4Q4VNNICached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

//go:noescape
func cvtF16AVX512(dst *float32, src *uint16, n int)

//go:noescape
func f16ScaleAVX512(d *float32, n int)

//go:noescape
func matVec4F32(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F16(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4BF16(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

// The NTA kernels are the four-row kernels with PREFETCHNTA 2 KiB ahead in place of their
// prefetches into L2 (PrefetchNTA).

//go:noescape
func matVec4F32NTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F16NTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4BF16NTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

// The Cached kernels are the four-row kernels without their prefetches, for rows already
// in the cache (MatMul's row groups after the first column).

//go:noescape
func matVec4F32Cached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F16Cached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4BF16Cached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func cvtF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func dotHeadsF16AVX2(out *float32, ldo int, k *uint16, ldk int, q *float32, nh, hd, rows int)

//go:noescape
func addScaledHeadsF16AVX2(y *float32, v *uint16, ldv int, a *float32, lda int, nh, hd, rows int)

//go:noescape
func cvtToF16AVX2(dst *uint16, src *float32, n int)

//go:noescape
func matVec4Q8Rows(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)

//go:noescape
func matVec4Q4Rows(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)

//go:noescape
func matVec4Q8RowsCached(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)

//go:noescape
func matVec4Q4RowsCached(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)

// matVec4Q4RowsPairs is matVec4Q4RowsCached with two rows to a 512-bit register, for
// CPUs that run 512-bit integer operations at full rate (impl.rowPairs).
//
//go:noescape
func matVec4Q4RowsPairs(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)

// matVec4Q4RowsPairsNTA is matVec4Q4RowsPairs with PREFETCHNTA, for rows read from memory
// where the nta setting is chosen (Q4NTAPREFETCH).
//
//go:noescape
func matVec4Q4RowsPairsNTA(w *byte, stride int, xs *byte, xd *float32, corr *int32, nsb int, y *float32)

// The AVX2 four-row block kernels (the avx2 and avx512 paths): matVec4Q8VNNI's arguments.

//go:noescape
func matVec4Q8AVX2(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

//go:noescape
func matVec4Q8AVX2Cached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

//go:noescape
func matVec4Q4AVX2(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

//go:noescape
func matVec4Q4AVX2Cached(w *byte, stride, next int, xq *int8, xd *float32, corr *int32, tab *float32, nb int, y *float32)

// The Z kernels (matvec512_amd64.s) are the float four-row kernels in 512-bit steps of 32
// elements, in the same three prefetch forms (impl.wideFloats); the bf16 ones read x in
// bf16OrderZ.

//go:noescape
func matVec4F32Z(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F32ZNTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F32ZCached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F16Z(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F16ZNTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4F16ZCached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4BF16Z(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4BF16ZNTA(w unsafe.Pointer, stride int, x *float32, k int, y *float32)

//go:noescape
func matVec4BF16ZCached(w unsafe.Pointer, stride int, x *float32, k int, y *float32)
