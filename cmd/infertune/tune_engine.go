package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/infertune/infertune/engine"
	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/sched"
	"github.com/infertune/infertune/profiles"
	"github.com/infertune/infertune/reports/store"
	"github.com/infertune/infertune/tuner"
)

// engineNice is the priority of the engine's compute threads when the load generator runs
// in the same process (bench, tune): the idle class, so the generator's sends never wait
// for a CPU the engine holds.
const engineNice = kernels.NiceIdle

// engineFactory builds the engine of each config the tuner asks for. Models are generated
// once and converted once per precision, then shared by the engines (they are read-only).
type engineFactory struct {
	workload profiles.Workload
	spec     model.Spec
	seed     uint64
	maxQueue int

	mu     sync.Mutex
	ref    *model.Model
	models map[model.Precision]*model.Model
}

func newEngineFactory(w profiles.Workload, seed uint64) (*engineFactory, error) {
	arch, err := model.ParseArch(w.Model.Arch)
	if err != nil {
		return nil, err
	}
	spec, err := model.Preset(w.Model.Preset, arch)
	if err != nil {
		return nil, err
	}
	return &engineFactory{workload: w, spec: spec, seed: seed, maxQueue: w.Defaults.MaxQueue,
		models: map[model.Precision]*model.Model{}}, nil
}

// model returns the model at precision p.
func (f *engineFactory) model(p model.Precision) (*model.Model, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.models[p]; ok {
		return m, nil
	}
	if f.ref == nil {
		ref, err := model.Generate(f.spec, f.seed)
		if err != nil {
			return nil, err
		}
		f.ref = ref
		f.models[model.Precisions[0]] = ref
	}
	m, err := f.ref.Convert(p)
	if err != nil {
		return nil, err
	}
	f.models[p] = m
	return m, nil
}

// build is the tuner's factory.
func (f *engineFactory) build(_ context.Context, c tuner.Config) (tuner.Server, error) {
	p, err := model.ParsePrecision(c.Precision)
	if err != nil {
		return nil, err
	}
	tier, err := kernels.ParseTier(c.Tier)
	if err != nil {
		return nil, err
	}
	m, err := f.model(p)
	if err != nil {
		return nil, err
	}
	if c.Generation() {
		d := f.workload.Defaults
		blocks, err := engine.KVBlocks(f.spec.Name, d.KVBudgetBytes, d.KVBlockSize, 0)
		if err != nil {
			return nil, err
		}
		return engine.NewGenerator(engine.GenConfig{
			Model: f.spec.Name, Precision: p, Seed: f.seed, Tier: tier, Threads: c.Threads, Nice: engineNice, Batching: c.Batching,
			Sched: sched.GenConfig{MaxSeqs: c.MaxSeqs, MaxBatchedTokens: c.MaxBatchedTokens,
				KV: sched.KVConfig{BlockSize: d.KVBlockSize, Blocks: blocks}, MaxQueue: f.maxQueue},
		}, m)
	}
	return engine.NewWithModel(engine.Config{
		Model: f.spec.Name, Arch: f.spec.Arch, Precision: p, Seed: f.seed, Tier: tier, Threads: c.Threads, Nice: engineNice,
		Batching: sched.DynamicConfig{MaxBatch: c.MaxBatch, MaxQueueDelay: c.MaxQueueDelay, MaxQueue: f.maxQueue},
	}, m)
}

// fidelityModel names the model in the store's fidelity table: the preset, and for a
// decoder its architecture too (the encoder and the decoder of a preset share the name).
func (f *engineFactory) fidelityModel() string {
	if f.spec.Arch == model.Decoder {
		return f.spec.Name + "-decoder"
	}
	return f.spec.Name
}

// fidelity measures (or reads from the store) a precision's agreement with fp32.
func (f *engineFactory) fidelity(st *store.Store, inputs int) func(string) (float64, float64, error) {
	return func(prec string) (float64, float64, error) {
		p, err := model.ParsePrecision(prec)
		if err != nil {
			return 0, 0, err
		}
		name := model.PrecisionName(p)
		if got, ok, err := st.Fidelity(f.fidelityModel(), name, f.seed, inputs); err == nil && ok {
			return got.Top1, got.KLD, nil
		}
		ref, err := f.model(model.Precisions[0])
		if err != nil {
			return 0, 0, err
		}
		m, err := f.model(p)
		if err != nil {
			return 0, 0, err
		}
		k, err := kernels.New(kernels.Config{Tier: kernels.BestTier()})
		if err != nil {
			return 0, 0, err
		}
		defer k.Close()
		a, err := model.Fidelity(model.NewRunner(ref, k), model.NewRunner(m, k), model.EvalSet(f.spec, inputs, f.seed))
		if err != nil {
			return 0, 0, fmt.Errorf("fidelity of %s: %w", name, err)
		}
		_ = st.PutFidelity(store.Fidelity{Model: f.fidelityModel(), Precision: name, Seed: f.seed, Inputs: inputs, Top1: a.Top1, KLD: a.KLD})
		return a.Top1, a.KLD, nil
	}
}
