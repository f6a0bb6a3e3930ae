package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infertune/infertune/engine"
	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/sched"
	"github.com/infertune/infertune/engine/tensor"
	"github.com/infertune/infertune/loadgen"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func tinyConfig(p model.Precision) engine.Config {
	return engine.Config{
		Model: "tiny", Arch: model.Encoder, Precision: p, Seed: 1, Tier: kernels.BestTier(), Threads: 2,
		Batching: sched.DynamicConfig{MaxBatch: 4, MaxQueueDelay: time.Millisecond, MaxQueue: 64},
	}
}

// TestEngineServesTheModel: classes from the engine equal those of the model run alone,
// for concurrent requests batched together.
func TestEngineServesTheModel(t *testing.T) {
	for _, p := range []model.Precision{tensor.F32, tensor.Q8_0} {
		t.Run(model.PrecisionName(p), func(t *testing.T) {
			e, err := engine.New(tinyConfig(p))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			eval := model.EvalSet(e.Model().Spec, 24, 3)
			k, err := kernels.New(kernels.Config{Tier: kernels.BestTier(), Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			r := model.NewRunner(e.Model(), k)
			var wg sync.WaitGroup
			var mu sync.Mutex
			batched := 0
			for i, in := range eval {
				wg.Go(func() {
					resp, err := e.Do(t.Context(), &loadgen.Request{Tokens: in.Tokens})
					if err != nil {
						t.Error(err)
						return
					}
					out := make([]float32, e.Model().Spec.Classes)
					mu.Lock()
					defer mu.Unlock()
					if err := r.Run([]model.Input{in}, out); err != nil {
						t.Error(err)
						return
					}
					if want := model.Argmax(out); resp.Class != want && !nearTie(out, resp.Class, want) {
						t.Errorf("request %d: class %d, want %d (%v)", i, resp.Class, want, out)
					}
					if resp.BatchSize < 1 || resp.BatchSize > 4 || resp.Service <= 0 {
						t.Errorf("request %d: batch %d service %v", i, resp.BatchSize, resp.Service)
					}
					if resp.BatchSize > 1 {
						batched++
					}
				})
			}
			wg.Wait()
			if batched == 0 {
				t.Error("24 concurrent requests never shared a batch")
			}
		})
	}
}

// nearTie accepts a different class only when the two logits are within rounding of
// each other (a batch changes the order of float sums).
func nearTie(out []float32, a, b int) bool {
	d := out[a] - out[b]
	return d < 1e-4 && d > -1e-4
}

func TestEngineRefusesBadInput(t *testing.T) {
	e, err := engine.New(tinyConfig(tensor.F32))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tc := range []struct {
		name string
		req  *loadgen.Request
	}{
		{"empty", &loadgen.Request{}},
		{"too long", &loadgen.Request{Tokens: make([]int32, 129)}},
		{"id outside vocab", &loadgen.Request{Tokens: []int32{1, 512}}},
		{"negative id", &loadgen.Request{Tokens: []int32{-1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Do(t.Context(), tc.req)
			if !errors.Is(err, model.ErrInput) {
				t.Fatalf("error %v, want one wrapping model.ErrInput", err)
			}
		})
	}
}

// blocker is a batch that holds the engine's single batch slot until released.
func TestEngineRejectsAtFullQueueAndCloses(t *testing.T) {
	cfg := tinyConfig(tensor.F32)
	cfg.Batching = sched.DynamicConfig{MaxBatch: 1, MaxQueue: 2}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	long := make([]int32, 128)
	// Fill the queue faster than one batch runs: a few of many requests must be rejected.
	var wg sync.WaitGroup
	var mu sync.Mutex
	rejected, ok, closed := 0, 0, 0
	for range 32 {
		wg.Go(func() {
			_, err := e.Do(context.Background(), &loadgen.Request{Tokens: long})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, loadgen.ErrRejected):
				rejected++
			case errors.Is(err, sched.ErrClosed):
				closed++
			default:
				t.Errorf("unexpected error %v", err)
			}
		})
	}
	wg.Wait()
	if rejected == 0 || ok == 0 {
		t.Fatalf("ok %d rejected %d: want both", ok, rejected)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Do(t.Context(), &loadgen.Request{Tokens: long}); !errors.Is(err, sched.ErrClosed) {
		t.Fatalf("Do after Close: %v, want ErrClosed", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := tinyConfig(tensor.F32)
	cfg.Model = "huge"
	cfg.Threads = -1
	cfg.Batching.MaxBatch = 0
	_, err := engine.New(cfg)
	for _, want := range []string{`"huge"`, "threads -1", "max_batch"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}
