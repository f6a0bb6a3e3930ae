package tensor

import "errors"

// Sentinel errors callers branch on.
var (
	// ErrBlockAlign: a length that is not a whole number of blocks of a block format.
	ErrBlockAlign = errors.New("length not a multiple of the block size")
	// ErrNonFinite: a NaN or Inf where a block format needs finite values.
	ErrNonFinite = errors.New("non-finite value")
	// ErrDType: an element type this operation does not know.
	ErrDType = errors.New("unknown dtype")
	// ErrSize: buffers whose lengths do not agree.
	ErrSize = errors.New("size mismatch")
)
