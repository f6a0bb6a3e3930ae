package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// helperEnv names the database TestHelperWriter writes to; unset, it does nothing.
const helperEnv = "INFERTUNE_STORE_HELPER_DB"

// TestHelperWriter is the child of TestKilledWriter: it creates a run and one trial, then
// stores probes one after another, printing "probe SEQ" after each AddProbe returns,
// until it is killed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("a helper process for TestKilledWriter")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	run := newRun(t, s, "fp")
	trial, err := s.AddTrial(Trial{RunID: run, ConfigKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("run %d trial %d\n", run, trial)
	for seq := range 100_000 { // bounded, in case nobody kills it
		if _, err := s.AddProbe(testProbe(trial, seq)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("probe %d\n", seq)
	}
	t.Fatal("not killed")
}

func TestKilledWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const enough = 25
	var run, trial int64
	last := -1
	lines := bufio.NewScanner(out)
	for last < enough && lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 4 && f[0] == "run":
			run, _ = strconv.ParseInt(f[1], 10, 64)
			trial, _ = strconv.ParseInt(f[3], 10, 64)
		case len(f) == 2 && f[0] == "probe":
			last, _ = strconv.Atoi(f[1])
		}
	}
	killErr := cmd.Process.Kill() // SIGKILL
	cmd.Wait()                    // reaps it: its PID is free from now on
	if last < enough || run == 0 {
		t.Fatalf("the writer stopped at probe %d (run %d): %s", last, run, stderr.String())
	}
	if killErr != nil {
		t.Fatal(killErr)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var check string
	if err := s.db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	r, err := s.Run(run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusInterrupted || r.EndedAt.IsZero() || r.PID != cmd.Process.Pid {
		t.Errorf("run after the kill: status %s, ended %v, pid %d (child %d); want interrupted", r.Status, r.EndedAt, r.PID, cmd.Process.Pid)
	}
	ps, err := s.Probes(trial)
	if err != nil {
		t.Fatal(err)
	}
	// Every probe the child reported is there, intact and in sequence; more may have
	// committed between its report and the kill.
	if len(ps) < last+1 {
		t.Fatalf("%d probes, want at least %d", len(ps), last+1)
	}
	for seq, p := range ps {
		want := testProbe(trial, seq)
		want.ID = p.ID
		if !reflect.DeepEqual(p, want) {
			t.Errorf("probe %d:\n got %+v\nwant %+v", seq, p, want)
		}
	}
}
