package kernels

import (
	"fmt"
	"strings"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/cpu"
)

// Tier is a family of kernel implementations.
type Tier uint8

// The tiers.
const (
	// Generic is plain Go: always built, always correct, the oracle.
	Generic Tier = iota
	// SIMD uses the CPU's vector units; it exists only in builds with GOEXPERIMENT=simd on
	// amd64 and on CPUs with at least AVX2 and FMA.
	SIMD
)

// String returns "generic" or "simd".
func (t Tier) String() string {
	switch t {
	case Generic:
		return "generic"
	case SIMD:
		return "simd"
	}
	return fmt.Sprintf("tier(%d)", uint8(t))
}

// ParseTier reads a tier name: generic or simd.
func ParseTier(s string) (Tier, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "generic":
		return Generic, nil
	case "simd":
		return SIMD, nil
	}
	return 0, fmt.Errorf("unknown kernel tier %q: accepted generic, simd", s)
}

// ISA is the instruction-set path a tier runs on. Generic runs on ISANone.
type ISA uint8

// ISA paths, in increasing order of capability.
const (
	ISANone       ISA = iota // scalar Go
	ISAAVX2                  // AVX2 + FMA, 256-bit vectors
	ISAAVX512                // AVX-512 F/BW/DQ/VL, 512-bit vectors
	ISAAVX512VNNI            // AVX-512 plus VNNI (VPDPBUSD) for int8 dot products
)

var isaNames = [...]string{ISANone: "none", ISAAVX2: "avx2", ISAAVX512: "avx512", ISAAVX512VNNI: "avx512vnni"}

// String returns the ISA's lowercase name.
func (i ISA) String() string { return nameOf(isaNames[:], i, "isa") }

// ParseISA reads an ISA name: avx2, avx512 or avx512vnni ("none" for the generic tier).
func ParseISA(s string) (ISA, error) {
	if i, ok := lookupName[ISA](isaNames[:], s); ok {
		return i, nil
	}
	return 0, fmt.Errorf("unknown ISA %q: accepted none, avx2, avx512, avx512vnni", s)
}

// nameOf returns names[v], or kind(v) for a value without a name.
func nameOf[T ~uint8](names []string, v T, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, uint8(v))
}

// lookupName returns the value whose name is s (any case, spaces around ignored).
func lookupName[T ~uint8](names []string, s string) (T, bool) {
	l := strings.ToLower(strings.TrimSpace(s))
	for i, n := range names {
		if l == n {
			return T(i), true
		}
	}
	return 0, false
}

// DetectISA returns the most capable path this CPU supports, whatever the build.
func DetectISA() ISA {
	x := cpu.X86
	switch {
	case x.HasAVX512F && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL && x.HasAVX512VNNI:
		return ISAAVX512VNNI
	case x.HasAVX512F && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL:
		return ISAAVX512
	case x.HasAVX2 && x.HasFMA && x.HasF16C:
		return ISAAVX2
	}
	return ISANone
}

// SIMDBuilt reports whether this binary contains the simd tier (built with
// GOEXPERIMENT=simd on amd64).
func SIMDBuilt() bool { return simdBuilt }

// BestTier returns SIMD when this binary has it and the CPU supports it, else Generic.
func BestTier() Tier {
	if simdBuilt && DetectISA() >= ISAAVX2 {
		return SIMD
	}
	return Generic
}

// Tiers lists the tiers usable in this process, Generic first.
func Tiers() []Tier {
	if BestTier() == SIMD {
		return []Tier{Generic, SIMD}
	}
	return []Tier{Generic}
}

// ISAs lists the ISA paths the simd tier can run on here, least capable first (empty when
// the simd tier is not usable).
func ISAs() []ISA {
	var out []ISA
	if !simdBuilt {
		return nil
	}
	for i := ISAAVX2; i <= DetectISA(); i++ {
		out = append(out, i)
	}
	return out
}

// Prefetch is how the simd tier's MatVec kernels prefetch the rows they read from memory.
// Which pays depends on the CPU's own prefetchers, so the default (PrefetchAuto) is chosen
// per CPU family by DetectPrefetch.
type Prefetch uint8

// Prefetch settings.
const (
	PrefetchAuto Prefetch = iota // DetectPrefetch's choice for this CPU
	// PrefetchL2: every kernel prefetches each row into L2 at two distances (fp32, fp16
	// and bf16 4 and 8 KiB ahead, int8 and int4 by their own measures).
	PrefetchL2
	// PrefetchNTA: the fp32, fp16 and bf16 kernels prefetch each row 2 KiB ahead with
	// PREFETCHNTA; the int8 and int4 kernels, which gained nothing from it, none.
	PrefetchNTA
	// PrefetchOff: no software prefetches; the hardware prefetchers alone.
	PrefetchOff
)

