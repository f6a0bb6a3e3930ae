package roofline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/engine/tensor"
)

// tinyOptions measures every dtype, tier and op on shapes small enough for a test.
func tinyOptions() Options {
	return Options{
		Threads:   []int{1, 2},
		MinTime:   time.Millisecond,
		ColdBytes: 1 << 20,
		MatVecM:   64, MatVecK: 256,
		MatMulM: 64, MatMulK: 256, MatMulN: 8,
		Seed: 7,
	}
}

// tinyRun runs tinyOptions once for every test that reads its report.
var tinyRun = sync.OnceValues(func() (*Report, error) {
	return Run(context.Background(), tinyOptions(), nil)
})

func TestRunRows(t *testing.T) {
	before := runtime.NumGoroutine()
	var seen []Row
	rep, err := Run(context.Background(), tinyOptions(), func(r Row) { seen = append(seen, r) })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("Run left %d goroutines running", after-before)
	}
	tiers := kernels.Tiers()
	want := len(tensor.DTypes) * len(tiers) * 2 * 3
	if len(rep.Rows) != want {
		t.Fatalf("Run made %d rows, want %d (5 dtypes × %d tiers × 2 thread counts × 3 ops)", len(rep.Rows), want, len(tiers))
	}
	// Progress sees every row in order; only PctOfRoof may rise in the report (its roofs are
	// the best of two measurements, progress saw the first).
	sameButPct := func(a, b Row) bool { return a.PctOfRoof >= b.PctOfRoof && eqRowNoPct(a, b) }
	if !slices.EqualFunc(seen, rep.Rows, sameButPct) {
		t.Errorf("progress saw %d rows, not the report's %d in order", len(seen), len(rep.Rows))
	}
	i := 0
	for _, dt := range tensor.DTypes {
		hotBytes := int64(64 * mustRowBytes(t, dt, 256))
		mmBytes := hotBytes // the same 64×256 shape
		for _, tier := range tiers {
			for _, threads := range []int{1, 2} {
				for _, op := range Ops() {
					r := rep.Rows[i]
					i++
					name := fmt.Sprintf("row %d (%s %s ×%d %s)", i-1, dt, tier, threads, op)
					if r.DType != dt.String() || r.Tier != tier.String() || r.Threads != threads ||
						r.Op != op.Kernel() || r.Cache != op.Cache() {
						t.Fatalf("%s: got %+v", name, r)
					}
					if tier == kernels.Generic && r.ISA != "none" || tier == kernels.SIMD && r.ISA != kernels.DetectISA().String() {
						t.Errorf("%s: isa %q", name, r.ISA)
					}
					switch op {
					case OpMatVecHot:
						if r.WorkingSetBytes != hotBytes {
							t.Errorf("%s: hot working set %d, want the matrix's %d bytes", name, r.WorkingSetBytes, hotBytes)
						}
					case OpMatVecCold:
						if r.WorkingSetBytes < 1<<20 || r.WorkingSetBytes%hotBytes != 0 || r.WorkingSetBytes-hotBytes >= 1<<20 {
							t.Errorf("%s: cold working set %d, want the fewest whole matrices (%d bytes each) holding 1 MiB", name, r.WorkingSetBytes, hotBytes)
						}
					case OpMatMul:
						if r.WorkingSetBytes != mmBytes {
							t.Errorf("%s: matmul working set %d, want %d", name, r.WorkingSetBytes, mmBytes)
						}
					}
					n := 1
					if op == OpMatMul {
						n = 8
					}
					if r.M != 64 || r.K != 256 || r.N != n {
						t.Errorf("%s: shape %d×%d×%d, want 64×256×%d", name, r.M, r.K, r.N, n)
					}
					if r.NsPerCall <= 0 || r.GFlops <= 0 || r.GBps <= 0 || r.PctOfRoof <= 0 {
						t.Errorf("%s: non-positive figures: %+v", name, r)
					}
					// The figures agree with each other and with the roofs.
					if got, want := r.GFlops, 2*64*256*float64(n)/r.NsPerCall; !near(got, want) {
						t.Errorf("%s: gflops %v, want 2·m·k·n/ns = %v", name, got, want)
					}
					if got, want := r.GBps, float64(hotBytes)/r.NsPerCall; !near(got, want) {
						t.Errorf("%s: gbps %v, want weight bytes/ns = %v", name, got, want)
					}
					// The row's own roof (measured next to it) divides, and the
					// report's roof is the best of all measurements, so never lower.
					var best, got float64
					if op == OpMatMul {
						best, got = rep.Roofs.FMAGFlopsByThreads[threads], r.GFlops
					} else {
						best, got = rep.Roofs.ReadGBpsByThreads[threads][r.WorkingSetBytes], r.GBps
					}
					if r.Roof <= 0 || best <= 0 {
						t.Fatalf("%s: no roof measured for it (row %v, report %v)", name, r.Roof, best)
					}
					if best < r.Roof {
						t.Errorf("%s: report roof %v below the row's adjacent roof %v", name, best, r.Roof)
					}
					if want := got / r.Roof * 100; !near(r.PctOfRoof, want) {
						t.Errorf("%s: pct_of_roof %v, want %v", name, r.PctOfRoof, want)
					}
				}
			}
		}
	}
}

