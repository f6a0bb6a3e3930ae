package sched

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// kvS15m is the KV shape of the s15m test model: 6 layers of kv width 288.
const (
	kvS15mLayers     = 6
	kvS15mDim        = 288
	kvS15mBlockBytes = 2 * kvS15mLayers * 16 * kvS15mDim * 4 // 221184
)

func TestKVConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  KVConfig
		want []string // substrings of the error; none: valid
	}{
		{"default block size", KVConfig{BlockSize: DefaultKVBlockSize, Blocks: 1}, nil},
		{"one-token blocks", KVConfig{BlockSize: 1, Blocks: 4096}, nil},
		{"zero block size", KVConfig{BlockSize: 0, Blocks: 8}, []string{"kv_block_size is 0; want an integer >= 1 (default 16)"}},
		{"negative block size", KVConfig{BlockSize: -16, Blocks: 8}, []string{"kv_block_size is -16; want an integer >= 1"}},
		{"zero blocks", KVConfig{BlockSize: 16, Blocks: 0}, []string{"kv_blocks is 0; want an integer >= 1"}},
		{"negative blocks", KVConfig{BlockSize: 16, Blocks: -3}, []string{"kv_blocks is -3; want an integer >= 1"}},
		{"zero value, every problem", KVConfig{}, []string{"kv_block_size is 0", "kv_blocks is 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			checkKVError(t, err, tt.want)
			p, err := NewKVPool(tt.cfg)
			checkKVError(t, err, tt.want)
			if err == nil && (p.Blocks() != tt.cfg.Blocks || p.BlockSize() != tt.cfg.BlockSize || p.Free() != tt.cfg.Blocks) {
				t.Errorf("NewKVPool(%+v): Blocks %d, BlockSize %d, Free %d", tt.cfg, p.Blocks(), p.BlockSize(), p.Free())
			}
			if err != nil && !strings.HasPrefix(err.Error(), "sched: new kv pool: ") {
				t.Errorf("NewKVPool(%+v) error %q; want it prefixed with sched: new kv pool:", tt.cfg, err)
			}
		})
	}
}

func TestKVBlockBytes(t *testing.T) {
	tests := []struct {
		name                     string
		layers, kvDim, blockSize int
		valueBytes               int
		want                     int64
	}{
		{"s15m", kvS15mLayers, kvS15mDim, 16, 4, 221184},
		{"s15m fp16", kvS15mLayers, kvS15mDim, 16, 2, 110592},
		{"s15m one-token blocks", kvS15mLayers, kvS15mDim, 1, 4, 13824},
		{"32 layers kv 1024", 32, 1024, 16, 4, 4194304},
		{"32 layers kv 4096 fp16", 32, 4096, 16, 2, 8388608},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KVBlockBytes(tt.layers, tt.kvDim, tt.blockSize, tt.valueBytes); got != tt.want {
				t.Errorf("KVBlockBytes(%d, %d, %d, %d) = %d; want %d", tt.layers, tt.kvDim, tt.blockSize, tt.valueBytes, got, tt.want)
			}
		})
	}
}

