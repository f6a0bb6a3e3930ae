package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/infertune/infertune/reports/store"
)

// reportDB writes a database with one finished run of two trials.
func reportDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, err := st.UpsertHost(store.Host{Fingerprint: "fp1", CPUModel: "Test CPU 9000", Cores: 2, OS: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.CreateRun(store.Run{HostID: host, Workload: "classify", SLOs: "p99<=50ms", Strategy: "grid", Budget: time.Minute, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var best int64
	for i, prec := range []string{"fp32", "int8"} {
		cfg := `{"precision":"` + prec + `","max_batch":1,"max_queue_delay":0,"threads":2,"tier":"simd"}`
		id, err := st.AddTrial(store.Trial{RunID: run, ConfigKey: prec, Config: cfg, Status: store.StatusRunning})
		if err != nil {
			t.Fatal(err)
		}
		err = st.FinishTrial(store.Trial{ID: id, RunID: run, ConfigKey: prec, Config: cfg, Status: store.StatusDone,
			CapacityRPS: float64(40 * (i + 1)), P99: 30 * time.Millisecond, CostPerHour: 0.085, CostPerMillion: 0.6 / float64(i+1),
			Replicas: 1, Verdict: "meets"})
		if err != nil {
			t.Fatal(err)
		}
		best = id
	}
	if err := st.FinishRun(run, store.StatusDone, best, ""); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReport(t *testing.T) {
	db := reportDB(t)
	ts := newTestState(t, "report", "list", "--db", db)
	if code := ts.run(t); code != 0 {
		t.Fatalf("list: exit %d: %s", code, ts.stderr)
	}
	wantContains(t, "list", ts.stdout.String(), "classify", "p99<=50ms", "done", "0.3", "Test CPU 9000")

	ts = newTestState(t, "report", "show", "1", "--db", db)
	if code := ts.run(t); code != 0 {
		t.Fatalf("show: exit %d: %s", code, ts.stderr)
	}
	wantContains(t, "show", ts.stdout.String(), "run 1: classify", "best: int8 batch≤1 delay 0s simd×2: 80 req/s", "fp32 batch≤1")

	ts = newTestState(t, "report", "show", "1", "--db", db, "--json", "-")
	if code := ts.run(t); code != 0 {
		t.Fatalf("show --json: exit %d: %s", code, ts.stderr)
	}
	var view struct {
		Run    store.Run     `json:"run"`
		Trials []store.Trial `json:"trials"`
	}
	if err := json.Unmarshal([]byte(ts.stdout.String()), &view); err != nil || view.Run.ID != 1 || len(view.Trials) != 2 {
		t.Fatalf("json %v: %+v", err, view)
	}
}

// TestReportImportCompare: a second machine's database merges in (twice, without
// duplicates) and the two runs compare side by side.
func TestReportImportCompare(t *testing.T) {
	db, other := reportDB(t), reportDB(t)
	for range 2 {
		ts := newTestState(t, "report", "import", other, "--db", db)
		if code := ts.run(t); code != 0 {
			t.Fatalf("import: exit %d: %s", code, ts.stderr)
		}
	}
	ts := newTestState(t, "report", "compare", "1", "2", "--db", db)
	if code := ts.run(t); code != 0 {
		t.Fatalf("compare: exit %d: %s", code, ts.stderr)
	}
	wantContains(t, "compare", ts.stdout.String(), "capacity req/s", "80", "req/s per core", "40")
	ts = newTestState(t, "report", "compare", "1", "3", "--db", db)
	if code := ts.run(t); code != int(exitBadInput) {
		t.Fatalf("compare with a missing run: exit %d (a second import must not have added run 3)", code)
	}
}

func TestReportExport(t *testing.T) {
	db := reportDB(t)
	for _, tt := range []struct{ format, want string }{
		{"md", "| int8 batch≤1 delay 0s simd×2 **(best)** | done | 80 |"},
		{"csv", "trial,config,status,capacity_rps"},
		{"json", `"trials": [`},
	} {
		t.Run(tt.format, func(t *testing.T) {
			ts := newTestState(t, "report", "export", "1", "--format", tt.format, "--db", db)
			if code := ts.run(t); code != 0 {
				t.Fatalf("exit %d: %s", code, ts.stderr)
			}
			wantContains(t, "export", ts.stdout.String(), tt.want)
		})
	}
	ts := newTestState(t, "report", "export", "1", "--format", "html", "--db", db)
	if code := ts.run(t); code != int(exitBadInput) {
		t.Fatalf("--format html: exit %d, want 2", code)
	}
	wantContains(t, "stderr", ts.stderr.String(), "--format", `"html"`, "md, json, csv")
}

func TestReportBadInput(t *testing.T) {
	db := reportDB(t)
	foreign := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(foreign, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown run", []string{"report", "show", "9", "--db", db}, []string{"run 9", "accepted:"}},
		{"bad id", []string{"report", "show", "first", "--db", db}, []string{`"first"`, "accepted:"}},
		{"no id", []string{"report", "show", "--db", db}, []string{"one run ID", "accepted:"}},
		{"foreign db", []string{"report", "list", "--db", foreign}, []string{"--db", "x.txt", "not an infertune database"}},
		{"compare one", []string{"report", "compare", "1", "--db", db}, []string{"two or more", "accepted:"}},
		{"import foreign", []string{"report", "import", foreign, "--db", db}, []string{"x.txt", "accepted:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestState(t, tt.args...)
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want 2: %s", code, ts.stderr)
			}
			wantContains(t, "stderr", ts.stderr.String(), tt.want...)
		})
	}
}
