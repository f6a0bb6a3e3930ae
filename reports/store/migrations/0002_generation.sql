-- Generation: each trial's time to first token and per output token (p99) at its
-- capacity, its output tokens per second there and its price per million output tokens;
-- each probe's TTFT and TPOT p99 and output tokens. Zero for request/response runs.
ALTER TABLE trials ADD COLUMN ttft_p99_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN tpot_p99_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN tokens_per_s REAL NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN cost_per_million_tokens REAL NOT NULL DEFAULT 0;
ALTER TABLE probes ADD COLUMN ttft_p99_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE probes ADD COLUMN tpot_p99_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE probes ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
