package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
)

// ImportStats counts what Import did.
type ImportStats struct {
	// Hosts counts hosts added; the others matched one here by fingerprint.
	Hosts int
	// Runs counts runs added, with Trials and Probes theirs; RunsKnown counts runs skipped
	// because they were here already (same origin).
	Runs, RunsKnown, Trials, Probes int
	// Fidelity counts fidelity measurements added or replaced by newer ones.
	Fidelity int
}

// Import copies the runs (with their trials and probes), hosts and fidelity measurements
// of the infertune database at otherPath into s, in one transaction. otherPath is opened
// read-only and checked as Open checks (ErrNotInfertune, ErrNewerSchema); it must be at
// this binary's schema version (opening it with Open upgrades an older one).
//
// Rows get new ids. Hosts are matched by fingerprint. Runs are matched by origin, the
// random id CreateRun gives a run and Import keeps, so importing the same database twice,
// or a database that imported some of the same runs, adds each run once; a run already
// here is not updated. A run still running in the other database arrives interrupted.
// A fidelity measurement replaces one here with the same key only when it is newer.
func (s *Store) Import(otherPath string) (ImportStats, error) {
	st, err := s.importFrom(otherPath)
	if err != nil {
		return ImportStats{}, fmt.Errorf("import %s: %w", otherPath, err)
	}
	return st, nil
}

func (s *Store) importFrom(path string) (ImportStats, error) {
	known := SchemaVersion()
	info, err := inspect(path, known)
	switch {
	case err != nil:
		return ImportStats{}, err
	case info.missing:
		return ImportStats{}, fmt.Errorf("open %s: %w", path, fs.ErrNotExist)
	case info.fresh:
		return ImportStats{}, notInfertune(path, "it is empty")
	case info.version != known:
		return ImportStats{}, fmt.Errorf("schema version %d is older than this binary's %d: open it once with this binary to upgrade it", info.version, known)
	}
	ro, err := readOnlyDSN(path)
	if err != nil {
		return ImportStats{}, err
	}
	src, err := sql.Open("sqlite", ro)
	if err != nil {
		return ImportStats{}, err
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	ctx := context.Background()
	// One read transaction: a consistent snapshot even if a tune is writing to it.
	in, err := src.BeginTx(ctx, nil)
	if err != nil {
		return ImportStats{}, err
	}
	defer in.Rollback()

	var st ImportStats
	err = s.tx(ctx, func(out *sql.Tx) error {
		hosts, err := collect(in, `SELECT `+hostCols+` FROM hosts ORDER BY id`, scanHost)
		if err != nil {
			return fmt.Errorf("read hosts: %w", err)
		}
		hostIDs := make(map[int64]int64, len(hosts))
		for _, h := range hosts {
			id, added, err := upsertHost(out, h)
			if err != nil {
				return fmt.Errorf("host %q: %w", h.Fingerprint, err)
			}
			hostIDs[h.ID] = id
			if added {
				st.Hosts++
			}
		}
		runs, err := collect(in, `SELECT `+runCols+` FROM runs ORDER BY id`, func(sc scanner) (Run, error) { return scanRun(sc) })
		if err != nil {
			return fmt.Errorf("read runs: %w", err)
		}
		for _, r := range runs {
			var one int
			err := out.QueryRow(`SELECT 1 FROM runs WHERE origin = ?`, r.Origin).Scan(&one)
			if err == nil {
				st.RunsKnown++
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err := importRun(in, out, r, hostIDs[r.HostID], &st); err != nil {
				return fmt.Errorf("run %d: %w", r.ID, err)
			}
		}
		fids, err := collect(in, `SELECT `+fidelityCols+` FROM fidelity`, scanFidelity)
		if err != nil {
			return fmt.Errorf("read fidelity: %w", err)
		}
		for _, f := range fids {
			res, err := out.Exec(`INSERT INTO fidelity (`+fidelityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (model, precision, seed, inputs) DO UPDATE SET top1 = excluded.top1,
				kld = excluded.kld, measured_at = excluded.measured_at
				WHERE excluded.measured_at > fidelity.measured_at`,
				f.Model, f.Precision, int64(f.Seed), f.Inputs, f.Top1, f.KLD, ts(f.MeasuredAt))
			if err != nil {
				return fmt.Errorf("fidelity of %s %s: %w", f.Model, f.Precision, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			st.Fidelity += int(n)
		}
		return nil
	})
	if err != nil {
		return ImportStats{}, err
	}
	return st, nil
}

// importRun copies run r of in, with its trials and probes, into out under host hostID.
func importRun(in, out *sql.Tx, r Run, hostID int64, st *ImportStats) error {
	if r.Status == StatusRunning {
		r.Status = StatusInterrupted
	}
	var runID int64
	err := out.QueryRow(`INSERT INTO runs (origin, host_id, workload, slos, space, strategy,
		budget_ms, seed, status, pid, started_at, ended_at, summary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Origin, hostID, r.Workload, r.SLOs, nullText(r.Space), r.Strategy, r.Budget.Milliseconds(),
		int64(r.Seed), r.Status, r.PID, ts(r.StartedAt), ts(r.EndedAt), nullText(r.Summary)).Scan(&runID)
	if err != nil {
		return err
	}
	st.Runs++
	trs, err := trials(in, r.ID)
	if err != nil {
		return fmt.Errorf("read trials: %w", err)
	}
	var best int64
	for _, t := range trs {
		oldID := t.ID
		t.RunID = runID
		id, err := insertTrial(out, t)
		if err != nil {
			return fmt.Errorf("trial %q: %w", t.ConfigKey, err)
		}
		st.Trials++
		if oldID == r.BestTrialID {
			best = id
		}
		ps, err := probes(in, oldID)
		if err != nil {
			return fmt.Errorf("read probes of trial %d: %w", oldID, err)
		}
		for _, p := range ps {
			p.TrialID = id
			var pid int64
			if err := out.QueryRow(probeInsert, probeArgs(p)...).Scan(&pid); err != nil {
				return fmt.Errorf("probe %d of trial %q: %w", p.Seq, t.ConfigKey, err)
			}
			st.Probes++
		}
	}
	if best != 0 {
		if _, err := out.Exec(`UPDATE runs SET best_trial_id = ? WHERE id = ?`, best, runID); err != nil {
			return err
		}
	}
	return nil
}

// collect runs query on q and scans every row with scan.
func collect[T any](q querier, query string, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.Query(query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
