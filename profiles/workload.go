package profiles

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Model architectures a workload can name.
const (
	// ArchEncoder is a transformer encoder that reads a sequence of tokens and classifies it.
	ArchEncoder = "encoder"
	// ArchMLP is a multilayer perceptron that reads a vector of features.
	ArchMLP = "mlp"
)

// Arrival processes a workload's defaults can name.
const (
	// ArrivalPoisson sends at exponentially distributed gaps with mean 1/rate.
	ArrivalPoisson = "poisson"
	// ArrivalConstant sends at fixed gaps of 1/rate.
	ArrivalConstant = "constant"
	// ArrivalClosed keeps Concurrency requests in flight, each sent when one finishes.
	ArrivalClosed = "closed"
)

// arches lists the model architectures.
func arches() []string { return []string{ArchEncoder, ArchMLP} }

// presets lists the model presets an architecture accepts; none for an unknown one.
func presets(arch string) []string {
	switch arch {
	case ArchEncoder:
		return []string{"tiny", "s15m", "s42m", "s110m"}
	case ArchMLP:
		return []string{"mlp"}
	}
	return nil
}

// precisions are the weight × activation precisions of the engine (DESIGN.md, Engine).
func precisions() []string { return []string{"fp32", "fp16", "bf16", "int8", "int4"} }

func arrivals() []string { return []string{ArrivalPoisson, ArrivalConstant, ArrivalClosed} }

// Workload is a model plus the shape of its traffic: what the requests hold and the
// defaults a run starts from. Its YAML keys are given beside each field.
type Workload struct {
	// Name names the workload (name); it is the file's name without .yaml.
	Name string
	// Description says in one line what the workload models (description).
	Description string
	// Model is the model that serves the requests (model).
	Model ModelRef
	// Input is what one request holds (input).
	Input Input
	// Defaults are the settings a run starts from (defaults).
	Defaults Defaults
	// Source is the name of the file the workload was read from, such as
	// workloads/classify.yaml, and Raw its text as written.
	Source string
	Raw    []byte
}

// ModelRef names a model: an architecture and one of its presets.
type ModelRef struct {
	// Arch is the architecture (model.arch): ArchEncoder or ArchMLP.
	Arch string
	// Preset is the size preset (model.preset): tiny, s15m, s42m or s110m for an encoder;
	// mlp for an MLP.
	Preset string
}

// Input is what one request holds: token lengths for an encoder, a feature count for an
// MLP. Exactly one is set.
type Input struct {
	// Tokens is the distribution of request lengths in tokens (input.tokens); encoder only.
	Tokens *TokenLengths
	// Features is the length of each request's feature vector (input.features); MLP only.
	Features int
}

// TokenLengths is a distribution of request lengths in tokens: a shifted exponential with
// the given mean, clipped at Max (see Draw).
type TokenLengths struct {
	// Min and Max bound the lengths (input.tokens.min, input.tokens.max); 1 <= Min <= Max.
	Min int
	Max int
	// Mean is the mean before clipping (input.tokens.mean); Min <= Mean <= Max.
	Mean float64
}

// Draw returns a request length: Min plus an exponential draw with mean Mean-Min, rounded
// to the nearest whole number and clipped to Max. Clipping moves the mean of the draws
// slightly below Mean: with m = Mean-Min it is Min + m(1 - e^{-(Max-Min)/m}), rounding
// aside. Lengths that do not validate (Mean not above Min) give Min.
func (t TokenLengths) Draw(r *rand.Rand) int {
	m := t.Mean - float64(t.Min)
	if !(m > 0) {
		return t.Min
	}
	v := float64(t.Min) + r.ExpFloat64()*m
	if v >= float64(t.Max) {
		return t.Max
	}
	return int(math.Round(v))
}

// Defaults are the settings a run of a workload starts from; flags and the tuner's search
// space override them.
type Defaults struct {
	// Precision is the weight × activation precision (precision): fp32, fp16, bf16, int8
	// or int4.
	Precision string
	// Threads is the number of inference threads (threads); 0 uses every CPU.
	Threads int
	// MaxBatch is the most requests the batcher puts in one batch (max_batch).
	MaxBatch int
	// MaxQueueDelay is the longest the batcher holds a request while a batch fills
	// (max_queue_delay).
	MaxQueueDelay time.Duration
	// MaxQueue is the most requests waiting; beyond it requests are rejected (max_queue).
	MaxQueue int
	// RequestsPerSec is the offered load of an open-loop arrival process (rate).
	RequestsPerSec float64
	// Arrival is the arrival process (arrival): ArrivalPoisson, ArrivalConstant or
	// ArrivalClosed.
	Arrival string
	// Concurrency is the number of requests a closed loop keeps in flight (concurrency).
	Concurrency int
	// Duration is the measurement window of one probe (duration).
	Duration time.Duration
	// Warmup is the unrecorded lead-in before the window (warmup).
	Warmup time.Duration
}

