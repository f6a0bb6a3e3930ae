package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/spf13/cobra"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testState runs the CLI in-process with captured stdio, a map for the environment, a
// temporary working directory and an exit function that records the code.
type testState struct {
	gs     *globalState
	stdout *syncBuffer
	stderr *syncBuffer
	env    map[string]string
	code   int
	exited bool
}

func newTestState(t *testing.T, args ...string) *testState {
	t.Helper()
	ts := &testState{stdout: &syncBuffer{}, stderr: &syncBuffer{}, env: map[string]string{}, code: -1}
	ts.gs = &globalState{
		ctx:    t.Context(),
		args:   args,
		stdin:  strings.NewReader(""),
		stdout: ts.stdout,
		stderr: ts.stderr,
		lookupEnv: func(k string) (string, bool) {
			v, ok := ts.env[k]
			return v, ok
		},
		workDir: t.TempDir(),
		exit: func(code int) {
			if ts.exited {
				t.Errorf("exit called twice (%d, then %d)", ts.code, code)
			}
			ts.code, ts.exited = code, true
		},
	}
	return ts
}

// run runs the command line and returns the exit code.
func (ts *testState) run(t *testing.T) int {
	t.Helper()
	run(ts.gs)
	if !ts.exited {
		t.Fatal("run returned without calling exit")
	}
	if strings.Contains(ts.stderr.String(), "goroutine ") || strings.Contains(ts.stderr.String(), "panic:") {
		t.Errorf("stderr holds a Go panic trace:\n%s", ts.stderr)
	}
	return ts.code
}

// writeFile writes a file in the working directory.
func (ts *testState) writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(ts.gs.workDir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestVersion(t *testing.T) {
	ts := newTestState(t, "version")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout", ts.stdout.String(), "version", "commit", "go1.", "goexperiment", "kernel tiers", "generic")

	ts = newTestState(t, "version", "--json", "-")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	var v versionReport
	if err := json.Unmarshal([]byte(ts.stdout.String()), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
	}
	if v.Version == "" || !strings.HasPrefix(v.Go, "go") || len(v.TiersBuilt) == 0 || v.TiersBuilt[0] != "generic" {
		t.Errorf("version JSON = %+v", v)
	}
	if kernels.SIMDBuilt() != (len(v.TiersBuilt) == 2) {
		t.Errorf("tiers_built %v disagree with SIMDBuilt %v", v.TiersBuilt, kernels.SIMDBuilt())
	}
}

func TestDoctor(t *testing.T) {
	ts := newTestState(t, "doctor", "--no-noise")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	out := ts.stdout.String()
	wantContains(t, "stdout", out, "host id", "cpu", "cores", "memory", "caches", "L1d", "isa flags",
		"simd built", "tier", "isa path", "isa paths", "prefetch", "512-bit", kernels.BestTier().String())
	if strings.Contains(out, "noise") {
		t.Errorf("--no-noise still checked noise:\n%s", out)
	}

	ts = newTestState(t, "doctor", "--no-noise", "--json", "-")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(ts.stdout.String()), &r); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
	}
	for _, k := range []string{"host_id", "host", "kernels"} {
		if _, ok := r[k]; !ok {
			t.Errorf("doctor JSON lacks %q: %s", k, ts.stdout)
		}
	}
	if _, ok := r["noise"]; ok {
		t.Errorf("doctor JSON has noise despite --no-noise")
	}
	k, _ := r["kernels"].(map[string]any)
	wantPrefetch := kernels.PrefetchOff.String()
	if kernels.BestTier() == kernels.SIMD {
		wantPrefetch = kernels.DetectPrefetch().String()
	}
	wantWide := kernels.BestTier() == kernels.SIMD && kernels.Wide512()
	if k["simd_built"] != kernels.SIMDBuilt() || k["tier"] != kernels.BestTier().String() || k["prefetch"] != wantPrefetch || k["wide_512"] != wantWide {
		t.Errorf("doctor JSON kernels = %v", k)
	}
}

