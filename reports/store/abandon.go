package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"
)

// processStart is when this process loaded the package: a run recorded with this
// process's PID but started earlier belongs to an earlier process that had the same PID.
// It is set once and never changed.
var processStart = time.Now()

// MarkAbandoned marks as interrupted, ended now, every run left running by a process that
// is gone, and returns how many it marked. Open calls it.
//
// The rule: a running run is abandoned when
//   - its PID is not positive, or
//   - its PID is another process's and that process does not exist (kill(pid, 0) fails
//     with ESRCH; EPERM means it exists), or
//   - its PID is this process's but it started before this process did (a process that
//     had the same PID earlier, as happens in containers).
//
// Runs of this very process are never marked. A dead process's PID reused by an unrelated
// live process keeps its run running until that process ends. On systems without kill
// (not unix) only the first and third cases apply.
func (s *Store) MarkAbandoned() (int, error) {
	var n int
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT id, pid, started_at FROM runs WHERE status = ?`, StatusRunning)
		if err != nil {
			return err
		}
		type running struct {
			id, pid int64
			started sql.NullString
		}
		var all []running
		for rows.Next() {
			var r running
			if err := rows.Scan(&r.id, &r.pid, &r.started); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		self := int64(os.Getpid())
		end := ts(now())
		for _, r := range all {
			started, err := parseTS(r.started)
			if err != nil {
				return fmt.Errorf("run %d: %w", r.id, err)
			}
			switch {
			case r.pid <= 0:
			case r.pid == self && started.Before(processStart):
			case r.pid != self && !alive(int(r.pid)):
			default:
				continue
			}
			if _, err := tx.Exec(`UPDATE runs SET status = ?, ended_at = ? WHERE id = ?`,
				StatusInterrupted, end, r.id); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mark abandoned runs: %w", err)
	}
	return n, nil
}
