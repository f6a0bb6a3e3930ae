package store

import (
	"database/sql"
	"math"
	"time"
)

// Statuses of runs and trials. A run is running, then done, interrupted, cut_short or
// failed; a trial is running, then done, pruned or failed.
const (
	StatusRunning     = "running"
	StatusDone        = "done"
	StatusInterrupted = "interrupted"
	StatusCutShort    = "cut_short"
	StatusFailed      = "failed"
	StatusPruned      = "pruned"
)

// Host is the machine and build a run measured: one row per fingerprint.
type Host struct {
	ID int64
	// Fingerprint identifies the host; the caller derives it from the other fields.
	Fingerprint   string
	CPUModel      string
	Cores         int
	ISAFlags      string
	MemoryBytes   int64
	OS            string
	GoVersion     string
	BinaryVersion string
	BuildFlags    string
	// FirstSeen is when the host was first stored (set by UpsertHost when zero).
	FirstSeen time.Time
}

// Run is one tuning run.
type Run struct {
	ID int64
	// Origin identifies the run across databases: random at CreateRun, kept by Import.
	Origin   string
	HostID   int64
	Workload string
	SLOs     string
	// Space is the search space as JSON ("" for none).
	Space    string
	Strategy string
	// Budget is stored in whole milliseconds.
	Budget time.Duration
	Seed   uint64
	Status string
	// PID is the process that ran (or runs) the run, on its host.
	PID       int
	StartedAt time.Time
	// EndedAt is zero while the run is running.
	EndedAt time.Time
	// BestTrialID is 0 when there is no best trial.
	BestTrialID int64
	// Summary is JSON ("" for none).
	Summary string
}

// RunSummary is a run with what a listing shows beside it.
type RunSummary struct {
	Run
	CPUModel string
	// Trials counts the run's trials.
	Trials int
	// BestCostPerHour and BestCostPerMillion are the best trial's costs (0 without one).
	BestCostPerHour, BestCostPerMillion float64
}

// Trial is one configuration tried in a run; ConfigKey is unique within the run.
type Trial struct {
	ID        int64
	RunID     int64
	ConfigKey string
	// Config is the configuration as JSON ("" for none).
	Config                      string
	Status                      string
	CapacityRPS                 float64
	P50, P99                    time.Duration
	CostPerHour, CostPerMillion float64
	Replicas                    int
	Verdict                     string
	PredictedCapacityRPS        float64
	Note                        string
	// Generation: TTFT and TPOT p99 at capacity, output tokens/s there and the price of a
	// million output tokens (zero for request/response trials).
	TTFTP99, TPOTP99     time.Duration
	TokensPerSec         float64
	CostPerMillionTokens float64
	StartedAt            time.Time
	// EndedAt is zero while the trial is running.
	EndedAt time.Time
}

// Probe is one measurement window of a trial at one offered rate.
type Probe struct {
	ID      int64
	TrialID int64
	Seq     int
	RateRPS float64
	Arrival string
	Window  time.Duration
	// Sent counts intended sends; each ends as one of OK, Errors, Rejects, Timeouts,
	// Drops or Cut.
	Sent, OK, Errors, Rejects, Timeouts, Drops, Cut int64
	LateFraction                                    float64
	// LagP99 is stored in microseconds, the latencies in milliseconds, all as REAL.
	LagP99                              time.Duration
	Mean, P50, P90, P95, P99, P999, Max time.Duration
	AchievedRPS                         float64
	Valid                               bool
	InvalidReason                       string
	Verdict                             string
	// Histogram is the encoded latency histogram, stored as it is.
	Histogram []byte
	// Generation: TTFT and TPOT p99 and the output tokens of the window.
	TTFTP99, TPOTP99 time.Duration
	OutputTokens     int64
	StartedAt        time.Time
}

// Fidelity is how faithfully a model at a precision reproduces the reference, measured on
// inputs seeded evaluation inputs.
type Fidelity struct {
	Model      string
	Precision  string
	Seed       uint64
	Inputs     int
	Top1       float64
	KLD        float64
	MeasuredAt time.Time
}

// timeLayout is how timestamps are stored: UTC, fixed width, so that text order is time
// order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// ts formats t for storage; the zero time is NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// parseTS reads a stored timestamp; NULL is the zero time.
func parseTS(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s.String)
}

// now is the current time as stored (no monotonic reading, UTC).
func now() time.Time { return time.Now().UTC().Round(0) }

// ms converts d to the milliseconds stored in REAL columns.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fromMS converts stored milliseconds back to a Duration (exact for whole nanoseconds
// under about 100 days).
func fromMS(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }

// us and fromUS do the same for microseconds.
func us(d time.Duration) float64     { return float64(d) / float64(time.Microsecond) }
func fromUS(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Microsecond))) }

// nullText stores "" as NULL.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullID stores 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
