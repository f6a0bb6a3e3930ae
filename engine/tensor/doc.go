// Package tensor owns the element types of the engine and their storage: fp32, fp16, bf16 and
// the ggml block formats Q8_0 and Q4_0, with reference (scalar) conversions between them and
// fp32, and Matrix, a row-major weight matrix in any of them.
//
// The block layouts follow ggml byte for byte, so tensors read from GGUF files need no
// conversion:
//
//	Q8_0: 34 bytes per 32 weights: fp16 scale d (little endian), then 32 int8 q; x = d*q.
//	Q4_0: 18 bytes per 32 weights: fp16 scale d, then 16 bytes of nibbles; element j is the
//	      low nibble of byte j and element j+16 the high nibble; x = (q-8)*d.
//
// Lengths: a row of a block format must hold a whole number of 32-element blocks. Functions
// here refuse other lengths with ErrBlockAlign rather than pad silently; a caller that wants
// padding pads with zeros itself (zeros quantize to zero exactly, so padding never changes a
// dot product).
//
// Non-finite values: fp16 and bf16 keep Inf and NaN (NaN stays NaN, quiet). The block formats
// cannot represent them, so quantizing a block that holds one fails with ErrNonFinite naming
// the element.
//
// Range: like ggml, a block whose largest magnitude exceeds what an fp16 scale can carry
// (about 8.3e6 for Q8_0, 5.2e5 for Q4_0) stores an Inf scale and decodes to ±Inf or NaN, and
// a block whose largest magnitude is below about 4e-6 (Q8_0) or 2.4e-7 (Q4_0) decodes to
// zeros. Model weights sit far inside both limits. A failed quantization may have written the
// blocks before the one it refused.
//
// This package imports nothing of infertune's.
package tensor