// nameRE is what a profile name may be: it is also a file name and a command-line word.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Validate checks the workload and returns every problem at once, joined; each is a
// *FieldError naming the YAML key, the value and what is accepted.
func (w Workload) Validate() error {
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Value: value, Problem: fmt.Sprintf(format, args...)})
	}
	itoa := strconv.Itoa
	ftoa := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

	if !nameRE.MatchString(w.Name) {
		bad("name", w.Name, "%saccepted: a lowercase letter, then up to 62 lowercase letters, digits or dashes, such as classify", missing(w.Name))
	}
	if strings.TrimSpace(w.Description) == "" {
		bad("description", "", "missing; accepted: one line saying what the workload models")
	}

	if ps := presets(w.Model.Arch); ps == nil {
		bad("model.arch", w.Model.Arch, "%s; accepted: %s", unknown(w.Model.Arch, "architecture"), strings.Join(arches(), ", "))
	} else if !slices.Contains(ps, w.Model.Preset) {
		bad("model.preset", w.Model.Preset, "%s for arch %s; accepted: %s", unknown(w.Model.Preset, "preset"), w.Model.Arch, strings.Join(ps, ", "))
	}

	in := w.Input
	switch w.Model.Arch {
	case ArchEncoder:
		if in.Features != 0 {
			bad("input.features", itoa(in.Features), "not read by arch %s, whose requests are tokens; accepted: no features key", ArchEncoder)
		}
		t := in.Tokens
		if t == nil {
			bad("input.tokens", "", "missing; arch %s needs the request lengths, such as {min: 16, max: 256, mean: 64}", ArchEncoder)
			break
		}
		if t.Min < 1 {
			bad("input.tokens.min", itoa(t.Min), "accepted: a whole number of tokens, at least 1")
		}
		if t.Max < t.Min || t.Max < 1 {
			bad("input.tokens.max", itoa(t.Max), "accepted: a whole number of tokens, at least min (%d) and at least 1", t.Min)
		} else if !(float64(t.Min) <= t.Mean && t.Mean <= float64(t.Max)) {
			bad("input.tokens.mean", ftoa(t.Mean), "accepted: a number from min (%d) to max (%d)", t.Min, t.Max)
		}
	case ArchMLP:
		if in.Tokens != nil {
			bad("input.tokens", "", "not read by arch %s, whose requests are feature vectors; accepted: no tokens key", ArchMLP)
		}
		if in.Features < 1 {
			bad("input.features", itoa(in.Features), "accepted: the length of a request's feature vector, at least 1")
		}
	}

	d := w.Defaults
	if !slices.Contains(precisions(), d.Precision) {
		bad("defaults.precision", d.Precision, "%s; accepted: %s", unknown(d.Precision, "precision"), strings.Join(precisions(), ", "))
	}
	if d.Threads < 0 {
		bad("defaults.threads", itoa(d.Threads), "accepted: 0 (every CPU) or a number of threads above 0")
	}
	if d.MaxBatch < 1 {
		bad("defaults.max_batch", itoa(d.MaxBatch), "accepted: a number of requests, at least 1")
	}
	if d.MaxQueueDelay < 0 {
		bad("defaults.max_queue_delay", d.MaxQueueDelay.String(), "accepted: a duration of 0 or more, such as 2ms")
	}
	if d.MaxQueue < 1 {
		bad("defaults.max_queue", itoa(d.MaxQueue), "accepted: a number of requests, at least 1")
	}
	if !(d.RequestsPerSec > 0) || math.IsInf(d.RequestsPerSec, 0) {
		bad("defaults.rate", ftoa(d.RequestsPerSec), "accepted: requests per second above 0, such as 40")
	}
	if !slices.Contains(arrivals(), d.Arrival) {
		bad("defaults.arrival", d.Arrival, "%s; accepted: %s", unknown(d.Arrival, "arrival process"), strings.Join(arrivals(), ", "))
	}
	switch {
	case d.Arrival == ArrivalClosed && d.Concurrency < 1:
		bad("defaults.concurrency", itoa(d.Concurrency), "arrival %s needs requests in flight; accepted: at least 1", ArrivalClosed)
	case d.Concurrency < 0:
		bad("defaults.concurrency", itoa(d.Concurrency), "accepted: a number of requests, 0 or more")
	}
	if d.Duration <= 0 {
		bad("defaults.duration", d.Duration.String(), "accepted: a duration above 0, such as 20s")
	}
	if d.Warmup < 0 {
		bad("defaults.warmup", d.Warmup.String(), "accepted: a duration of 0 or more, such as 2s")
	}
	return errors.Join(errs...)
}