func TestDoctorNoise(t *testing.T) {
	ts := newTestState(t, "doctor", "--json", "-")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	var r doctorReport
	if err := json.Unmarshal([]byte(ts.stdout.String()), &r); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
	}
	if r.Noise == nil || r.Noise.Runs != noiseRuns || r.Noise.Median <= 0 {
		t.Fatalf("noise = %+v", r.Noise)
	}
	if !strings.HasPrefix(r.Noise.Verdict, "quiet") && !strings.HasPrefix(r.Noise.Verdict, "noisy") {
		t.Errorf("verdict = %q, want quiet or noisy", r.Noise.Verdict)
	}
}

func TestDoctorJSONFile(t *testing.T) {
	ts := newTestState(t, "doctor", "--no-noise", "--json", "doctor.json")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout", ts.stdout.String(), "isa path")
	b, err := os.ReadFile(filepath.Join(ts.gs.workDir, "doctor.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Errorf("doctor.json is not JSON:\n%s", b)
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no arguments", nil, []string{"Usage:", "bench", "doctor", "version"}},
		{"--help", []string{"--help"}, []string{"--db", "--config", "--json", "--quiet", "--no-color"}},
		{"bench", []string{"bench"}, []string{"kernels"}},
		{"bench kernels --help", []string{"bench", "kernels", "--help"}, []string{"--dtype", "--tier", "--isa", "--prefetch", "--threads", "--op", "--min-time", "--cold-bytes", "--quick"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestState(t, tt.args...)
			if code := ts.run(t); code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
			}
			wantContains(t, "stdout", ts.stdout.String(), tt.want...)
		})
	}
}

