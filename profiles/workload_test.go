package profiles

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
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
	if want := []string{"classify", "classify-tiny", "fraud"}; !slices.Equal(names, want) {
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
}

func TestWorkloadsAreCopies(t *testing.T) {
	ws := Workloads()
	ws[0].Name = "changed"
	ws[0].Raw[0] = 'X'
	ws[0].Input.Tokens.Max = 1
	again := Workloads()
	if again[0].Name != "classify" || again[0].Raw[0] != '#' || again[0].Input.Tokens.Max != 128 {
		t.Errorf("a caller's change reached the shipped workloads: %+v", again[0])
	}
}

func TestLookupWorkloadUnknown(t *testing.T) {
	_, err := LookupWorkload("nope")
	if err == nil {
		t.Fatal("no error for an unknown workload")
	}
	for _, want := range []string{`"nope"`, "accepted: classify, classify-tiny, fraud"} {
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

func TestParseErrors(t *testing.T) {
	if _, err := Parse("test.yaml", []byte(validWorkload)); err != nil {
		t.Fatalf("valid encoder workload: %v", err)
	}
	if _, err := Parse("test.yaml", []byte(mlpWorkload)); err != nil {
		t.Fatalf("valid mlp workload: %v", err)
	}
	enc := func(old, new string) replacedText { return replaceOnce(t, validWorkload, old, new) }
	mlp := func(old, new string) replacedText { return replaceOnce(t, mlpWorkload, old, new) }
	tests := []struct {
		name string
		yaml replacedText
		want []string // each must appear in one of the error's lines
		n    int      // the number of problems (lines)
	}{
		{"unknown top-level key", enc("name: classify\n", "name: classify\ncolour: red\n"),
			[]string{"colour: unknown key (line 2); accepted at the top level: defaults, description, input, model, name"}, 1},
		{"unknown defaults key", enc("threads: 0", "treads: 0"),
			[]string{"defaults.treads: unknown key (line 10); accepted in defaults: arrival, concurrency, duration, max_batch"}, 1},
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
		{"unknown arch", enc("arch: encoder", "arch: decoder"),
			[]string{`model.arch "decoder": unknown architecture; accepted: encoder, mlp`}, 1},
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
