package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/sched"
	"github.com/infertune/infertune/loadgen"
)

// Config says what an Engine serves and how.
type Config struct {
	// Model is a preset name (tiny, s15m, s42m, s110m, mlp) of architecture Arch.
	Model string
	Arch  model.Arch
	// Precision is the weight dtype of every matmul.
	Precision model.Precision
	// Seed seeds the synthetic weights.
	Seed uint64
	// Tier and Threads run the kernels; Threads 0 means every CPU.
	Tier    kernels.Tier
	Threads int
	// Nice, when positive, lowers the priority of every thread that computes (the kernels'
	// workers and the batcher's): 1..19 is a niceness, kernels.NiceIdle the idle
	// scheduling class. An in-process load generator then runs first whenever the engine
	// fills every CPU: without it, probes at capacity on a machine the engine saturates
	// start their sends late and come out invalid.
	Nice int
	// Batching is the dynamic batcher's policy.
	Batching sched.DynamicConfig
	// Timeout, when positive, bounds each request's time in the queue: a request still
	// queued Timeout after its arrival is dropped from the queue and fails with an error
	// wrapping context.DeadlineExceeded (a timeout to the load generator); one whose batch
	// has started runs to the end. It sets Batching.QueueTimeout.
	Timeout time.Duration
}

// Validate reports every problem of the config at once.
func (c Config) Validate() error {
	errs := checkServing(c.Model, c.Arch, c.Precision, c.Nice, c.Threads)
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: accepted: 0 (none) or a positive duration", c.Timeout))
	}
	if err := c.Batching.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkServing returns the problems of what Config and GenConfig share: the preset of
// arch, the precision, the niceness and the thread count.
func checkServing(preset string, arch model.Arch, p model.Precision, nice, threads int) []error {
	var errs []error
	if _, err := model.Preset(preset, arch); err != nil {
		errs = append(errs, err)
	}
	if !p.Valid() {
		errs = append(errs, fmt.Errorf("precision %d: accepted: fp32, fp16, bf16, int8, int4", p))
	}
	if nice < 0 || nice > kernels.NiceIdle {
		errs = append(errs, fmt.Errorf("nice %d: accepted: 0 (unchanged) to 19, or %d (idle class)", nice, kernels.NiceIdle))
	}
	if threads < 0 {
		errs = append(errs, fmt.Errorf("threads %d: accepted: 0 (every CPU) or more", threads))
	}
	return errs
}

// Engine serves one model configuration. It implements loadgen.Target.
type Engine struct {
	cfg     Config
	reniced bool // the batcher's thread has its niceness (set on its first batch)
	model   *model.Model
	k       *kernels.Kernels
	runner  *model.Runner
	batcher *sched.Dynamic[model.Input, []float32]
	out     []float32 // the batch's outputs, reused (batches run one at a time)
}

// New builds the model (generated from the seed, then converted), starts the kernels'
// threads and the batcher. Close stops them.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spec, _ := model.Preset(cfg.Model, cfg.Arch)
	ref, err := model.Generate(spec, cfg.Seed)
	if err != nil {
		return nil, err
	}
	m, err := ref.Convert(cfg.Precision)
	if err != nil {
		return nil, err
	}
	return NewWithModel(cfg, m)
}

// NewWithModel serves m (already in cfg.Precision) instead of generating it.
func NewWithModel(cfg Config, m *model.Model) (*Engine, error) {
	if cfg.Timeout > 0 {
		cfg.Batching.QueueTimeout = cfg.Timeout
	}
	if err := cfg.Batching.Validate(); err != nil {
		return nil, err
	}
	k, err := kernels.New(kernels.Config{Tier: cfg.Tier, Threads: cfg.Threads, Nice: cfg.Nice})
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, model: m, k: k, runner: model.NewRunner(m, k)}
	e.batcher, err = sched.NewDynamic(cfg.Batching, e.run)
	if err != nil {
		k.Close()
		return nil, err
	}
	return e, nil
}

// Model returns the model served.
func (e *Engine) Model() *model.Model { return e.model }

// Kernels returns the kernels the engine runs on.
func (e *Engine) Kernels() *kernels.Kernels { return e.k }

// run runs one batch; the batcher calls it one batch at a time.
func (e *Engine) run(batch []model.Input) ([][]float32, error) {
	if !e.reniced {
		e.reniced = true
		_ = kernels.LowerThreadPriority(e.cfg.Nice) // the batcher's goroutine computes too
	}
	c := e.model.Spec.Classes
	if cap(e.out) < len(batch)*c {
		e.out = make([]float32, len(batch)*c)
	}
	out := e.out[:len(batch)*c]
	if err := e.runner.Run(batch, out); err != nil {
		return nil, err
	}
	res := make([][]float32, len(batch))
	for i := range batch {
		res[i] = append([]float32(nil), out[i*c:(i+1)*c]...)
	}
	return res, nil
}

// Do serves one request: it checks the input, queues it for a batch and waits for the
// result. A full queue is an error wrapping loadgen.ErrRejected; a bad input one wrapping
// model.ErrInput; a closed engine sched.ErrClosed.
func (e *Engine) Do(ctx context.Context, req *loadgen.Request) (*loadgen.Response, error) {
	in := model.Input{Tokens: req.Tokens, Features: req.Features}
	if err := e.model.Spec.CheckInput(in); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	logits, st, err := e.batcher.Do(ctx, in)
	if err != nil {
		if errors.Is(err, sched.ErrQueueFull) {
			return nil, fmt.Errorf("engine: %w: %w", loadgen.ErrRejected, err)
		}
		return nil, fmt.Errorf("engine: %w", err)
	}
	return &loadgen.Response{
		Class:     model.Argmax(logits),
		QueueWait: st.QueueWait,
		Service:   st.Service,
		BatchSize: st.BatchSize,
	}, nil
}

// Close stops the batcher (requests still queued fail with sched.ErrClosed, a running
// batch finishes) and then the kernels' threads.
func (e *Engine) Close() error {
	err := e.batcher.Close()
	e.k.Close()
	return err
}

// Snapshot returns the batcher's counters.
func (e *Engine) Snapshot() sched.Metrics { return e.batcher.Snapshot() }
