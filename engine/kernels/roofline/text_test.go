package roofline

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// fixedReport is a hand-made report with round figures, for the golden text.
func fixedReport() *Report {
	return &Report{
		Host: Host{OS: "linux", Arch: "amd64", CPUs: 2, GoVersion: "go1.26.8", ISA: "avx512vnni", SIMDBuilt: true},
		Roofs: Roofs{
			ReadGBps:           map[int64]float64{9437184: 24.5, 1075838976: 11.2, 2097152: 40.1},
			FMAGFlops:          151.3,
			ReadGBpsByThreads:  map[int]map[int64]float64{1: {9437184: 24.5, 1075838976: 11.2, 2097152: 40.1}, 2: {9437184: 45.0, 1075838976: 20.7, 2097152: 79.9}},
			FMAGFlopsByThreads: map[int]float64{1: 151.3, 2: 257.0},
		},
		Rows: []Row{
			{DType: "q4_0", Tier: "generic", ISA: "none", Prefetch: "off", Threads: 1, Op: "matvec", M: 4096, K: 4096, N: 1, Cache: "hot",
				WorkingSetBytes: 9437184, GFlops: 2.04, GBps: 0.587, NsPerCall: 16.45e6, PctOfRoof: 2.4},
			{DType: "q4_0", Tier: "simd", ISA: "avx512vnni", Prefetch: "nta", Threads: 2, Op: "matvec", M: 4096, K: 4096, N: 1, Cache: "cold",
				WorkingSetBytes: 1075838976, GFlops: 74.3, GBps: 21.4, NsPerCall: 451.6e3, PctOfRoof: 103.4},
			{DType: "q4_0", Tier: "simd", ISA: "avx512vnni", Prefetch: "off", Threads: 2, Op: "matmul", M: 1024, K: 1024, N: 128, Cache: "hot",
				WorkingSetBytes: 2097152 / 4 * 9 / 8, GFlops: 1234.5, GBps: 0.3, NsPerCall: 999, PctOfRoof: 0},
		},
	}
}

func TestWriteTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, fixedReport()); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	golden := filepath.Join("testdata", "text.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("WriteText output differs from %s (rerun with -update if intended):\n%s", golden, b.String())
	}
}

func TestWriteTextEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, &Report{}); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	if b.Len() == 0 {
		t.Error("WriteText wrote nothing for an empty report")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteTextError(t *testing.T) {
	if err := WriteText(failWriter{}, fixedReport()); err == nil {
		t.Error("WriteText to a failing writer returned nil")
	}
}
