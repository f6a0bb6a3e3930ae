package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fullRun stores a run on host fp with trials keys (each with probes probes), finishes
// it with the last trial best unless running, and returns its id.
func fullRun(t *testing.T, s *Store, fp, workload string, keys []string, probes int, running bool) int64 {
	t.Helper()
	h, err := s.UpsertHost(testHost(fp))
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun(Run{HostID: h, Workload: workload, SLOs: "p99<100ms", Space: `{"batch":[1,8]}`, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var best int64
	for i, key := range keys {
		best, err = s.AddTrial(Trial{RunID: run, ConfigKey: key, Config: `{"k":"` + key + `"}`, StartedAt: at(i)})
		if err != nil {
			t.Fatal(err)
		}
		for seq := range probes {
			if _, err := s.AddProbe(testProbe(best, seq)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.FinishTrial(Trial{ID: best, Status: StatusDone, CapacityRPS: float64(100 * (i + 1)), CostPerMillion: 1 / float64(i+1), EndedAt: at(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if !running {
		if err := s.FinishRun(run, StatusDone, best, `{"trials":2}`); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// content is what a store holds, without ids: for each run by origin, the run, its host's
// fingerprint, its trials and probes, and the best trial's key.
type content map[string]runContent

type runContent struct {
	Run         Run
	Fingerprint string
	BestKey     string
	Trials      []Trial
	Probes      [][]Probe
}

func contents(t *testing.T, s *Store) content {
	t.Helper()
	list, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	out := content{}
	for _, rs := range list {
		r := rs.Run
		h, err := s.Host(r.HostID)
		if err != nil {
			t.Fatal(err)
		}
		trials, err := s.Trials(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		c := runContent{Fingerprint: h.Fingerprint}
		for _, tr := range trials {
			ps, err := s.Probes(tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tr.ID == r.BestTrialID {
				c.BestKey = tr.ConfigKey
			}
			for i := range ps {
				ps[i].ID, ps[i].TrialID = 0, 0
			}
			tr.ID, tr.RunID = 0, 0
			c.Trials = append(c.Trials, tr)
			c.Probes = append(c.Probes, ps)
		}
		r.ID, r.HostID, r.BestTrialID = 0, 0, 0
		c.Run = r
		out[r.Origin] = c
	}
	return out
}

func TestImport(t *testing.T) {
	dst, dstPath := openTemp(t)
	mine := fullRun(t, dst, "shared", "mine", []string{"a", "b"}, 2, false)
	if err := dst.PutFidelity(Fidelity{Model: "m", Precision: "int8", Seed: 1, Inputs: 64, Top1: 0.5, MeasuredAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	if err := dst.PutFidelity(Fidelity{Model: "m", Precision: "fp16", Seed: 1, Inputs: 64, Top1: 0.9, MeasuredAt: at(100)}); err != nil {
		t.Fatal(err)
	}

	src, srcPath := openTemp(t)
	// "other" first, so that ids differ between the two files.
	fullRun(t, src, "other", "theirs", []string{"x", "y", "z"}, 3, false)
	fullRun(t, src, "shared", "theirs-too", []string{"a"}, 1, false)
	live := fullRun(t, src, "shared", "still going", []string{"p"}, 2, true)
	for _, f := range []Fidelity{
		{Model: "m", Precision: "int8", Seed: 1, Inputs: 64, Top1: 0.75, MeasuredAt: at(50)}, // newer: replaces
		{Model: "m", Precision: "fp16", Seed: 1, Inputs: 64, Top1: 0.1, MeasuredAt: at(50)},  // older: kept out
		{Model: "m", Precision: "q4", Seed: 1, Inputs: 64, Top1: 0.6, MeasuredAt: at(50)},    // new
	} {
		if err := src.PutFidelity(f); err != nil {
			t.Fatal(err)
		}
	}
	want := contents(t, dst)
	for origin, c := range contents(t, src) {
		if c.Run.Status == StatusRunning {
			c.Run.Status = StatusInterrupted
		}
		want[origin] = c
	}
	st, err := dst.Import(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	if wantSt := (ImportStats{Hosts: 1, Runs: 3, Trials: 5, Probes: 9 + 1 + 2, Fidelity: 2}); st != wantSt {
		t.Errorf("stats %+v, want %+v", st, wantSt)
	}
	got := contents(t, dst)
	if !reflect.DeepEqual(got, want) {
		for origin := range want {
			if !reflect.DeepEqual(got[origin], want[origin]) {
				t.Errorf("run %s:\n got %+v\nwant %+v", origin, got[origin], want[origin])
			}
		}
		t.Fatalf("%d runs, want %d", len(got), len(want))
	}
	if n := count(t, dst.db, "hosts"); n != 2 {
		t.Errorf("%d hosts, want 2 (shared deduplicated)", n)
	}
	if r, err := dst.Run(mine); err != nil || r.Workload != "mine" {
		t.Errorf("own run after import: %+v, %v", r, err)
	}
	for prec, top1 := range map[string]float64{"int8": 0.75, "fp16": 0.9, "q4": 0.6} {
		f, ok, err := dst.Fidelity("m", prec, 1, 64)
		if err != nil || !ok || f.Top1 != top1 {
			t.Errorf("fidelity %s: %+v %v %v; want top1 %v", prec, f, ok, err, top1)
		}
	}
	if r, err := src.Run(live); err != nil || r.Status != StatusRunning {
		t.Errorf("source run changed: %+v, %v", r, err)
	}
	src.Close()
	srcBefore := snapshot(t, filepath.Dir(srcPath))

	t.Run("twice", func(t *testing.T) {
		st, err := dst.Import(srcPath)
		if err != nil {
			t.Fatal(err)
		}
		if wantSt := (ImportStats{RunsKnown: 3}); st != wantSt {
			t.Errorf("stats %+v, want %+v", st, wantSt)
		}
		if got := contents(t, dst); !reflect.DeepEqual(got, want) {
			t.Errorf("contents changed: %d runs, want %d", len(got), len(want))
		}
		if after := snapshot(t, filepath.Dir(srcPath)); !mapsEqual(srcBefore, after) {
			t.Error("the source directory changed")
		}
	})
	t.Run("itself", func(t *testing.T) {
		st, err := dst.Import(dstPath)
		if err != nil {
			t.Fatal(err)
		}
		if wantSt := (ImportStats{RunsKnown: 4}); st != wantSt {
			t.Errorf("stats %+v, want %+v", st, wantSt)
		}
	})
	t.Run("through a third", func(t *testing.T) {
		third, _ := openTemp(t)
		st, err := third.Import(dstPath) // all four runs
		if err != nil {
			t.Fatal(err)
		}
		if st.Runs != 4 || st.Hosts != 2 || st.Fidelity != 3 {
			t.Errorf("first stats %+v", st)
		}
		st, err = third.Import(srcPath) // already there, through dst
		if err != nil {
			t.Fatal(err)
		}
		if wantSt := (ImportStats{RunsKnown: 3}); st != wantSt {
			t.Errorf("second stats %+v, want %+v", st, wantSt)
		}
		if got := contents(t, third); !reflect.DeepEqual(got, want) {
			t.Errorf("third holds %d runs, want the same %d", len(got), len(want))
		}
	})
}

func TestImportRefuses(t *testing.T) {
	dst, _ := openTemp(t)
	fullRun(t, dst, "h", "w", []string{"a"}, 1, false)
	before := contents(t, dst)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(dir, "foreign.db")
	db := rawDB(t, foreign)
	mustExec(t, db, `CREATE TABLE foo (x)`)
	db.Close()
	newer := filepath.Join(dir, "newer.db")
	s, err := Open(newer)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db = rawDB(t, newer)
	mustExec(t, db, `PRAGMA user_version = 42`)
	db.Close()

	cases := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "missing.db"), fs.ErrNotExist},
		{"empty", write("empty.db", nil), ErrNotInfertune},
		{"text", write("notes.txt", []byte("hello\n")), ErrNotInfertune},
		{"foreign", foreign, ErrNotInfertune},
		{"newer", newer, ErrNewerSchema},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dst.Import(tc.path)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("Import: %v; want %v naming the path", err, tc.want)
			}
		})
	}
	if got := contents(t, dst); !reflect.DeepEqual(got, before) {
		t.Error("refused imports changed the store")
	}
}