// hotRowOptions is tinyOptions cut to one hot MatVec row of dt at one thread, for each of
// the generic tier and the simd tier's configurations.
func hotRowOptions(dt tensor.DType) Options {
	o := tinyOptions()
	o.Tiers = []kernels.Tier{kernels.Generic, kernels.SIMD}
	o.DTypes = []tensor.DType{dt}
	o.Ops = []Op{OpMatVecHot}
	o.Threads = []int{1}
	return o
}

// TestRunISAs: with ISAs, the simd tier runs once on each path, its rows named for it, and
// RowCount counts them.
func TestRunISAs(t *testing.T) {
	paths := kernels.ISAs()
	if len(paths) == 0 {
		t.Skip("simd tier not usable here")
	}
	o := hotRowOptions(tensor.Q8_0)
	o.ISAs = paths
	rep, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"none"}
	for _, p := range paths {
		want = append(want, p.String())
	}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, r.ISA)
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows on paths %v, want %v", got, want)
	}
	if n := o.RowCount(); n != len(rep.Rows) {
		t.Errorf("RowCount() = %d, Run made %d rows", n, len(rep.Rows))
	}
	if n := tinyOptions().RowCount(); n != len(tensor.DTypes)*len(kernels.Tiers())*2*3 {
		t.Errorf("RowCount() of the defaults = %d, want one path per tier", n)
	}
}

// TestRunPrefetch checks that each prefetch setting is measured as its own rows and that
// the rows record what ran.
func TestRunPrefetch(t *testing.T) {
	if len(kernels.ISAs()) == 0 {
		t.Skip("simd tier not usable here")
	}
	o := hotRowOptions(tensor.F16)
	o.Prefetch = []kernels.Prefetch{kernels.PrefetchL2, kernels.PrefetchNTA, kernels.PrefetchOff}
	rep, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, r.Tier+"/"+r.Prefetch)
	}
	if want := []string{"generic/off", "simd/l2", "simd/nta", "simd/off"}; !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	if n := o.RowCount(); n != len(rep.Rows) {
		t.Errorf("RowCount() = %d, Run made %d rows", n, len(rep.Rows))
	}
}

func TestRunRoofs(t *testing.T) {
	rep, err := tinyRun()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var sizes []int64
	for _, r := range rep.Rows {
		sizes = append(sizes, r.WorkingSetBytes)
	}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	ro := rep.Roofs
	if got := slices.Sorted(maps.Keys(ro.ReadGBpsByThreads)); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("read roofs at threads %v, want [1 2]", got)
	}
	if got := slices.Sorted(maps.Keys(ro.FMAGFlopsByThreads)); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("fma roofs at threads %v, want [1 2]", got)
	}
	for th, bySize := range ro.ReadGBpsByThreads {
		if got := slices.Sorted(maps.Keys(bySize)); !slices.Equal(got, sizes) {
			t.Errorf("read roofs at %d threads: sizes %v, want the rows' %v", th, got, sizes)
		}
		for ws, v := range bySize {
			if !(v > 0) {
				t.Errorf("read roof at %d threads, %d bytes: %v", th, ws, v)
			}
		}
	}
	if !maps.Equal(ro.ReadGBps, ro.ReadGBpsByThreads[1]) || ro.FMAGFlops != ro.FMAGFlopsByThreads[1] || !(ro.FMAGFlops > 0) {
		t.Errorf("one-thread roofs %v, %v disagree with the by-thread ones", ro.ReadGBps, ro.FMAGFlops)
	}
}

