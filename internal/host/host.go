package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Fingerprint describes a machine and the binary running on it. The JSON form is what the
// store and `--json` outputs record.
type Fingerprint struct {
	// CPUModel is /proc/cpuinfo's "model name", or runtime.GOARCH when there is none.
	CPUModel string `json:"cpu_model"`
	// Cores is runtime.NumCPU(): the logical CPUs this process may use.
	Cores int `json:"cores"`
	// ISA lists the vector and arithmetic extensions of the CPU that matter to the kernels,
	// in a fixed order (for example sse4.2 avx avx2 fma f16c avx512f ...), present ones only.
	ISA []string `json:"isa"`
	// L1dBytes, L2Bytes and L3Bytes are the data-cache sizes seen by CPU 0: from sysfs, a
	// level sysfs does not describe (some virtual machines have no cache directory) from
	// CPUID; 0 when neither knows.
	L1dBytes int64 `json:"l1d_bytes"`
	L2Bytes  int64 `json:"l2_bytes"`
	L3Bytes  int64 `json:"l3_bytes"`
	// MemBytes is MemTotal from /proc/meminfo (0 when unknown).
	MemBytes int64 `json:"mem_bytes"`
	// OS and Arch are runtime.GOOS and runtime.GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// Kernel is the kernel release (/proc/sys/kernel/osrelease), empty when unknown.
	Kernel string `json:"kernel,omitempty"`
	// GoVersion is runtime.Version() of the toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Build describes the binary.
	Build Build `json:"build"`
}

// Detect reads the fingerprint of this machine and binary. Files that are missing or
// unreadable leave their fields at the zero value.
func Detect() Fingerprint {
	f := Fingerprint{
		CPUModel:  runtime.GOARCH,
		Cores:     runtime.NumCPU(),
		ISA:       ISAFlags(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		GoVersion: runtime.Version(),
		Build:     ReadBuild(),
	}
	if r, err := os.Open("/proc/cpuinfo"); err == nil {
		if m := ParseCPUModel(r); m != "" {
			f.CPUModel = m
		}
		_ = r.Close()
	}
	if r, err := os.Open("/proc/meminfo"); err == nil {
		if n, err := ParseMemTotal(r); err == nil {
			f.MemBytes = n
		}
		_ = r.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	}
	c := ReadCaches(os.DirFS("/sys/devices/system/cpu/cpu0/cache")).Or(cpuidCaches())
	f.L1dBytes, f.L2Bytes, f.L3Bytes = c.L1d, c.L2, c.L3
	return f
}

// ID returns a short hex digest (16 digits of a SHA-256) of the fields that identify the
// machine: CPU model, cores, ISA flags, cache sizes, memory rounded to the GiB, OS and
// architecture. The kernel release, Go version and binary build are left out: they change
// without the hardware changing, and are recorded beside the ID instead.
func (f Fingerprint) ID() string {
	const gib = 1 << 30
	h := sha256.New()
	fmt.Fprintf(h, "cpu=%s\ncores=%d\nisa=%s\nl1d=%d\nl2=%d\nl3=%d\nmem_gib=%d\nos=%s\narch=%s\n",
		f.CPUModel, f.Cores, strings.Join(f.ISA, ","), f.L1dBytes, f.L2Bytes, f.L3Bytes,
		(f.MemBytes+gib/2)/gib, f.OS, f.Arch)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Caches holds the data-cache sizes in bytes of one CPU; 0 means unknown.
type Caches struct {
	L1d, L2, L3 int64
}

// Or returns c with each unknown size taken from o.
func (c Caches) Or(o Caches) Caches {
	if c.L1d <= 0 {
		c.L1d = o.L1d
	}
	if c.L2 <= 0 {
		c.L2 = o.L2
	}
	if c.L3 <= 0 {
		c.L3 = o.L3
	}
	return c
}

// cpuidCaches returns the data-cache sizes CPUID reports (x86; zero elsewhere, and for a
// level it does not report).
func cpuidCaches() Caches {
	c := cpuid.CPU.Cache
	known := func(n int) int64 { return int64(max(n, 0)) }
	return Caches{L1d: known(c.L1D), L2: known(c.L2), L3: known(c.L3)}
}

// ReadCaches reads the cache description of one CPU from a file system laid out like
// /sys/devices/system/cpu/cpuN/cache: directories index0, index1, ... each holding the
// files level, type and size. Instruction caches are skipped; missing or malformed entries
// are ignored.
func ReadCaches(fsys fs.FS) Caches {
	var c Caches
	dirs, err := fs.Glob(fsys, "index*")
	if err != nil {
		return c
	}
	for _, d := range dirs {
		level := readTrim(fsys, d+"/level")
		typ := readTrim(fsys, d+"/type")
		size, err := ParseCacheSize(readTrim(fsys, d+"/size"))
		if err != nil || typ == "Instruction" {
			continue
		}
		switch level {
		case "1":
			c.L1d = size
		case "2":
			c.L2 = size
		case "3":
			c.L3 = size
		}
	}
	return c
}

func readTrim(fsys fs.FS, name string) string {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
