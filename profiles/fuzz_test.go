package profiles

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every problem it reports names the file,
// and that what it accepts validates, draws lengths in range and, for a decoder, has its
// generation defaults. Seeds: the shipped workloads, the valid test workloads, a few broken
// ones, and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, w := range Workloads() {
		f.Add(w.Raw)
	}
	for _, s := range []string{
		validWorkload,
		mlpWorkload,
		decoderWorkload,
		"",
		"- a\n",
		"name: [\n",
		"defaults:\n  max_batch: 8.5\n  duration: soon\n",
		"input: {tokens: {min: 300, max: 2, mean: .nan}}\n",
		"a: &x [*x]\n",
		"defaults:\n  <<: {max_batch: 3}\n",
		validWorkload + "---\n" + validWorkload,
		"model: {arch: decoder}\ninput: {prompt: {min: 0, max: 0, mean: 0}, tokens: {min: 1, max: 1, mean: 1}}\n",
		"model: {arch: encoder}\ndefaults: {batching: static, kv_budget: 12 parsecs, kv_block_size: ~}\n",
		"defaults: {kv_budget: 1.5B}\n",
		"defaults: {kv_budget: 9000000000GiB}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Parse("fuzz.yaml", data)
		if err != nil {
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml: ") || len(line) == len("fuzz.yaml: ") {
					t.Fatalf("problem %q does not name the file or says nothing; error:\n%v", line, err)
				}
			}
			return
		}
		if err := w.Validate(); err != nil {
			t.Fatalf("Parse accepted a workload that does not validate: %v", err)
		}
		for _, tl := range []*TokenLengths{w.Input.Tokens, w.Input.Prompt, w.Input.Output} {
			if tl == nil {
				continue
			}
			r := rand.New(rand.NewPCG(1, 2))
			for range 100 {
				if v := tl.Draw(r); v < tl.Min || v > tl.Max {
					t.Fatalf("Draw() = %d, outside [%d, %d]", v, tl.Min, tl.Max)
				}
			}
		}
		if w.Model.Arch == ArchDecoder && (w.Defaults.KVBudgetBytes <= 0 || w.Defaults.KVBlockSize < 1 || w.Defaults.Batching == "") {
			t.Fatalf("Parse accepted a decoder without its generation defaults: %+v", w.Defaults)
		}
	})
}