func TestBadInput(t *testing.T) {
	simdMsg := []string{"--tier", "simd", "GOEXPERIMENT=simd", "make build", "generic"}
	tests := []struct {
		name string
		args []string
		want []string
		skip bool
	}{
		{"unknown flag", []string{"version", "--bogus"}, []string{"--bogus", "accepted:", "--json"}, false},
		{"unknown root flag", []string{"--frob"}, []string{"--frob", "accepted:"}, false},
		{"unknown command", []string{"frobnicate"}, []string{`"frobnicate"`, "accepted:", "bench", "doctor", "version"}, false},
		{"misspelt command", []string{"verison"}, []string{`"verison"`, "did you mean version"}, false},
		{"unknown bench command", []string{"bench", "frob"}, []string{`"frob"`, "accepted: kernels"}, false},
		{"argument to a leaf", []string{"doctor", "extra"}, []string{`"extra"`, "takes no arguments"}, false},
		{"flag without value", []string{"bench", "kernels", "--min-time"}, []string{"--min-time", "needs an argument"}, false},
		{"bool flag value", []string{"doctor", "--quiet=maybe"}, []string{"maybe", "--quiet"}, false},
		{"dtype", []string{"bench", "kernels", "--dtype", "q5_1"}, []string{"--dtype", `"q5_1"`, "accepted f32", "q4_0"}, false},
		{"tier", []string{"bench", "kernels", "--tier", "gpu"}, []string{"--tier", `"gpu"`, "accepted generic, simd"}, false},
		{"tier simd unbuilt", []string{"bench", "kernels", "--tier", "simd"}, simdMsg, kernels.SIMDBuilt()},
		{"threads 0", []string{"bench", "kernels", "--threads", "0"}, []string{"--threads", `"0"`, "1 or more", "accepted:"}, false},
		{"threads x", []string{"bench", "kernels", "--threads", "x"}, []string{"--threads", `"x"`, "accepted:"}, false},
		{"threads range", []string{"bench", "kernels", "--threads", "4..2"}, []string{"--threads", `"4..2"`, "accepted:"}, false},
		{"op", []string{"bench", "kernels", "--op", "conv"}, []string{"--op", `"conv"`, "accepted matvec"}, false},
		{"isa unknown", []string{"bench", "kernels", "--isa", "sse4"}, []string{"--isa", `"sse4"`, "unknown path", "accepted", "best"}, false},
		{"isa none", []string{"bench", "kernels", "--isa", "none"}, []string{"--isa", `"none"`, "--tier generic", "accepted"}, false},
		{"isa empty", []string{"bench", "kernels", "--isa", ""}, []string{"--isa", "empty list", "accepted"}, false},
		{"isa without simd", []string{"bench", "kernels", "--tier", "generic", "--isa", "avx2"}, []string{"--isa", "simd"}, len(kernels.ISAs()) == 0},
		{"isa beyond the cpu", []string{"bench", "kernels", "--isa", "avx512vnni"}, []string{"--isa", `"avx512vnni"`, "does not support"}, slices.Contains(kernels.ISAs(), kernels.ISAAVX512VNNI)},
		{"prefetch unknown", []string{"bench", "kernels", "--prefetch", "sometimes"}, []string{"--prefetch", `"sometimes"`, "unknown setting", "accepted", "auto", "l2", "nta", "off"}, false},
		{"prefetch empty", []string{"bench", "kernels", "--prefetch", ""}, []string{"--prefetch", "empty list", "accepted"}, false},
		{"prefetch without simd", []string{"bench", "kernels", "--tier", "generic", "--prefetch", "l2"}, []string{"--prefetch", "simd"}, false},
		{"min-time negative", []string{"bench", "kernels", "--min-time", "-1s"}, []string{"--min-time", `"-1s"`, "positive", "accepted:"}, false},
		{"min-time garbage", []string{"bench", "kernels", "--min-time", "soon"}, []string{"--min-time", `"soon"`, "accepted:"}, false},
		{"cold-bytes garbage", []string{"bench", "kernels", "--cold-bytes", "lots"}, []string{"--cold-bytes", `"lots"`, "GiB", "accepted:"}, false},
		{"cold-bytes negative", []string{"bench", "kernels", "--cold-bytes", "-1GiB"}, []string{"--cold-bytes", `"-1GiB"`, "negative"}, false},
		{"cold-bytes too small", []string{"bench", "kernels", "--op", "matvec-cold", "--cold-bytes", "1KiB"}, []string{"--cold-bytes", "accepted: at least"}, false},
		{"shape off block", []string{"bench", "kernels", "--dtype", "q8_0", "--matvec-k", "100"}, []string{"--matvec-k", "multiple of 32"}, false},
		{"several at once", []string{"bench", "kernels", "--threads", "0", "--dtype", "q5_1"}, []string{"--threads", "--dtype"}, false},
		{"missing config", []string{"version", "--config", "nope.yaml"}, []string{"nope.yaml"}, false},
		{"json in missing dir", []string{"version", "--json", "no/such/dir/v.json"}, []string{"--json", "no/such/dir/v.json", "accepted:"}, false},
		{"empty db", []string{"version", "--db", ""}, []string{"--db", "accepted:"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("not bad input in this build")
			}
			// --dry-run keeps an accidentally valid line from running a benchmark.
			args := tt.args
			if len(args) >= 2 && args[0] == "bench" && args[1] == "kernels" {
				args = append([]string{"bench", "kernels", "--dry-run"}, args[2:]...)
			}
			ts := newTestState(t, args...)
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitBadInput, ts.stdout, ts.stderr)
			}
			stderr := ts.stderr.String()
			if !strings.HasPrefix(stderr, "infertune: ") {
				t.Errorf("stderr does not start with \"infertune: \":\n%s", stderr)
			}
			wantContains(t, "stderr", stderr, tt.want...)
			if strings.Contains(stderr, "Usage:") {
				t.Errorf("stderr holds the usage text:\n%s", stderr)
			}
		})
	}
}

