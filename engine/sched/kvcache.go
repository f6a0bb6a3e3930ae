package sched

import (
	"errors"
	"fmt"
	"math"
)

// DefaultKVBlockSize is the tokens per KV cache block when kv_block_size is not set, as in
// vLLM.
const DefaultKVBlockSize = 16

// ErrKVFull is the error of a Grow that found too few free blocks; the table was left as it
// was. A batcher answers it by waiting for a sequence to end, or by preempting one.
var ErrKVFull = errors.New("sched: kv cache full")

// KVConfig sizes a paged KV cache. The zero value is not valid.
type KVConfig struct {
	// BlockSize is the tokens per block (kv_block_size, >= 1; the configuration's default
	// is DefaultKVBlockSize).
	BlockSize int
	// Blocks is the number of blocks in the pool (kv_blocks, >= 1), usually
	// KVBlocksForBudget of the kv_budget.
	Blocks int
}

// Validate returns every problem of c at once (errors.Join), each naming the field, its
// value and what would be accepted; nil when c is valid.
func (c KVConfig) Validate() error {
	var errs []error
	if c.BlockSize < 1 {
		errs = append(errs, fmt.Errorf("kv_block_size is %d; want an integer >= 1 (default %d)", c.BlockSize, DefaultKVBlockSize))
	}
	if c.Blocks < 1 {
		errs = append(errs, fmt.Errorf("kv_blocks is %d; want an integer >= 1", c.Blocks))
	}
	return errors.Join(errs...)
}

// KVBlockBytes returns the bytes one block holds for a model of layers layers and kvDim key
// (and value) width, K and V in values of valueBytes bytes (4 for fp32, 2 for fp16):
// 2 × layers × blockSize × kvDim × valueBytes. The arguments must be positive and small
// enough not to overflow; KVBlocksForBudget checks both.
func KVBlockBytes(layers, kvDim, blockSize, valueBytes int) int64 {
	return 2 * int64(layers) * int64(blockSize) * int64(kvDim) * int64(valueBytes)
}

