package store

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"
)

func TestUpsertHost(t *testing.T) {
	s, _ := openTemp(t)
	a := testHost("fp-a")
	idA, err := s.UpsertHost(a)
	if err != nil {
		t.Fatal(err)
	}
	changed := a
	changed.CPUModel, changed.Cores = "something else", 2
	cases := []struct {
		name    string
		host    Host
		wantID  int64 // 0: a new id
		wantErr bool
	}{
		{"same host again", a, idA, false},
		{"same fingerprint, other fields", changed, idA, false},
		{"another host", testHost("fp-b"), 0, false},
		{"no fingerprint", Host{CPUModel: "x"}, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.UpsertHost(tc.host)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("UpsertHost = %d, want an error", id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantID != 0 && id != tc.wantID || tc.wantID == 0 && id == idA {
				t.Fatalf("id %d, want %d (0: new, not %d)", id, tc.wantID, idA)
			}
		})
	}
	got, err := s.Host(idA)
	if err != nil {
		t.Fatal(err)
	}
	a.ID = idA
	if !reflect.DeepEqual(got, a) {
		t.Errorf("Host(%d) = %+v, want %+v (the first row, unchanged)", idA, got, a)
	}
	if n := count(t, s.db, "hosts"); n != 2 {
		t.Errorf("%d hosts, want 2", n)
	}
	if _, err := s.Host(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Host(999): %v, want ErrNotFound", err)
	}
}