var prefetchNames = [...]string{PrefetchAuto: "auto", PrefetchL2: "l2", PrefetchNTA: "nta", PrefetchOff: "off"}

// PrefetchNames returns the settings' names, comma-separated, for messages that list what
// is accepted.
func PrefetchNames() string { return strings.Join(prefetchNames[:], ", ") }

// String returns auto, l2, nta or off.
func (p Prefetch) String() string { return nameOf(prefetchNames[:], p, "prefetch") }

// ParsePrefetch reads a prefetch setting: auto, l2, nta or off.
func ParsePrefetch(s string) (Prefetch, error) {
	if p, ok := lookupName[Prefetch](prefetchNames[:], s); ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown prefetch setting %q: accepted %s", s, PrefetchNames())
}

// fullWidth512 reports a CPU that runs 512-bit vector operations at the rate of 256-bit
// ones, where the Q4_0 superblock kernel's Pairs form and the 512-bit float MatVec kernels
// (wideFloats) pay: AMD family 1Ah (Zen 5) and later, and Intel CPUs with AMX (its server
// parts from Sapphire Rapids on). On one of the latter (FMA peak 224-233 GFLOP/s a core),
// the 512-bit kernels decoded s15m, eight sequences, one thread, 1.12-1.20 times as fast
// in fp32, 1.05-1.11 in fp16 and 1.13-1.20 in bf16 (three alternated runs), and read a
// 4096×4096 MatVec as fast (medians of nine alternations in one process, hot and cold, one
// and two threads: fp32 1.01-1.03, bf16 1.00-1.02, fp16 0.98-0.99, q4_0 0.99-1.03). On Zen 4
// a 512-bit operation takes two 256-bit ones (and a 256-bit stream read DRAM about a
// quarter faster); other CPUs are untried.
func fullWidth512() bool { return zen5OrLater() || intelAMX() }

// intelAMX reports an Intel CPU with AMX tiles.
func intelAMX() bool {
	c := cpuid.CPU
	return c.VendorID == cpuid.Intel && c.Supports(cpuid.AMXTILE)
}

// wideFloatsOn reports whether the path isa runs the 512-bit float four-row MatVec kernels
// (impl.wideFloats): an AVX-512 path on a fullWidth512 CPU.
func wideFloatsOn(isa ISA) bool { return isa >= ISAAVX512 && fullWidth512() }

// Wide512 reports whether the simd tier's default path here runs the 512-bit forms that pay
// only where 512-bit operations run at full rate (fullWidth512): the float four-row MatVec
// kernels (wideFloatsOn), and on the VNNI path the Q4_0 superblock kernel's Pairs form.
func Wide512() bool { return SIMDBuilt() && wideFloatsOn(DetectISA()) }

// Resolve returns p, or DetectPrefetch's choice for PrefetchAuto.
func (p Prefetch) Resolve() Prefetch {
	if p == PrefetchAuto {
		return DetectPrefetch()
	}
	return p
}

// DetectPrefetch returns the prefetch setting measured best on this CPU's family:
// PrefetchNTA on AMD family 1Ah (Zen 5) and later, PrefetchL2 elsewhere. The four-row
// MatVec kernels on 4096×4096 matrices, variants alternated in one process (medians of
// seven or eleven): on Zen 4 (family 19h) the prefetches into L2 won (fp16 over 32 MiB,
// one thread 25.2 GB/s against 15.1 without, two 42.3 against 23.3); on Zen 5 they lose to
// none at all (two threads, L2 against none: hot fp16 62.5 against 82.9 GB/s, q8_0 69.8
// against 126.6; cold fp16 42.0 against 45.1, q4_0 40.0 against 49.9), whose prefetchers
// keep four streams fed while the prefetch instructions, one per cache line read, take
// load slots; and PREFETCHNTA 2 KiB ahead beats none for fp32, fp16 and bf16 (one thread,
// 32 MiB from the last-level cache: fp16 1.10-1.18 times, bf16 1.23-1.29, fp32 1.19) but
// not for int8 and int4. Other CPUs keep the prefetches into L2, measured first.
func DetectPrefetch() Prefetch {
	if zen5OrLater() {
		return PrefetchNTA
	}
	return PrefetchL2
}

// zen5OrLater reports an AMD CPU of family 1Ah (Zen 5) or later.
func zen5OrLater() bool {
	c := cpuid.CPU
	return c.VendorID == cpuid.AMD && c.Family >= 0x1a
}
