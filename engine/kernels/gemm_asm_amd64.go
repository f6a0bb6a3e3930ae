//go:build goexperiment.simd && amd64

package kernels

//go:generate go run ./internal/asmgen

// Declarations of the micro-kernels in gemm_amd64.s; their Go twins are in
// gemm_twin_test.go.

//go:noescape
func sgemm12x32(w *float32, lda int, xp *float32, k int, c *float32)

//go:noescape
func qgemm6x32VNNI(wq *int8, wd *float32, wc *int32, xp *uint8, xd *float32, nb int, c *float32)

//go:noescape
func sgemm6x16AVX2(w *float32, lda int, xp *float32, k int, c *float32)

// scatter6x16 stores 16 tokens of 6 weight rows of a tile into Y, one token's 6 floats
// at a time (see scatterTile); strides in bytes.
//
//go:noescape
func scatter6x16(y *float32, ystride int, c *float32, cstride int)