func TestSIMDTierAccepted(t *testing.T) {
	if !kernels.SIMDBuilt() || kernels.BestTier() != kernels.SIMD {
		t.Skip("simd tier not usable here")
	}
	ts := newTestState(t, "bench", "kernels", "--tier", "simd", "--dry-run")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout", ts.stdout.String(), "tier        simd\n")
}

// TestISAList: --isa best (the default) is this CPU's best path; all is every path it has,
// least capable first; names may be mixed with them and listed twice.
func TestISAList(t *testing.T) {
	isas := kernels.ISAs()
	if len(isas) == 0 {
		t.Skip("simd tier not usable here")
	}
	var all []string
	for _, i := range isas {
		all = append(all, i.String())
	}
	best := all[len(all)-1]
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, best},
		{[]string{"--isa", "best"}, best},
		{[]string{"--isa", "all"}, strings.Join(all, ",")},
		{[]string{"--isa", "best," + all[0] + "," + all[0]}, strings.Join(slices.Compact([]string{all[0], best}), ",")},
		{[]string{"--isa", "ALL,avx2"}, strings.Join(all, ",")},
	} {
		args := append([]string{"bench", "kernels", "--tier", "simd", "--dry-run"}, tt.args...)
		ts := newTestState(t, args...)
		if code := ts.run(t); code != 0 {
			t.Fatalf("%v: exit %d, stderr:\n%s", tt.args, code, ts.stderr)
		}
		wantContains(t, "stdout", ts.stdout.String(), "isa         "+tt.want+"\n")
	}
	// Without the simd tier there is no path to print.
	ts := newTestState(t, "bench", "kernels", "--tier", "generic", "--dry-run")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	if strings.Contains(ts.stdout.String(), "isa ") {
		t.Errorf("a generic-only run prints an isa line:\n%s", ts.stdout)
	}
}

// TestPrefetchList: --prefetch auto (the default) is this CPU's choice; settings are listed
// once each, in the order given, auto as the one it stands for.
func TestPrefetchList(t *testing.T) {
	if len(kernels.ISAs()) == 0 {
		t.Skip("simd tier not usable here")
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, kernels.DetectPrefetch().String()},
		{[]string{"--prefetch", "auto"}, kernels.DetectPrefetch().String()},
		{[]string{"--prefetch", "L2, off"}, "l2,off"},
		{[]string{"--prefetch", "off,nta,l2,off,auto"}, "off,nta,l2"},
	} {
		args := append([]string{"bench", "kernels", "--tier", "simd", "--dry-run"}, tt.args...)
		ts := newTestState(t, args...)
		if code := ts.run(t); code != 0 {
			t.Fatalf("%v: exit %d, stderr:\n%s", tt.args, code, ts.stderr)
		}
		wantContains(t, "stdout", ts.stdout.String(), "prefetch    "+tt.want+"\n")
	}
}

func TestConfigFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		args []string
		code int
		want []string
	}{
		{"unknown nested key", "bench:\n  kernels:\n    treads: 2\n", []string{"bench", "kernels", "--dry-run"},
			2, []string{"infertune.yaml", `"bench.kernels.treads"`, "accepted in bench.kernels:", "threads"}},
		{"unknown top-level key", "colour: true\n", []string{"version"},
			2, []string{`"colour"`, "accepted at the top level:", "bench", "no_color"}},
		{"unknown key for another command", "doctor:\n  noise: false\n", []string{"version"},
			2, []string{`"doctor.noise"`, "no_noise"}},
		{"bad value names the file key", "bench:\n  kernels:\n    min_time: fast\n", []string{"bench", "kernels", "--dry-run"},
			2, []string{"bench.kernels.min_time (in infertune.yaml)", `"fast"`}},
		{"not yaml", "bench: [\n", []string{"version"}, 2, []string{"infertune.yaml"}},
		{"wrong type", "quiet: maybe\n", []string{"version"}, 2, []string{`quiet (in infertune.yaml) "maybe"`, "accepted: true or false"}},
		{"section given a value", "bench:\n  kernels: 5\n", []string{"version"}, 2, []string{`"bench.kernels" is a section`, "threads"}},
		{"lists and sizes", "bench:\n  kernels:\n    dtype: [fp32, int8]\n    threads: [1, 2]\n    cold_bytes: 512MiB\n    op: matvec-hot\n",
			[]string{"bench", "kernels", "--dry-run"}, 0, []string{"dtype       f32,q8_0", "threads     1,2", "cold-bytes  536870912", "op          matvec-hot\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestState(t, tt.args...)
			ts.writeFile(t, "infertune.yaml", tt.yaml)
			if code := ts.run(t); code != tt.code {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tt.code, ts.stdout, ts.stderr)
			}
			if tt.code == 0 {
				wantContains(t, "stdout", ts.stdout.String(), tt.want...)
			} else {
				wantContains(t, "stderr", ts.stderr.String(), tt.want...)
			}
		})
	}
}