func TestRunOnlySelected(t *testing.T) {
	o := tinyOptions()
	o.DTypes = []tensor.DType{tensor.Q8_0}
	o.Tiers = []kernels.Tier{kernels.Generic}
	o.Threads = []int{2}
	o.Ops = []Op{OpMatMul}
	rep, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Op != "matmul" || rep.Rows[0].DType != "q8_0" || rep.Rows[0].Threads != 2 {
		t.Fatalf("rows %+v, want one q8_0 matmul at 2 threads", rep.Rows)
	}
	// Roofs at the rows' thread count and at 1, at the rows' working set only.
	if got := slices.Sorted(maps.Keys(rep.Roofs.ReadGBpsByThreads)); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("roof threads %v, want [1 2]", got)
	}
	if got := slices.Collect(maps.Keys(rep.Roofs.ReadGBps)); !slices.Equal(got, []int64{rep.Rows[0].WorkingSetBytes}) {
		t.Errorf("roof sizes %v, want [%d]", got, rep.Rows[0].WorkingSetBytes)
	}
}

func TestRunInvalid(t *testing.T) {
	rep, err := Run(context.Background(), Options{Threads: []int{0}}, nil)
	if err == nil || rep != nil {
		t.Fatalf("Run(bad options) = %v, %v; want nil, an error", rep, err)
	}
}

func TestRunCancelledBefore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := Run(ctx, tinyOptions(), func(Row) { t.Error("progress called after cancel") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run err = %v, want context.Canceled", err)
	}
	if rep == nil || len(rep.Rows) != 0 {
		t.Fatalf("Run report %+v, want an empty one", rep)
	}
}