// KVBlocksForBudget returns how many blocks of KVBlockBytes(layers, kvDim, blockSize,
// valueBytes) fit in
// budget bytes (kv_budget). memLimit is the most bytes the cache may take (the tool passes
// 80% of the machine's memory); memLimit <= 0 means no limit.
//
// The error names the field, its value and what is accepted: for kv_budget, one block up to
// memLimit, as in "kv_budget 1048576000000: accepted: 4194304 (one block) to 20132659200
// (the memory limit)". A model shape that is not positive, or whose block overflows int64,
// is an error too.
func KVBlocksForBudget(budget int64, layers, kvDim, blockSize, valueBytes int, memLimit int64) (int, error) {
	var errs []error
	if layers < 1 {
		errs = append(errs, fmt.Errorf("layers is %d; want an integer >= 1", layers))
	}
	if kvDim < 1 {
		errs = append(errs, fmt.Errorf("kv_dim is %d; want an integer >= 1", kvDim))
	}
	if blockSize < 1 {
		errs = append(errs, fmt.Errorf("kv_block_size is %d; want an integer >= 1 (default %d)", blockSize, DefaultKVBlockSize))
	}
	if valueBytes < 1 || valueBytes > 8 {
		errs = append(errs, fmt.Errorf("value_bytes is %d; want 1 to 8", valueBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if int64(layers) > math.MaxInt64/16/int64(blockSize)/int64(kvDim) {
		return 0, fmt.Errorf("kv block of %d layers × %d tokens × kv_dim %d overflows int64 bytes; want a smaller shape", layers, blockSize, kvDim)
	}
	block := KVBlockBytes(layers, kvDim, blockSize, valueBytes)
	switch {
	case memLimit > 0 && block > memLimit:
		return 0, fmt.Errorf("kv_budget %d: accepted: none: one block takes %d bytes, more than the memory limit of %d", budget, block, memLimit)
	case memLimit > 0 && (budget < block || budget > memLimit):
		return 0, fmt.Errorf("kv_budget %d: accepted: %d (one block) to %d (the memory limit)", budget, block, memLimit)
	case budget < block:
		return 0, fmt.Errorf("kv_budget %d: accepted: %d (one block) or more", budget, block)
	}
	return int(min(budget/block, math.MaxInt)), nil
}

// BlockTable maps one sequence's token positions to blocks of a KVPool: position i lives in
// block Blocks[i/BlockSize] at offset i%BlockSize. Tokens is the number of positions held.
// Blocks always holds exactly BlocksFor(Tokens) distinct ids, so only the last block may be
// partly used.
//
// The zero value is an empty table, ready for Grow. Only the pool changes a table: callers
// read Blocks and Tokens and do not write them. The pool stamps every block with its table's
// identity, which a copy of the table shares: once a table holds blocks, use one copy of it
// only (moving it, for example within a growing slice, is fine when the old copy is dropped).
type BlockTable struct {
	Blocks []int
	Tokens int

	id uint64 // the owner stamp of the table's blocks; 0 while it holds none
}

// releasing marks, during a Release, a block already checked; it is never a table's id.
const releasing = math.MaxUint64

// KVPool is the block allocator of a paged KV cache, as in vLLM's PagedAttention: the cache
// is cut into blocks of BlockSize token positions, and each sequence holds a BlockTable
// listing its blocks in order, so that it takes memory one block at a time as it grows and
// gives all of it back when it ends. KVPool does only the bookkeeping; the K and V values
// live with the model, indexed by block id (0 to Blocks()-1).
//
// Free blocks are kept on a LIFO stack, so the block freed last, still warm in the CPU cache,
// is handed out first; taking or returning a block is O(1), and Grow allocates nothing
// beyond growing the table's Blocks. Each block records the table that holds it, so that
// releasing a table the pool does not hold (released twice, a stale copy, one filled by
// another pool or built by hand) panics rather than corrupting the free list.
//
// A KVPool is owned by one goroutine, the batcher's, and has no locks: every call, and every
// use of its tables, must come from that goroutine.
type KVPool struct {
	blockSize int
	free      []int    // stack of free block ids; the last is handed out next
	owner     []uint64 // owner[b] is the id of the table holding block b; 0: free
	lastID    uint64   // the id given last to a table taking its first block
	peakUsed  int
}

// NewKVPool returns a pool of c.Blocks free blocks of c.BlockSize tokens. A fresh pool hands
// out blocks 0, 1, 2, … in order.
func NewKVPool(c KVConfig) (*KVPool, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("sched: new kv pool: %w", err)
	}
	p := &KVPool{
		blockSize: c.BlockSize,
		free:      make([]int, c.Blocks),
		owner:     make([]uint64, c.Blocks),
	}
	for i := range p.free {
		p.free[i] = c.Blocks - 1 - i
	}
	return p, nil
}

// BlockSize returns the tokens per block.
func (p *KVPool) BlockSize() int { return p.blockSize }

// Blocks returns the number of blocks in the pool.
func (p *KVPool) Blocks() int { return len(p.owner) }

// Free returns the number of blocks free.
func (p *KVPool) Free() int { return len(p.free) }

// Used returns the number of blocks held by tables.
func (p *KVPool) Used() int { return len(p.owner) - len(p.free) }

// PeakUsed returns the most blocks ever held at once.
func (p *KVPool) PeakUsed() int { return p.peakUsed }

// BlocksFor returns the blocks n tokens need: ceil(n / BlockSize), and 0 for n <= 0.
func (p *KVPool) BlocksFor(n int) int {
	if n <= 0 {
		return 0
	}
	return (n-1)/p.blockSize + 1
}

// CanGrow reports whether Grow(t, n) would succeed now. Like Grow, it panics on a table the
// pool does not hold.
func (p *KVPool) CanGrow(t *BlockTable, n int) bool {
	p.checkTail(t)
	return n >= t.Tokens && p.BlocksFor(n)-len(t.Blocks) <= len(p.free)
}

// Grow makes t hold n tokens, taking the blocks it lacks, BlocksFor(n) in all, from the free
// list. It is all or nothing: when too few blocks are free it returns an error wrapping
// ErrKVFull and changes nothing. An n below t.Tokens is an error too (tables only grow; see
// Release). Grow checks in O(1) that t is the pool's, and panics when it is plainly not.
func (p *KVPool) Grow(t *BlockTable, n int) error {
	p.checkTail(t)
	if n < t.Tokens {
		return fmt.Errorf("sched: grow kv table to %d tokens: it holds %d; want n >= %d", n, t.Tokens, t.Tokens)
	}
	need := p.BlocksFor(n) - len(t.Blocks)
	if need > len(p.free) {
		return fmt.Errorf("sched: grow kv table from %d to %d tokens: needs %d more blocks, %d of %d free: %w",
			t.Tokens, n, need, len(p.free), len(p.owner), ErrKVFull)
	}
	if need > 0 && t.id == 0 {
		p.lastID++
		t.id = p.lastID
	}
	for range need {
		b := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		p.owner[b] = t.id
		t.Blocks = append(t.Blocks, b)
	}
	t.Tokens = n
	p.peakUsed = max(p.peakUsed, p.Used())
	return nil
}

// Release returns every block of t to the pool and empties t (Blocks empty, keeping its
// capacity for reuse; Tokens 0). The table's last block goes on top of the free list, to be
// handed out first.
//
// Release panics, changing nothing, when t holds a block the pool did not give it: a table
// released twice, a stale copy of one, or one from another pool or built by hand.
func (p *KVPool) Release(t *BlockTable) {
	if want := p.BlocksFor(t.Tokens); len(t.Blocks) != want {
		panic(fmt.Sprintf("sched: release of a kv block table holding %d tokens in %d blocks; want %d blocks", t.Tokens, len(t.Blocks), want))
	}
	for i, b := range t.Blocks {
		if problem := p.ownership(b, t.id); problem != "" {
			for _, b := range t.Blocks[:i] {
				p.owner[b] = t.id
			}
			panic(fmt.Sprintf("sched: release of a kv block table the pool does not hold: block %d (entry %d of %d) %s", b, i, len(t.Blocks), problem))
		}
		p.owner[b] = releasing
	}
	for _, b := range t.Blocks {
		p.owner[b] = 0
		p.free = append(p.free, b)
	}
	clear(t.Blocks)
	t.Blocks = t.Blocks[:0]
	t.Tokens = 0
	t.id = 0
}

// checkTail panics unless t's block count matches its tokens and its last block is held by
// t: an O(1) check that catches most misuse without walking the table.
func (p *KVPool) checkTail(t *BlockTable) {
	if want := p.BlocksFor(t.Tokens); len(t.Blocks) != want {
		panic(fmt.Sprintf("sched: kv block table holds %d tokens in %d blocks; want %d blocks", t.Tokens, len(t.Blocks), want))
	}
	if len(t.Blocks) == 0 {
		return
	}
	b := t.Blocks[len(t.Blocks)-1]
	if problem := p.ownership(b, t.id); problem != "" {
		panic(fmt.Sprintf("sched: grow of a kv block table the pool does not hold: last block %d %s", b, problem))
	}
}

// ownership says what is wrong with block b for a table of the given id, or "" when the
// table holds it.
func (p *KVPool) ownership(b int, id uint64) string {
	switch {
	case b < 0 || b >= len(p.owner):
		return fmt.Sprintf("is out of range [0, %d)", len(p.owner))
	case p.owner[b] == releasing:
		return "appears twice in the table"
	case p.owner[b] == 0:
		return "is free: the table was released already, or did not come from this pool"
	case p.owner[b] != id:
		return "is held by another table: the table is a stale copy, or did not come from this pool"
	}
	return ""
}
