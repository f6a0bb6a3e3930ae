package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
)

// tinyBench is a bench kernels command line with shapes small enough to finish in well
// under a second: dtypes f32 and q8_0 and every op unless given.
func tinyBench(dtypes, ops string, extra ...string) []string {
	return append([]string{"bench", "kernels",
		"--dtype", dtypes, "--threads", "1", "--op", ops,
		"--min-time", "1ms", "--cold-bytes", "64KiB",
		"--matvec-m", "64", "--matvec-k", "64", "--matmul-m", "32", "--matmul-k", "64", "--matmul-n", "4",
	}, extra...)
}

// benchJSON is the part of the JSON report the tests read.
type benchJSON struct {
	Host struct {
		ID       string `json:"id"`
		CPUModel string `json:"cpu_model"`
		Cores    int    `json:"cores"`
	} `json:"host"`
	Roofs struct {
		FMAGFlops float64 `json:"fma_gflops"`
	} `json:"roofs"`
	Rows []struct {
		DType   string  `json:"dtype"`
		Tier    string  `json:"tier"`
		Threads int     `json:"threads"`
		Op      string  `json:"op"`
		Cache   string  `json:"cache"`
		GFlops  float64 `json:"gflops"`
		GBps    float64 `json:"gbps"`
	} `json:"rows"`
}

func TestBenchKernels(t *testing.T) {
	tiers := len(kernels.Tiers())
	wantRows := 2 * tiers * 1 * 3 // dtypes × tiers × threads × (matvec hot, matvec cold, matmul)

	t.Run("table and JSON file", func(t *testing.T) {
		ts := newTestState(t, tinyBench("f32,q8_0", "matvec,matmul", "--json", "out.json")...)
		if code := ts.run(t); code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
		}
		wantContains(t, "stdout", ts.stdout.String(), "dtype", "GFLOP/s", "GB/s", "%roof", "f32", "q8_0", "matvec", "matmul", "roofs:")
		stderr := ts.stderr.String()
		wantContains(t, "stderr", stderr, "measuring the roofs", "[1/", "GFLOP/s")
		if n := strings.Count(stderr, "\n"); n != wantRows+1 {
			t.Errorf("stderr has %d lines, want %d (one per row and a header):\n%s", n, wantRows+1, stderr)
		}
		b, err := os.ReadFile(filepath.Join(ts.gs.workDir, "out.json"))
		if err != nil {
			t.Fatal(err)
		}
		var r benchJSON
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("out.json: %v\n%s", err, b)
		}
		if len(r.Rows) != wantRows || r.Host.ID == "" || r.Host.Cores < 1 || r.Roofs.FMAGFlops <= 0 {
			t.Errorf("report: %d rows (want %d), host %+v, fma %v", len(r.Rows), wantRows, r.Host, r.Roofs.FMAGFlops)
		}
		for _, row := range r.Rows {
			if row.GFlops <= 0 || row.GBps <= 0 || row.Threads != 1 {
				t.Errorf("row %+v", row)
			}
		}
	})

	t.Run("JSON on stdout, quiet", func(t *testing.T) {
		ts := newTestState(t, tinyBench("q4_0", "matvec-hot", "--json", "-", "--quiet")...)
		if code := ts.run(t); code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
		}
		if ts.stderr.String() != "" {
			t.Errorf("--quiet printed progress:\n%s", ts.stderr)
		}
		var r benchJSON
		if err := json.Unmarshal([]byte(ts.stdout.String()), &r); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
		}
		if len(r.Rows) != tiers || r.Rows[0].DType != "q4_0" || r.Rows[0].Cache != "hot" {
			t.Errorf("rows %+v, want %d q4_0 matvec-hot rows", r.Rows, tiers)
		}
	})
}

// cancelOnWrite cancels a context when a write contains a marker.
type cancelOnWrite struct {
	mu     sync.Mutex
	w      *syncBuffer
	marker string
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(string(p), c.marker) {
		c.cancel()
	}
	return c.w.Write(p)
}

func TestBenchKernelsInterrupted(t *testing.T) {
	ts := newTestState(t, tinyBench("f32,q8_0", "matvec,matmul", "--json", "partial.json")...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ts.gs.ctx = ctx
	ts.gs.stderr = &cancelOnWrite{w: ts.stderr, marker: "[2/", cancel: cancel}
	if code := ts.run(t); code != int(exitInterrupted) {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), "infertune: interrupted: 2 of")
	wantContains(t, "stdout", ts.stdout.String(), "f32", "roofs:")
	b, err := os.ReadFile(filepath.Join(ts.gs.workDir, "partial.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r benchJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("partial.json: %v", err)
	}
	if len(r.Rows) != 2 {
		t.Errorf("partial report has %d rows, want 2", len(r.Rows))
	}
}

func TestBenchKernelsCancelledBeforeStart(t *testing.T) {
	ts := newTestState(t, tinyBench("f32", "matmul")...)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ts.gs.ctx = ctx
	if code := ts.run(t); code != int(exitInterrupted) {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, ts.stderr)
	}
}

func TestProgressTerminal(t *testing.T) {
	var b syncBuffer
	p := &progress{w: &b, tty: true, total: 2}
	p.start("measuring")
	p.done()
	if got := b.String(); !strings.Contains(got, "\r\033[Kmeasuring...") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("terminal progress = %q", got)
	}
}