func TestConfigFlagAndEnv(t *testing.T) {
	// An explicit --config, INFERTUNE_CONFIG, and --config "" (no file) all work.
	ts := newTestState(t, "bench", "kernels", "--dry-run", "--config", "other.yml")
	ts.writeFile(t, "other.yml", "bench: {kernels: {seed: 7}}\n")
	ts.writeFile(t, "infertune.yaml", "bench: {kernels: {seed: 9}}\n")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout", ts.stdout.String(), "seed        7\n")

	ts = newTestState(t, "bench", "kernels", "--dry-run")
	ts.writeFile(t, "other.yml", "bench: {kernels: {seed: 7}}\n")
	ts.env["INFERTUNE_CONFIG"] = filepath.Join(ts.gs.workDir, "other.yml")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout", ts.stdout.String(), "seed        7\n")

	ts = newTestState(t, "bench", "kernels", "--dry-run", "--config", "")
	ts.writeFile(t, "infertune.yaml", "bench: {kernels: {bogus: 1}}\n")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}

	ts = newTestState(t, "bench", "kernels", "--dry-run")
	ts.env["INFERTUNE_BENCH_KERNELS_SEED"] = "-3"
	if code := ts.run(t); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	wantContains(t, "stderr", ts.stderr.String(), `INFERTUNE_BENCH_KERNELS_SEED "-3"`, "whole number")

	ts = newTestState(t, "bench", "kernels", "--dry-run")
	ts.env["INFERTUNE_BENCH_KERNELS_THREADS"] = "0"
	if code := ts.run(t); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	wantContains(t, "stderr", ts.stderr.String(), `INFERTUNE_BENCH_KERNELS_THREADS "0"`)
}

// TestPrecedence checks flags > INFERTUNE_* > infertune.yaml > defaults (> the --quick
// preset, which only moves defaults) for two settings, through --dry-run.
func TestPrecedence(t *testing.T) {
	type layers struct {
		file, env, flag string
		quick           bool
	}
	tests := []struct {
		name     string
		key      string // under bench.kernels
		flag     string
		l        layers
		wantLine string
	}{
		{"min-time default", "min_time", "min-time", layers{}, "min-time    300ms"},
		{"min-time quick", "min_time", "min-time", layers{quick: true}, "min-time    100ms"},
		{"min-time file", "min_time", "min-time", layers{file: "200ms"}, "min-time    200ms"},
		{"min-time file beats quick", "min_time", "min-time", layers{file: "200ms", quick: true}, "min-time    200ms"},
		{"min-time env beats file", "min_time", "min-time", layers{file: "200ms", env: "150ms"}, "min-time    150ms"},
		{"min-time flag beats env", "min_time", "min-time", layers{file: "200ms", env: "150ms", flag: "120ms"}, "min-time    120ms"},
		{"min-time flag alone", "min_time", "min-time", layers{flag: "120ms"}, "min-time    120ms"},
		{"threads file", "threads", "threads", layers{file: "[3]"}, "threads     3\n"},
		{"threads env beats file", "threads", "threads", layers{file: "[3]", env: "5,6"}, "threads     5,6\n"},
		{"threads flag beats env", "threads", "threads", layers{file: "[3]", env: "5,6", flag: "7..8"}, "threads     7,8\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"bench", "kernels", "--dry-run"}
			if tt.l.flag != "" {
				args = append(args, "--"+tt.flag, tt.l.flag)
			}
			if tt.l.quick {
				args = append(args, "--quick")
			}
			ts := newTestState(t, args...)
			if tt.l.file != "" {
				ts.writeFile(t, "infertune.yaml", "bench:\n  kernels:\n    "+tt.key+": "+tt.l.file+"\n")
			}
			if tt.l.env != "" {
				ts.env[envName("bench.kernels."+tt.key)] = tt.l.env
			}
			if code := ts.run(t); code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
			}
			wantContains(t, "stdout", ts.stdout.String(), tt.wantLine)
		})
	}
}

