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
	// ArchDecoder is a llama-style causal decoder that reads a prompt and generates tokens
	// one at a time, served by a generation batcher (see Defaults.Batching).
	ArchDecoder = "decoder"
)

// Ways a decoder's requests are batched (defaults.batching).
const (
	// BatchingContinuous batches by iteration, as in Orca and vLLM: a sequence joins the
	// running batch as soon as max_seqs, max_batched_tokens and the KV cache allow, and
	// leaves it the iteration it finishes. It is a decoder's default.
	BatchingContinuous = "continuous"
	// BatchingStatic gathers up to max_seqs requests and runs them together until the
	// longest finishes; no request joins a running batch. It is the baseline continuous
	// batching is measured against.
	BatchingStatic = "static"
)

// defaultKVBlockSize is a decoder's kv_block_size when the key is absent: token positions
// per KV cache block, as in vLLM.
const defaultKVBlockSize = 16

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
func arches() []string { return []string{ArchEncoder, ArchMLP, ArchDecoder} }

// presets lists the model presets an architecture accepts; none for an unknown one.
func presets(arch string) []string {
	switch arch {
	case ArchEncoder, ArchDecoder:
		return []string{"tiny", "s15m", "s42m", "s110m"}
	case ArchMLP:
		return []string{"mlp"}
	}
	return nil
}

// precisions are the weight × activation precisions of the engine (DESIGN.md, Engine).
func precisions() []string { return []string{"fp32", "fp16", "bf16", "int8", "int4"} }

func arrivals() []string { return []string{ArrivalPoisson, ArrivalConstant, ArrivalClosed} }

func batchings() []string { return []string{BatchingContinuous, BatchingStatic} }

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
	// Arch is the architecture (model.arch): ArchEncoder, ArchMLP or ArchDecoder.
	Arch string
	// Preset is the size preset (model.preset): tiny, s15m, s42m or s110m for an encoder
	// or a decoder; mlp for an MLP.
	Preset string
}

// Input is what one request holds: token lengths for an encoder, a feature count for an
// MLP, prompt and output lengths for a decoder. Only the arch's own fields are set.
type Input struct {
	// Tokens is the distribution of request lengths in tokens (input.tokens); encoder only.
	Tokens *TokenLengths
	// Features is the length of each request's feature vector (input.features); MLP only.
	Features int
	// Prompt is the distribution of prompt lengths in tokens (input.prompt); decoder only.
	Prompt *TokenLengths
	// Output is the distribution of the number of tokens to generate after the prompt
	// (input.output); decoder only.
	//
	// A prompt and its output together must fit the model's context. The profile names a
	// preset, not its shape, so it cannot check that: the engine does, refusing a request
	// longer than the context.
	Output *TokenLengths
}

// TokenLengths is a distribution of lengths in tokens: a shifted exponential with the given
// mean, clipped at Max (see Draw). It is read at input.tokens, input.prompt and
// input.output; the keys below are under one of them.
type TokenLengths struct {
	// Min and Max bound the lengths (min, max); 1 <= Min <= Max.
	Min int
	Max int
	// Mean is the mean before clipping (mean); Min <= Mean <= Max.
	Mean float64
}

