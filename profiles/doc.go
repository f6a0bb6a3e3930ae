// Package profiles holds the named profiles infertune ships with, embedded in the binary as
// YAML and decoded into typed, validated values.
//
// It owns the workload profiles (workloads/*.yaml): a model (architecture and preset), the
// shape of its requests (token lengths for an encoder, feature counts for an MLP, prompt
// and output lengths for a generating decoder) and the defaults a run starts from
// (precision, batching, queue bounds, arrival process, window; for a decoder, continuous or
// static batching and the paged KV cache's block size and byte budget); and the hardware
// profiles (hardware/*.yaml), which price the targets a tune runs on, with the price's
// source. SLO presets are to follow in the same form: one file per profile, named after
// it, decoded strictly by the same code.
//
// Decoding is strict: an unknown key, a value of the wrong type, a second YAML document or
// a key given twice is an error, and every error names the file, the key path (such as
// defaults.max_batch), the value given and what would be accepted. Validate reports every
// problem of a profile at once. The embedded files are parsed once, on first use; a test
// guarantees they are valid.
//
// profiles imports nothing else of this module.
package profiles
