package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infertune/infertune/reports/store"
)

// tuneArgs is a short tune of the tiny classifier over a small space.
func tuneArgs(db string, extra ...string) []string {
	args := []string{"tune", "--db", db, "--workload", "classify-tiny", "--space", "precision=fp32",
		"--space", "max_batch=1,4", "--space", "max_queue_delay=0", "--space", "threads=1",
		"--probe-window", "1s", "--probe-warmup", "100ms", "--budget", "2m"}
	return append(args, extra...)
}

// skipUnderRace skips an end-to-end tune under the race detector (see raceEnabled).
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("end-to-end tune: the race detector slows the load generator until its probes are invalid; make test runs this without -race")
	}
}

type tuneJSON struct {
	RunID    int64 `json:"run_id"`
	CutShort bool  `json:"cut_short"`
	Best     *struct {
		CapacityRPS    float64 `json:"capacity_rps"`
		CostPerMillion float64 `json:"cost_per_million"`
		Meets          bool    `json:"meets"`
	} `json:"best"`
	Baseline *struct {
		Baseline bool `json:"baseline"`
	} `json:"baseline"`
	Trials []struct {
		Config struct {
			Precision string `json:"precision"`
		} `json:"config"`
		Pruned bool   `json:"pruned"`
		Reason string `json:"reason"`
	} `json:"trials"`
}

// TestTuneFindsAConfig: a loose SLO on the tiny model is met; the run, its trials and
// probes are in the database; the JUnit and markdown reports are written.
func TestTuneFindsAConfig(t *testing.T) {
	skipUnderRace(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	ts := newTestState(t, tuneArgs(db, "--slo", "p90=200ms", "--strategy", "grid", "--json", "-",
		"--junit", filepath.Join(dir, "slo.xml"), "--markdown", filepath.Join(dir, "sum.md"))...)
	ts.env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "step.md")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, ts.stderr)
	}
	var rep tuneJSON
	if err := json.Unmarshal([]byte(ts.stdout.String()), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, ts.stdout)
	}
	if rep.Best == nil || !rep.Best.Meets || rep.Best.CapacityRPS <= 0 || rep.Best.CostPerMillion <= 0 {
		t.Fatalf("best %+v", rep.Best)
	}
	// The baseline (fp32, batch 1, every CPU) is measured beside the space's two configs.
	if rep.Baseline == nil || !rep.Baseline.Baseline || len(rep.Trials) != 3 {
		t.Fatalf("baseline %+v, %d trials (want 3)", rep.Baseline, len(rep.Trials))
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.Run(rep.RunID)
	if err != nil || run.Status != store.StatusDone || run.BestTrialID == 0 {
		t.Fatalf("run %+v, %v", run, err)
	}
	trials, err := st.Trials(rep.RunID)
	if err != nil || len(trials) != 3 {
		t.Fatalf("%d trials stored, %v", len(trials), err)
	}
	probes, err := st.Probes(trials[0].ID)
	if err != nil || len(probes) == 0 || len(probes[0].Histogram) == 0 {
		t.Fatalf("probes of trial 1: %d, %v", len(probes), err)
	}
	for _, f := range []string{"slo.xml", "sum.md", "step.md"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "slo.xml")); !strings.Contains(string(b), `name="p90&lt;=200ms"`) {
		t.Errorf("junit lacks the SLO test case:\n%s", b)
	}
}

// TestTuneNothingMeets: an impossible SLO exits 1 naming the closest config's miss; a
// fidelity SLO prunes precisions without load.
func TestTuneNothingMeets(t *testing.T) {
	skipUnderRace(t)
	db := filepath.Join(t.TempDir(), "t.db")
	ts := newTestState(t, tuneArgs(db, "--slo", "p99=1us,fidelity>=1.5%", "--space", "max_batch=1")...)
	if code := ts.run(t); code != int(exitSLOFailed) {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), "no config meets the SLOs", "the closest", "p99<=1us", "missed")
}

func TestTuneFidelityPrunes(t *testing.T) {
	skipUnderRace(t)
	db := filepath.Join(t.TempDir(), "t.db")
	ts := newTestState(t, tuneArgs(db, "--slo", "p90=200ms,fidelity>=0.999999", "--space", "precision=fp32,int4",
		"--space", "max_batch=1", "--fidelity-inputs", "64", "--json", "-")...)
	code := ts.run(t)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, ts.stderr)
	}
	var rep tuneJSON
	if err := json.Unmarshal([]byte(ts.stdout.String()), &rep); err != nil {
		t.Fatal(err)
	}
	pruned := 0
	for _, tr := range rep.Trials {
		if tr.Pruned {
			pruned++
			if tr.Config.Precision != "int4" || !strings.Contains(tr.Reason, "fidelity") {
				t.Errorf("pruned %+v", tr)
			}
		}
	}
	if pruned != 1 {
		t.Errorf("%d trials pruned, want the int4 one", pruned)
	}
}

