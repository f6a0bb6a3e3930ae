package tuner

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A Config is one point of the search space: how the engine serves the workload and on
// which hardware target. A request/response config sets MaxBatch and MaxQueueDelay (the
// dynamic batcher); a generation config sets Batching, MaxSeqs and MaxBatchedTokens
// instead (the continuous or static batcher), and is one when MaxSeqs > 0.
type Config struct {
	Precision     string        `json:"precision"`
	MaxBatch      int           `json:"max_batch"`
	MaxQueueDelay time.Duration `json:"max_queue_delay"`
	// Generation.
	Batching         string `json:"batching,omitempty"`
	MaxSeqs          int    `json:"max_seqs,omitempty"`
	MaxBatchedTokens int    `json:"max_batched_tokens,omitempty"`
	Threads          int    `json:"threads"`
	Tier             string `json:"tier"`
}

// Generation reports whether c configures a generation batcher.
func (c Config) Generation() bool { return c.MaxSeqs > 0 }

// Key identifies the config in a run (stable across processes, for resume).
func (c Config) Key() string {
	if c.Generation() {
		return fmt.Sprintf("precision=%s,batching=%s,max_seqs=%d,max_batched_tokens=%d,threads=%d,tier=%s",
			c.Precision, c.Batching, c.MaxSeqs, c.MaxBatchedTokens, c.Threads, c.Tier)
	}
	return fmt.Sprintf("precision=%s,max_batch=%d,max_queue_delay=%v,threads=%d,tier=%s",
		c.Precision, c.MaxBatch, c.MaxQueueDelay, c.Threads, c.Tier)
}

func (c Config) String() string {
	if c.Generation() {
		return fmt.Sprintf("%s %s seqs≤%d tokens≤%d %s×%d", c.Precision, c.Batching, c.MaxSeqs, c.MaxBatchedTokens, c.Tier, c.Threads)
	}
	return fmt.Sprintf("%s batch≤%d delay %v %s×%d", c.Precision, c.MaxBatch, c.MaxQueueDelay, c.Tier, c.Threads)
}

// Space is the set of configs a search considers: the product of its dimensions. A
// request/response space varies MaxBatch and MaxQueueDelays; a generation space (MaxSeqs
// set) varies Batchings, MaxSeqs and MaxBatchedTokens instead.
type Space struct {
	Precisions     []string
	MaxBatch       []int
	MaxQueueDelays []time.Duration
	// Generation.
	Batchings        []string `json:",omitempty"`
	MaxSeqs          []int    `json:",omitempty"`
	MaxBatchedTokens []int    `json:",omitempty"`
	Threads          []int
	Tiers            []string
}

// Generation reports whether s is a generation space.
func (s Space) Generation() bool { return len(s.MaxSeqs) > 0 }

// Size returns the number of configs.
func (s Space) Size() int {
	if s.Generation() {
		return len(s.Precisions) * len(s.Batchings) * len(s.MaxSeqs) * len(s.MaxBatchedTokens) * len(s.Threads) * len(s.Tiers)
	}
	return len(s.Precisions) * len(s.MaxBatch) * len(s.MaxQueueDelays) * len(s.Threads) * len(s.Tiers)
}

// Configs lists the configs, precision outermost. A max_queue_delay above 0 is kept only
// with a max_batch above 1 (a batch of one never waits to fill).
func (s Space) Configs() []Config {
	if s.Generation() {
		return s.generationConfigs()
	}
	var out []Config
	for _, p := range s.Precisions {
		for _, tier := range s.Tiers {
			for _, th := range s.Threads {
				for _, b := range s.MaxBatch {
					for _, d := range s.MaxQueueDelays {
						if b == 1 && d > 0 && slices.Contains(s.MaxQueueDelays, 0) {
							continue
						}
						out = append(out, Config{Precision: p, MaxBatch: b, MaxQueueDelay: d, Threads: th, Tier: tier})
					}
				}
			}
		}
	}
	return out
}

// generationConfigs lists a generation space's configs, precision outermost.
func (s Space) generationConfigs() []Config {
	var out []Config
	for _, p := range s.Precisions {
		for _, tier := range s.Tiers {
			for _, th := range s.Threads {
				for _, b := range s.Batchings {
					for _, seqs := range s.MaxSeqs {
						for _, toks := range s.MaxBatchedTokens {
							out = append(out, Config{Precision: p, Batching: b, MaxSeqs: seqs, MaxBatchedTokens: toks, Threads: th, Tier: tier})
						}
					}
				}
			}
		}
	}
	return out
}

