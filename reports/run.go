package reports

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/infertune/infertune/reports/store"
	"github.com/infertune/infertune/tuner"
)

// Run is a stored run with its host and trials, as report show and export --format json
// write it.
type Run struct {
	Run    store.Run     `json:"run"`
	Host   store.Host    `json:"host"`
	Trials []store.Trial `json:"trials"`
}

// Load reads run id with its host and trials; an unknown id wraps store.ErrNotFound.
func Load(st *store.Store, id int64) (Run, error) {
	run, err := st.Run(id)
	if err != nil {
		return Run{}, err
	}
	r := Run{Run: run}
	if r.Host, err = st.Host(run.HostID); err != nil {
		return Run{}, err
	}
	if r.Trials, err = st.Trials(id); err != nil {
		return Run{}, err
	}
	return r, nil
}

// Best returns the run's best trial, or nil.
func (r Run) Best() *store.Trial {
	for i := range r.Trials {
		if r.Trials[i].ID == r.Run.BestTrialID {
			return &r.Trials[i]
		}
	}
	return nil
}

// Generation reports whether the run searched generation configs.
func (r Run) Generation() bool {
	for _, t := range r.Trials {
		if c, ok := StoredConfig(t.Config); ok && c.Generation() {
			return true
		}
	}
	return false
}

// StoredConfig reads a trial's stored config (the JSON of a tuner.Config).
func StoredConfig(js string) (tuner.Config, bool) {
	var c tuner.Config
	return c, json.Unmarshal([]byte(js), &c) == nil
}

// ConfigText writes a stored config the way tune prints it.
func ConfigText(js string) string {
	if c, ok := StoredConfig(js); ok {
		return c.String()
	}
	return strings.TrimSpace(js)
}

// Duration writes a duration with three significant digits.
func Duration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d)
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.3gms", ms(d))
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
