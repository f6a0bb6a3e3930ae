package tuner_test

import (
	"strings"
	"testing"

	"github.com/infertune/infertune/tuner"
)

// TestGenerationSpace: a generation space lists batching × max_seqs × max_batched_tokens
// configs with their own keys and names, takes --space overrides of its dimensions, and
// refuses the dynamic batcher's (and a request/response space refuses its).
func TestGenerationSpace(t *testing.T) {
	s := tuner.Space{Precisions: []string{"fp32", "int8"}, Batchings: []string{"continuous"}, MaxSeqs: []int{4, 16},
		MaxBatchedTokens: []int{256}, Threads: []int{1, 2}, Tiers: []string{"simd"}}
	if !s.Generation() || s.Size() != 8 || len(s.Configs()) != 8 {
		t.Fatalf("generation %v, size %d, %d configs; want a generation space of 8", s.Generation(), s.Size(), len(s.Configs()))
	}
	c := s.Configs()[2] // fp32, 2 threads, 4 sequences
	if c.Key() != "precision=fp32,batching=continuous,max_seqs=4,max_batched_tokens=256,threads=2,tier=simd" ||
		c.String() != "fp32 continuous seqs≤4 tokens≤256 simd×2" || !c.Generation() {
		t.Errorf("config %q, key %q", c, c.Key())
	}
	o, err := s.Override([]string{"batching=continuous,static max_seqs=1..32 max_batched_tokens=128,512"}, []string{"fp32", "int8"}, []string{"simd"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if o.Size() != 2*2*6*2*2 {
		t.Errorf("overridden size %d, want %d", o.Size(), 2*2*6*2*2)
	}
	for _, c := range []struct {
		space   tuner.Space
		term    string
		mention string
	}{
		{s, "max_batch=1..8", "a dimension of request/response workloads"},
		{s, "max_queue_delay=0,2ms", "a dimension of request/response workloads"},
		{s, "batching=dynamic", `"dynamic": accepted: continuous, static`},
		{s, "max_seqs=0", `"0": accepted: whole numbers from 1 to 4096`},
		{tuner.Space{Precisions: []string{"fp32"}, MaxBatch: []int{1}}, "max_seqs=4", "a dimension of generation workloads"},
	} {
		if _, err := c.space.Override([]string{c.term}, []string{"fp32", "int8"}, []string{"simd"}, 2); err == nil || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %v; want an error mentioning %q", c.term, err, c.mention)
		}
	}
}
