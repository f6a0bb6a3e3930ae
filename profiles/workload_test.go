package profiles

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestEmbeddedWorkloads(t *testing.T) {
	ws, err := workloads()
	if err != nil {
		t.Fatalf("embedded workloads: %v", err)
	}
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
		if err := w.Validate(); err != nil {
			t.Errorf("%s: %v", w.Source, err)
		}
		if w.Source != "workloads/"+w.Name+".yaml" || len(w.Raw) == 0 || !strings.HasPrefix(string(w.Raw), "#") {
			t.Errorf("%s: source %q, raw %q: want the file's path and its text with its comment header", w.Name, w.Source, w.Raw)
		}
	}
	if want := []string{"chat", "classify", "classify-tiny", "fraud"}; !slices.Equal(names, want) {
		t.Errorf("workloads %v, want %v", names, want)
	}

	c, err := LookupWorkload("classify")
	if err != nil {
		t.Fatal(err)
	}
	wantClassify := Defaults{Precision: "int8", Threads: 0, MaxBatch: 8, MaxQueueDelay: 2 * time.Millisecond, MaxQueue: 1024,
		RequestsPerSec: 40, Arrival: ArrivalPoisson, Concurrency: 8, Duration: 20 * time.Second, Warmup: 2 * time.Second}
	if c.Model != (ModelRef{ArchEncoder, "s15m"}) || c.Input.Features != 0 || c.Input.Tokens == nil ||
		*c.Input.Tokens != (TokenLengths{Min: 8, Max: 128, Mean: 32}) || c.Defaults != wantClassify ||
		c.Description != "Sentence classification with the s15m encoder (8 classes), request/response." {
		t.Errorf("classify = %+v, tokens %+v", c, c.Input.Tokens)
	}

	f, err := LookupWorkload("fraud")
	if err != nil {
		t.Fatal(err)
	}
	wantFraud := Defaults{Precision: "int8", Threads: 0, MaxBatch: 32, MaxQueueDelay: time.Millisecond, MaxQueue: 4096,
		RequestsPerSec: 2000, Arrival: ArrivalPoisson, Concurrency: 32, Duration: 20 * time.Second, Warmup: 2 * time.Second}
	if f.Model != (ModelRef{ArchMLP, "mlp"}) || f.Input.Features != 256 || f.Input.Tokens != nil || f.Defaults != wantFraud ||
		f.Description != "Tabular fraud scoring with a 256→1024→1024→2 MLP, request/response." {
		t.Errorf("fraud = %+v", f)
	}

	ct, err := LookupWorkload("classify-tiny")
	if err != nil {
		t.Fatal(err)
	}
	wantTiny := Defaults{Precision: "int8", Threads: 0, MaxBatch: 8, MaxQueueDelay: time.Millisecond, MaxQueue: 1024,
		RequestsPerSec: 200, Arrival: ArrivalPoisson, Concurrency: 8, Duration: 5 * time.Second, Warmup: time.Second}
	if ct.Model != (ModelRef{ArchEncoder, "tiny"}) || ct.Input.Features != 0 || ct.Input.Tokens == nil ||
		*ct.Input.Tokens != (TokenLengths{Min: 8, Max: 64, Mean: 24}) || ct.Defaults != wantTiny {
		t.Errorf("classify-tiny = %+v, tokens %+v", ct, ct.Input.Tokens)
	}
	// The encoder and MLP workloads have no generation input.
	for _, w := range []Workload{c, f, ct} {
		if w.Input.Prompt != nil || w.Input.Output != nil {
			t.Errorf("%s: prompt %+v, output %+v, want none", w.Name, w.Input.Prompt, w.Input.Output)
		}
	}

	ch, err := LookupWorkload("chat")
	if err != nil {
		t.Fatal(err)
	}
	wantChat := Defaults{Precision: "int8", Threads: 0, Batching: BatchingContinuous, MaxSeqs: 16, MaxBatchedTokens: 256,
		KVBlockSize: 16, KVBudgetBytes: 64 << 20, KVBudgetText: "64MiB", MaxQueue: 1024, RequestsPerSec: 4,
		Arrival: ArrivalPoisson, Concurrency: 8, Duration: 30 * time.Second, Warmup: 3 * time.Second}
	if ch.Name != "chat" || ch.Source != "workloads/chat.yaml" || ch.Model != (ModelRef{ArchDecoder, "s15m"}) ||
		ch.Description != "Chat generation with the s15m decoder, continuous batching." ||
		ch.Input.Tokens != nil || ch.Input.Features != 0 || ch.Input.Prompt == nil || ch.Input.Output == nil ||
		*ch.Input.Prompt != (TokenLengths{Min: 32, Max: 192, Mean: 80}) ||
		*ch.Input.Output != (TokenLengths{Min: 16, Max: 128, Mean: 48}) || ch.Defaults != wantChat {
		t.Errorf("chat = %+v, prompt %+v, output %+v", ch, ch.Input.Prompt, ch.Input.Output)
	}
}