func TestKVBlocksForBudget(t *testing.T) {
	const limit = 20132659200
	tests := []struct {
		name                     string
		budget                   int64
		layers, kvDim, blockSize int
		valueBytes               int
		memLimit                 int64
		want                     int
		wantErr                  []string // substrings of the error; none: no error
	}{
		{"s15m one block", kvS15mBlockBytes, kvS15mLayers, kvS15mDim, 16, 4, limit, 1, nil},
		{"s15m just below two blocks", 2*kvS15mBlockBytes - 1, kvS15mLayers, kvS15mDim, 16, 4, limit, 1, nil},
		{"s15m two blocks", 2 * kvS15mBlockBytes, kvS15mLayers, kvS15mDim, 16, 4, limit, 2, nil},
		{"s15m 64 MiB", 64 << 20, kvS15mLayers, kvS15mDim, 16, 4, limit, 303, nil},
		{"s15m 64 MiB fp16", 64 << 20, kvS15mLayers, kvS15mDim, 16, 2, limit, 606, nil},
		{"value bytes 0", 64 << 20, kvS15mLayers, kvS15mDim, 16, 0, limit, 0, []string{"value_bytes is 0; want 1 to 8"}},
		{"s15m budget at the limit", limit, kvS15mLayers, kvS15mDim, 16, 4, limit, 91022, nil},
		{"s15m 1 TiB without a limit", 1 << 40, kvS15mLayers, kvS15mDim, 16, 4, 0, 4971026, nil},
		{"s15m negative limit is none", 1 << 40, kvS15mLayers, kvS15mDim, 16, 4, -1, 4971026, nil},
		{"above the limit", 1048576000000, 32, 1024, 16, 4, limit, 0,
			[]string{"kv_budget 1048576000000: accepted: 4194304 (one block) to 20132659200 (the memory limit)"}},
		{"one byte above the limit", limit + 1, kvS15mLayers, kvS15mDim, 16, 4, limit, 0,
			[]string{"kv_budget 20132659201: accepted: 221184 (one block) to 20132659200 (the memory limit)"}},
		{"one byte below a block", kvS15mBlockBytes - 1, kvS15mLayers, kvS15mDim, 16, 4, limit, 0,
			[]string{"kv_budget 221183: accepted: 221184 (one block) to 20132659200"}},
		{"zero budget without a limit", 0, kvS15mLayers, kvS15mDim, 16, 4, 0, 0,
			[]string{"kv_budget 0: accepted: 221184 (one block) or more"}},
		{"negative budget", -1, kvS15mLayers, kvS15mDim, 16, 4, limit, 0, []string{"kv_budget -1: accepted: 221184 (one block)"}},
		{"limit below one block", kvS15mBlockBytes, kvS15mLayers, kvS15mDim, 16, 4, kvS15mBlockBytes - 1, 0,
			[]string{"kv_budget 221184: accepted: none: one block takes 221184 bytes, more than the memory limit of 221183"}},
		{"zero block size", 64 << 20, kvS15mLayers, kvS15mDim, 0, 4, limit, 0, []string{"kv_block_size is 0; want an integer >= 1"}},
		{"negative block size", 64 << 20, kvS15mLayers, kvS15mDim, -16, 4, limit, 0, []string{"kv_block_size is -16"}},
		{"bad shape, every problem", 64 << 20, 0, -1, 0, 4, limit, 0,
			[]string{"layers is 0; want an integer >= 1", "kv_dim is -1; want an integer >= 1", "kv_block_size is 0"}},
		{"block overflows", 64 << 20, 1 << 30, 1 << 30, 16, 4, 0, 0, []string{"overflows int64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KVBlocksForBudget(tt.budget, tt.layers, tt.kvDim, tt.blockSize, tt.valueBytes, tt.memLimit)
			checkKVError(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("KVBlocksForBudget(%d, %d, %d, %d, %d, %d) = %d; want %d",
					tt.budget, tt.layers, tt.kvDim, tt.blockSize, tt.valueBytes, tt.memLimit, got, tt.want)
			}
		})
	}
}

func TestKVPoolBlocksFor(t *testing.T) {
	tests := []struct {
		blockSize, n, want int
	}{
		{16, -1, 0},
		{16, 0, 0},
		{16, 1, 1},
		{16, 15, 1},
		{16, 16, 1},
		{16, 17, 2},
		{16, 32, 2},
		{16, 33, 3},
		{1, 0, 0},
		{1, 1, 1},
		{1, 17, 17},
		{7, 14, 2},
		{7, 15, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("block=%d/n=%d", tt.blockSize, tt.n), func(t *testing.T) {
			p := newTestKVPool(t, tt.blockSize, 1)
			if got := p.BlocksFor(tt.n); got != tt.want {
				t.Errorf("BlocksFor(%d) = %d; want %d", tt.n, got, tt.want)
			}
		})
	}
}

