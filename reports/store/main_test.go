package store

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine (a connection opener, say) outlives the
// tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openTemp opens a new store in a throwaway directory and returns it with its path.
func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "infertune.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

// rawDB opens path with the driver and nothing of the store's, for tests that build
// files the store did not write.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db interface {
	Exec(string, ...any) (sql.Result, error)
}, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// at is a fixed instant with nanoseconds, in UTC as stored.
func at(sec int) time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC).Add(time.Duration(sec) * time.Second)
}

func testHost(fp string) Host {
	return Host{
		Fingerprint: fp, CPUModel: "Test CPU " + fp, Cores: 16, ISAFlags: "avx2 avx512f fma",
		MemoryBytes: 64 << 30, OS: "linux/amd64", GoVersion: "go1.26.0", BinaryVersion: "v0.1.0",
		BuildFlags: "GOEXPERIMENT=simd", FirstSeen: at(0),
	}
}

// testProbe returns a probe of trial with every field set from seq.
func testProbe(trial int64, seq int) Probe {
	hist := make([]byte, 300+seq)
	for i := range hist {
		hist[i] = byte(i*7 + seq)
	}
	d := time.Duration(seq)
	p := Probe{
		TrialID: trial, Seq: seq, RateRPS: 100.5 + float64(seq), Arrival: "poisson",
		Window: 2*time.Second + d, Sent: 1000 + int64(seq), OK: 990, Errors: 3, Rejects: 2,
		Timeouts: 1, Drops: 2, Cut: 2 + int64(seq), LateFraction: 0.0025,
		LagP99: 1500*time.Nanosecond + d, Mean: 1234567*time.Nanosecond + d,
		P50: time.Millisecond + d, P90: 3*time.Millisecond + 7, P95: 4*time.Millisecond + 11,
		P99: 9876543 * time.Nanosecond, P999: 20*time.Millisecond + 1,
		Max: 31*time.Millisecond + 3, AchievedRPS: 99.25, Valid: true, Verdict: "pass",
		Histogram: hist, StartedAt: at(10 + seq),
	}
	if seq%2 == 1 {
		p.Valid, p.InvalidReason = false, "late sends"
	}
	return p
}