func TestWorkloadsAreCopies(t *testing.T) {
	ws := Workloads()
	chat, classify := &ws[0], &ws[1]
	if chat.Name != "chat" || classify.Name != "classify" {
		t.Fatalf("workloads %s, %s, want chat, classify first", chat.Name, classify.Name)
	}
	classify.Name = "changed"
	classify.Raw[0] = 'X'
	classify.Input.Tokens.Max = 1
	chat.Input.Prompt.Max = 1
	chat.Input.Output.Max = 1
	chat.Defaults.KVBudgetBytes = 1
	again := Workloads()
	if c := again[1]; c.Name != "classify" || c.Raw[0] != '#' || c.Input.Tokens.Max != 128 {
		t.Errorf("a caller's change reached the shipped workloads: %+v", c)
	}
	if c := again[0]; c.Input.Prompt.Max != 192 || c.Input.Output.Max != 128 || c.Defaults.KVBudgetBytes != 64<<20 {
		t.Errorf("a caller's change reached the shipped workloads: %+v, prompt %+v, output %+v", c, c.Input.Prompt, c.Input.Output)
	}
}

func TestLookupWorkloadUnknown(t *testing.T) {
	_, err := LookupWorkload("nope")
	if err == nil {
		t.Fatal("no error for an unknown workload")
	}
	for _, want := range []string{`"nope"`, "accepted: chat, classify, classify-tiny, fraud"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestLoadDirNameMismatch(t *testing.T) {
	fsys := fstest.MapFS{"workloads/other.yaml": {Data: []byte(validWorkload)}}
	_, err := loadDir(fsys, "workloads", Parse, func(w Workload) string { return w.Name })
	if err == nil || !strings.Contains(err.Error(), `workloads/other.yaml: name "classify"`) || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("err = %v, want one naming the file, its name and the accepted one", err)
	}
}

// validWorkload is a valid workload; the cases of TestParseErrors break it one way each.
const validWorkload = `name: classify
description: Sentence classification.
model:
  arch: encoder
  preset: s15m
input:
  tokens: {min: 16, max: 256, mean: 64}
defaults:
  precision: int8
  threads: 0
  max_batch: 8
  max_queue_delay: 2ms
  max_queue: 1024
  rate: 40
  arrival: poisson
  concurrency: 8
  duration: 20s
  warmup: 2s
`

// mlpWorkload is validWorkload served by the MLP.
var mlpWorkload = strings.NewReplacer("arch: encoder", "arch: mlp", "preset: s15m", "preset: mlp",
	"tokens: {min: 16, max: 256, mean: 64}", "features: 256").Replace(validWorkload)

// decoderWorkload is a valid decoder workload, chat as shipped; the decoder cases of
// TestParseErrors break it one way each.
const decoderWorkload = `name: chat
description: Chat generation.
model:
  arch: decoder
  preset: s15m
input:
  prompt: {min: 32, max: 192, mean: 80}
  output: {min: 16, max: 128, mean: 48}
defaults:
  precision: int8
  threads: 0
  batching: continuous
  max_seqs: 16
  max_batched_tokens: 256
  kv_block_size: 16
  kv_budget: 64MiB
  max_queue: 1024
  rate: 4
  arrival: poisson
  concurrency: 8
  duration: 30s
  warmup: 3s
`

func TestParseErrors(t *testing.T) {
	if _, err := Parse("test.yaml", []byte(validWorkload)); err != nil {
		t.Fatalf("valid encoder workload: %v", err)
	}
	if _, err := Parse("test.yaml", []byte(mlpWorkload)); err != nil {
		t.Fatalf("valid mlp workload: %v", err)
	}
	if _, err := Parse("test.yaml", []byte(decoderWorkload)); err != nil {
		t.Fatalf("valid decoder workload: %v", err)
	}
	enc := func(old, new string) replacedText { return replaceOnce(t, validWorkload, old, new) }
	mlp := func(old, new string) replacedText { return replaceOnce(t, mlpWorkload, old, new) }
	dec := func(old, new string) replacedText { return replaceOnce(t, decoderWorkload, old, new) }
	const (
		prompt = "  prompt: {min: 32, max: 192, mean: 80}\n"
		output = "  output: {min: 16, max: 128, mean: 48}\n"
		units  = "accepted: a number with a unit (B, KiB, MiB, GiB, KB, MB, GB), such as 64MiB"
	)
	tests := []struct {
		name string
		yaml replacedText
		want []string // each must appear in one of the error's lines
		n    int      // the number of problems (lines)
	}{
		{"unknown top-level key", enc("name: classify\n", "name: classify\ncolour: red\n"),
			[]string{"colour: unknown key (line 2); accepted at the top level: defaults, description, input, model, name"}, 1},
		{"unknown defaults key", enc("threads: 0", "treads: 0"),
			[]string{"defaults.treads: unknown key (line 10); accepted in defaults: arrival, batching, concurrency, duration, " +
				"kv_block_size, kv_budget, max_batch, max_batched_tokens, max_queue, max_queue_delay, max_seqs, precision, rate, threads, warmup"}, 1},
		{"unknown key in flow mapping", enc("mean: 64}", "mean: 64, p99: 200}"),
			[]string{"input.tokens.p99: unknown key (line 7); accepted in input.tokens: max, mean, min"}, 1},
		{"two unknown keys", enc("arch: encoder", "arch: encoder\n  layers: 4\n  heads: 8"),
			[]string{"model.layers: unknown key (line 5)", "model.heads: unknown key (line 6)"}, 2},
		{"duration without unit", enc("max_queue_delay: 2ms", "max_queue_delay: 2"),
			[]string{`defaults.max_queue_delay "2": not a duration; accepted: a number with a unit`}, 1},
		{"duration not a duration", enc("duration: 20s", "duration: soon"),
			[]string{`defaults.duration "soon": not a duration`}, 1},
		{"duration as mapping", enc("warmup: 2s", "warmup: {s: 2}"),
			[]string{"defaults.warmup: a mapping given (line 18); accepted: a duration with a unit, such as 2ms or 20s"}, 1},
		{"negative delay", enc("max_queue_delay: 2ms", "max_queue_delay: -1ms"),
			[]string{`defaults.max_queue_delay "-1ms": accepted: a duration of 0 or more`}, 1},
		{"zero duration", enc("duration: 20s", "duration: 0s"),
			[]string{`defaults.duration "0s": accepted: a duration above 0`}, 1},
		{"negative warmup", enc("warmup: 2s", "warmup: -2s"),
			[]string{`defaults.warmup "-2s": accepted: a duration of 0 or more`}, 1},
		{"unknown arch", enc("arch: encoder", "arch: gpt"),
			[]string{`model.arch "gpt": unknown architecture; accepted: encoder, mlp, decoder`}, 1},
		{"unknown preset", enc("preset: s15m", "preset: huge"),
			[]string{`model.preset "huge": unknown preset for arch encoder; accepted: tiny, s15m, s42m, s110m`}, 1},
		{"mlp preset on encoder", enc("preset: s15m", "preset: mlp"),
			[]string{`model.preset "mlp": unknown preset for arch encoder`}, 1},
		{"encoder preset on mlp", mlp("preset: mlp", "preset: s15m"),
			[]string{`model.preset "s15m": unknown preset for arch mlp; accepted: mlp`}, 1},
		{"mlp without features", mlp("features: 256", "features: 0"),
			[]string{`input.features "0": accepted: the length of a request's feature vector, at least 1`}, 1},
		{"mlp with tokens", mlp("features: 256", "features: 256\n  tokens: {min: 1, max: 2, mean: 1}"),
			[]string{"input.tokens: not read by arch mlp"}, 1},
		{"encoder with features", enc("input:\n", "input:\n  features: 8\n"),
			[]string{`input.features "8": not read by arch encoder`}, 1},
		{"encoder without tokens", enc("  tokens: {min: 16, max: 256, mean: 64}\n", ""),
			[]string{"input.tokens: missing; arch encoder needs the request lengths"}, 1},
		{"min above max", enc("{min: 16, max: 256, mean: 64}", "{min: 300, max: 256, mean: 280}"),
			[]string{`input.tokens.max "256": accepted: a whole number of tokens, at least min (300)`}, 1},
		{"min zero", enc("min: 16", "min: 0"),
			[]string{`input.tokens.min "0": accepted: a whole number of tokens, at least 1`}, 1},
		{"mean above max", enc("mean: 64", "mean: 300"),
			[]string{`input.tokens.mean "300": accepted: a number from min (16) to max (256)`}, 1},
		{"mean below min", enc("mean: 64", "mean: 8.5"),
			[]string{`input.tokens.mean "8.5": accepted: a number from min (16) to max (256)`}, 1},
		{"mean nan", enc("mean: 64", "mean: .nan"),
			[]string{`input.tokens.mean "NaN"`}, 1},
		{"tokens as list", enc("{min: 16, max: 256, mean: 64}", "[16, 256, 64]"),
			[]string{"input.tokens: a list given (line 7); accepted: a mapping with the keys max, mean, min"}, 1},
		{"unknown precision", enc("precision: int8", "precision: fp8"),
			[]string{`defaults.precision "fp8": unknown precision; accepted: fp32, fp16, bf16, int8, int4`}, 1},
		{"negative threads", enc("threads: 0", "threads: -1"),
			[]string{`defaults.threads "-1": accepted: 0 (every CPU)`}, 1},
		{"max batch zero", enc("max_batch: 8", "max_batch: 0"),
			[]string{`defaults.max_batch "0": accepted: a number of requests, at least 1`}, 1},
		{"max batch text", enc("max_batch: 8", "max_batch: eight"),
			[]string{`defaults.max_batch "eight": text given (line 11); accepted: a whole number`}, 1},
		{"max batch fraction", enc("max_batch: 8", "max_batch: 8.5"),
			[]string{`defaults.max_batch "8.5": a number given (line 11); accepted: a whole number`}, 1},
		{"max queue zero", enc("max_queue: 1024", "max_queue: 0"),
			[]string{`defaults.max_queue "0": accepted: a number of requests, at least 1`}, 1},
		{"rate zero", enc("rate: 40", "rate: 0"),
			[]string{`defaults.rate "0": accepted: requests per second above 0`}, 1},
		{"rate infinite", enc("rate: 40", "rate: .inf"),
			[]string{`defaults.rate "+Inf": accepted: requests per second above 0`}, 1},
		{"unknown arrival", enc("arrival: poisson", "arrival: bursty"),
			[]string{`defaults.arrival "bursty": unknown arrival process; accepted: poisson, constant, closed`}, 1},
		{"closed without concurrency", enc("arrival: poisson", "arrival: closed").replace("concurrency: 8", "concurrency: 0"),
			[]string{`defaults.concurrency "0": arrival closed needs requests in flight; accepted: at least 1`}, 1},
		{"negative concurrency", enc("concurrency: 8", "concurrency: -1"),
			[]string{`defaults.concurrency "-1": accepted: a number of requests, 0 or more`}, 1},
		{"bad name", enc("name: classify", "name: Classify"),
			[]string{`name "Classify": accepted: a lowercase letter`}, 1},
		{"no description", enc("description: Sentence classification.\n", ""),
			[]string{"description: missing"}, 1},
		{"key given twice", enc("rate: 40", "rate: 40\n  rate: 50"),
			[]string{"defaults.rate: given twice (lines 14 and 15)"}, 1},
		{"empty", "", []string{"empty; accepted: a YAML mapping with the keys defaults, description, input, model, name"}, 1},
		{"comments only", "# nothing\n", []string{"empty"}, 1},
		{"a list", "- a\n- b\n", []string{"the document is a list (line 1); accepted: a mapping with the keys defaults"}, 1},
		{"not yaml", "name: [\n", []string{"not valid YAML: line"}, 1},
		{"tab indent", "name: x\n\tmodel: y\n", []string{"not valid YAML"}, 1},
		{"two documents", validWorkload + "---\nname: other\n", []string{"a second YAML document (after ---); accepted: one document per file"}, 1},
		{"every problem at once", enc("precision: int8", "precision: fp8").replace("rate: 40", "rate: -1").replace("duration: 20s", "duration: x"),
			[]string{`defaults.precision "fp8"`, `defaults.rate "-1"`, `defaults.duration "x": not a duration`}, 3},

		// Decoder input.
		{"decoder without output", dec(output, ""),
			[]string{"input.output: missing; arch decoder needs the output lengths (tokens to generate per request), such as {min: 16, max: 128, mean: 48}"}, 1},
		{"decoder without prompt", dec(prompt, ""),
			[]string{"input.prompt: missing; arch decoder needs the prompt lengths, such as {min: 32, max: 192, mean: 80}"}, 1},
		{"decoder without input", dec("input:\n"+prompt+output, "input: {}\n"),
			[]string{"input.prompt: missing", "input.output: missing"}, 2},
		{"decoder with tokens", dec(prompt, prompt+"  tokens: {min: 16, max: 256, mean: 64}\n"),
			[]string{"input.tokens: not read by arch decoder, whose requests are a prompt (input.prompt) and a number of tokens to generate (input.output); accepted: no tokens key"}, 1},
		{"decoder with features", dec(prompt, prompt+"  features: 8\n"),
			[]string{`input.features "8": not read by arch decoder, whose requests are a prompt (input.prompt) and a number of tokens to generate (input.output); accepted: no features key`}, 1},
		{"encoder with prompt", enc("input:\n", "input:\n"+prompt),
			[]string{"input.prompt: not read by arch encoder, whose requests are tokens (input.tokens) and which generates none; accepted: no prompt key"}, 1},
		{"encoder with output", enc("input:\n", "input:\n"+output),
			[]string{"input.output: not read by arch encoder, whose requests are tokens (input.tokens) and which generates none; accepted: no output key"}, 1},
		{"mlp with prompt and output", mlp("input:\n", "input:\n"+prompt+output),
			[]string{"input.prompt: not read by arch mlp, whose requests are feature vectors; accepted: no prompt key",
				"input.output: not read by arch mlp, whose requests are feature vectors; accepted: no output key"}, 2},
		{"prompt min zero", dec("min: 32", "min: 0"),
			[]string{`input.prompt.min "0": accepted: a whole number of tokens, at least 1`}, 1},
		{"prompt max zero", dec("{min: 32, max: 192, mean: 80}", "{min: 0, max: 0, mean: 0}"),
			[]string{`input.prompt.min "0": accepted: a whole number of tokens, at least 1`,
				`input.prompt.max "0": accepted: a whole number of tokens, at least min (0) and at least 1`}, 2},
		{"prompt negative", dec("{min: 32, max: 192, mean: 80}", "{min: -8, max: -2, mean: -4}"),
			[]string{`input.prompt.min "-8"`, `input.prompt.max "-2": accepted: a whole number of tokens, at least min (-8) and at least 1`}, 2},
		{"prompt mean below min", dec("mean: 80", "mean: 31.5"),
			[]string{`input.prompt.mean "31.5": accepted: a number from min (32) to max (192)`}, 1},
		{"output max below min", dec("max: 128", "max: 8"),
			[]string{`input.output.max "8": accepted: a whole number of tokens, at least min (16) and at least 1`}, 1},
		{"output min zero", dec("min: 16", "min: 0"),
			[]string{`input.output.min "0": accepted: a whole number of tokens, at least 1`}, 1},
		{"output mean above max", dec("mean: 48", "mean: 200"),
			[]string{`input.output.mean "200": accepted: a number from min (16) to max (128)`}, 1},
		{"output as list", dec("{min: 16, max: 128, mean: 48}", "[16, 128, 48]"),
			[]string{"input.output: a list given (line 8); accepted: a mapping with the keys max, mean, min"}, 1},
		{"output as number", dec("{min: 16, max: 128, mean: 48}", "48"),
			[]string{`input.output "48": a whole number given (line 8); accepted: a mapping with the keys max, mean, min`}, 1},
		{"unknown input key", dec("  prompt:", "  promt:"),
			[]string{"input.promt: unknown key (line 7); accepted in input: features, output, prompt, tokens"}, 1},
		{"unknown prompt key", dec("mean: 80}", "mean: 80, p99: 190}"),
			[]string{"input.prompt.p99: unknown key (line 7); accepted in input.prompt: max, mean, min"}, 1},

		// Decoder defaults.
		{"unknown batching", dec("batching: continuous", "batching: dynamic"),
			[]string{`defaults.batching "dynamic": unknown batching; accepted: continuous, static`}, 1},
		{"batching in capitals", dec("batching: continuous", "batching: Continuous"),
			[]string{`defaults.batching "Continuous": unknown batching; accepted: continuous, static`}, 1},
		{"max seqs zero", dec("max_seqs: 16", "max_seqs: 0"),
			[]string{`defaults.max_seqs "0": accepted: a number of sequences in the running batch, at least 1`}, 1},
		{"max seqs negative", dec("max_seqs: 16", "max_seqs: -2"),
			[]string{`defaults.max_seqs "-2": accepted: a number of sequences in the running batch, at least 1`}, 1},
		{"max seqs missing", dec("  max_seqs: 16\n", ""),
			[]string{`defaults.max_seqs "0": accepted: a number of sequences in the running batch, at least 1`}, 1},
		{"max seqs fraction", dec("max_seqs: 16", "max_seqs: 2.5"),
			[]string{`defaults.max_seqs "2.5": a number given (line 13); accepted: a whole number`}, 1},
		{"max batched tokens zero", dec("max_batched_tokens: 256", "max_batched_tokens: 0"),
			[]string{`defaults.max_batched_tokens "0": accepted: a number of tokens per iteration, at least 1`}, 1},
		{"max batched tokens negative", dec("max_batched_tokens: 256", "max_batched_tokens: -256"),
			[]string{`defaults.max_batched_tokens "-256": accepted: a number of tokens per iteration, at least 1`}, 1},
		{"kv block size zero", dec("kv_block_size: 16", "kv_block_size: 0"),
			[]string{`defaults.kv_block_size "0": accepted: a number of tokens per KV cache block, at least 1 (default 16)`}, 1},
		{"kv block size negative", dec("kv_block_size: 16", "kv_block_size: -16"),
			[]string{`defaults.kv_block_size "-16": accepted: a number of tokens per KV cache block, at least 1 (default 16)`}, 1},
		{"kv block size text", dec("kv_block_size: 16", "kv_block_size: big"),
			[]string{`defaults.kv_block_size "big": text given (line 15); accepted: a whole number`}, 1},
		{"kv budget unknown unit", dec("kv_budget: 64MiB", "kv_budget: 12 parsecs"),
			[]string{`defaults.kv_budget "12 parsecs": unknown unit parsecs; ` + units}, 1},
		{"kv budget not a size", dec("kv_budget: 64MiB", "kv_budget: lots"),
			[]string{`defaults.kv_budget "lots": not a size; ` + units}, 1},
		{"kv budget without unit", dec("kv_budget: 64MiB", "kv_budget: 1024"),
			[]string{`defaults.kv_budget "1024": not a size; ` + units}, 1},
		{"kv budget lowercase unit", dec("kv_budget: 64MiB", "kv_budget: 64mib"),
			[]string{`defaults.kv_budget "64mib": unknown unit mib; ` + units}, 1},
		{"kv budget part of a byte", dec("kv_budget: 64MiB", "kv_budget: 1.5B"),
			[]string{`defaults.kv_budget "1.5B": not a whole number of bytes; ` + units}, 1},
		{"kv budget too large", dec("kv_budget: 64MiB", "kv_budget: 9000000000GiB"),
			[]string{`defaults.kv_budget "9000000000GiB": too large; ` + units + ", up to 9223372036854775807 bytes"}, 1},
		{"kv budget zero", dec("kv_budget: 64MiB", "kv_budget: 0MiB"),
			[]string{`defaults.kv_budget "0MiB": accepted: a size above 0, such as 64MiB`}, 1},
		{"kv budget negative", dec("kv_budget: 64MiB", "kv_budget: -64MiB"),
			[]string{`defaults.kv_budget "-64MiB": accepted: a size above 0, such as 64MiB`}, 1},
		{"kv budget missing", dec("  kv_budget: 64MiB\n", ""),
			[]string{"defaults.kv_budget: missing; accepted: the KV cache's size above 0, with a unit (B, KiB, MiB, GiB, KB, MB, GB), such as 64MiB"}, 1},
		{"kv budget as mapping", dec("kv_budget: 64MiB", "kv_budget: {MiB: 64}"),
			[]string{"defaults.kv_budget: a mapping given (line 16); accepted: a size with a unit, such as 64MiB"}, 1},
		{"decoder with max batch", dec("max_queue: 1024", "max_queue: 1024\n  max_batch: 8"),
			[]string{`defaults.max_batch "8": not read by arch decoder, which batches by max_seqs and max_batched_tokens; accepted: no max_batch key`}, 1},
		{"decoder with max queue delay", dec("max_queue: 1024", "max_queue: 1024\n  max_queue_delay: 2ms"),
			[]string{`defaults.max_queue_delay "2ms": not read by arch decoder, which batches by max_seqs and max_batched_tokens; accepted: no max_queue_delay key`}, 1},
		{"decoder max queue delay not a duration", dec("max_queue: 1024", "max_queue: 1024\n  max_queue_delay: soon"),
			[]string{`defaults.max_queue_delay "soon": not a duration`}, 1},
		{"decoder every problem at once", dec("batching: continuous", "batching: dynamic").replace("max_seqs: 16", "max_seqs: 0").
			replace("kv_budget: 64MiB", "kv_budget: 12 parsecs").replace(output, ""),
			[]string{"input.output: missing", `defaults.batching "dynamic"`, `defaults.max_seqs "0"`, `defaults.kv_budget "12 parsecs"`}, 4},

		// Generation settings on an encoder or an MLP.
		{"encoder with batching", enc("max_queue: 1024", "max_queue: 1024\n  batching: continuous"),
			[]string{`defaults.batching "continuous": not read by arch encoder, which batches by max_batch and max_queue_delay; accepted: no batching key`}, 1},
		{"encoder with generation settings", enc("max_queue: 1024", "max_queue: 1024\n  max_seqs: 16\n  max_batched_tokens: 256\n  kv_block_size: 16\n  kv_budget: 64MiB"),
			[]string{`defaults.max_seqs "16": not read by arch encoder, which batches by max_batch and max_queue_delay; accepted: no max_seqs key`,
				`defaults.max_batched_tokens "256": not read by arch encoder, which batches by max_batch and max_queue_delay; accepted: no max_batched_tokens key`,
				`defaults.kv_block_size "16": not read by arch encoder, which batches by max_batch and max_queue_delay; accepted: no kv_block_size key`,
				`defaults.kv_budget "64MiB": not read by arch encoder, which batches by max_batch and max_queue_delay; accepted: no kv_budget key`}, 4},
		{"mlp with static batching", mlp("max_queue: 1024", "max_queue: 1024\n  batching: static"),
			[]string{`defaults.batching "static": not read by arch mlp, which batches by max_batch and max_queue_delay; accepted: no batching key`}, 1},
		{"mlp with a zero kv budget", mlp("max_queue: 1024", "max_queue: 1024\n  kv_budget: 0B"),
			[]string{`defaults.kv_budget "0B": not read by arch mlp, which batches by max_batch and max_queue_delay; accepted: no kv_budget key`}, 1},
		{"encoder with a bad kv budget", enc("max_queue: 1024", "max_queue: 1024\n  kv_budget: 12 parsecs"),
			[]string{`defaults.kv_budget "12 parsecs": unknown unit parsecs`}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse("test.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error; parsed %+v", w)
			}
			if w.Name != "" || w.Raw != nil {
				t.Errorf("a failed Parse returned a workload: %+v", w)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, l := range lines {
				if !strings.HasPrefix(l, "test.yaml: ") {
					t.Errorf("problem %q does not name the file", l)
				}
			}
			if len(lines) != tt.n {
				t.Errorf("%d problems, want %d:\n%v", len(lines), tt.n, err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error holds no *FieldError: %#v", err)
			}
		})
	}
}

// replacedText is YAML text that can be changed further in a table.
type replacedText string

func (s replacedText) replace(old, new string) replacedText {
	if !strings.Contains(string(s), old) {
		panic("replace: no " + old)
	}
	return replacedText(strings.Replace(string(s), old, new, 1))
}

// replaceOnce replaces the first old in s, which must hold it.
func replaceOnce(t *testing.T, s, old, new string) replacedText {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the base workload lacks %q", old)
	}
	return replacedText(strings.Replace(s, old, new, 1))
}

