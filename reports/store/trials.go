package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

const trialCols = `id, run_id, config_key, config, status, capacity_rps, p50_ms, p99_ms,
	cost_per_hour, cost_per_million, replicas, verdict, predicted_capacity_rps, note,
	ttft_p99_ms, tpot_p99_ms, tokens_per_s, cost_per_million_tokens, started_at, ended_at`

func scanTrial(sc scanner) (Trial, error) {
	var t Trial
	var config, started, ended sql.NullString
	var p50, p99, ttft, tpot float64
	err := sc.Scan(&t.ID, &t.RunID, &t.ConfigKey, &config, &t.Status, &t.CapacityRPS, &p50, &p99,
		&t.CostPerHour, &t.CostPerMillion, &t.Replicas, &t.Verdict, &t.PredictedCapacityRPS,
		&t.Note, &ttft, &tpot, &t.TokensPerSec, &t.CostPerMillionTokens, &started, &ended)
	if err != nil {
		return Trial{}, err
	}
	t.Config = config.String
	t.P50, t.P99 = fromMS(p50), fromMS(p99)
	t.TTFTP99, t.TPOTP99 = fromMS(ttft), fromMS(tpot)
	if t.StartedAt, err = parseTS(started); err != nil {
		return Trial{}, err
	}
	if t.EndedAt, err = parseTS(ended); err != nil {
		return Trial{}, err
	}
	return t, nil
}

// trialStatuses lists the statuses of a trial.
var trialStatuses = []string{StatusRunning, StatusDone, StatusPruned, StatusFailed}

// AddTrial stores t (Status defaults to running, StartedAt to now) and returns its id. A
// run holds one trial per ConfigKey: use TrialByKey first when resuming.
func (s *Store) AddTrial(t Trial) (int64, error) {
	if t.Status == "" {
		t.Status = StatusRunning
	}
	if !oneOf(t.Status, trialStatuses) {
		return 0, fmt.Errorf("add trial %q: status %q, want one of %q", t.ConfigKey, t.Status, trialStatuses)
	}
	if t.ConfigKey == "" {
		return 0, errors.New("add trial: empty config key")
	}
	if err := checkJSON("config", t.Config); err != nil {
		return 0, fmt.Errorf("add trial %q: %w", t.ConfigKey, err)
	}
	if t.StartedAt.IsZero() {
		t.StartedAt = now()
	}
	id, err := insertTrial(s.db, t)
	if err != nil {
		return 0, fmt.Errorf("add trial %q to run %d: %w", t.ConfigKey, t.RunID, err)
	}
	return id, nil
}

// rowQuerier is a *sql.DB or *sql.Tx.
type rowQuerier interface {
	QueryRow(query string, args ...any) *sql.Row
}

// insertTrial stores t as it is and returns its new id.
func insertTrial(q rowQuerier, t Trial) (int64, error) {
	var id int64
	err := q.QueryRow(`INSERT INTO trials (run_id, config_key, config, status, capacity_rps,
		p50_ms, p99_ms, cost_per_hour, cost_per_million, replicas, verdict,
		predicted_capacity_rps, note, ttft_p99_ms, tpot_p99_ms, tokens_per_s,
		cost_per_million_tokens, started_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.RunID, t.ConfigKey, nullText(t.Config), t.Status, t.CapacityRPS, ms(t.P50), ms(t.P99),
		t.CostPerHour, t.CostPerMillion, t.Replicas, t.Verdict, t.PredictedCapacityRPS, t.Note,
		ms(t.TTFTP99), ms(t.TPOTP99), t.TokensPerSec, t.CostPerMillionTokens,
		ts(t.StartedAt), ts(t.EndedAt)).Scan(&id)
	return id, err
}

// FinishTrial records the outcome of trial t.ID: its status (done, pruned or failed),
// measurements, costs, verdict and note; EndedAt defaults to now. RunID, ConfigKey,
// Config and StartedAt are not changed.
func (s *Store) FinishTrial(t Trial) error {
	if !oneOf(t.Status, trialStatuses[1:]) {
		return fmt.Errorf("finish trial %d: status %q, want one of %q", t.ID, t.Status, trialStatuses[1:])
	}
	if t.EndedAt.IsZero() {
		t.EndedAt = now()
	}
	res, err := s.db.Exec(`UPDATE trials SET status = ?, capacity_rps = ?, p50_ms = ?, p99_ms = ?,
		cost_per_hour = ?, cost_per_million = ?, replicas = ?, verdict = ?,
		predicted_capacity_rps = ?, note = ?, ttft_p99_ms = ?, tpot_p99_ms = ?, tokens_per_s = ?,
		cost_per_million_tokens = ?, ended_at = ? WHERE id = ?`,
		t.Status, t.CapacityRPS, ms(t.P50), ms(t.P99), t.CostPerHour, t.CostPerMillion,
		t.Replicas, t.Verdict, t.PredictedCapacityRPS, t.Note, ms(t.TTFTP99), ms(t.TPOTP99),
		t.TokensPerSec, t.CostPerMillionTokens, ts(t.EndedAt), t.ID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return fmt.Errorf("finish trial %d: %w", t.ID, err)
	}
	return nil
}

// ResetTrial makes trial id running again from scratch, for a resumed run that finds it
// unfinished: its probes are deleted, its results cleared and StartedAt set to now.
func (s *Store) ResetTrial(id int64) error {
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE trials SET status = ?, capacity_rps = 0, p50_ms = 0,
			p99_ms = 0, cost_per_hour = 0, cost_per_million = 0, replicas = 0, verdict = '',
			predicted_capacity_rps = 0, note = '', ttft_p99_ms = 0, tpot_p99_ms = 0,
			tokens_per_s = 0, cost_per_million_tokens = 0, started_at = ?, ended_at = NULL
			WHERE id = ?`, StatusRunning, ts(now()), id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM probes WHERE trial_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset trial %d: %w", id, err)
	}
	return nil
}

