// Package store keeps infertune's results in one SQLite file: the hosts that measured,
// the tuning runs, their trials (one per configuration), the trials' probes (one per
// measurement window, with the encoded latency histogram) and model fidelity
// measurements.
//
// # Ownership
//
// store is the only package that imports the SQLite driver (modernc.org/sqlite, pure Go)
// or writes SQL. It imports nothing else of this module: callers hand it plain values
// (Host, Run, Trial, Probe, Fidelity) and get plain values back.
//
// # Opening
//
// Open uses WAL, a 5 s busy timeout, foreign keys, synchronous=FULL and a single
// connection (SQLite has one writer at a time; transactions begin IMMEDIATE). The schema
// comes from the numbered files in migrations/, embedded in the binary; each is applied
// in its own transaction together with the new PRAGMA user_version, which is the schema
// version. Migration 0001 also sets PRAGMA application_id to 'INFT'.
//
// Before writing anything Open reads the file read-only and refuses, leaving it as it is:
//   - a file that is not SQLite, or a SQLite database of another application (a foreign
//     application_id, or tables without ours): ErrNotInfertune;
//   - a database whose user_version is newer than this binary's migrations:
//     ErrNewerSchema.
//
// A missing or empty file becomes a new database. Callers map both errors to exit code 2.
//
// # Schema
//
//	hosts    (id, fingerprint UNIQUE, cpu_model, cores, isa_flags, memory_bytes, os,
//	          go_version, binary_version, build_flags, first_seen)
//	runs     (id, origin UNIQUE, host_id → hosts, workload, slos, space JSON, strategy,
//	          budget_ms, seed, status, pid, started_at, ended_at, best_trial_id → trials,
//	          summary JSON)
//	trials   (id, run_id → runs ON DELETE CASCADE, config_key, config JSON, status,
//	          capacity_rps, p50_ms, p99_ms, cost_per_hour, cost_per_million, replicas,
//	          verdict, predicted_capacity_rps, note, started_at, ended_at,
//	          UNIQUE (run_id, config_key))
//	probes   (id, trial_id → trials ON DELETE CASCADE, seq, rate_rps, arrival, window_ms,
//	          sent, ok, errors, rejects, timeouts, drops, cut, late_fraction, lag_p99_us,
//	          mean_ms … max_ms, achieved_rps, valid, invalid_reason, verdict,
//	          histogram BLOB, started_at)
//	fidelity (model, precision, seed, inputs, top1, kld, measured_at,
//	          PRIMARY KEY (model, precision, seed, inputs))
//
// Tables are STRICT. Timestamps are TEXT, UTC, RFC 3339 with nine fraction digits (fixed
// width, so text order is time order); NULL is the zero time.Time. Durations are REAL
// milliseconds (lag_p99_us: microseconds; budget_ms: INTEGER, whole milliseconds) and
// round-trip to the nanosecond. Seeds (uint64) are stored as the int64 of the same bits.
// JSON columns hold NULL ("" in Go) or valid JSON.
//
// # Durability
//
// Every write method commits before it returns. AddProbe is one transaction per probe,
// so a crash, a kill or Ctrl-C loses at most the probe in flight; with synchronous=FULL a
// committed probe survives a power cut too. The run left behind stays 'running' until the
// next Open, which marks runs of dead processes interrupted (see MarkAbandoned); the
// resuming process calls ResumeRun and skips the configurations whose trial TrialByKey
// finds finished.
//
// # Import
//
// Import merges another infertune database: hosts are deduplicated by fingerprint, runs
// by origin (a random id given at CreateRun and kept by every import), so importing the
// same file twice adds nothing the second time.
package store