// unknown says why a value is not among those accepted: it is missing, or an unknown what.
func unknown(value, what string) string {
	if value == "" {
		return "missing"
	}
	return "unknown " + what
}

// missing starts the problem of a required value that is empty.
func missing(value string) string {
	if value == "" {
		return "missing; "
	}
	return ""
}

// rawWorkload is a workload file as decoded, before durations are read and values checked.
type rawWorkload struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Model       rawModel    `yaml:"model"`
	Input       rawInput    `yaml:"input"`
	Defaults    rawDefaults `yaml:"defaults"`
}

type rawModel struct {
	Arch   string `yaml:"arch"`
	Preset string `yaml:"preset"`
}

type rawInput struct {
	Tokens   *rawTokens  `yaml:"tokens"`
	Features wholeNumber `yaml:"features"`
}

type rawTokens struct {
	Min  wholeNumber `yaml:"min"`
	Max  wholeNumber `yaml:"max"`
	Mean float64     `yaml:"mean"`
}

type rawDefaults struct {
	Precision     string       `yaml:"precision"`
	Threads       wholeNumber  `yaml:"threads"`
	MaxBatch      wholeNumber  `yaml:"max_batch"`
	MaxQueueDelay durationText `yaml:"max_queue_delay"`
	MaxQueue      wholeNumber  `yaml:"max_queue"`
	Rate          float64      `yaml:"rate"`
	Arrival       string       `yaml:"arrival"`
	Concurrency   wholeNumber  `yaml:"concurrency"`
	Duration      durationText `yaml:"duration"`
	Warmup        durationText `yaml:"warmup"`
}

// Parse decodes a workload file strictly and validates it. name names the file in errors
// and becomes the workload's Source; data is its text, kept as Raw. Every problem is
// reported, one per joined error, each starting with name and naming the key.
func Parse(name string, data []byte) (Workload, error) {
	var r rawWorkload
	if err := decodeStrict(data, &r); err != nil {
		return Workload{}, inFile(name, err)
	}
	var errs []error
	d := r.Defaults
	w := Workload{
		Name:        r.Name,
		Description: r.Description,
		Model:       ModelRef{Arch: r.Model.Arch, Preset: r.Model.Preset},
		Input:       Input{Features: int(r.Input.Features)},
		Defaults: Defaults{
			Precision:      d.Precision,
			Threads:        int(d.Threads),
			MaxBatch:       int(d.MaxBatch),
			MaxQueueDelay:  parseDuration("defaults.max_queue_delay", d.MaxQueueDelay, &errs),
			MaxQueue:       int(d.MaxQueue),
			RequestsPerSec: d.Rate,
			Arrival:        d.Arrival,
			Concurrency:    int(d.Concurrency),
			Duration:       parseDuration("defaults.duration", d.Duration, &errs),
			Warmup:         parseDuration("defaults.warmup", d.Warmup, &errs),
		},
		Source: name,
		Raw:    slices.Clone(data),
	}
	if t := r.Input.Tokens; t != nil {
		w.Input.Tokens = &TokenLengths{Min: int(t.Min), Max: int(t.Max), Mean: t.Mean}
	}
	// A duration that did not parse is reported once, not again as out of range.
	reported := map[string]bool{}
	for _, e := range errs {
		if fe, ok := errors.AsType[*FieldError](e); ok {
			reported[fe.Key] = true
		}
	}
	for _, e := range unjoin(w.Validate()) {
		if fe, ok := errors.AsType[*FieldError](e); !ok || !reported[fe.Key] {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return Workload{}, inFile(name, errors.Join(errs...))
	}
	return w, nil
}

// clone returns a copy of w that shares no memory with it.
func (w Workload) clone() Workload {
	if w.Input.Tokens != nil {
		t := *w.Input.Tokens
		w.Input.Tokens = &t
	}
	w.Raw = slices.Clone(w.Raw)
	return w
}
