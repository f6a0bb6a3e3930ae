package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/internal/host"
	"github.com/infertune/infertune/profiles"
)

// benchRunJSON is the part of the `infertune bench` JSON report the tests read.
type benchRunJSON struct {
	Config struct {
		Workload    string `json:"workload"`
		Model       string `json:"model"`
		Precision   string `json:"precision"`
		Tier        string `json:"tier"`
		MaxBatch    int    `json:"max_batch"`
		WeightBytes int64  `json:"weight_bytes"`
		PackedBytes *int64 `json:"packed_bytes"`
	} `json:"config"`
	MeanBatch     float64 `json:"mean_batch"`
	ServiceMsMean float64 `json:"service_ms_mean"`
	Fidelity      *struct {
		Top1   float64 `json:"top1"`
		KLD    float64 `json:"kld"`
		Inputs int     `json:"inputs"`
	} `json:"fidelity"`
	loadgenJSON
}

// TestBenchWorkload runs the fraud workload (a small MLP) for a short probe and reads the
// report. Timing figures are not asserted, only their presence and accounting.
func TestBenchWorkload(t *testing.T) {
	ts := newTestState(t, "bench", "--workload", "fraud", "--precision", "int8", "--max-batch", "4",
		"--rate", "500", "--duration", "200ms", "--warmup", "50ms", "--grace", "500ms",
		"--fidelity-inputs", "64", "--json", "-")
	wantProbeExit(t, ts)
	var rep benchRunJSON
	if err := json.Unmarshal([]byte(ts.stdout.String()), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, ts.stdout)
	}
	if rep.Config.Workload != "fraud" || rep.Config.Model != "mlp" || rep.Config.Precision != "int8" || rep.Config.MaxBatch != 4 {
		t.Errorf("config %+v", rep.Config)
	}
	// The MLP's int8 weights: 1.3 MiB; the generic tier keeps no other layout.
	if c := rep.Config; c.WeightBytes < 1<<20 || c.PackedBytes == nil || *c.PackedBytes < 0 || c.Tier == "generic" && *c.PackedBytes != 0 {
		t.Errorf("memory: weight_bytes %d, packed_bytes %v on the %s tier", c.WeightBytes, c.PackedBytes, c.Tier)
	}
	if rep.Fidelity == nil || rep.Fidelity.Inputs != 64 || rep.Fidelity.Top1 < 0.9 || rep.Fidelity.KLD < 0 {
		t.Errorf("fidelity %+v", rep.Fidelity)
	}
	if rep.Sent == 0 || rep.OK+rep.Errors+rep.Rejects+rep.Timeouts+rep.Drops+rep.Cut != rep.Sent {
		t.Errorf("accounting: %+v", rep.loadgenJSON)
	}
	if rep.OK > 0 && (rep.MeanBatch < 1 || rep.MeanBatch > 4 || rep.ServiceMsMean <= 0) {
		t.Errorf("mean batch %v service %v ms", rep.MeanBatch, rep.ServiceMsMean)
	}
	if rep.Target != "engine" {
		t.Errorf("target %q", rep.Target)
	}
}

func TestBenchWorkloadText(t *testing.T) {
	ts := newTestState(t, "bench", "--workload", "fraud", "--arrival", "closed", "--concurrency", "2",
		"--duration", "100ms", "--warmup", "0s", "--fidelity-inputs", "0")
	wantProbeExit(t, ts)
	wantContains(t, "stdout", ts.stdout.String(), "config", "fraud: mlp int8", "memory", "weights 1.34 MiB, prepacked layouts",
		"batches", "mean batch", "latency", "verdict")
}

func TestBenchWorkloadBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"workload", []string{"--workload", "chess"}, []string{"--workload", `"chess"`, "classify", "fraud"}},
		{"unknown lists every workload", []string{"--workload", "chess"}, []string{"accepted: chat, classify, classify-tiny, fraud"}},
		{"batching", []string{"--workload", "chat", "--batching", "fifo"}, []string{"--batching", `"fifo"`, "accepted: continuous, static"}},
		{"max seqs", []string{"--workload", "chat", "--max-seqs", "0"}, []string{"--max-seqs", `"0"`, "accepted: a whole number from 1"}},
		{"max batched tokens", []string{"--workload", "chat", "--max-batched-tokens", "many"}, []string{"--max-batched-tokens", `"many"`, "accepted: a whole number from 1"}},
		{"kv block size past the context", []string{"--workload", "chat", "--kv-block-size", "300"}, []string{"--kv-block-size", `"300"`, "from 1 to 256"}},
		{"kv budget not a size", []string{"--workload", "chat", "--kv-budget", "12 parsecs"}, []string{"--kv-budget", `"12 parsecs"`, "unknown unit parsecs", "such as 64MiB"}},
		{"kv budget below one block", []string{"--workload", "chat", "--kv-budget", "100KiB"}, []string{"--kv-budget", `"100KiB"`, "one block (108 KiB: 16 positions of s15m)"}},
		{"kv budget of a smaller block", []string{"--workload", "chat", "--kv-block-size", "4", "--kv-budget", "20KiB"}, []string{"--kv-budget", `"20KiB"`, "one block (27 KiB: 4 positions of s15m)"}},
		{"max batch on chat", []string{"--workload", "chat", "--max-batch", "4"}, []string{"--max-batch", `"4"`, "not read by the chat workload", "batched by iteration", "accepted: unset"}},
		{"max queue delay on chat", []string{"--workload", "chat", "--max-queue-delay", "1ms"}, []string{"--max-queue-delay", `"1ms"`, "not read by the chat workload"}},
		{"timeout on chat", []string{"--workload", "chat", "--timeout", "1s"}, []string{"--timeout", `"1s"`, "no queue timeout"}},
		{"input tokens on chat", []string{"--workload", "chat", "--input-tokens", "64"}, []string{"--input-tokens", `"64"`, "input.prompt", "accepted: 0"}},
		{"max seqs on classify", []string{"--workload", "classify", "--max-seqs", "4"}, []string{"--max-seqs", `"4"`, "not read by the classify workload", "max_batch and max_queue_delay", "accepted: unset"}},
		{"kv budget on fraud", []string{"--workload", "fraud", "--kv-budget", "64MiB"}, []string{"--kv-budget", `"64MiB"`, "not read by the fraud workload", "arch mlp"}},
		{"batching on classify", []string{"--batching", "static"}, []string{"--batching", `"static"`, "not read by the classify workload"}},
		{"every problem at once", []string{"--workload", "chat", "--batching", "fifo", "--max-seqs", "0", "--max-batch", "4", "--kv-budget", "lots"},
			[]string{"--batching", "--max-seqs", "--max-batch", `--kv-budget "lots"`}},
		{"precision", []string{"--precision", "int3"}, []string{"--precision", `"int3"`, "int4"}},
		{"max batch", []string{"--max-batch", "0"}, []string{"--max-batch", `"0"`, "accepted:"}},
		{"max queue", []string{"--max-queue", "lots"}, []string{"--max-queue", `"lots"`, "accepted:"}},
		{"delay", []string{"--max-queue-delay", "-2ms"}, []string{"--max-queue-delay", `"-2ms"`, "accepted:"}},
		{"rate", []string{"--rate", "fast"}, []string{"--rate", `"fast"`, "accepted:"}},
		{"arrival", []string{"--arrival", "bursty"}, []string{"--arrival", `"bursty"`, "poisson"}},
		{"threads", []string{"--threads", "-1"}, []string{"--threads", `"-1"`, "accepted:"}},
		{"tier", []string{"--tier", "quantum"}, []string{"--tier", `"quantum"`, "generic"}},
		{"tokens on an mlp", []string{"--workload", "fraud", "--input-tokens", "64"}, []string{"--input-tokens", "features"}},
		{"tokens past the context", []string{"--workload", "classify", "--input-tokens", "300"}, []string{"--input-tokens", "256"}},
		{"fidelity inputs", []string{"--fidelity-inputs", "-1"}, []string{"--fidelity-inputs", `"-1"`}},
		{"timeout", []string{"--timeout", "soon"}, []string{"--timeout", `"soon"`, "accepted:"}},
		{"argument", []string{"extra"}, []string{`"extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench", "--duration", "10ms", "--warmup", "0s", "--fidelity-inputs", "0"}, tt.args...)
			ts := newTestState(t, args...)
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitBadInput, ts.stdout, ts.stderr)
			}
			wantContains(t, "stderr", ts.stderr.String(), tt.want...)
		})
	}
}

// TestBenchKVBudgetAboveMemory: a KV cache may take at most 80% of the machine's memory.
func TestBenchKVBudgetAboveMemory(t *testing.T) {
	if host.Detect().MemBytes <= 0 {
		t.Skip("this machine's memory is unknown: the KV budget has no upper bound")
	}
	ts := newTestState(t, "bench", "--workload", "chat", "--kv-budget", "100000GiB", "--fidelity-inputs", "0")
	if code := ts.run(t); code != int(exitBadInput) {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitBadInput, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), `--kv-budget "100000GiB"`, "to 80% of this machine's memory")
}

// TestBenchGenerationKeys: the generation settings are read from the environment and the
// config file too, and their errors name the variable or the file key.
func TestBenchGenerationKeys(t *testing.T) {
	ts := newTestState(t, "bench", "--workload", "chat", "--fidelity-inputs", "0")
	ts.env["INFERTUNE_BENCH_MAX_SEQS"] = "-1"
	ts.writeFile(t, "infertune.yaml", "bench: {kv_budget: 12 parsecs, batching: fifo}\n")
	if code := ts.run(t); code != int(exitBadInput) {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitBadInput, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), `INFERTUNE_BENCH_MAX_SEQS "-1"`,
		`bench.kv_budget (in infertune.yaml) "12 parsecs"`, `bench.batching (in infertune.yaml) "fifo"`)
}

func TestBenchHelpListsEveryWorkload(t *testing.T) {
	ts := newTestState(t, "bench", "--help")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout", ts.stdout.String(), "workload NAME: chat, classify, classify-tiny, fraud",
		"--batching", "--max-seqs", "--max-batched-tokens", "--kv-block-size", "--kv-budget")
}

// TestBenchChatPayloads: a chat request is a prompt from input.prompt and an output
// length from input.output, cut so that both fit the s15m context; chat.yaml expects about
// 1.5% of the draws to be cut.
func TestBenchChatPayloads(t *testing.T) {
	w, err := profiles.LookupWorkload("chat")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := model.Preset(w.Model.Preset, model.Decoder)
	if err != nil {
		t.Fatal(err)
	}
	reqs := workloadPayloads(w, spec, 0, 1)
	full := 0
	for i, r := range reqs {
		p, o := len(r.Tokens), r.MaxTokens
		if p < w.Input.Prompt.Min || p > w.Input.Prompt.Max || o < 1 || o > w.Input.Output.Max || p+o > spec.Context {
			t.Fatalf("request %d: prompt %d, output %d; want a prompt in [%d, %d] and an output in [1, %d] within the context %d",
				i, p, o, w.Input.Prompt.Min, w.Input.Prompt.Max, w.Input.Output.Max, spec.Context)
		}
		for _, tok := range r.Tokens {
			if tok < 0 || int(tok) >= spec.Vocab {
				t.Fatalf("request %d: token %d outside the vocabulary of %d", i, tok, spec.Vocab)
			}
		}
		if p+o == spec.Context {
			full++ // cut, or drawn to fill the context exactly
		}
	}
	if share := float64(full) / float64(len(reqs)); share < 0.005 || share > 0.03 {
		t.Errorf("%d of %d requests fill the context (%.2f%%); want about 1.5%%", full, len(reqs), 100*share)
	}
	again := workloadPayloads(w, spec, 0, 1)
	for i := range reqs {
		if len(again[i].Tokens) != len(reqs[i].Tokens) || again[i].MaxTokens != reqs[i].MaxTokens {
			t.Fatalf("request %d differs between two draws with seed 1", i)
		}
	}
}

// benchGenJSON is the part of a generation run's JSON report the tests read.
type benchGenJSON struct {
	Config struct {
		Workload         string `json:"workload"`
		Model            string `json:"model"`
		Batching         string `json:"batching"`
		MaxSeqs          int    `json:"max_seqs"`
		MaxBatchedTokens int    `json:"max_batched_tokens"`
		KVBlockSize      int    `json:"kv_block_size"`
		KVBlocks         int    `json:"kv_blocks"`
		KVBudget         string `json:"kv_budget"`
		KVBytes          int64  `json:"kv_bytes"`
		MaxBatch         *int   `json:"max_batch"`
	} `json:"config"`
	Fidelity *struct {
		Top1      float64 `json:"top1"`
		Inputs    int     `json:"inputs"`
		Positions int     `json:"positions"`
	} `json:"fidelity"`
	Generation *struct {
		TTFTP50Ms           float64 `json:"ttft_p50_ms"`
		TTFTP99Ms           float64 `json:"ttft_p99_ms"`
		TPOTP50Ms           float64 `json:"tpot_p50_ms"`
		TPOTP99Ms           float64 `json:"tpot_p99_ms"`
		OutputTokens        int64   `json:"output_tokens"`
		OutputTokensPerS    float64 `json:"output_tokens_per_s"`
		MeanOutputTokens    float64 `json:"mean_output_tokens"`
		Iterations          uint64  `json:"iterations"`
		MeanIterationTokens float64 `json:"mean_tokens_per_iteration"`
		Preemptions         *uint64 `json:"preemptions"`
		KVBlocks            int     `json:"kv_blocks"`
		KVPeakBlocks        int     `json:"kv_peak_blocks"`
		PeakPositionsHeld   int     `json:"peak_positions_held"`
		PeakBlocksHeld      int     `json:"peak_blocks_held"`
		PeakWasteBlocks     float64 `json:"peak_waste_blocks"`
		PeakSeqsHeld        int     `json:"peak_seqs_held"`
	} `json:"generation"`
	loadgenJSON
}

// TestBenchE2EGeneration runs the chat workload for a short closed-loop probe over a small KV
// cache (37 blocks of 16 positions: one request of the whole context fits), writing the
// JSON to a file and the text to stdout. There is no warm-up, so that the first requests
// are sent in the window even where the generic tier takes the whole window over them.
// Timing figures are not asserted, only their presence and accounting.
func TestBenchE2EGeneration(t *testing.T) {
	if raceEnabled {
		t.Skip("runs without -race in make test: the detector slows the decoder until the window sees no token")
	}
	ts := newTestState(t, "bench", "--workload", "chat", "--batching", "continuous", "--max-seqs", "4",
		"--max-batched-tokens", "128", "--kv-budget", "4MiB", "--arrival", "closed", "--concurrency", "2",
		"--duration", "1s", "--warmup", "0s", "--fidelity-inputs", "4", "--json", "out.json")
	wantProbeExit(t, ts)
	b, err := os.ReadFile(filepath.Join(ts.gs.workDir, "out.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep benchGenJSON
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, b)
	}
	c := rep.Config
	if c.Workload != "chat" || c.Model != "s15m" || c.Batching != "continuous" || c.MaxSeqs != 4 || c.MaxBatchedTokens != 128 ||
		c.KVBlockSize != 16 || c.KVBlocks != 37 || c.KVBudget != "4MiB" || c.KVBytes != 37*110592 || c.MaxBatch != nil {
		t.Errorf("config %+v", c)
	}
	if f := rep.Fidelity; f == nil || f.Inputs != 4 || f.Positions < 4*16 || f.Top1 < 0.9 {
		t.Errorf("fidelity %+v", f)
	}
	g := rep.Generation
	if g == nil {
		t.Fatalf("no generation object:\n%s", b)
	}
	if g.Preemptions == nil || g.KVBlocks != 37 || g.KVPeakBlocks < 1 || g.KVPeakBlocks > 37 || g.Iterations == 0 ||
		g.MeanIterationTokens < 1 || g.MeanIterationTokens > 128 {
		t.Errorf("batcher figures %+v", *g)
	}
	if g.PeakBlocksHeld > g.KVPeakBlocks || g.PeakPositionsHeld > 16*g.PeakBlocksHeld || g.PeakWasteBlocks < 0 ||
		g.PeakSeqsHeld < 1 || g.PeakSeqsHeld > 4 {
		t.Errorf("kv cache figures %+v", *g)
	}
	if rep.Sent == 0 || rep.OK+rep.Errors+rep.Rejects+rep.Timeouts+rep.Drops+rep.Cut != rep.Sent {
		t.Errorf("accounting: %+v", rep.loadgenJSON)
	}
	if rep.OK > 0 && (g.OutputTokens < rep.OK || g.MeanOutputTokens < 1 || g.MeanOutputTokens > 128 || g.OutputTokensPerS <= 0 ||
		g.TTFTP50Ms <= 0 || g.TTFTP99Ms < g.TTFTP50Ms || g.TPOTP99Ms < g.TPOTP50Ms) {
		t.Errorf("generation figures %+v with %d ok", *g, rep.OK)
	}
	out := ts.stdout.String()
	wantContains(t, "stdout", out, "config", "chat: s15m int8", "continuous batching, max seqs 4, max batched tokens 128",
		"KV cache 37 blocks × 16 positions", "4MiB budget", "memory", "prepacked layouts", ", KV cache 3.9 MiB",
		"fidelity", "4 prompts", "positions",
		"generation", "TTFT p50", "TPOT p50", "output tokens/s", "output tokens per request", "iterations of", "preemptions",
		"kv cache", "of 37 blocks used", "blocks held", "blocks wasted", "sequences", "latency", "verdict")
	if strings.Contains(out, "batches") {
		t.Errorf("a generation run prints the batches line of the dynamic batcher:\n%s", out)
	}
}