func TestParseDecoder(t *testing.T) {
	chat := Defaults{Precision: "int8", Threads: 0, Batching: BatchingContinuous, MaxSeqs: 16, MaxBatchedTokens: 256,
		KVBlockSize: 16, KVBudgetBytes: 64 << 20, KVBudgetText: "64MiB", MaxQueue: 1024, RequestsPerSec: 4,
		Arrival: ArrivalPoisson, Concurrency: 8, Duration: 30 * time.Second, Warmup: 3 * time.Second}
	with := func(change func(d *Defaults)) Defaults {
		d := chat
		change(&d)
		return d
	}
	dec := func(old, new string) replacedText { return replaceOnce(t, decoderWorkload, old, new) }
	tests := []struct {
		name string
		yaml replacedText
		want Defaults
	}{
		{"as written", replacedText(decoderWorkload), chat},
		{"batching absent is continuous", dec("  batching: continuous\n", ""), chat},
		{"static batching", dec("batching: continuous", "batching: static"),
			with(func(d *Defaults) { d.Batching = BatchingStatic })},
		{"kv block size absent is 16", dec("  kv_block_size: 16\n", ""), chat},
		{"kv block size null is 16", dec("kv_block_size: 16", "kv_block_size: ~"), chat},
		{"kv block size 32", dec("kv_block_size: 16", "kv_block_size: 32"),
			with(func(d *Defaults) { d.KVBlockSize = 32 })},
		{"zero max batch and delay", dec("max_queue: 1024", "max_queue: 1024\n  max_batch: 0\n  max_queue_delay: 0s"), chat},
		{"kv budget in decimal units with a space", dec("kv_budget: 64MiB", "kv_budget: 512 KB"),
			with(func(d *Defaults) { d.KVBudgetBytes, d.KVBudgetText = 512_000, "512 KB" })},
		{"kv budget with a fraction", dec("kv_budget: 64MiB", "kv_budget: 1.5GiB"),
			with(func(d *Defaults) { d.KVBudgetBytes, d.KVBudgetText = 3<<29, "1.5GiB" })},
		{"kv budget quoted", dec("kv_budget: 64MiB", `kv_budget: "256MiB"`),
			with(func(d *Defaults) { d.KVBudgetBytes, d.KVBudgetText = 256<<20, "256MiB" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse("test.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if w.Defaults != tt.want {
				t.Errorf("defaults = %+v\nwant       %+v", w.Defaults, tt.want)
			}
			if w.Model != (ModelRef{ArchDecoder, "s15m"}) || w.Input.Tokens != nil || w.Input.Features != 0 ||
				w.Input.Prompt == nil || *w.Input.Prompt != (TokenLengths{Min: 32, Max: 192, Mean: 80}) ||
				w.Input.Output == nil || *w.Input.Output != (TokenLengths{Min: 16, Max: 128, Mean: 48}) {
				t.Errorf("workload = %+v, prompt %+v, output %+v", w, w.Input.Prompt, w.Input.Output)
			}
		})
	}

	// Every decoder preset is accepted.
	for _, p := range []string{"tiny", "s15m", "s42m", "s110m"} {
		if _, err := Parse("test.yaml", []byte(dec("preset: s15m", "preset: "+p))); err != nil {
			t.Errorf("preset %s: %v", p, err)
		}
	}
	_, err := Parse("test.yaml", []byte(dec("preset: s15m", "preset: mlp")))
	if err == nil || !strings.Contains(err.Error(), `model.preset "mlp": unknown preset for arch decoder; accepted: tiny, s15m, s42m, s110m`) {
		t.Errorf("preset mlp on a decoder: err = %v", err)
	}
}

func TestValidateDecoderInCode(t *testing.T) {
	w, err := Parse("test.yaml", []byte(decoderWorkload))
	if err != nil {
		t.Fatal(err)
	}
	// Validate does not fill in defaults: a workload built in code names its batching and
	// block size.
	w.Defaults.Batching, w.Defaults.KVBlockSize = "", 0
	w.Defaults.KVBudgetBytes, w.Defaults.KVBudgetText = -1, ""
	err = w.Validate()
	for _, want := range []string{
		"defaults.batching: missing; accepted: continuous, static",
		`defaults.kv_block_size "0": accepted: a number of tokens per KV cache block, at least 1 (default 16)`,
		`defaults.kv_budget "-1": accepted: a size above 0, such as 64MiB`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := len(unjoin(err)); n != 3 {
		t.Errorf("%d problems, want 3:\n%v", n, err)
	}
}

func TestParseSize(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"64MiB", 64 << 20},
		{"256MiB", 256 << 20},
		{"1B", 1},
		{"0.5KiB", 512},
		{".25KiB", 256},
		{"2GiB", 2 << 30},
		{"1.5GiB", 3 << 29},
		{"1KB", 1000},
		{"512 KB", 512_000},
		{"0.3MB", 300_000},
		{"3GB", 3_000_000_000},
		{" 2MiB ", 2 << 20},
		{"+7B", 7},
		{"0B", 0},
		{"-1MiB", -1 << 20},
		{"8589934591GiB", 8589934591 << 30},
	}
	for _, tt := range good {
		if got, err := ParseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	bad := []struct {
		in, want string
	}{
		{"", "not a size"},
		{"MiB", "not a size"},
		{"1024", "not a size"},
		{"1e3MiB", "not a size"},
		{"1,5MiB", "not a size"},
		{"1.2.3MiB", "not a size"},
		{"64 MiB extra", "not a size"},
		{"12 parsecs", "unknown unit parsecs"},
		{"64mib", "unknown unit mib"},
		{"1TiB", "unknown unit TiB"},
		{"1.5B", "not a whole number of bytes"},
		{"0.0001KB", "not a whole number of bytes"},
		{"8589934592GiB", "too large"},
		{"99999999999999999999999B", "too large"},
	}
	for _, tt := range bad {
		got, err := ParseSize(tt.in)
		if err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", tt.in, got)
			continue
		}
		for _, want := range []string{strconv.Quote(tt.in), tt.want, "accepted: a number with a unit (B, KiB, MiB, GiB, KB, MB, GB), such as 64MiB"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseSize(%q): error %q lacks %q", tt.in, err, want)
			}
		}
	}
}

