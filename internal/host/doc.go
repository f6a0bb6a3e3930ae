// Package host describes the machine infertune measures on: a Fingerprint (CPU model, cores,
// ISA features, cache sizes, memory, OS, Go and binary build) with an ID that deduplicates
// hosts across machines, and a short noise check that says whether the machine is quiet
// enough to measure on.
//
// Detect reads /proc, /sys and the binary's build information; the parsers it uses take
// readers and file systems, so they are tested on fixtures under testdata. Nothing here
// fails: a file that cannot be read leaves its field empty.
//
// This package imports none of infertune's packages.
package host