// SpaceDims lists the dimensions --space accepts: the first five for request/response
// workloads, precision, batching, max_seqs, max_batched_tokens, threads and tier for
// generation.
var SpaceDims = []string{"precision", "max_batch", "max_queue_delay", "threads", "tier", "batching", "max_seqs", "max_batched_tokens"}

var errNotGeneration = errors.New("a dimension of request/response workloads; accepted here: precision, batching, max_seqs, max_batched_tokens, threads, tier")

// Batchings are the generation batchers a space can name.
var Batchings = []string{"continuous", "static"}

// Override applies --space terms "DIM=VALUES" to s: a comma-separated list, or for
// max_batch and threads a range "a..b" (max_batch takes the powers of two in it, threads
// every integer). precisions, tiers and thread counts are checked by the caller against
// what this machine has (accepted lists passed in).
func (s Space) Override(terms []string, precisions, tiers []string, maxThreads int) (Space, error) {
	var errs []error
	for _, term := range terms {
		for _, one := range splitSpaceTerms(term) {
			dim, vals, ok := strings.Cut(one, "=")
			dim, vals = strings.TrimSpace(dim), strings.TrimSpace(vals)
			if !ok || vals == "" {
				errs = append(errs, fmt.Errorf("space %q: want DIM=VALUES, with DIM one of %s", one, strings.Join(SpaceDims, ", ")))
				continue
			}
			var err error
			switch dim {
			case "precision":
				s.Precisions, err = parseWords(vals, precisions)
			case "tier":
				s.Tiers, err = parseWords(vals, tiers)
			case "max_batch":
				if s.Generation() {
					err = errNotGeneration
					break
				}
				s.MaxBatch, err = parseInts(vals, 1, 1<<16, true)
			case "threads":
				s.Threads, err = parseInts(vals, 1, maxThreads, false)
			case "max_queue_delay":
				if s.Generation() {
					err = errNotGeneration
					break
				}
				s.MaxQueueDelays, err = parseDurations(vals)
			case "batching", "max_seqs", "max_batched_tokens":
				if !s.Generation() {
					err = fmt.Errorf("a dimension of generation workloads; accepted here: precision, max_batch, max_queue_delay, threads, tier")
					break
				}
				switch dim {
				case "batching":
					s.Batchings, err = parseWords(vals, Batchings)
				case "max_seqs":
					s.MaxSeqs, err = parseInts(vals, 1, 1<<12, true)
				default:
					s.MaxBatchedTokens, err = parseInts(vals, 1, 1<<16, true)
				}
			default:
				err = fmt.Errorf("unknown dimension; accepted: %s", strings.Join(SpaceDims, ", "))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("space %q: %w", one, err))
			}
		}
	}
	return s, errors.Join(errs...)
}

// splitSpaceTerms splits "precision=fp32,int8 max_batch=1..8" style input: terms are
// separated by spaces or semicolons (commas belong to value lists).
func splitSpaceTerms(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ';' })
}

func parseWords(vals string, accepted []string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(vals, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(accepted, v) {
			return nil, fmt.Errorf("%q: accepted: %s", v, strings.Join(accepted, ", "))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func parseInts(vals string, lo, hi int, powersOfTwo bool) ([]int, error) {
	num := func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q: accepted: whole numbers from %d to %d, or a range a..b", s, lo, hi)
		}
		return n, nil
	}
	var out []int
	for _, v := range strings.Split(vals, ",") {
		if a, b, ok := strings.Cut(v, ".."); ok {
			x, err := num(a)
			if err != nil {
				return nil, err
			}
			y, err := num(b)
			if err != nil {
				return nil, err
			}
			if y < x {
				return nil, fmt.Errorf("%q: the range runs backwards", v)
			}
			for n := x; n <= y; n++ {
				if !powersOfTwo || bits.OnesCount(uint(n)) == 1 {
					out = append(out, n)
				}
			}
			continue
		}
		n, err := num(v)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: no values (max_batch ranges keep powers of two)", vals)
	}
	return out, nil
}

func parseDurations(vals string) ([]time.Duration, error) {
	var out []time.Duration
	for _, v := range strings.Split(vals, ",") {
		v = strings.TrimSpace(v)
		if v == "0" {
			v = "0s"
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			return nil, fmt.Errorf("%q: accepted: durations from 0 to 1m, such as 0,2ms,5ms", v)
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
