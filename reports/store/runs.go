package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

const hostCols = `id, fingerprint, cpu_model, cores, isa_flags, memory_bytes, os, go_version,
	binary_version, build_flags, first_seen`

func scanHost(sc scanner) (Host, error) {
	var h Host
	var first sql.NullString
	err := sc.Scan(&h.ID, &h.Fingerprint, &h.CPUModel, &h.Cores, &h.ISAFlags, &h.MemoryBytes,
		&h.OS, &h.GoVersion, &h.BinaryVersion, &h.BuildFlags, &first)
	if err != nil {
		return Host{}, err
	}
	h.FirstSeen, err = parseTS(first)
	return h, err
}

// UpsertHost stores h unless a host with its fingerprint exists, and returns the id of the
// host with that fingerprint. An existing row is left as it is.
func (s *Store) UpsertHost(h Host) (int64, error) {
	var id int64
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, _, err = upsertHost(tx, h)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("upsert host %q: %w", h.Fingerprint, err)
	}
	return id, nil
}

// upsertHost does UpsertHost's work in tx and says whether it inserted a row.
func upsertHost(tx *sql.Tx, h Host) (int64, bool, error) {
	if h.Fingerprint == "" {
		return 0, false, errors.New("empty fingerprint")
	}
	var id int64
	err := tx.QueryRow(`SELECT id FROM hosts WHERE fingerprint = ?`, h.Fingerprint).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	if h.FirstSeen.IsZero() {
		h.FirstSeen = now()
	}
	err = tx.QueryRow(`INSERT INTO hosts (fingerprint, cpu_model, cores, isa_flags, memory_bytes,
		os, go_version, binary_version, build_flags, first_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		h.Fingerprint, h.CPUModel, h.Cores, h.ISAFlags, h.MemoryBytes, h.OS, h.GoVersion,
		h.BinaryVersion, h.BuildFlags, ts(h.FirstSeen)).Scan(&id)
	return id, err == nil, err
}

// Host returns the host with id, or ErrNotFound.
func (s *Store) Host(id int64) (Host, error) {
	h, err := scanHost(s.db.QueryRow(`SELECT `+hostCols+` FROM hosts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Host{}, fmt.Errorf("host %d: %w", id, err)
	}
	return h, nil
}

const runCols = `id, origin, host_id, workload, slos, space, strategy, budget_ms, seed, status,
	pid, started_at, ended_at, best_trial_id, summary`

// runColsR is runCols qualified by the table alias r.
const runColsR = `r.id, r.origin, r.host_id, r.workload, r.slos, r.space, r.strategy,
	r.budget_ms, r.seed, r.status, r.pid, r.started_at, r.ended_at, r.best_trial_id, r.summary`

// scanRun scans runCols, then extra.
func scanRun(sc scanner, extra ...any) (Run, error) {
	var r Run
	var space, summary, started, ended sql.NullString
	var best sql.NullInt64
	var budgetMS, seed int64
	dest := append([]any{&r.ID, &r.Origin, &r.HostID, &r.Workload, &r.SLOs, &space,
		&r.Strategy, &budgetMS, &seed, &r.Status, &r.PID, &started, &ended, &best, &summary},
		extra...)
	if err := sc.Scan(dest...); err != nil {
		return Run{}, err
	}
	r.Space, r.Summary = space.String, summary.String
	r.Budget = time.Duration(budgetMS) * time.Millisecond
	r.Seed = uint64(seed)
	r.BestTrialID = best.Int64
	var err error
	if r.StartedAt, err = parseTS(started); err != nil {
		return Run{}, err
	}
	if r.EndedAt, err = parseTS(ended); err != nil {
		return Run{}, err
	}
	return r, nil
}

// checkJSON returns an error naming field when s is neither empty nor valid JSON.
func checkJSON(field, s string) error {
	if s != "" && !json.Valid([]byte(s)) {
		const show = 60
		v := s
		if len(v) > show {
			v = v[:show] + "…"
		}
		return fmt.Errorf("%s is not valid JSON: %q", field, v)
	}
	return nil
}