func TestRunCancelledBetweenRows(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	rep, err := Run(ctx, tinyOptions(), func(Row) {
		calls++
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run err = %v, want context.Canceled", err)
	}
	if calls != 1 || len(rep.Rows) != 1 {
		t.Fatalf("after cancelling in the first progress call: %d calls, %d rows; want 1, 1", calls, len(rep.Rows))
	}
	if len(rep.Roofs.ReadGBps) == 0 {
		t.Errorf("the roofs measured before the cancel are missing")
	}
}

func TestRunCancelledWithinRow(t *testing.T) {
	o := tinyOptions()
	o.DTypes = []tensor.DType{tensor.F32}
	o.Tiers = []kernels.Tier{kernels.Generic}
	o.Threads = []int{1}
	o.Ops = []Op{OpMatVecCold}
	o.MinTime = time.Hour // only the cancel can end the row
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timed := 0
	rep, err := run(ctx, o, func(Row) { t.Error("a row cut short was reported") }, hooks{afterCall: func() {
		timed++
		cancel()
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run err = %v, want context.Canceled", err)
	}
	if timed != 1 || len(rep.Rows) != 0 {
		t.Fatalf("after cancelling in the first timed call: %d calls, %d rows; want 1, 0", timed, len(rep.Rows))
	}
}

func TestReportJSONShape(t *testing.T) {
	rep, err := tinyRun()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	wantKeys(t, "top level", doc, "host", "roofs", "rows")
	if _, ok := doc["host"].(map[string]any); !ok {
		t.Errorf("host is %T, want an object", doc["host"])
	}
	roofs := doc["roofs"].(map[string]any)
	wantKeys(t, "roofs", roofs, "read_gbps", "fma_gflops", "read_gbps_by_threads", "fma_gflops_by_threads")
	if _, ok := roofs["fma_gflops"].(float64); !ok {
		t.Errorf("fma_gflops is %T, want a number", roofs["fma_gflops"])
	}
	sizes := map[string]bool{}
	for _, r := range rep.Rows {
		sizes[strconv.FormatInt(r.WorkingSetBytes, 10)] = true
	}
	checkBytesMap := func(what string, v any) {
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 {
			t.Fatalf("%s is %T %v, want a non-empty object", what, v, v)
		}
		for k, g := range m {
			if !sizes[k] {
				t.Errorf("%s key %q is not a row's working set in decimal bytes", what, k)
			}
			if _, ok := g.(float64); !ok {
				t.Errorf("%s[%q] is %T, want a number", what, k, g)
			}
		}
	}
	checkBytesMap("read_gbps", roofs["read_gbps"])
	byThreads := roofs["read_gbps_by_threads"].(map[string]any)
	wantKeys(t, "read_gbps_by_threads", byThreads, "1", "2")
	for k, v := range byThreads {
		checkBytesMap("read_gbps_by_threads["+k+"]", v)
	}
	wantKeys(t, "fma_gflops_by_threads", roofs["fma_gflops_by_threads"].(map[string]any), "1", "2")

	rows := doc["rows"].([]any)
	if len(rows) != len(rep.Rows) {
		t.Fatalf("%d rows in JSON, want %d", len(rows), len(rep.Rows))
	}
	for i, r := range rows {
		row := r.(map[string]any)
		wantKeys(t, fmt.Sprintf("rows[%d]", i), row, "dtype", "tier", "isa", "prefetch", "threads", "op", "m", "k", "n",
			"cache", "working_set_bytes", "gflops", "gbps", "ns_per_call", "pct_of_roof", "roof")
		if c := row["cache"]; c != "hot" && c != "cold" {
			t.Errorf("rows[%d].cache = %v", i, c)
		}
	}
}

func TestReportJSONEmptyRows(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, _ := Run(ctx, tinyOptions(), nil)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if rows, ok := doc["rows"].([]any); !ok || len(rows) != 0 {
		t.Errorf(`"rows" = %v, want []`, doc["rows"])
	}
}

func eqRowNoPct(a, b Row) bool {
	a.PctOfRoof, b.PctOfRoof = 0, 0
	return a == b
}

func wantKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	got := slices.Collect(maps.Keys(m))
	sort.Strings(got)
	sort.Strings(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s keys %v, want %v", what, got, keys)
	}
}

func mustRowBytes(t *testing.T, dt tensor.DType, n int) int {
	t.Helper()
	rb, err := dt.RowBytes(n)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

// near reports whether a and b agree to a few ulps (they are computed in different orders).
func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-12*max(a, b, -a, -b)
}

// TestRunInterleavesRoofTrials checks that a row's roof is measured between its batches, in
// the order batch, trial, trial, batch, batch, trial, … (each batch at least minCalls calls),
// and that the row is divided by the best of those trials: batches of them, the trials that
// choose the roof's loop not among them.
func TestRunInterleavesRoofTrials(t *testing.T) {
	for _, op := range []Op{OpMatVecHot, OpMatVecCold, OpMatMul} {
		o := tinyOptions()
		o.DTypes = []tensor.DType{tensor.F32}
		o.Tiers = []kernels.Tier{kernels.Generic}
		o.Threads = []int{2}
		o.Ops = []Op{op}
		var events []byte
		var rates []float64
		rep, err := run(context.Background(), o, nil, hooks{
			afterCall: func() { events = append(events, 'c') },
			afterTrial: func(rate float64) {
				events = append(events, 'T')
				rates = append(rates, rate)
			},
		})
		if err != nil {
			t.Fatalf("%s: run: %v", op, err)
		}
		pattern := regexp.MustCompile(fmt.Sprintf(`^(c{%d,}TTc{%d,}){%d}$`, minCalls, minCalls, batches/2))
		if !pattern.Match(events) {
			t.Errorf("%s: calls (c) and roof trials (T) ran as %s, want %d rounds of batch and trial alternating", op, events, batches)
		}
		if len(rep.Rows) != 1 {
			t.Fatalf("%s: %d rows, want 1", op, len(rep.Rows))
		}
		row := rep.Rows[0]
		if !(row.Roof > 0) {
			t.Fatalf("%s: roof %v", op, row.Roof)
		}
		if best := slices.Max(rates); row.Roof != best {
			t.Errorf("%s: roof %v, want %v, the best of the %d counted trials %v", op, row.Roof, best, len(rates), rates)
		}
		// The report's roof at the row's threads (and working set) is at least the row's.
		got := rep.Roofs.FMAGFlopsByThreads[2]
		if op != OpMatMul {
			got = rep.Roofs.ReadGBpsByThreads[2][row.WorkingSetBytes]
		}
		if got < row.Roof {
			t.Errorf("%s: report roof %v below the row's %v", op, got, row.Roof)
		}
	}
}