func TestKVPoolGrow(t *testing.T) {
	// Each case runs on a pool of 4 blocks of 16 tokens, where another table first takes
	// other tokens, then the table under test grows from 0 to from tokens, then to to.
	tests := []struct {
		name       string
		other      int // tokens held by another table
		from, to   int
		wantErr    error // ErrKVFull, errNotKVFull, or nil
		wantBlocks []int // the table's blocks afterwards
		wantFree   int
	}{
		{"empty to empty", 0, 0, 0, nil, nil, 4},
		{"empty to one token", 0, 0, 1, nil, []int{0}, 3},
		{"within the last block", 0, 1, 16, nil, []int{0}, 3},
		{"into a second block", 0, 16, 17, nil, []int{0, 1}, 2},
		{"same size", 0, 17, 17, nil, []int{0, 1}, 2},
		{"to the whole pool", 0, 0, 64, nil, []int{0, 1, 2, 3}, 0},
		{"past the whole pool", 0, 0, 65, ErrKVFull, nil, 4},
		{"past the whole pool, partly held", 0, 20, 65, ErrKVFull, []int{0, 1}, 2},
		{"after another table", 20, 1, 32, nil, []int{2, 3}, 0},
		{"full: all or nothing", 20, 1, 48, ErrKVFull, []int{2}, 1},
		{"full: nothing free", 48, 1, 17, ErrKVFull, []int{3}, 0},
		{"full, but fits the last block", 48, 1, 16, nil, []int{3}, 0},
		{"smaller", 0, 17, 16, errNotKVFull, []int{0, 1}, 2},
		{"negative", 0, 17, -1, errNotKVFull, []int{0, 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestKVPool(t, 16, 4)
			var other, tab BlockTable
			if err := p.Grow(&other, tt.other); err != nil {
				t.Fatalf("Grow(other, %d): %v", tt.other, err)
			}
			if err := p.Grow(&tab, tt.from); err != nil {
				t.Fatalf("Grow(table, %d): %v", tt.from, err)
			}
			can := p.CanGrow(&tab, tt.to)
			err := p.Grow(&tab, tt.to)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Grow(table, %d): %v; want no error", tt.to, err)
			case tt.wantErr == ErrKVFull && !errors.Is(err, ErrKVFull):
				t.Errorf("Grow(table, %d): %v; want an error wrapping ErrKVFull", tt.to, err)
			case tt.wantErr == errNotKVFull && (err == nil || errors.Is(err, ErrKVFull)):
				t.Errorf("Grow(table, %d): %v; want an error other than ErrKVFull", tt.to, err)
			}
			if can != (err == nil) {
				t.Errorf("CanGrow(table, %d) = %v, but Grow returned %v", tt.to, can, err)
			}
			wantTokens := tt.to
			if err != nil {
				wantTokens = tt.from
			}
			if !slices.Equal(tab.Blocks, tt.wantBlocks) || tab.Tokens != wantTokens {
				t.Errorf("table afterwards holds %d tokens in %v; want %d in %v", tab.Tokens, tab.Blocks, wantTokens, tt.wantBlocks)
			}
			if p.Free() != tt.wantFree || p.Used()+p.Free() != p.Blocks() {
				t.Errorf("Free %d, Used %d of %d; want Free %d", p.Free(), p.Used(), p.Blocks(), tt.wantFree)
			}
			checkKVPool(t, p, []*BlockTable{&other, &tab})
		})
	}
}

// errNotKVFull stands, in TestKVPoolGrow, for any error but ErrKVFull.
var errNotKVFull = errors.New("an error other than ErrKVFull")

func TestKVPoolRelease(t *testing.T) {
	p := newTestKVPool(t, 16, 8)
	var a, b, c BlockTable
	growKV(t, p, &a, 40) // blocks 0 1 2
	growKV(t, p, &b, 16) // block 3
	if p.Used() != 4 || p.PeakUsed() != 4 {
		t.Fatalf("after two grows: Used %d, PeakUsed %d; want 4, 4", p.Used(), p.PeakUsed())
	}

	aBlocks := slices.Clone(a.Blocks)
	p.Release(&a)
	if len(a.Blocks) != 0 || a.Tokens != 0 {
		t.Errorf("released table holds %d tokens in %v; want it empty", a.Tokens, a.Blocks)
	}
	if p.Used() != 1 || p.Free() != 7 || p.PeakUsed() != 4 {
		t.Errorf("after release: Used %d, Free %d, PeakUsed %d; want 1, 7, 4", p.Used(), p.Free(), p.PeakUsed())
	}
	// LIFO: the table's last block, freed last, comes back first.
	growKV(t, p, &c, 33)
	if want := []int{aBlocks[2], aBlocks[1], aBlocks[0]}; !slices.Equal(c.Blocks, want) {
		t.Errorf("after releasing %v, a new table got %v; want %v (last freed first)", aBlocks, c.Blocks, want)
	}
	// A released table is empty and ready to grow again.
	growKV(t, p, &a, 1)
	if want := []int{4}; !slices.Equal(a.Blocks, want) {
		t.Errorf("regrown table got %v; want %v", a.Blocks, want)
	}
	// Releasing an empty table does nothing.
	var empty BlockTable
	p.Release(&empty)
	checkKVPool(t, p, []*BlockTable{&a, &b, &c, &empty})

	for _, tab := range []*BlockTable{&a, &b, &c} {
		p.Release(tab)
	}
	if p.Free() != p.Blocks() || p.PeakUsed() != 5 {
		t.Errorf("after releasing everything: Free %d of %d, PeakUsed %d; want all free, PeakUsed 5", p.Free(), p.Blocks(), p.PeakUsed())
	}
	checkKVPool(t, p, nil)
}