// TrialByKey returns the trial of run runID with config key, and whether there is one.
// A resumed run skips the keys whose trial is not running.
func (s *Store) TrialByKey(runID int64, key string) (Trial, bool, error) {
	t, err := scanTrial(s.db.QueryRow(`SELECT `+trialCols+` FROM trials
		WHERE run_id = ? AND config_key = ?`, runID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Trial{}, false, nil
	}
	if err != nil {
		return Trial{}, false, fmt.Errorf("trial %q of run %d: %w", key, runID, err)
	}
	return t, true, nil
}

// Trials returns the trials of run runID in the order they were added.
func (s *Store) Trials(runID int64) ([]Trial, error) {
	out, err := trials(s.db, runID)
	if err != nil {
		return nil, fmt.Errorf("trials of run %d: %w", runID, err)
	}
	return out, nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
}

func trials(q querier, runID int64) ([]Trial, error) {
	rows, err := q.Query(`SELECT `+trialCols+` FROM trials WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Trial
	for rows.Next() {
		t, err := scanTrial(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

const probeCols = `id, trial_id, seq, rate_rps, arrival, window_ms, sent, ok, errors, rejects,
	timeouts, drops, cut, late_fraction, lag_p99_us, mean_ms, p50_ms, p90_ms, p95_ms, p99_ms,
	p999_ms, max_ms, achieved_rps, valid, invalid_reason, verdict, histogram, ttft_p99_ms,
	tpot_p99_ms, output_tokens, started_at`

func scanProbe(sc scanner) (Probe, error) {
	var p Probe
	var window, lag, mean, p50, p90, p95, p99, p999, maxMS, ttft, tpot float64
	var started sql.NullString
	err := sc.Scan(&p.ID, &p.TrialID, &p.Seq, &p.RateRPS, &p.Arrival, &window, &p.Sent, &p.OK,
		&p.Errors, &p.Rejects, &p.Timeouts, &p.Drops, &p.Cut, &p.LateFraction, &lag, &mean,
		&p50, &p90, &p95, &p99, &p999, &maxMS, &p.AchievedRPS, &p.Valid, &p.InvalidReason,
		&p.Verdict, &p.Histogram, &ttft, &tpot, &p.OutputTokens, &started)
	if err != nil {
		return Probe{}, err
	}
	p.Window, p.LagP99 = fromMS(window), fromUS(lag)
	p.Mean, p.P50, p.P90, p.P95 = fromMS(mean), fromMS(p50), fromMS(p90), fromMS(p95)
	p.P99, p.P999, p.Max = fromMS(p99), fromMS(p999), fromMS(maxMS)
	p.TTFTP99, p.TPOTP99 = fromMS(ttft), fromMS(tpot)
	p.StartedAt, err = parseTS(started)
	return p, err
}

// probeInsert stores a probe; its arguments come from probeArgs.
const probeInsert = `INSERT INTO probes (trial_id, seq, rate_rps, arrival, window_ms, sent, ok,
	errors, rejects, timeouts, drops, cut, late_fraction, lag_p99_us, mean_ms, p50_ms, p90_ms,
	p95_ms, p99_ms, p999_ms, max_ms, achieved_rps, valid, invalid_reason, verdict, histogram,
	ttft_p99_ms, tpot_p99_ms, output_tokens, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
	?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

func probeArgs(p Probe) []any {
	return []any{p.TrialID, p.Seq, p.RateRPS, p.Arrival, ms(p.Window), p.Sent, p.OK, p.Errors,
		p.Rejects, p.Timeouts, p.Drops, p.Cut, p.LateFraction, us(p.LagP99), ms(p.Mean),
		ms(p.P50), ms(p.P90), ms(p.P95), ms(p.P99), ms(p.P999), ms(p.Max), p.AchievedRPS,
		boolInt(p.Valid), p.InvalidReason, p.Verdict, p.Histogram, ms(p.TTFTP99), ms(p.TPOTP99),
		p.OutputTokens, ts(p.StartedAt)}
}

// AddProbe stores p (StartedAt defaults to now) and returns its id. The probe is committed
// in its own transaction before AddProbe returns, so a crash afterwards cannot lose it.
func (s *Store) AddProbe(p Probe) (int64, error) {
	if p.StartedAt.IsZero() {
		p.StartedAt = now()
	}
	var id int64
	if err := s.db.QueryRow(probeInsert, probeArgs(p)...).Scan(&id); err != nil {
		return 0, fmt.Errorf("add probe %d of trial %d: %w", p.Seq, p.TrialID, err)
	}
	return id, nil
}

// Probes returns the probes of trial trialID in sequence order.
func (s *Store) Probes(trialID int64) ([]Probe, error) {
	out, err := probes(s.db, trialID)
	if err != nil {
		return nil, fmt.Errorf("probes of trial %d: %w", trialID, err)
	}
	return out, nil
}

func probes(q querier, trialID int64) ([]Probe, error) {
	rows, err := q.Query(`SELECT `+probeCols+` FROM probes WHERE trial_id = ? ORDER BY seq, id`, trialID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Probe
	for rows.Next() {
		p, err := scanProbe(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

const fidelityCols = `model, precision, seed, inputs, top1, kld, measured_at`

func scanFidelity(sc scanner) (Fidelity, error) {
	var f Fidelity
	var seed int64
	var measured sql.NullString
	if err := sc.Scan(&f.Model, &f.Precision, &seed, &f.Inputs, &f.Top1, &f.KLD, &measured); err != nil {
		return Fidelity{}, err
	}
	f.Seed = uint64(seed)
	var err error
	f.MeasuredAt, err = parseTS(measured)
	return f, err
}

// PutFidelity stores f, replacing any measurement with the same model, precision, seed
// and inputs. MeasuredAt defaults to now.
func (s *Store) PutFidelity(f Fidelity) error {
	if f.MeasuredAt.IsZero() {
		f.MeasuredAt = now()
	}
	_, err := s.db.Exec(`INSERT INTO fidelity (`+fidelityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (model, precision, seed, inputs) DO UPDATE SET top1 = excluded.top1,
		kld = excluded.kld, measured_at = excluded.measured_at`,
		f.Model, f.Precision, int64(f.Seed), f.Inputs, f.Top1, f.KLD, ts(f.MeasuredAt))
	if err != nil {
		return fmt.Errorf("put fidelity of %s %s: %w", f.Model, f.Precision, err)
	}
	return nil
}

// Fidelity returns the stored measurement of model at precision with seed and inputs, and
// whether there is one.
func (s *Store) Fidelity(model, precision string, seed uint64, inputs int) (Fidelity, bool, error) {
	f, err := scanFidelity(s.db.QueryRow(`SELECT `+fidelityCols+` FROM fidelity
		WHERE model = ? AND precision = ? AND seed = ? AND inputs = ?`,
		model, precision, int64(seed), inputs))
	if errors.Is(err, sql.ErrNoRows) {
		return Fidelity{}, false, nil
	}
	if err != nil {
		return Fidelity{}, false, fmt.Errorf("fidelity of %s %s: %w", model, precision, err)
	}
	return f, true, nil
}
