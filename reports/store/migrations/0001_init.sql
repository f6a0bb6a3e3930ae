-- 0001: the first schema. Timestamps are TEXT in UTC, RFC 3339 with nine fraction digits
-- (fixed width, so they sort as text). Durations are REAL milliseconds (budget_ms is an
-- INTEGER) and lag_p99_us REAL microseconds. JSON columns are NULL or valid JSON.

-- 'INFT': marks the file as an infertune database.
PRAGMA application_id = 1229866580;

CREATE TABLE hosts (
    id             INTEGER PRIMARY KEY,
    fingerprint    TEXT    NOT NULL UNIQUE,
    cpu_model      TEXT    NOT NULL DEFAULT '',
    cores          INTEGER NOT NULL DEFAULT 0,
    isa_flags      TEXT    NOT NULL DEFAULT '',
    memory_bytes   INTEGER NOT NULL DEFAULT 0,
    os             TEXT    NOT NULL DEFAULT '',
    go_version     TEXT    NOT NULL DEFAULT '',
    binary_version TEXT    NOT NULL DEFAULT '',
    build_flags    TEXT    NOT NULL DEFAULT '',
    first_seen     TEXT    NOT NULL
) STRICT;

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    -- origin identifies a run across databases: random at creation, copied by import.
    origin        TEXT    NOT NULL UNIQUE,
    host_id       INTEGER NOT NULL REFERENCES hosts (id),
    workload      TEXT    NOT NULL DEFAULT '',
    slos          TEXT    NOT NULL DEFAULT '',
    space         TEXT    CHECK (space IS NULL OR json_valid(space)),
    strategy      TEXT    NOT NULL DEFAULT '',
    budget_ms     INTEGER NOT NULL DEFAULT 0,
    seed          INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL
                  CHECK (status IN ('running', 'done', 'interrupted', 'cut_short', 'failed')),
    pid           INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT    NOT NULL,
    ended_at      TEXT,
    best_trial_id INTEGER REFERENCES trials (id) ON DELETE SET NULL,
    summary       TEXT    CHECK (summary IS NULL OR json_valid(summary))
) STRICT;

CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_host ON runs (host_id);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE trials (
    id                     INTEGER PRIMARY KEY,
    run_id                 INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    config_key             TEXT    NOT NULL,
    config                 TEXT    CHECK (config IS NULL OR json_valid(config)),
    status                 TEXT    NOT NULL
                           CHECK (status IN ('running', 'done', 'pruned', 'failed')),
    capacity_rps           REAL    NOT NULL DEFAULT 0,
    p50_ms                 REAL    NOT NULL DEFAULT 0,
    p99_ms                 REAL    NOT NULL DEFAULT 0,
    cost_per_hour          REAL    NOT NULL DEFAULT 0,
    cost_per_million       REAL    NOT NULL DEFAULT 0,
    replicas               INTEGER NOT NULL DEFAULT 0,
    verdict                TEXT    NOT NULL DEFAULT '',
    predicted_capacity_rps REAL    NOT NULL DEFAULT 0,
    note                   TEXT    NOT NULL DEFAULT '',
    started_at             TEXT    NOT NULL,
    ended_at               TEXT,
    UNIQUE (run_id, config_key)
) STRICT;

CREATE TABLE probes (
    id             INTEGER PRIMARY KEY,
    trial_id       INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    rate_rps       REAL    NOT NULL DEFAULT 0,
    arrival        TEXT    NOT NULL DEFAULT '',
    window_ms      REAL    NOT NULL DEFAULT 0,
    sent           INTEGER NOT NULL DEFAULT 0,
    ok             INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,
    rejects        INTEGER NOT NULL DEFAULT 0,
    timeouts       INTEGER NOT NULL DEFAULT 0,
    drops          INTEGER NOT NULL DEFAULT 0,
    cut            INTEGER NOT NULL DEFAULT 0,
    late_fraction  REAL    NOT NULL DEFAULT 0,
    lag_p99_us     REAL    NOT NULL DEFAULT 0,
    mean_ms        REAL    NOT NULL DEFAULT 0,
    p50_ms         REAL    NOT NULL DEFAULT 0,
    p90_ms         REAL    NOT NULL DEFAULT 0,
    p95_ms         REAL    NOT NULL DEFAULT 0,
    p99_ms         REAL    NOT NULL DEFAULT 0,
    p999_ms        REAL    NOT NULL DEFAULT 0,
    max_ms         REAL    NOT NULL DEFAULT 0,
    achieved_rps   REAL    NOT NULL DEFAULT 0,
    valid          INTEGER NOT NULL CHECK (valid IN (0, 1)),
    invalid_reason TEXT    NOT NULL DEFAULT '',
    verdict        TEXT    NOT NULL DEFAULT '',
    histogram      BLOB,
    started_at     TEXT    NOT NULL
) STRICT;

CREATE INDEX probes_trial ON probes (trial_id, seq);

CREATE TABLE fidelity (
    model       TEXT    NOT NULL,
    precision   TEXT    NOT NULL,
    seed        INTEGER NOT NULL,
    inputs      INTEGER NOT NULL,
    top1        REAL    NOT NULL,
    kld         REAL    NOT NULL,
    measured_at TEXT    NOT NULL,
    PRIMARY KEY (model, precision, seed, inputs)
) STRICT;
