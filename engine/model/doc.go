// Package model owns the models the engine serves: shape presets, seeded synthetic
// weights, conversion to a precision, batched forward passes and fidelity.
//
// Architectures: Encoder (llama-style blocks over a token sequence, mean-pooled into a
// class head), Decoder (the same blocks, causal, with a classifier tied to the token
// embeddings giving next-token logits) and MLP (tabular scoring). A batch of requests runs
// as one flattened matrix of tokens (or rows) through every weight matmul, one MatMul per
// weight per batch (the projections that read one norm's output, Q, K and V and the
// feed-forward's W1 and W3, as one Kernels.MatMuls); attention runs per request.
//
// The decoder runs by iterations (Runner.Decode): each holds a Step per sequence, a
// prefill chunk or a decode token, batched as in Orca (token-wise operations over all
// steps' tokens at once, attention per sequence). Keys and values live in a paged
// KVStore of fixed-size blocks; each step names its sequence's blocks, so which sequence
// owns which block is the caller's (a scheduler's) to decide. Greedy and Sample pick the
// next token from the logits.
//
// Precision applies to the weights of every matmul (the attention projections, the
// feed-forward weights, the class head and the MLP layers): fp32, fp16, bf16, int8
// (Q8_0) or int4 (Q4_0). Token embeddings, norm weights, biases and the attention
// arithmetic itself stay fp32.
//
// model imports engine/kernels and engine/tensor and nothing else of this module.
package model