// newRun stores a host and a run and returns the run's id.
func newRun(t *testing.T, s *Store, fp string) int64 {
	t.Helper()
	h, err := s.UpsertHost(testHost(fp))
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateRun(Run{HostID: h, Workload: "chat", SLOs: "p99<200ms", Strategy: "grid"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRunRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	hostID, err := s.UpsertHost(testHost("fp"))
	if err != nil {
		t.Fatal(err)
	}
	in := Run{
		HostID: hostID, Workload: "chat-short", SLOs: "p99<250ms,errors<0.1%",
		Space: `{"batch":[1,8,32],"threads":[4,8]}`, Strategy: "bayes", Budget: 90 * time.Second,
		Seed: 1<<63 + 5,
		// ignored by CreateRun:
		Status: StatusDone, PID: 1, StartedAt: at(0), EndedAt: at(5), BestTrialID: 3, Summary: `{}`,
	}
	before := time.Now()
	id, err := s.CreateRun(in)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	got, err := s.Run(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.StartedAt.Before(before.Truncate(time.Microsecond)) || got.StartedAt.After(after) || len(got.Origin) != 32 {
		t.Errorf("started %v (want between %v and %v), origin %q", got.StartedAt, before, after, got.Origin)
	}
	want := in
	want.ID, want.Origin, want.StartedAt = id, got.Origin, got.StartedAt
	want.Status, want.PID, want.EndedAt, want.BestTrialID, want.Summary = StatusRunning, os.Getpid(), time.Time{}, 0, ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Run(%d) =\n%+v\nwant\n%+v", id, got, want)
	}

	trial := Trial{
		RunID: id, ConfigKey: "batch=8,threads=4", Config: `{"batch":8,"threads":4}`,
		StartedAt: at(1),
	}
	trialID, err := s.AddTrial(trial)
	if err != nil {
		t.Fatal(err)
	}
	done := Trial{
		ID: trialID, Status: StatusDone, CapacityRPS: 412.5, P50: 12345678, P99: 187654321,
		CostPerHour: 0.768, CostPerMillion: 0.5172, Replicas: 3, Verdict: "meets SLOs",
		PredictedCapacityRPS: 400, Note: "knee at 450 rps", EndedAt: at(2),
	}
	if err := s.FinishTrial(done); err != nil {
		t.Fatal(err)
	}
	trials, err := s.Trials(id)
	if err != nil {
		t.Fatal(err)
	}
	wantTrial := done
	wantTrial.RunID, wantTrial.ConfigKey, wantTrial.Config, wantTrial.StartedAt = id, trial.ConfigKey, trial.Config, trial.StartedAt
	if len(trials) != 1 || !reflect.DeepEqual(trials[0], wantTrial) {
		t.Errorf("Trials = %+v, want [%+v]", trials, wantTrial)
	}

	if err := s.FinishRun(id, StatusDone, trialID, `{"best":"batch=8,threads=4"}`); err != nil {
		t.Fatal(err)
	}
	got, err = s.Run(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusDone || got.BestTrialID != trialID || got.Summary != `{"best":"batch=8,threads=4"}` || got.EndedAt.Before(got.StartedAt) {
		t.Errorf("finished run %+v", got)
	}

	// A second run without a best trial.
	other := newRun(t, s, "fp-2")
	list, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("Runs: %d, want 2", len(list))
	}
	first, second := list[0], list[1]
	if !reflect.DeepEqual(first.Run, got) || first.CPUModel != "Test CPU fp" || first.Trials != 1 ||
		first.BestCostPerHour != 0.768 || first.BestCostPerMillion != 0.5172 {
		t.Errorf("Runs[0] = %+v", first)
	}
	if second.ID != other || second.CPUModel != "Test CPU fp-2" || second.Trials != 0 || second.BestCostPerMillion != 0 {
		t.Errorf("Runs[1] = %+v", second)
	}
	if _, err := s.Run(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(999): %v, want ErrNotFound", err)
	}
}

func TestWriteValidation(t *testing.T) {
	s, _ := openTemp(t)
	run := newRun(t, s, "fp")
	other := newRun(t, s, "fp")
	trial, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	otherTrial, err := s.AddTrial(Trial{RunID: other, ConfigKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		do       func() error
		notFound bool
	}{
		{"run without host", func() error { _, err := s.CreateRun(Run{}); return err }, false},
		{"run on unknown host", func() error { _, err := s.CreateRun(Run{HostID: 99}); return err }, false},
		{"run space not JSON", func() error { _, err := s.CreateRun(Run{HostID: 1, Space: "{batch"}); return err }, false},
		{"finish run as running", func() error { return s.FinishRun(run, StatusRunning, 0, "") }, false},
		{"finish run with unknown status", func() error { return s.FinishRun(run, "ok", 0, "") }, false},
		{"finish run with another run's trial", func() error { return s.FinishRun(run, StatusDone, otherTrial, "") }, false},
		{"finish run with unknown trial", func() error { return s.FinishRun(run, StatusDone, 999, "") }, false},
		{"finish run summary not JSON", func() error { return s.FinishRun(run, StatusDone, trial, "best: k") }, false},
		{"finish unknown run", func() error { return s.FinishRun(999, StatusDone, 0, "") }, true},
		{"trial of unknown run", func() error { _, err := s.AddTrial(Trial{RunID: 999, ConfigKey: "k"}); return err }, false},
		{"trial without key", func() error { _, err := s.AddTrial(Trial{RunID: run}); return err }, false},
		{"trial key twice", func() error { _, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k"}); return err }, false},
		{"trial status", func() error {
			_, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k2", Status: "cut_short"})
			return err
		}, false},
		{"trial config not JSON", func() error { _, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k3", Config: "batch=8"}); return err }, false},
		{"finish trial as running", func() error { return s.FinishTrial(Trial{ID: trial, Status: StatusRunning}) }, false},
		{"finish unknown trial", func() error { return s.FinishTrial(Trial{ID: 999, Status: StatusDone}) }, true},
		{"probe of unknown trial", func() error { _, err := s.AddProbe(Probe{TrialID: 999}); return err }, false},
		{"reset unknown trial", func() error { return s.ResetTrial(999) }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Fatalf("%v: ErrNotFound %v, want %v", err, !tc.notFound, tc.notFound)
			}
		})
	}
	got, err := s.Run(run)
	if err != nil || got.Status != StatusRunning || got.BestTrialID != 0 {
		t.Errorf("after refused writes: %+v, %v", got, err)
	}
}

func TestProbeRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	run := newRun(t, s, "fp")
	trial, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var want []Probe
	for _, seq := range []int{2, 0, 1} {
		p := testProbe(trial, seq)
		if seq == 1 {
			p.Histogram = nil // none stored
		}
		id, err := s.AddProbe(p)
		if err != nil {
			t.Fatal(err)
		}
		p.ID = id
		want = append(want, p)
	}
	want[0], want[1], want[2] = want[1], want[2], want[0] // by seq
	got, err := s.Probes(trial)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("probe %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("%d probes, want %d", len(got), len(want))
	}
	if p, err := s.Probes(999); err != nil || len(p) != 0 {
		t.Errorf("Probes(999) = %v, %v; want none", p, err)
	}
}

func TestTrialByKey(t *testing.T) {
	s, _ := openTemp(t)
	run := newRun(t, s, "fp")
	other := newRun(t, s, "fp")
	status := map[string]string{"a": StatusDone, "b": StatusPruned, "c": StatusFailed, "d": StatusRunning}
	for _, key := range []string{"a", "b", "c", "d"} {
		id, err := s.AddTrial(Trial{RunID: run, ConfigKey: key, Config: `{"key":"` + key + `"}`})
		if err != nil {
			t.Fatal(err)
		}
		if status[key] != StatusRunning {
			if err := s.FinishTrial(Trial{ID: id, Status: status[key]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		run        int64
		key        string
		found      bool
		wantStatus string
	}{
		{run, "a", true, StatusDone},
		{run, "b", true, StatusPruned},
		{run, "c", true, StatusFailed},
		{run, "d", true, StatusRunning},
		{run, "e", false, ""},
		{other, "a", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			tr, found, err := s.TrialByKey(tc.run, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.found || tr.Status != tc.wantStatus || found && (tr.ConfigKey != tc.key || tr.RunID != tc.run) {
				t.Fatalf("TrialByKey(%d, %q) = %+v, %v; want status %q, found %v", tc.run, tc.key, tr, found, tc.wantStatus, tc.found)
			}
			if found && (tr.Status == StatusRunning) != tr.EndedAt.IsZero() {
				t.Errorf("status %s, ended %v", tr.Status, tr.EndedAt)
			}
		})
	}
}

func TestResetTrial(t *testing.T) {
	s, _ := openTemp(t)
	run := newRun(t, s, "fp")
	trial, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k", Config: `{"a":1}`})
	if err != nil {
		t.Fatal(err)
	}
	keep, err := s.AddTrial(Trial{RunID: run, ConfigKey: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	for seq := range 3 {
		for _, id := range []int64{trial, keep} {
			if _, err := s.AddProbe(testProbe(id, seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.FinishTrial(Trial{ID: trial, Status: StatusFailed, CapacityRPS: 5, Note: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetTrial(trial); err != nil {
		t.Fatal(err)
	}
	tr, _, err := s.TrialByKey(run, "k")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != StatusRunning || tr.CapacityRPS != 0 || tr.Note != "" || !tr.EndedAt.IsZero() || tr.Config != `{"a":1}` {
		t.Errorf("reset trial %+v", tr)
	}
	for id, want := range map[int64]int{trial: 0, keep: 3} {
		if p, err := s.Probes(id); err != nil || len(p) != want {
			t.Errorf("trial %d: %d probes (%v), want %d", id, len(p), err, want)
		}
	}
}

func TestCascade(t *testing.T) {
	s, _ := openTemp(t)
	run := newRun(t, s, "fp")
	other := newRun(t, s, "fp")
	var best int64
	for _, r := range []int64{run, other} {
		for _, key := range []string{"a", "b"} {
			id, err := s.AddTrial(Trial{RunID: r, ConfigKey: key})
			if err != nil {
				t.Fatal(err)
			}
			best = id
			for seq := range 2 {
				if _, err := s.AddProbe(testProbe(id, seq)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.FinishRun(r, StatusDone, best, ""); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, s.db, `DELETE FROM runs WHERE id = ?`, run)
	for table, want := range map[string]int{"runs": 1, "trials": 2, "probes": 4, "hosts": 1} {
		if n := count(t, s.db, table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	if _, err := s.db.Exec(`DELETE FROM hosts`); err == nil {
		t.Error("deleted a host that runs refer to")
	}
	// Deleting the best trial clears the run's reference.
	mustExec(t, s.db, `DELETE FROM trials WHERE id = ?`, best)
	if r, err := s.Run(other); err != nil || r.BestTrialID != 0 {
		t.Errorf("run after its best trial went: %+v, %v", r, err)
	}
}

func TestAddProbeDurable(t *testing.T) {
	s, path := openTemp(t)
	run := newRun(t, s, "fp")
	trial, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for seq := range 3 {
		p := testProbe(trial, seq)
		if p.ID, err = s.AddProbe(p); err != nil {
			t.Fatal(err)
		}
		// A second store on the same file, while the first is still open.
		s2, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s2.Probes(trial)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s2.Run(run)
		s2.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != seq+1 || !reflect.DeepEqual(got[seq], p) {
			t.Fatalf("second connection sees %d probes, want %d, the last %+v", len(got), seq+1, p)
		}
		if r.Status != StatusRunning {
			t.Fatalf("second Open marked this process's run %s", r.Status)
		}
	}
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v", err)
	}
	return cmd.Process.Pid
}

func TestMarkAbandoned(t *testing.T) {
	s, _ := openTemp(t)
	dead := deadPID(t)
	old := at(-3600) // before this process started
	cases := []struct {
		name    string
		status  string
		pid     int
		started time.Time // zero: now
		want    string
	}{
		{"this process", StatusRunning, os.Getpid(), time.Time{}, StatusRunning},
		{"this pid, an earlier process", StatusRunning, os.Getpid(), old, StatusInterrupted},
		{"dead process", StatusRunning, dead, time.Time{}, StatusInterrupted},
		{"no pid", StatusRunning, 0, time.Time{}, StatusInterrupted},
		{"live process", StatusRunning, os.Getppid(), time.Time{}, StatusRunning},
		{"init", StatusRunning, 1, time.Time{}, StatusRunning},
		{"dead process, done", StatusDone, dead, old, StatusDone},
		{"dead process, failed", StatusFailed, dead, old, StatusFailed},
	}
	ids := make([]int64, len(cases))
	for i, tc := range cases {
		ids[i] = newRun(t, s, "fp")
		mustExec(t, s.db, `UPDATE runs SET status = ?, pid = ? WHERE id = ?`, tc.status, tc.pid, ids[i])
		if !tc.started.IsZero() {
			mustExec(t, s.db, `UPDATE runs SET started_at = ? WHERE id = ?`, ts(tc.started), ids[i])
		}
	}
	n, err := s.MarkAbandoned()
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("MarkAbandoned = %d, want 3", n)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Run(ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.want {
				t.Errorf("status %s, want %s", r.Status, tc.want)
			}
			if marked := tc.status != tc.want; marked == r.EndedAt.IsZero() {
				t.Errorf("marked %v, ended %v", marked, r.EndedAt)
			}
		})
	}
	if n, err := s.MarkAbandoned(); n != 0 || err != nil {
		t.Errorf("again: %d, %v; want 0", n, err)
	}
}

func TestMarkInterruptedAndResume(t *testing.T) {
	s, _ := openTemp(t)
	running := newRun(t, s, "fp")
	done := newRun(t, s, "fp")
	if err := s.FinishRun(done, StatusDone, 0, ""); err != nil {
		t.Fatal(err)
	}
	cutShort := newRun(t, s, "fp")
	if err := s.FinishRun(cutShort, StatusCutShort, 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkInterrupted(999); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkInterrupted(999): %v, want ErrNotFound", err)
	}
	for _, id := range []int64{running, done} {
		if err := s.MarkInterrupted(id); err != nil {
			t.Fatal(err)
		}
	}
	check := func(id int64, want string) {
		t.Helper()
		r, err := s.Run(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want || (want == StatusRunning) != r.EndedAt.IsZero() {
			t.Errorf("run %d: %s ended %v, want %s", id, r.Status, r.EndedAt, want)
		}
	}
	check(running, StatusInterrupted)
	check(done, StatusDone)

	cases := []struct {
		name string
		id   int64
		want error // nil: resumed
	}{
		{"interrupted", running, nil},
		{"cut short", cutShort, nil},
		{"running", running, ErrNotResumable}, // just resumed
		{"done", done, ErrNotResumable},
		{"unknown", 999, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.ResumeRun(tc.id)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ResumeRun: %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if r.Status != StatusRunning || r.PID != os.Getpid() || !r.EndedAt.IsZero() {
					t.Errorf("resumed %+v", r)
				}
				check(tc.id, StatusRunning)
			}
		})
	}
}

func TestFidelity(t *testing.T) {
	s, _ := openTemp(t)
	f := Fidelity{Model: "tiny-bert", Precision: "int8", Seed: 1<<64 - 1, Inputs: 512, Top1: 0.984375, KLD: 0.0123, MeasuredAt: at(0)}
	if err := s.PutFidelity(f); err != nil {
		t.Fatal(err)
	}
	g := f
	g.Precision = "fp16"
	if err := s.PutFidelity(g); err != nil {
		t.Fatal(err)
	}
	newer := f
	newer.Top1, newer.MeasuredAt = 0.99, at(60)
	if err := s.PutFidelity(newer); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name             string
		model, precision string
		seed             uint64
		inputs           int
		want             Fidelity
		found            bool
	}{
		{"replaced", "tiny-bert", "int8", 1<<64 - 1, 512, newer, true},
		{"other precision", "tiny-bert", "fp16", 1<<64 - 1, 512, g, true},
		{"other seed", "tiny-bert", "int8", 1, 512, Fidelity{}, false},
		{"other inputs", "tiny-bert", "int8", 1<<64 - 1, 64, Fidelity{}, false},
		{"other model", "mlp", "int8", 1<<64 - 1, 512, Fidelity{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := s.Fidelity(tc.model, tc.precision, tc.seed, tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.found || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Fidelity = %+v, %v; want %+v, %v", got, found, tc.want, tc.found)
			}
		})
	}
}

// TestGenerationColumns: a generation trial's and probe's TTFT, TPOT, tokens and cost per
// million tokens are stored, read back, and cleared by ResetTrial.
func TestGenerationColumns(t *testing.T) {
	s, _ := openTemp(t)
	run := newRun(t, s, "gen")
	id, err := s.AddTrial(Trial{RunID: run, ConfigKey: "precision=int8,batching=continuous,max_seqs=16"})
	if err != nil {
		t.Fatal(err)
	}
	want := Trial{ID: id, Status: StatusDone, CapacityRPS: 18.75, TTFTP99: 1900 * time.Millisecond,
		TPOTP99: 21 * time.Millisecond, TokensPerSec: 850, CostPerMillionTokens: 0.0277}
	if err := s.FinishTrial(want); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddProbe(Probe{TrialID: id, Seq: 1, RateRPS: 18.75, TTFTP99: 1900 * time.Millisecond,
		TPOTP99: 21 * time.Millisecond, OutputTokens: 21000}); err != nil {
		t.Fatal(err)
	}
	trs, err := s.Trials(run)
	if err != nil || len(trs) != 1 {
		t.Fatalf("trials %v, %v", trs, err)
	}
	got := trs[0]
	if got.TTFTP99 != want.TTFTP99 || got.TPOTP99 != want.TPOTP99 || got.TokensPerSec != 850 || got.CostPerMillionTokens != 0.0277 {
		t.Errorf("trial read back %+v", got)
	}
	ps, err := s.Probes(id)
	if err != nil || len(ps) != 1 || ps[0].TTFTP99 != want.TTFTP99 || ps[0].TPOTP99 != want.TPOTP99 || ps[0].OutputTokens != 21000 {
		t.Fatalf("probes %+v, %v", ps, err)
	}
	if err := s.ResetTrial(id); err != nil {
		t.Fatal(err)
	}
	if trs, _ := s.Trials(run); trs[0].TTFTP99 != 0 || trs[0].TokensPerSec != 0 || trs[0].CostPerMillionTokens != 0 {
		t.Errorf("after reset %+v", trs[0])
	}
}
