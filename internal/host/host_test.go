package host

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCPUModel(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"amd64", "testdata/cpuinfo-amd64.txt", "AMD EPYC 9R14 96-Core Processor"},
		{"arm64 has no model name", "testdata/cpuinfo-arm64.txt", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := ParseCPUModel(f); got != tt.want {
				t.Errorf("ParseCPUModel = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseMemTotal(t *testing.T) {
	f, err := os.Open("testdata/meminfo.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseMemTotal(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(24683652) << 10; got != want {
		t.Errorf("ParseMemTotal = %d, want %d", got, want)
	}

	bad := []struct{ name, in string }{
		{"missing", "MemFree: 1 kB\n"},
		{"garbage", "MemTotal: lots kB\n"},
		{"negative", "MemTotal: -5 kB\n"},
		{"unit", "MemTotal: 5 parsecs\n"},
		{"empty", "MemTotal:\n"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if n, err := ParseMemTotal(strings.NewReader(tt.in)); err == nil {
				t.Errorf("ParseMemTotal(%q) = %d, want an error", tt.in, n)
			}
		})
	}
}

func TestParseCacheSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"32K", 32 << 10, true},
		{"1024K\n", 1 << 20, true},
		{"32M", 32 << 20, true},
		{"1G", 1 << 30, true},
		{"512", 512, true},
		{"", 0, false},
		{"K", 0, false},
		{"-1K", 0, false},
		{"12Q", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCacheSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseCacheSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestReadCaches(t *testing.T) {
	got := ReadCaches(os.DirFS("testdata/cache"))
	want := Caches{L1d: 48 << 10, L2: 2 << 20, L3: 105 << 20}
	if got != want {
		t.Errorf("ReadCaches = %+v, want %+v", got, want)
	}
	if got := ReadCaches(os.DirFS("testdata/no-such-dir")); got != (Caches{}) {
		t.Errorf("ReadCaches(missing) = %+v, want zero", got)
	}
}

func TestISAFlags(t *testing.T) {
	var known []string
	for _, f := range features() {
		known = append(known, f.name)
	}
	got := ISAFlags()
	last := -1
	for _, name := range got {
		i := slices.Index(known, name)
		if i < 0 {
			t.Fatalf("ISAFlags returned unknown flag %q", name)
		}
		if i <= last {
			t.Fatalf("ISAFlags %v is not in the fixed order", got)
		}
		last = i
	}
	if runtime.GOARCH == "amd64" && !slices.Contains(got, "sse4.2") && len(got) > 0 {
		t.Logf("no sse4.2 on amd64: %v", got)
	}
	if p := present([]feature{{"a", true}, {"b", false}, {"c", true}}); !slices.Equal(p, []string{"a", "c"}) {
		t.Errorf("present = %v, want [a c]", p)
	}
}

func TestID(t *testing.T) {
	base := Fingerprint{
		CPUModel: "AMD EPYC", Cores: 2, ISA: []string{"avx", "avx2"},
		L1dBytes: 32 << 10, L2Bytes: 1 << 20, L3Bytes: 32 << 20, MemBytes: 24 << 30,
		OS: "linux", Arch: "amd64", Kernel: "6.1", GoVersion: "go1.26.8",
		Build: Build{Version: "(devel)"},
	}
	id := base.ID()
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("ID = %q, want 16 hex digits", id)
	}
	same := []struct {
		name string
		mod  func(*Fingerprint)
	}{
		{"kernel", func(f *Fingerprint) { f.Kernel = "6.18" }},
		{"go version", func(f *Fingerprint) { f.GoVersion = "go1.27" }},
		{"build", func(f *Fingerprint) { f.Build = Build{Version: "v1.0.0", GOEXPERIMENT: "simd"} }},
		{"memory within a GiB", func(f *Fingerprint) { f.MemBytes += 100 << 20 }},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			f := base
			tt.mod(&f)
			if f.ID() != id {
				t.Errorf("ID changed with %s", tt.name)
			}
		})
	}
	differ := []struct {
		name string
		mod  func(*Fingerprint)
	}{
		{"model", func(f *Fingerprint) { f.CPUModel = "Intel Xeon" }},
		{"cores", func(f *Fingerprint) { f.Cores = 4 }},
		{"isa", func(f *Fingerprint) { f.ISA = []string{"avx"} }},
		{"l3", func(f *Fingerprint) { f.L3Bytes = 64 << 20 }},
		{"memory", func(f *Fingerprint) { f.MemBytes = 48 << 30 }},
		{"arch", func(f *Fingerprint) { f.Arch = "arm64" }},
	}
	for _, tt := range differ {
		t.Run("differs/"+tt.name, func(t *testing.T) {
			f := base
			tt.mod(&f)
			if f.ID() == id {
				t.Errorf("ID unchanged with a different %s", tt.name)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	f := Detect()
	if f.Cores != runtime.NumCPU() || f.OS != runtime.GOOS || f.Arch != runtime.GOARCH || f.GoVersion != runtime.Version() {
		t.Errorf("Detect = %+v: runtime fields wrong", f)
	}
	if f.CPUModel == "" {
		t.Error("Detect: empty CPU model")
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"cpu_model"`, `"cores"`, `"isa"`, `"mem_bytes"`, `"go_version"`, `"build"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}

func TestBuildFrom(t *testing.T) {
	bi := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/infertune/infertune", Version: "v0.1.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.modified", Value: "true"},
			{Key: "GOEXPERIMENT", Value: "simd"},
			{Key: "GOAMD64", Value: "v3"},
		},
	}
	want := Build{Version: "v0.1.0", Revision: "abc123", Modified: true, GOEXPERIMENT: "simd", GOAMD64: "v3"}
	if got := BuildFrom(bi); got != want {
		t.Errorf("BuildFrom = %+v, want %+v", got, want)
	}
	if got := BuildFrom(&debug.BuildInfo{}); got.Version != "(devel)" {
		t.Errorf("BuildFrom(empty).Version = %q, want (devel)", got.Version)
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		in      []time.Duration
		median  time.Duration
		cvLo    float64
		cvHi    float64
		noisy   bool
		verdict string
	}{
		{"constant", []time.Duration{5 * ms, 5 * ms, 5 * ms}, 5 * ms, 0, 0, false, "quiet"},
		{"even count", []time.Duration{4 * ms, 6 * ms, 5 * ms, 5 * ms}, 5 * ms, 0.16, 0.17, true, "noisy"},
		{"slight", []time.Duration{100 * ms, 101 * ms, 99 * ms}, 100 * ms, 0.0099, 0.0101, false, "quiet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Summarize(tt.in)
			if n.Runs != len(tt.in) || n.Median != tt.median || n.CV < tt.cvLo || n.CV > tt.cvHi || n.Noisy != tt.noisy {
				t.Errorf("Summarize = %+v; want median %v, cv in [%v, %v], noisy %v", n, tt.median, tt.cvLo, tt.cvHi, tt.noisy)
			}
			if !strings.HasPrefix(n.Verdict(), tt.verdict) {
				t.Errorf("Verdict = %q, want prefix %q", n.Verdict(), tt.verdict)
			}
		})
	}
}

func TestCheckNoise(t *testing.T) {
	n, err := CheckNoise(context.Background(), 3, 200*time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	if n.Runs != 3 || n.Median <= 0 {
		t.Errorf("CheckNoise = %+v", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CheckNoise(ctx, 3, 200*time.Microsecond); err == nil {
		t.Error("CheckNoise on a cancelled context: want an error")
	}
	for _, bad := range []struct {
		runs int
		each time.Duration
	}{{1, time.Millisecond}, {3, 0}} {
		if _, err := CheckNoise(context.Background(), bad.runs, bad.each); err == nil {
			t.Errorf("CheckNoise(%d, %v): want an error", bad.runs, bad.each)
		}
	}
}

func TestCachesOr(t *testing.T) {
	sys := Caches{L1d: 32 << 10, L3: 0}
	got := sys.Or(Caches{L1d: 48 << 10, L2: 1 << 20, L3: 32 << 20})
	want := Caches{L1d: 32 << 10, L2: 1 << 20, L3: 32 << 20}
	if got != want {
		t.Errorf("Or = %+v, want %+v", got, want)
	}
	if got := (Caches{}).Or(Caches{}); got != (Caches{}) {
		t.Errorf("zero.Or(zero) = %+v", got)
	}
}