// TestTuneInterruptAndResume: a cancelled tune exits 130 with the run interrupted and its
// finished trials stored; --resume finishes it without measuring them again.
func TestTuneInterruptAndResume(t *testing.T) {
	skipUnderRace(t)
	db := filepath.Join(t.TempDir(), "t.db")
	ts := newTestState(t, tuneArgs(db, "--slo", "p90=200ms", "--strategy", "grid")...)
	ctx, cancel := context.WithCancel(t.Context())
	ts.gs.ctx = ctx
	go func() {
		// Cancel once the first trial is stored.
		for ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			if strings.Contains(ts.stderr.String(), "capacity") {
				cancel()
			}
		}
	}()
	if code := ts.run(t); code != int(exitInterrupted) {
		t.Fatalf("exit %d, want 130; stderr:\n%s", code, ts.stderr)
	}
	cancel()
	wantContains(t, "stderr", ts.stderr.String(), "--resume 1")
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.Run(1)
	st.Close()
	if err != nil || run.Status != store.StatusInterrupted {
		t.Fatalf("run %+v, %v", run, err)
	}

	ts = newTestState(t, "tune", "--db", db, "--resume", "1", "--probe-window", "1s", "--probe-warmup", "100ms", "--json", "-")
	if code := ts.run(t); code != 0 {
		t.Fatalf("resume: exit %d; stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), "measured by the interrupted run")
}

func TestTuneBadInput(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(foreign, []byte("not a database, just notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "t.db")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no slo", tuneArgs(db), []string{"--slo", "missing", "p99=50ms"}},
		{"bad percentile", tuneArgs(db, "--slo", "p101=5ms"), []string{"--slo", "p101=5ms", "p99"}},
		{"bad value", tuneArgs(db, "--slo", "p99=fast"), []string{"p99=fast"}},
		{"missing unit", tuneArgs(db, "--slo", "ttft_p99=5"), []string{"ttft_p99=5"}},
		{"strategy", tuneArgs(db, "--slo", "p99=5ms", "--strategy", "random"), []string{"--strategy", `"random"`, "smart"}},
		{"budget", tuneArgs(db, "--slo", "p99=5ms", "--budget", "0s"), []string{"--budget", `"0s"`, "accepted:"}},
		{"space dim", tuneArgs(db, "--slo", "p99=5ms", "--space", "colour=red"), []string{"--space", "colour", "precision"}},
		{"space value", tuneArgs(db, "--slo", "p99=5ms", "--space", "precision=fp8"), []string{"--space", "fp8", "int8"}},
		{"workload", tuneArgs(db, "--slo", "p99=5ms", "--workload", "chess"), []string{"--workload", `"chess"`, "classify"}},
		{"request/response dimension on chat", []string{"tune", "--db", db, "--workload", "chat", "--slo", "ttft_p99=2s", "--space", "max_batch=4"},
			[]string{"--space", "max_batch=4", "a dimension of request/response workloads"}},
		{"hardware", tuneArgs(db, "--slo", "p99=5ms", "--hardware", "mainframe"), []string{"--hardware", `"mainframe"`, "local-cpu"}},
		{"foreign db", tuneArgs(foreign, "--slo", "p99=5ms"), []string{"--db", "notes.txt", "not an infertune database"}},
		{"resume unknown", []string{"tune", "--db", db, "--resume", "99"}, []string{"--resume 99", "accepted:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestState(t, tt.args...)
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, ts.stderr)
			}
			wantContains(t, "stderr", ts.stderr.String(), tt.want...)
		})
	}
}

// TestTuneGeneration: a generation workload is searched over generation configs (the
// baseline serving one sequence at a time, then the space's), every probe judged on TTFT
// and TPOT and stored. With a probe window this short the floor of verifiable rates is
// far above what chat sustains on a CPU, so each config misses quickly, at the floor.
func TestTuneGeneration(t *testing.T) {
	skipUnderRace(t)
	db := filepath.Join(t.TempDir(), "t.db")
	ts := newTestState(t, "tune", "--db", db, "--workload", "chat", "--slo", "ttft_p99=5s,tpot_p99=500ms",
		"--space", "precision=int8 batching=continuous max_seqs=4 threads=1", "--probe-window", "2s",
		"--probe-warmup", "0s", "--budget", "2m", "--json", "-")
	if code := ts.run(t); code != int(exitSLOFailed) {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitSLOFailed, ts.stderr)
	}
	var rep struct {
		Trials []struct {
			Config struct {
				Batching string `json:"batching"`
				MaxSeqs  int    `json:"max_seqs"`
			} `json:"config"`
			Probes int    `json:"probes"`
			Reason string `json:"reason"`
		} `json:"trials"`
	}
	if err := json.Unmarshal([]byte(ts.stdout.String()), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, ts.stdout)
	}
	if len(rep.Trials) != 2 || rep.Trials[0].Config.MaxSeqs != 1 || rep.Trials[1].Config.Batching != "continuous" {
		t.Fatalf("trials %+v; want the one-sequence baseline, then int8 continuous", rep.Trials)
	}
	for _, tr := range rep.Trials {
		if tr.Probes == 0 || !strings.Contains(tr.Reason, "capacity below") {
			t.Errorf("trial %+v: want probes and a miss at the floor", tr)
		}
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	trials, err := st.Trials(1)
	if err != nil || len(trials) != 2 || !strings.Contains(trials[1].ConfigKey, "batching=continuous,max_seqs=4") {
		t.Fatalf("stored trials %+v, %v", trials, err)
	}
	show := newTestState(t, "report", "show", "1", "--db", db)
	if code := show.run(t); code != 0 || !strings.Contains(show.stdout.String(), "TTFT p99") || !strings.Contains(show.stdout.String(), "$/M tokens") {
		t.Errorf("report show: exit %d\n%s%s", code, show.stdout, show.stderr)
	}
	for format, want := range map[string]string{"csv": "ttft_p99_ms,tpot_p99_ms,tokens_per_s,cost_per_million_tokens", "md": "| TTFT p99 ms | TPOT p99 ms |"} {
		exp := newTestState(t, "report", "export", "1", "--format", format, "--db", db)
		if code := exp.run(t); code != 0 || !strings.Contains(exp.stdout.String(), want) {
			t.Errorf("report export --format %s: exit %d, want %q in\n%s%s", format, code, want, exp.stdout, exp.stderr)
		}
	}
}