func TestKVPoolGrowAllocs(t *testing.T) {
	p := newTestKVPool(t, 16, 64)
	tab := BlockTable{Blocks: make([]int, 0, 64)}
	allocs := testing.AllocsPerRun(100, func() {
		for n := 1; n <= 64*16; n += 5 {
			if err := p.Grow(&tab, n); err != nil {
				t.Fatal(err)
			}
		}
		p.Release(&tab)
	})
	if allocs != 0 {
		t.Errorf("Grow and Release of a table with room for its blocks: %v allocations per run; want 0", allocs)
	}
}

func TestKVPoolMisuse(t *testing.T) {
	tests := []struct {
		name string
		// misuse sets up tables on p (a pool of 8 blocks of 16 tokens, 3 of them held by
		// held, which stays valid) and returns a call that must panic.
		misuse func(t *testing.T, p *KVPool, held *BlockTable) func()
		want   string // a substring of the panic message
	}{
		{"double release of a copy", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			var a BlockTable
			growKV(t, p, &a, 20)
			stale := a
			stale.Blocks = slices.Clone(a.Blocks)
			p.Release(&a)
			return func() { p.Release(&stale) }
		}, "is free: the table was released already"},
		{"stale copy of a one-block table, block reused", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			var a, b BlockTable
			growKV(t, p, &a, 1)
			stale := a
			stale.Blocks = slices.Clone(a.Blocks)
			p.Release(&a)
			growKV(t, p, &b, 1) // takes the same block
			if !slices.Equal(b.Blocks, stale.Blocks) {
				t.Fatalf("new table got %v; want the block just freed, %v", b.Blocks, stale.Blocks)
			}
			return func() { p.Release(&stale) }
		}, "is held by another table"},
		{"built by hand, free blocks", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			return func() { p.Release(&BlockTable{Blocks: []int{5}, Tokens: 3}) }
		}, "block 5 (entry 0 of 1) is free"},
		{"built by hand, held blocks", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			return func() { p.Release(&BlockTable{Blocks: slices.Clone(held.Blocks), Tokens: held.Tokens}) }
		}, "is held by another table"},
		{"block out of range", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			return func() { p.Release(&BlockTable{Blocks: []int{8}, Tokens: 1}) }
		}, "block 8 (entry 0 of 1) is out of range [0, 8)"},
		{"block twice", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			var a BlockTable
			growKV(t, p, &a, 20)
			a.Blocks[1] = a.Blocks[0]
			return func() { p.Release(&a) }
		}, "appears twice in the table"},
		{"from another pool", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			q := newTestKVPool(t, 16, 8)
			var a BlockTable
			growKV(t, q, &a, 60)
			return func() { p.Release(&a) }
		}, "did not come from this pool"},
		{"tokens out of step with blocks", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			var a BlockTable
			growKV(t, p, &a, 16)
			a.Tokens = 17
			return func() { p.Release(&a) }
		}, "holding 17 tokens in 1 blocks; want 2 blocks"},
		{"grow of a released copy", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			var a BlockTable
			growKV(t, p, &a, 20)
			stale := a
			stale.Blocks = slices.Clone(a.Blocks)
			p.Release(&a)
			return func() { _ = p.Grow(&stale, 40) }
		}, "grow of a kv block table the pool does not hold"},
		{"can grow of a table from another pool", func(t *testing.T, p *KVPool, held *BlockTable) func() {
			q := newTestKVPool(t, 16, 8)
			var a BlockTable
			growKV(t, q, &a, 60)
			return func() { p.CanGrow(&a, 61) }
		}, "did not come from this pool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestKVPool(t, 16, 8)
			var held BlockTable
			growKV(t, p, &held, 40)
			call := tt.misuse(t, p, &held)
			free, owner, peak := slices.Clone(p.free), slices.Clone(p.owner), p.PeakUsed()
			msg, ok := kvPanicMessage(call)
			if !ok {
				t.Fatalf("call returned; want a panic with %q", tt.want)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("panic %q; want it to contain %q", msg, tt.want)
			}
			// The panic changed nothing: the pool is as it was.
			if !slices.Equal(p.free, free) || !slices.Equal(p.owner, owner) || p.PeakUsed() != peak {
				t.Errorf("after the panic: free list %v, owners %v, PeakUsed %d; want %v, %v, %d",
					p.free, p.owner, p.PeakUsed(), free, owner, peak)
			}
			// held, and the pool with it, still work.
			p.Release(&held)
			growKV(t, p, &held, 40)
		})
	}
}