// validate returns a *FieldError for each problem of t, read at the key path key (such as
// input.prompt).
func (t TokenLengths) validate(key string) []error {
	var errs []error
	if t.Min < 1 {
		errs = append(errs, &FieldError{Key: key + ".min", Value: strconv.Itoa(t.Min),
			Problem: "accepted: a whole number of tokens, at least 1"})
	}
	if t.Max < t.Min || t.Max < 1 {
		errs = append(errs, &FieldError{Key: key + ".max", Value: strconv.Itoa(t.Max),
			Problem: fmt.Sprintf("accepted: a whole number of tokens, at least min (%d) and at least 1", t.Min)})
	} else if !(float64(t.Min) <= t.Mean && t.Mean <= float64(t.Max)) {
		errs = append(errs, &FieldError{Key: key + ".mean", Value: strconv.FormatFloat(t.Mean, 'g', -1, 64),
			Problem: fmt.Sprintf("accepted: a number from min (%d) to max (%d)", t.Min, t.Max)})
	}
	return errs
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
//
// An encoder or an MLP is served by a dynamic batcher (MaxBatch, MaxQueueDelay) and takes
// none of the generation settings (Batching to KVBudgetText): one given non-zero (for
// kv_budget, given at all) is refused.
// A decoder is served by a generation batcher (Batching, MaxSeqs, MaxBatchedTokens,
// KVBlockSize, KVBudgetBytes) and has no use for MaxBatch or MaxQueueDelay: they may be
// left out (or given as 0), and a non-zero one is refused. The other settings apply to
// every architecture.
type Defaults struct {
	// Precision is the weight × activation precision (precision): fp32, fp16, bf16, int8
	// or int4.
	Precision string
	// Threads is the number of inference threads (threads); 0 uses every CPU.
	Threads int
	// MaxBatch is the most requests the batcher puts in one batch (max_batch); encoder
	// and MLP only.
	MaxBatch int
	// MaxQueueDelay is the longest the batcher holds a request while a batch fills
	// (max_queue_delay); encoder and MLP only.
	MaxQueueDelay time.Duration
	// Batching is how a decoder's requests are batched (batching): BatchingContinuous or
	// BatchingStatic. Parse sets BatchingContinuous for a decoder when the key is absent or
	// empty.
	Batching string
	// MaxSeqs is the most sequences in a decoder's running batch (max_seqs).
	MaxSeqs int
	// MaxBatchedTokens is the most tokens one iteration feeds a decoder
	// (max_batched_tokens): a decode counts one, a prefill chunk its length.
	MaxBatchedTokens int
	// KVBlockSize is the token positions per block of a decoder's paged KV cache
	// (kv_block_size). Parse sets 16 for a decoder when the key is absent.
	KVBlockSize int
	// KVBudgetBytes is the memory of a decoder's KV cache in bytes (kv_budget), and
	// KVBudgetText the size as written, such as 64MiB (see ParseSize).
	KVBudgetBytes int64
	KVBudgetText  string
	// MaxQueue is the most requests waiting; beyond it requests are rejected (max_queue).
	// For a decoder a request is a sequence.
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
		notGenerated(in, bad, ArchEncoder, "whose requests are tokens (input.tokens) and which generates none")
		t := in.Tokens
		if t == nil {
			bad("input.tokens", "", "missing; arch %s needs the request lengths, such as {min: 16, max: 256, mean: 64}", ArchEncoder)
			break
		}
		errs = append(errs, t.validate("input.tokens")...)
	case ArchMLP:
		if in.Tokens != nil {
			bad("input.tokens", "", "not read by arch %s, whose requests are feature vectors; accepted: no tokens key", ArchMLP)
		}
		notGenerated(in, bad, ArchMLP, "whose requests are feature vectors")
		if in.Features < 1 {
			bad("input.features", itoa(in.Features), "accepted: the length of a request's feature vector, at least 1")
		}
	case ArchDecoder:
		const reads = "whose requests are a prompt (input.prompt) and a number of tokens to generate (input.output)"
		if in.Tokens != nil {
			bad("input.tokens", "", "not read by arch %s, %s; accepted: no tokens key", ArchDecoder, reads)
		}
		if in.Features != 0 {
			bad("input.features", itoa(in.Features), "not read by arch %s, %s; accepted: no features key", ArchDecoder, reads)
		}
		if in.Prompt == nil {
			bad("input.prompt", "", "missing; arch %s needs the prompt lengths, such as {min: 32, max: 192, mean: 80}", ArchDecoder)
		} else {
			errs = append(errs, in.Prompt.validate("input.prompt")...)
		}
		if in.Output == nil {
			bad("input.output", "", "missing; arch %s needs the output lengths (tokens to generate per request), such as {min: 16, max: 128, mean: 48}", ArchDecoder)
		} else {
			errs = append(errs, in.Output.validate("input.output")...)
		}
	}

	d := w.Defaults
	if !slices.Contains(precisions(), d.Precision) {
		bad("defaults.precision", d.Precision, "%s; accepted: %s", unknown(d.Precision, "precision"), strings.Join(precisions(), ", "))
	}
	if d.Threads < 0 {
		bad("defaults.threads", itoa(d.Threads), "accepted: 0 (every CPU) or a number of threads above 0")
	}
	switch w.Model.Arch {
	case ArchDecoder:
		const batchesBy = "which batches by max_seqs and max_batched_tokens"
		if d.MaxBatch != 0 {
			bad("defaults.max_batch", itoa(d.MaxBatch), "not read by arch %s, %s; accepted: no max_batch key", ArchDecoder, batchesBy)
		}
		if d.MaxQueueDelay != 0 {
			bad("defaults.max_queue_delay", d.MaxQueueDelay.String(), "not read by arch %s, %s; accepted: no max_queue_delay key", ArchDecoder, batchesBy)
		}
		if !slices.Contains(batchings(), d.Batching) {
			bad("defaults.batching", d.Batching, "%s; accepted: %s", unknown(d.Batching, "batching"), strings.Join(batchings(), ", "))
		}
		if d.MaxSeqs < 1 {
			bad("defaults.max_seqs", itoa(d.MaxSeqs), "accepted: a number of sequences in the running batch, at least 1")
		}
		if d.MaxBatchedTokens < 1 {
			bad("defaults.max_batched_tokens", itoa(d.MaxBatchedTokens), "accepted: a number of tokens per iteration, at least 1")
		}
		if d.KVBlockSize < 1 {
			bad("defaults.kv_block_size", itoa(d.KVBlockSize), "accepted: a number of tokens per KV cache block, at least 1 (default %d)", defaultKVBlockSize)
		}
		switch {
		case d.KVBudgetText == "" && d.KVBudgetBytes == 0:
			bad("defaults.kv_budget", "", "missing; accepted: the KV cache's size above 0, with a unit (%s), such as 64MiB", strings.Join(sizeUnitNames(), ", "))
		case d.KVBudgetBytes <= 0:
			bad("defaults.kv_budget", d.kvBudgetValue(), "accepted: a size above 0, such as 64MiB")
		}
	default:
		if d.MaxBatch < 1 {
			bad("defaults.max_batch", itoa(d.MaxBatch), "accepted: a number of requests, at least 1")
		}
		if d.MaxQueueDelay < 0 {
			bad("defaults.max_queue_delay", d.MaxQueueDelay.String(), "accepted: a duration of 0 or more, such as 2ms")
		}
		if a := w.Model.Arch; a == ArchEncoder || a == ArchMLP {
			const batchesBy = "which batches by max_batch and max_queue_delay"
			if d.Batching != "" {
				bad("defaults.batching", d.Batching, "not read by arch %s, %s; accepted: no batching key", a, batchesBy)
			}
			for _, k := range []struct {
				key string
				v   int
			}{{"max_seqs", d.MaxSeqs}, {"max_batched_tokens", d.MaxBatchedTokens}, {"kv_block_size", d.KVBlockSize}} {
				if k.v != 0 {
					bad("defaults."+k.key, itoa(k.v), "not read by arch %s, %s; accepted: no %s key", a, batchesBy, k.key)
				}
			}
			if d.KVBudgetText != "" || d.KVBudgetBytes != 0 {
				bad("defaults.kv_budget", d.kvBudgetValue(), "not read by arch %s, %s; accepted: no kv_budget key", a, batchesBy)
			}
		}
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

// notGenerated reports a prompt or an output given to an arch that generates nothing; why
// says what its requests are instead.
func notGenerated(in Input, bad func(key, value, format string, args ...any), arch, why string) {
	if in.Prompt != nil {
		bad("input.prompt", "", "not read by arch %s, %s; accepted: no prompt key", arch, why)
	}
	if in.Output != nil {
		bad("input.output", "", "not read by arch %s, %s; accepted: no output key", arch, why)
	}
}

// kvBudgetValue is the kv_budget as written, or in bytes when it was set in code.
func (d Defaults) kvBudgetValue() string {
	if d.KVBudgetText != "" {
		return d.KVBudgetText
	}
	return strconv.FormatInt(d.KVBudgetBytes, 10)
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
	Prompt   *rawTokens  `yaml:"prompt"`
	Output   *rawTokens  `yaml:"output"`
}

type rawTokens struct {
	Min  wholeNumber `yaml:"min"`
	Max  wholeNumber `yaml:"max"`
	Mean float64     `yaml:"mean"`
}

type rawDefaults struct {
	Precision        string       `yaml:"precision"`
	Threads          wholeNumber  `yaml:"threads"`
	MaxBatch         wholeNumber  `yaml:"max_batch"`
	MaxQueueDelay    durationText `yaml:"max_queue_delay"`
	Batching         string       `yaml:"batching"`
	MaxSeqs          wholeNumber  `yaml:"max_seqs"`
	MaxBatchedTokens wholeNumber  `yaml:"max_batched_tokens"`
	KVBlockSize      *wholeNumber `yaml:"kv_block_size"` // nil: absent, the default for a decoder
	KVBudget         sizeText     `yaml:"kv_budget"`
	MaxQueue         wholeNumber  `yaml:"max_queue"`
	Rate             float64      `yaml:"rate"`
	Arrival          string       `yaml:"arrival"`
	Concurrency      wholeNumber  `yaml:"concurrency"`
	Duration         durationText `yaml:"duration"`
	Warmup           durationText `yaml:"warmup"`
}

// Parse decodes a workload file strictly and validates it. name names the file in errors
// and becomes the workload's Source; data is its text, kept as Raw. Every problem is
// reported, one per joined error, each starting with name and naming the key.
//
// For a decoder, Parse fills in the defaults of absent keys: batching BatchingContinuous
// and kv_block_size 16.
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
			Precision:        d.Precision,
			Threads:          int(d.Threads),
			MaxBatch:         int(d.MaxBatch),
			MaxQueueDelay:    parseDuration("defaults.max_queue_delay", d.MaxQueueDelay, &errs),
			Batching:         d.Batching,
			MaxSeqs:          int(d.MaxSeqs),
			MaxBatchedTokens: int(d.MaxBatchedTokens),
			KVBudgetBytes:    parseSize("defaults.kv_budget", d.KVBudget, &errs),
			KVBudgetText:     string(d.KVBudget),
			MaxQueue:         int(d.MaxQueue),
			RequestsPerSec:   d.Rate,
			Arrival:          d.Arrival,
			Concurrency:      int(d.Concurrency),
			Duration:         parseDuration("defaults.duration", d.Duration, &errs),
			Warmup:           parseDuration("defaults.warmup", d.Warmup, &errs),
		},
		Source: name,
		Raw:    slices.Clone(data),
	}
	w.Input.Tokens = r.Input.Tokens.lengths()
	w.Input.Prompt = r.Input.Prompt.lengths()
	w.Input.Output = r.Input.Output.lengths()
	if d.KVBlockSize != nil {
		w.Defaults.KVBlockSize = int(*d.KVBlockSize)
	}
	if w.Model.Arch == ArchDecoder {
		if d.Batching == "" {
			w.Defaults.Batching = BatchingContinuous
		}
		if d.KVBlockSize == nil {
			w.Defaults.KVBlockSize = defaultKVBlockSize
		}
	}
	// A duration or a size that did not parse is reported once, not again as out of range.
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

// lengths is the TokenLengths of r; nil when r is.
func (r *rawTokens) lengths() *TokenLengths {
	if r == nil {
		return nil
	}
	return &TokenLengths{Min: int(r.Min), Max: int(r.Max), Mean: r.Mean}
}

// clone returns a copy of w that shares no memory with it.
func (w Workload) clone() Workload {
	for _, t := range []**TokenLengths{&w.Input.Tokens, &w.Input.Prompt, &w.Input.Output} {
		if *t != nil {
			c := **t
			*t = &c
		}
	}
	w.Raw = slices.Clone(w.Raw)
	return w
}
