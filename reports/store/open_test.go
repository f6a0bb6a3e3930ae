package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestMigrationsNumbered(t *testing.T) {
	migs, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 || SchemaVersion() != len(migs) {
		t.Fatalf("%d migrations, SchemaVersion %d", len(migs), SchemaVersion())
	}
	for i, m := range migs {
		if m.version != i+1 || !strings.HasPrefix(m.name, "000"+strconv.Itoa(i+1)+"_") {
			t.Errorf("migration %d is %s (version %d)", i+1, m.name, m.version)
		}
	}
}

func TestOpenMigrates(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"missing file", func(t *testing.T, path string) {}},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty sqlite database", func(t *testing.T, path string) {
			mustExec(t, rawDB(t, path), `PRAGMA journal_mode = WAL`)
		}},
	}
	want := []string{"fidelity", "hosts", "probes", "runs", "trials"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "it.db")
			tc.prepare(t, path)
			var hostID int64
			for open := range 2 { // the second Open finds everything in place
				s, err := Open(path)
				if err != nil {
					t.Fatalf("open %d: %v", open, err)
				}
				var version, appID, fk int
				var mode string
				err = s.db.QueryRow(`SELECT (SELECT user_version FROM pragma_user_version),
					(SELECT application_id FROM pragma_application_id),
					(SELECT foreign_keys FROM pragma_foreign_keys),
					(SELECT journal_mode FROM pragma_journal_mode)`).Scan(&version, &appID, &fk, &mode)
				if err != nil {
					t.Fatal(err)
				}
				if version != SchemaVersion() || appID != applicationID || fk != 1 || mode != "wal" {
					t.Errorf("open %d: user_version %d application_id %#x foreign_keys %d journal_mode %s; want %d %#x 1 wal",
						open, version, appID, fk, mode, SchemaVersion(), applicationID)
				}
				rows, err := s.db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for rows.Next() {
					var n string
					if err := rows.Scan(&n); err != nil {
						t.Fatal(err)
					}
					got = append(got, n)
				}
				rows.Close()
				if !slices.Equal(got, want) {
					t.Errorf("open %d: tables %q, want %q", open, got, want)
				}
				id, err := s.UpsertHost(testHost("h"))
				if err != nil {
					t.Fatal(err)
				}
				if open == 1 && id != hostID {
					t.Errorf("reopened: host id %d, want %d (kept)", id, hostID)
				}
				hostID = id
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	random := make([]byte, 8192)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	write := func(b []byte) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    error
		say     []string // in the message besides the path
	}{
		{"random bytes", write(random), ErrNotInfertune, []string{"not a SQLite file"}},
		{"text file", write([]byte("model: tiny-bert\nprecision: int8\n")), ErrNotInfertune, []string{"not a SQLite file"}},
		{"short file", write([]byte("SQL")), ErrNotInfertune, []string{"not a SQLite file"}},
		{"sqlite header then garbage", write(append([]byte(sqliteMagic), random[:4096]...)), ErrNotInfertune, nil},
		{"foreign database", func(t *testing.T, path string) {
			db := rawDB(t, path)
			mustExec(t, db, `CREATE TABLE foo (x INTEGER)`)
			mustExec(t, db, `INSERT INTO foo VALUES (1)`)
			db.Close()
		}, ErrNotInfertune, []string{"another application"}},
		{"foreign database with our table names", func(t *testing.T, path string) {
			db := rawDB(t, path)
			mustExec(t, db, `CREATE TABLE runs (id INTEGER PRIMARY KEY)`)
			mustExec(t, db, `PRAGMA user_version = 1`)
			db.Close()
		}, ErrNotInfertune, []string{"another application"}},
		{"foreign application id", func(t *testing.T, path string) {
			db := rawDB(t, path)
			mustExec(t, db, `PRAGMA application_id = 42`)
			db.Close()
		}, ErrNotInfertune, []string{"another application"}},
		{"newer schema", func(t *testing.T, path string) {
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpsertHost(testHost("h")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db := rawDB(t, path)
			mustExec(t, db, `PRAGMA user_version = 99`)
			db.Close()
		}, ErrNewerSchema, []string{"99", "up to " + strconv.Itoa(SchemaVersion())}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "it.db")
			tc.prepare(t, path)
			before := snapshot(t, dir)
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %q is not %q", err, tc.want)
			}
			for _, w := range append(tc.say, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if after := snapshot(t, dir); !mapsEqual(before, after) {
				t.Errorf("the directory changed: %d files before, %d after", len(before), len(after))
			}
		})
	}
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b%20c?d#e")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "run 1?.db")
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertHost(testHost("h")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "run 1?.db" {
		t.Fatalf("directory holds %v, want only run 1?.db", entries)
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	if err == nil || errors.Is(err, ErrNotInfertune) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open(directory) = %v; want an error naming it, not ErrNotInfertune", err)
	}
}

// snapshot returns the name and bytes of every file in dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func mapsEqual(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