// TestKVPoolSoak runs thousands of random grows and releases over many tables, checking
// every invariant of the pool after each step.
func TestKVPoolSoak(t *testing.T) {
	tests := []struct {
		blockSize, blocks, tables, steps int
	}{
		{16, 1, 4, 2000},
		{16, 64, 24, 5000},
		{1, 97, 16, 5000},
		{7, 257, 48, 5000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("block=%d/blocks=%d/tables=%d", tt.blockSize, tt.blocks, tt.tables), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.blocks), uint64(tt.blockSize)))
			p := newTestKVPool(t, tt.blockSize, tt.blocks)
			tables := make([]*BlockTable, tt.tables)
			for i := range tables {
				tables[i] = new(BlockTable)
			}
			var grown, full, shrunk, released, peak int
			for step := range tt.steps {
				tab := tables[rng.IntN(len(tables))]
				var op string
				switch r := rng.IntN(100); {
				case r < 15:
					op = fmt.Sprintf("release %d tokens in %v", tab.Tokens, tab.Blocks)
					p.Release(tab)
					if len(tab.Blocks) != 0 || tab.Tokens != 0 {
						t.Fatalf("step %d: %s: table holds %d tokens in %v afterwards; want it empty", step, op, tab.Tokens, tab.Blocks)
					}
					released++
				case r < 20 && tab.Tokens > 0:
					n := rng.IntN(tab.Tokens)
					op = fmt.Sprintf("shrink %d to %d tokens", tab.Tokens, n)
					before, tokens := slices.Clone(tab.Blocks), tab.Tokens
					if p.CanGrow(tab, n) {
						t.Fatalf("step %d: %s: CanGrow true", step, op)
					}
					if err := p.Grow(tab, n); err == nil || errors.Is(err, ErrKVFull) {
						t.Fatalf("step %d: %s: %v; want an error other than ErrKVFull", step, op, err)
					}
					if !slices.Equal(tab.Blocks, before) || tab.Tokens != tokens {
						t.Fatalf("step %d: %s: table changed to %d tokens in %v", step, op, tab.Tokens, tab.Blocks)
					}
					shrunk++
				default:
					// Mostly decode steps and small prompts, sometimes a long prompt.
					add := rng.IntN(3 * tt.blockSize)
					if rng.IntN(10) == 0 {
						add = rng.IntN(tt.blocks*tt.blockSize + 1)
					}
					n := tab.Tokens + add
					op = fmt.Sprintf("grow %d to %d tokens, %d free", tab.Tokens, n, p.Free())
					before, tokens, free := slices.Clone(tab.Blocks), tab.Tokens, p.Free()
					can := p.CanGrow(tab, n)
					err := p.Grow(tab, n)
					if can != (err == nil) {
						t.Fatalf("step %d: %s: CanGrow %v, but Grow returned %v", step, op, can, err)
					}
					switch {
					case err == nil:
						if !slices.Equal(tab.Blocks[:len(before)], before) || tab.Tokens != n {
							t.Fatalf("step %d: %s: table holds %d tokens in %v, grown from %v", step, op, tab.Tokens, tab.Blocks, before)
						}
						grown++
					case errors.Is(err, ErrKVFull):
						if p.BlocksFor(n)-len(before) <= free {
							t.Fatalf("step %d: %s: %v, yet the blocks it needs are free", step, op, err)
						}
						if !slices.Equal(tab.Blocks, before) || tab.Tokens != tokens || p.Free() != free {
							t.Fatalf("step %d: %s: failed grow changed the table to %d tokens in %v, %d free", step, op, tab.Tokens, tab.Blocks, p.Free())
						}
						full++
					default:
						t.Fatalf("step %d: %s: %v", step, op, err)
					}
				}
				if p.PeakUsed() < peak {
					t.Fatalf("step %d: %s: PeakUsed fell from %d to %d", step, op, peak, p.PeakUsed())
				}
				peak = max(peak, p.Used())
				if p.PeakUsed() != peak {
					t.Fatalf("step %d: %s: PeakUsed %d; want %d, the most Used seen", step, op, p.PeakUsed(), peak)
				}
				if !checkKVPool(t, p, tables) {
					t.Fatalf("step %d: %s: pool inconsistent", step, op)
				}
			}
			// Each kind of step must have happened, or the soak tests less than it claims.
			if grown == 0 || full == 0 || shrunk == 0 || released == 0 {
				t.Errorf("steps: %d grows, %d full, %d shrinks, %d releases; want some of each", grown, full, shrunk, released)
			}
			for _, tab := range tables {
				p.Release(tab)
			}
			if p.Free() != p.Blocks() || p.Used() != 0 {
				t.Errorf("after releasing every table: Free %d, Used %d of %d; want all free", p.Free(), p.Used(), p.Blocks())
			}
			checkKVPool(t, p, tables)
		})
	}
}

