package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/sched"
	"github.com/infertune/infertune/loadgen"
)

// Batching policies of a Generator.
const (
	BatchingContinuous = "continuous"
	BatchingStatic     = "static"
)

// GenConfig says what a Generator serves and how: a decoder in one precision on the
// kernels of Tier × Threads, batched by Batching under Sched (whose Context the model
// sets). Output is greedy.
type GenConfig struct {
	// Model is a decoder preset: tiny, s15m, s42m or s110m.
	Model     string
	Precision model.Precision
	Seed      uint64
	Tier      kernels.Tier
	Threads   int
	// Nice lowers the priority of the computing threads, as Config.Nice.
	Nice int
	// Batching is BatchingContinuous or BatchingStatic.
	Batching string
	// Sched sizes the batcher and its KV cache (KV.Blocks blocks of KV.BlockSize
	// positions; see KVBlocks to size it from bytes).
	Sched sched.GenConfig
}

// Validate reports every problem of the config at once.
func (c GenConfig) Validate() error {
	errs := checkServing(c.Model, model.Decoder, c.Precision, c.Nice, c.Threads)
	if c.Batching != BatchingContinuous && c.Batching != BatchingStatic {
		errs = append(errs, fmt.Errorf("batching %q: accepted: %s, %s", c.Batching, BatchingContinuous, BatchingStatic))
	}
	return errors.Join(errs...)
}

// KVBlocks returns how many KV blocks of blockSize positions a budget of bytes holds for
// the decoder preset name (K and V of every layer, in model.KVDType), refusing a budget
// below one block or above memLimit (when positive).
func KVBlocks(name string, budget int64, blockSize int, memLimit int64) (int, error) {
	spec, err := model.Preset(name, model.Decoder)
	if err != nil {
		return 0, err
	}
	return sched.KVBlocksForBudget(budget, spec.Layers, spec.Dim, blockSize, model.KVDType.BlockBytes(), memLimit)
}

// genBatcher is what Continuous and Static offer.
type genBatcher interface {
	Generate(context.Context, sched.GenRequest) (sched.GenResult, error)
	Metrics() sched.GenMetrics
	Close()
}

// Generator serves a decoder under a generation batcher. It implements loadgen.Target: a
// request's Tokens are the prompt and MaxTokens the output asked for; the response has
// the output tokens and the time each was produced.
type Generator struct {
	cfg     GenConfig
	model   *model.Model
	k       *kernels.Kernels
	runner  *model.Runner
	kv      *model.KVStore
	batcher genBatcher

	// Owned by the batcher's goroutine (iterate).
	reniced bool
	steps   []model.Step
	logits  []float32
	next    []int32
}

// NewGenerator serves m (a decoder already in cfg.Precision).
func NewGenerator(cfg GenConfig, m *model.Model) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m.Spec.Arch != model.Decoder {
		return nil, fmt.Errorf("engine: generator: model %s is an %s; want a decoder", m.Spec.Name, m.Spec.Arch)
	}
	cfg.Sched.Context = m.Spec.Context
	if err := cfg.Sched.Validate(); err != nil { // before the cache is allocated
		return nil, fmt.Errorf("engine: generator: %w", err)
	}
	kv, err := model.NewKVStore(m.Spec, cfg.Sched.KV.Blocks, cfg.Sched.KV.BlockSize, model.KVDType)
	if err != nil {
		return nil, err
	}
	k, err := kernels.New(kernels.Config{Tier: cfg.Tier, Threads: cfg.Threads, Nice: cfg.Nice})
	if err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, model: m, k: k, runner: model.NewRunner(m, k), kv: kv}
	if cfg.Batching == BatchingStatic {
		g.batcher, err = sched.NewStatic(cfg.Sched, g.iterate)
	} else {
		g.batcher, err = sched.NewContinuous(cfg.Sched, g.iterate)
	}
	if err != nil {
		k.Close()
		return nil, err
	}
	return g, nil
}

// iterate runs one iteration of the decoder and picks each sampled step's next token.
func (g *Generator) iterate(steps []sched.GenStep) ([]int32, error) {
	if !g.reniced {
		g.reniced = true
		_ = kernels.LowerThreadPriority(g.cfg.Nice) // the batcher's goroutine computes too
	}
	g.steps = g.steps[:0]
	for _, st := range steps {
		// A prefill chunk that does not end its prompt samples nothing: it asks for no logits.
		g.steps = append(g.steps, model.Step{Tokens: st.Tokens, Pos: st.Pos, Blocks: st.Blocks, NoLogits: !st.Sample})
	}
	n := model.LogitsLen(g.model.Spec, g.steps)
	if cap(g.logits) < n {
		g.logits = make([]float32, n)
	}
	logits := g.logits[:n]
	if err := g.runner.Decode(g.steps, g.kv, logits); err != nil {
		return nil, err
	}
	v := g.model.Spec.Vocab
	g.next = g.next[:0]
	for _, st := range steps {
		if st.Sample {
			i := len(g.next) // the logits hold the sampling steps' rows, in order
			// Greedy (model.Greedy) on the vector paths: a scan of the vocabulary per
			// sequence was 5% of a 64-sequence iteration, on this goroutine alone.
			g.next = append(g.next, int32(g.k.Argmax(logits[i*v:(i+1)*v])))
		}
	}
	return g.next, nil
}

// Do generates req.MaxTokens tokens after the prompt req.Tokens. A full queue is an error
// wrapping loadgen.ErrRejected; a request that cannot fit (the context, the cache) one
// wrapping model.ErrInput, as is a prompt with a token id outside the vocabulary; a
// closed generator sched.ErrClosed.
func (g *Generator) Do(ctx context.Context, req *loadgen.Request) (*loadgen.Response, error) {
	// A token id the model does not know would fail the whole iteration it joins, and
	// with it every other request of that iteration: refuse it here, alone.
	if err := g.model.Spec.CheckInput(model.Input{Tokens: req.Tokens}); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	start := time.Now()
	var mu sync.Mutex // tokens arrive on the batcher's goroutine; a cancelled Do stops reading
	resp := &loadgen.Response{Class: -1, BatchSize: 1}
	res, err := g.batcher.Generate(ctx, sched.GenRequest{Prompt: req.Tokens, MaxTokens: req.MaxTokens,
		OnToken: func(_ int, tok int32) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			resp.Tokens, resp.TokenTimes = append(resp.Tokens, tok), append(resp.TokenTimes, now)
		}})
	switch {
	case errors.Is(err, sched.ErrQueueFull):
		return nil, fmt.Errorf("engine: %w: %w", loadgen.ErrRejected, err)
	case errors.Is(err, sched.ErrRequest):
		return nil, fmt.Errorf("engine: %w: %w", model.ErrInput, err)
	case err != nil:
		return nil, fmt.Errorf("engine: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	resp.QueueWait = res.QueueWait
	resp.Service = time.Since(start) - res.QueueWait
	return resp, nil
}

// Model returns the model served.
func (g *Generator) Model() *model.Model { return g.model }

// Kernels returns the kernels the generator runs on.
func (g *Generator) Kernels() *kernels.Kernels { return g.k }

// Metrics returns the batcher's counters.
func (g *Generator) Metrics() sched.GenMetrics { return g.batcher.Metrics() }

// Close stops the batcher (requests queued or running fail with sched.ErrClosed) and then
// the kernels' threads.
func (g *Generator) Close() error {
	g.batcher.Close()
	g.k.Close()
	return nil
}
