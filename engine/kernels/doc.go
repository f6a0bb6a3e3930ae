// Package kernels multiplies weights by activations: Dot, MatVec (y = W·x, the decode shape)
// and MatMul (Y = W·X over n activation rows, the batched and prefill shape) for every weight
// dtype of package tensor, and MatMuls, several MatMuls as one parallel loop. Beside them
// are the vector functions a forward pass needs on the calling goroutine: activations
// (SiLUMul, Softmax), column scaling, attention over an fp32 or fp16 KV cache (DotHeads,
// AddScaledHeads and their fp16 forms, which take a block's rows at once), fp16
// conversions and Argmax.
//
// Two tiers sit behind one API. The generic tier is plain Go, always built, and is the oracle
// every faster path is tested against. The simd tier is built only with GOEXPERIMENT=simd on
// amd64 (package simd/archsimd, plus small Go assembly routines for the instructions archsimd
// lacks and for the GEMM micro-kernels); at start-up it picks an ISA path from the CPU's
// features: AVX2+FMA, AVX-512, or AVX-512 with VNNI.
//
// Precision: fp32, fp16 and bf16 weights multiply fp32 activations, accumulating in fp32.
// Q8_0 and Q4_0 weights multiply activations that are quantized once per call into Q8_0
// blocks (ggml's scheme, with the activation scale rounded through fp16 as ggml stores it);
// each block's dot product runs in int32 and costs one float multiply-add per block.
//
// Threads: a Kernels owns a persistent pool of worker goroutines. Output rows are cut into
// chunks that the workers and the caller claim with an atomic counter; work below a measured
// size stays on the calling goroutine. Close stops the workers.
//
// This package imports only engine/tensor of infertune's packages.
package kernels