// newOrigin returns a random run origin.
func newOrigin() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// CreateRun stores r as a running run of this process, started now, and returns its id.
// Its PID is os.Getpid() and its Origin a new random id unless r has one; r's Status, PID,
// StartedAt, EndedAt, BestTrialID and Summary are ignored.
func (s *Store) CreateRun(r Run) (int64, error) {
	if r.HostID == 0 {
		return 0, errors.New("create run: no host id")
	}
	if err := checkJSON("space", r.Space); err != nil {
		return 0, fmt.Errorf("create run: %w", err)
	}
	r.StartedAt = now()
	if r.Origin == "" {
		r.Origin = newOrigin()
	}
	var id int64
	err := s.db.QueryRow(`INSERT INTO runs (origin, host_id, workload, slos, space, strategy,
		budget_ms, seed, status, pid, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		r.Origin, r.HostID, r.Workload, r.SLOs, nullText(r.Space), r.Strategy,
		r.Budget.Milliseconds(), int64(r.Seed), StatusRunning, os.Getpid(), ts(r.StartedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create run: %w", err)
	}
	return id, nil
}

// finalRun lists the statuses a run can finish with.
var finalRun = []string{StatusDone, StatusInterrupted, StatusCutShort, StatusFailed}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// FinishRun ends run id with status (done, interrupted, cut_short or failed), its best
// trial (0 for none; it must be a trial of the run) and a JSON summary ("" for none).
// EndedAt becomes now.
func (s *Store) FinishRun(id int64, status string, bestTrialID int64, summary string) error {
	if !oneOf(status, finalRun) {
		return fmt.Errorf("finish run %d: status %q, want one of %q", id, status, finalRun)
	}
	if err := checkJSON("summary", summary); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		if bestTrialID != 0 {
			var runID int64
			err := tx.QueryRow(`SELECT run_id FROM trials WHERE id = ?`, bestTrialID).Scan(&runID)
			if errors.Is(err, sql.ErrNoRows) || err == nil && runID != id {
				return fmt.Errorf("best trial %d is not a trial of the run", bestTrialID)
			}
			if err != nil {
				return err
			}
		}
		res, err := tx.Exec(`UPDATE runs SET status = ?, best_trial_id = ?, summary = ?,
			ended_at = ? WHERE id = ?`,
			status, nullID(bestTrialID), nullText(summary), ts(now()), id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

// mustAffect returns ErrNotFound when res changed no row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// MarkInterrupted marks run id interrupted, ended now, if it is still running (the path
// for Ctrl-C). A run that has already ended is left as it is.
func (s *Store) MarkInterrupted(id int64) error {
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRow(`SELECT status FROM runs WHERE id = ?`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || status != StatusRunning {
			return err
		}
		_, err = tx.Exec(`UPDATE runs SET status = ?, ended_at = ? WHERE id = ?`,
			StatusInterrupted, ts(now()), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark run %d interrupted: %w", id, err)
	}
	return nil
}

// ResumeRun makes run id running again in this process (its PID becomes os.Getpid() and
// EndedAt zero) and returns it. A run that is running (in a live process: Open marked the
// others interrupted) or done cannot be resumed: the error wraps ErrNotResumable.
func (s *Store) ResumeRun(id int64) (Run, error) {
	var r Run
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		r, err = scanRun(tx.QueryRow(`SELECT `+runCols+` FROM runs WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		switch r.Status {
		case StatusRunning:
			return fmt.Errorf("%w: it is running in process %d", ErrNotResumable, r.PID)
		case StatusDone:
			return fmt.Errorf("%w: it is done", ErrNotResumable)
		}
		r.Status, r.PID, r.EndedAt = StatusRunning, os.Getpid(), time.Time{}
		_, err = tx.Exec(`UPDATE runs SET status = ?, pid = ?, ended_at = NULL WHERE id = ?`,
			r.Status, r.PID, id)
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("resume run %d: %w", id, err)
	}
	return r, nil
}

// Run returns the run with id, or ErrNotFound.
func (s *Store) Run(id int64) (Run, error) {
	r, err := scanRun(s.db.QueryRow(`SELECT `+runCols+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("run %d: %w", id, err)
	}
	return r, nil
}

// Runs returns every run, oldest first, with its host's CPU model, its trial count and its
// best trial's costs.
func (s *Store) Runs() ([]RunSummary, error) {
	rows, err := s.db.Query(`SELECT ` + runColsR + `, h.cpu_model,
		(SELECT count(*) FROM trials t WHERE t.run_id = r.id),
		coalesce(b.cost_per_hour, 0), coalesce(b.cost_per_million, 0)
		FROM runs r JOIN hosts h ON h.id = r.host_id
		LEFT JOIN trials b ON b.id = r.best_trial_id
		ORDER BY r.started_at, r.id`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		var rs RunSummary
		rs.Run, err = scanRun(rows, &rs.CPUModel, &rs.Trials, &rs.BestCostPerHour, &rs.BestCostPerMillion)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, rs)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}