func TestDraw(t *testing.T) {
	c, err := LookupWorkload("classify")
	if err != nil {
		t.Fatal(err)
	}
	tl := *c.Input.Tokens
	r := rand.New(rand.NewPCG(1, 2))
	const n = 100_000
	sum := 0
	for range n {
		v := tl.Draw(r)
		if v < tl.Min || v > tl.Max {
			t.Fatalf("Draw() = %d, outside [%d, %d]", v, tl.Min, tl.Max)
		}
		sum += v
	}
	// The documented mean: Min + m(1 - e^{-(Max-Min)/m}) with m = Mean-Min.
	m := tl.Mean - float64(tl.Min)
	want := float64(tl.Min) + m*(1-math.Exp(-float64(tl.Max-tl.Min)/m))
	got := float64(sum) / n
	if math.Abs(got-want) > 0.03*want {
		t.Errorf("mean of %d draws = %.3f, want %.3f within 3%%", n, got, want)
	}
	if want >= tl.Mean {
		t.Errorf("clipped mean %.3f is not below Mean %.3f", want, tl.Mean)
	}

	edges := []struct {
		name string
		tl   TokenLengths
	}{
		{"min equals mean", TokenLengths{Min: 5, Max: 10, Mean: 5}},
		{"min equals max", TokenLengths{Min: 7, Max: 7, Mean: 7}},
		{"mean at max", TokenLengths{Min: 1, Max: 3, Mean: 3}},
		{"huge max", TokenLengths{Min: 1, Max: math.MaxInt, Mean: 1e18}},
	}
	for _, e := range edges {
		t.Run(e.name, func(t *testing.T) {
			for range 1000 {
				if v := e.tl.Draw(r); v < e.tl.Min || v > e.tl.Max {
					t.Fatalf("Draw() = %d, outside [%d, %d]", v, e.tl.Min, e.tl.Max)
				}
			}
		})
	}
}

func TestParseMissingValues(t *testing.T) {
	_, err := Parse("m.yaml", []byte("input: {tokens: ~}\ndefaults:\n  <<: {max_batch: 3, bogus: 2}\n"))
	if err == nil || !strings.Contains(err.Error(), "m.yaml: defaults.bogus: unknown key (line 3); accepted in defaults: arrival") {
		t.Errorf("merged key: err = %v", err)
	}
	_, err = Parse("m.yaml", []byte("input: {tokens: ~}\n"))
	for _, want := range []string{
		"m.yaml: name: missing; accepted: a lowercase letter",
		"m.yaml: description: missing",
		"m.yaml: model.arch: missing; accepted: encoder, mlp",
		"m.yaml: defaults.precision: missing; accepted: fp32",
		"m.yaml: defaults.arrival: missing; accepted: poisson",
		`m.yaml: defaults.duration "0s": accepted: a duration above 0`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