// checkKVPool reports whether p and its tables hold every invariant, reporting each broken
// one: every block lies in exactly one table or on the free list, every table holds exactly
// BlocksFor(Tokens) blocks stamped with its own id, and the counts add up.
func checkKVPool(t *testing.T, p *KVPool, tables []*BlockTable) bool {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		ok = false
	}
	if p.Used()+p.Free() != p.Blocks() {
		fail("Used %d + Free %d != Blocks %d", p.Used(), p.Free(), p.Blocks())
	}
	if p.PeakUsed() < p.Used() {
		fail("PeakUsed %d < Used %d", p.PeakUsed(), p.Used())
	}
	// where[b] is where block b was seen: 0 nowhere yet, -1 the free list, i+1 table i.
	where := make([]int, p.Blocks())
	place := func(w int) string {
		if w < 0 {
			return "the free list"
		}
		return fmt.Sprintf("table %d", w-1)
	}
	see := func(b, w int) {
		switch {
		case b < 0 || b >= len(where):
			fail("block %d in %s is out of range [0, %d)", b, place(w), len(where))
		case where[b] != 0:
			fail("block %d is in %s and in %s", b, place(where[b]), place(w))
		default:
			where[b] = w
		}
	}
	for _, b := range p.free {
		see(b, -1)
		if b >= 0 && b < len(p.owner) && p.owner[b] != 0 {
			fail("free block %d is stamped with owner %d", b, p.owner[b])
		}
	}
	held := 0
	ids := map[uint64]int{}
	for i, tab := range tables {
		if want := p.BlocksFor(tab.Tokens); len(tab.Blocks) != want {
			fail("table %d holds %d tokens in %d blocks; want %d", i, tab.Tokens, len(tab.Blocks), want)
		}
		if len(tab.Blocks) == 0 {
			continue
		}
		if tab.id == 0 {
			fail("table %d holds blocks but has no id", i)
		} else if j, dup := ids[tab.id]; dup {
			fail("tables %d and %d share the id %d", j, i, tab.id)
		}
		ids[tab.id] = i
		for _, b := range tab.Blocks {
			see(b, i+1)
			if b >= 0 && b < len(p.owner) && p.owner[b] != tab.id {
				fail("block %d of table %d (id %d) is stamped with owner %d", b, i, tab.id, p.owner[b])
			}
		}
		held += len(tab.Blocks)
	}
	if held != p.Used() {
		fail("tables hold %d blocks; Used %d", held, p.Used())
	}
	for b, w := range where {
		if w == 0 {
			fail("block %d is in no table and not on the free list", b)
		}
	}
	return ok
}

// newTestKVPool returns a pool of blocks blocks of blockSize tokens.
func newTestKVPool(t *testing.T, blockSize, blocks int) *KVPool {
	t.Helper()
	p, err := NewKVPool(KVConfig{BlockSize: blockSize, Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// growKV grows tab to n tokens, failing the test on an error.
func growKV(t *testing.T, p *KVPool, tab *BlockTable, n int) {
	t.Helper()
	if err := p.Grow(tab, n); err != nil {
		t.Fatalf("Grow(%d): %v", n, err)
	}
}

// kvPanicMessage calls f and returns the value it panicked with, as text, and whether it
// panicked.
func kvPanicMessage(f func()) (msg string, panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			msg, panicked = fmt.Sprint(v), true
		}
	}()
	f()
	return "", false
}

// checkKVError fails t unless err contains every one of want, or is nil when want is
// empty.
func checkKVError(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("error %q; want none", err)
		}
		return
	}
	if err == nil {
		t.Errorf("no error; want one containing %q", want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q; want it to contain %q", err, w)
		}
	}
}
