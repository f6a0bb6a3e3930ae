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
// Vector state: the Go compiler emits scalar float code (and zeroing, and some shift
// counts) in legacy SSE encodings. Some CPUs save the vector registers' upper halves when
// an SSE instruction writes an X register after 256- or 512-bit code, and restore them at
// the next vector instruction: on an Intel server CPU a loop of one VPADDD on Y registers
// and one MOVSS load ran 111 ns a step, and 0.28 ns with VMOVSS or with no 256-bit
// instruction (stores out of X registers cost nothing). Zen 5 showed no such cost: the int8
// MatMul below ran 359 GFLOP/s there with the float32 move (the README's Zen 5 table). So
// the simd kernels keep scalar float code out of their vector loops: they call archsimd.ClearAVXUpperBits before it, move float
// bits as integers, make zero vectors as zero values rather than broadcasts, and shift
// with counts the compiler can give as immediates or vectors. A Q8_0 weight panel unpacked
// with one float32 move a block ran a 1024×1024×128 int8 MatMul at 51 GFLOP/s against 299
// once the move was an integer one. TestNoSSEInVectorCode checks the rule on the
// disassembly.
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
