package store

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// Sentinel errors callers branch on.
var (
	// ErrNotInfertune: the file is not SQLite, or is the database of another application.
	ErrNotInfertune = errors.New("not an infertune database")
	// ErrNewerSchema: the database was written by a newer infertune; it is left untouched.
	ErrNewerSchema = errors.New("database schema is newer than this binary")
	// ErrNotFound: no row has the id asked for.
	ErrNotFound = errors.New("not found")
	// ErrNotResumable: ResumeRun was asked for a run that is running or done.
	ErrNotResumable = errors.New("run cannot be resumed")
)

// applicationID marks an infertune database in the SQLite header ('INFT'); migration 0001
// sets it.
const applicationID = 0x494E4654

// sqliteMagic opens every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// sqliteNotADB is SQLite's primary result code SQLITE_NOTADB.
const sqliteNotADB = 26

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is an open infertune database. Its methods are safe for concurrent use; they
// share one connection, so writes are serialized.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens the database at path, creating it when the file does not exist or is empty,
// and brings its schema up to date. It refuses a file that is not SQLite or belongs to
// another application (ErrNotInfertune) and one whose schema is newer than this binary
// knows (ErrNewerSchema); a refused file is not modified. Open then marks runs abandoned
// by dead processes as interrupted (see MarkAbandoned).
func Open(path string) (*Store, error) {
	migs, err := migrations()
	if err != nil {
		return nil, err
	}
	if _, err := inspect(path, len(migs)); err != nil {
		return nil, err
	}
	uri, err := dsn(path, "_pragma=busy_timeout(5000)", "_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)", "_pragma=foreign_keys(1)", "_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: SQLite has one writer at a time anyway, and a single connection
	// never waits on itself.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
	if err := s.migrate(migs); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := s.MarkAbandoned(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// SchemaVersion is the schema version this binary writes (the number of its migrations).
func SchemaVersion() int {
	migs, err := migrations()
	if err != nil {
		return 0
	}
	return len(migs)
}

// dsn builds a driver DSN for path: a file: URI (so that any character in the path is
// safe) with the given query parameters.
func dsn(path string, params ...string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", path, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	if !strings.HasPrefix(u.Path, "/") { // a Windows drive letter
		u.Path = "/" + u.Path
	}
	return u.String() + "?" + strings.Join(params, "&"), nil
}

// fileInfo is what inspect learned about a database file.
type fileInfo struct {
	missing bool // no such file
	fresh   bool // missing, empty, or SQLite with nothing in it
	version int  // PRAGMA user_version
}

// inspect checks, without writing anything, that path is absent, empty, or an infertune
// database whose schema is not newer than known. An absent file is not an error: it says
// so in fileInfo.missing.
func inspect(path string, known int) (fileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileInfo{missing: true, fresh: true}, nil
	}
	if err != nil {
		return fileInfo{}, fmt.Errorf("open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fileInfo{}, fmt.Errorf("open %s: %w", path, err)
	}
	if st.IsDir() {
		f.Close()
		return fileInfo{}, fmt.Errorf("open %s: is a directory", path)
	}
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	f.Close()
	switch {
	case n == 0 && st.Size() == 0:
		return fileInfo{fresh: true}, nil
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fileInfo{}, fmt.Errorf("open %s: %w", path, err)
	case !bytes.Equal(head[:n], []byte(sqliteMagic)):
		return fileInfo{}, notInfertune(path, "it is not a SQLite file")
	}

	ro, err := readOnlyDSN(path)
	if err != nil {
		return fileInfo{}, err
	}
	db, err := sql.Open("sqlite", ro)
	if err != nil {
		return fileInfo{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var appID, version, tables int
	var names string
	err = db.QueryRow(`SELECT (SELECT application_id FROM pragma_application_id),
		(SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'),
		(SELECT coalesce(group_concat(name, ', '), '') FROM (SELECT name FROM sqlite_schema
			WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name LIMIT 5))`).
		Scan(&appID, &version, &tables, &names)
	if err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code()&0xff == sqliteNotADB {
			return fileInfo{}, notInfertune(path, "it is not a valid SQLite file")
		}
		return fileInfo{}, fmt.Errorf("open %s: %w", path, err)
	}
	switch {
	case appID == 0 && version == 0 && tables == 0:
		return fileInfo{fresh: true}, nil
	case appID != applicationID:
		why := "it is a SQLite database of another application"
		switch {
		case tables == 0:
			why = "it is an empty SQLite database of another application"
		case names != "":
			why += " (tables: " + names + ")"
		}
		return fileInfo{}, notInfertune(path, why)
	case version > known:
		return fileInfo{}, fmt.Errorf("open %s: %w (schema version %d; this binary knows up to %d)", path, ErrNewerSchema, version, known)
	}
	return fileInfo{version: version}, nil
}

// readOnlyDSN returns a DSN that reads path without writing to it or beside it: read-only,
// and immutable unless a -wal file says a writer is (or was) at work, since a read-only
// connection to a WAL database would otherwise leave -wal and -shm files behind.
func readOnlyDSN(path string) (string, error) {
	params := []string{"mode=ro", "_pragma=busy_timeout(5000)", "_pragma=query_only(1)"}
	if _, err := os.Lstat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		params = append(params, "immutable=1")
	}
	return dsn(path, params...)
}

func notInfertune(path, why string) error {
	return fmt.Errorf("open %s: %w: %s", path, ErrNotInfertune, why)
}

// migration is one embedded schema step; step n takes user_version from n-1 to n.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order, checking that they are numbered
// 1, 2, 3… without gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name does not start with a positive number and _", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: numbered %d, want %d", m.name, m.version, i+1)
		}
	}
	return out, nil
}

// migrate applies every migration newer than the database's user_version, each in its own
// transaction together with the new user_version.
func (s *Store) migrate(migs []migration) error {
	ctx := context.Background()
	for _, m := range migs {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
				return err
			}
			switch {
			case v > len(migs):
				return fmt.Errorf("%w (schema version %d; this binary knows up to %d)", ErrNewerSchema, v, len(migs))
			case v >= m.version:
				return nil
			case v != m.version-1:
				return fmt.Errorf("schema version %d, next migration is %s", v, m.name)
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", s.path, err)
		}
	}
	return nil
}

// tx runs f in a transaction (BEGIN IMMEDIATE, from the DSN) and commits when f returns
// nil.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