func TestEnvNames(t *testing.T) {
	tests := map[string]string{
		"db":                       "INFERTUNE_DB",
		"no_color":                 "INFERTUNE_NO_COLOR",
		"bench.kernels.threads":    "INFERTUNE_BENCH_KERNELS_THREADS",
		"bench.kernels.cold_bytes": "INFERTUNE_BENCH_KERNELS_COLD_BYTES",
	}
	for key, want := range tests {
		if got := envName(key); got != want {
			t.Errorf("envName(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestEnvSettings(t *testing.T) {
	ts := newTestState(t, "doctor")
	ts.env["INFERTUNE_DOCTOR_NO_NOISE"] = "true"
	ts.env["INFERTUNE_QUIET"] = "1"
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	if strings.Contains(ts.stdout.String(), "noise") || ts.stderr.String() != "" {
		t.Errorf("INFERTUNE_DOCTOR_NO_NOISE or INFERTUNE_QUIET ignored; stdout:\n%s\nstderr:\n%s", ts.stdout, ts.stderr)
	}

	ts = newTestState(t, "doctor", "--no-noise=false", "--quiet=false")
	ts.env["INFERTUNE_DOCTOR_NO_NOISE"] = "true"
	ts.env["INFERTUNE_QUIET"] = "true"
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout (flags over env)", ts.stdout.String(), "noise")
	wantContains(t, "stderr (flags over env)", ts.stderr.String(), "checking noise")
}

func TestPanicIsInternalError(t *testing.T) {
	ts := newTestState(t, "boom")
	root := newRootCommand(ts.gs)
	root.AddCommand(&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error {
		var m map[string]int
		m["x"] = 1 // a real runtime panic: assignment to entry in nil map
		return nil
	}})
	code := execute(ts.gs, root)
	if code != exitInternal {
		t.Fatalf("exit %d, want %d", code, exitInternal)
	}
	stderr := ts.stderr.String()
	wantContains(t, "stderr", stderr, "infertune: internal error:", "nil map")
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, ".go:") {
		t.Errorf("stderr holds a stack trace:\n%s", stderr)
	}
}

func TestActionErrorIsInternal(t *testing.T) {
	ts := newTestState(t, "fail")
	root := newRootCommand(ts.gs)
	root.AddCommand(&cobra.Command{Use: "fail", RunE: action(func(*cobra.Command, []string) error {
		return io.ErrUnexpectedEOF
	})})
	if code := execute(ts.gs, root); code != exitInternal {
		t.Fatalf("exit %d, want %d", code, exitInternal)
	}
	wantContains(t, "stderr", ts.stderr.String(), "infertune: unexpected EOF")
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want exitCode
	}{
		{"nil", nil, exitOK},
		{"bad input", badInputf("x"), exitBadInput},
		{"wrapped code", withCode(exitInconclusive, io.EOF), exitInconclusive},
		{"cancelled", context.Canceled, exitInterrupted},
		{"plain", io.EOF, exitInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(tt.err); got != tt.want {
				t.Errorf("codeOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
