package roofline

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// WriteText writes r as aligned plain text: a line about the host (when r.Host is a Host),
// one line per row (dtype, tier, isa, prefetch, threads, op, shape, cache, working set, GFLOP/s, GB/s,
// time per call, % of roof), then the roofs: read bandwidth by working set and thread count,
// and the FMA peak by thread count.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	if h, ok := r.Host.(Host); ok {
		simd := "without"
		if h.SIMDBuilt {
			simd = "with"
		}
		fmt.Fprintf(&b, "host: %s/%s, %d CPUs, best isa %s, built %s the simd tier, %s\n\n",
			h.OS, h.Arch, h.CPUs, h.ISA, simd, h.GoVersion)
	}
	t := table{right: []bool{false, false, false, false, true, false, true, false, true, true, true, true, true}}
	t.add("dtype", "tier", "isa", "prefetch", "threads", "op", "shape", "cache", "working-set", "GFLOP/s", "GB/s", "time/call", "%roof")
	for _, row := range r.Rows {
		shape := fmt.Sprintf("%d×%d", row.M, row.K)
		if row.Op == OpMatMul.Kernel() {
			shape = fmt.Sprintf("%d×%d×%d", row.M, row.K, row.N)
		}
		t.add(row.DType, row.Tier, row.ISA, row.Prefetch, fmt.Sprint(row.Threads), row.Op, shape, row.Cache,
			formatBytes(row.WorkingSetBytes), formatRate(row.GFlops), formatRate(row.GBps),
			formatNs(row.NsPerCall), formatPct(row.PctOfRoof))
	}
	t.write(&b)

	threads := slices.Sorted(maps.Keys(r.Roofs.ReadGBpsByThreads))
	sizeSet := map[int64]bool{}
	for _, bySize := range r.Roofs.ReadGBpsByThreads {
		for ws := range bySize {
			sizeSet[ws] = true
		}
	}
	b.WriteString("\nroofs: read bandwidth, GB/s (the fastest vector sum over the working set, threads reading disjoint parts at once)\n")
	rt := table{right: []bool{true, true}}
	head := []string{"working-set", "bytes"}
	for _, th := range threads {
		head = append(head, threadsLabel(th))
		rt.right = append(rt.right, true)
	}
	rt.add(head...)
	for _, ws := range slices.Sorted(maps.Keys(sizeSet)) {
		line := []string{formatBytes(ws), fmt.Sprint(ws)}
		for _, th := range threads {
			if v, ok := r.Roofs.ReadGBpsByThreads[th][ws]; ok {
				line = append(line, formatRate(v))
			} else {
				line = append(line, "-")
			}
		}
		rt.add(line...)
	}
	rt.write(&b)

	b.WriteString("\nroofs: FMA peak, GFLOP/s (register-only multiply-adds, all threads at once)\n")
	ft := table{right: []bool{true, true}}
	ft.add("threads", "GFLOP/s")
	for _, th := range slices.Sorted(maps.Keys(r.Roofs.FMAGFlopsByThreads)) {
		ft.add(fmt.Sprint(th), formatRate(r.Roofs.FMAGFlopsByThreads[th]))
	}
	ft.write(&b)

	_, err := io.WriteString(w, b.String())
	return err
}

// table lays out cells in columns two spaces apart, right-aligning the columns marked right.
type table struct {
	right []bool
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(b *strings.Builder) {
	var width []int
	for _, row := range t.rows {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range t.rows {
		var line strings.Builder
		for i, c := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i < len(t.right) && t.right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}

func threadsLabel(n int) string {
	if n == 1 {
		return "1 thread"
	}
	return fmt.Sprintf("%d threads", n)
}

// formatBytes writes n in binary units with three significant digits: 576 KiB, 64.0 MiB,
// 1.00 GiB.
func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := float64(n)
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%s %s", sig3(v), units[u])
}

// formatRate writes a rate with three significant digits (no fewer than the units).
func formatRate(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return sig3(v)
}

// formatNs writes a duration in nanoseconds with three significant digits and a unit.
func formatNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return sig3(ns/1e9) + " s"
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

func formatPct(p float64) string {
	if p <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", p)
}

// sig3 writes v (below 1000) with three significant digits: 1.23, 12.3, 123.
func sig3(v float64) string {
	switch {
	case v >= 99.95:
		return fmt.Sprintf("%.0f", v)
	case v >= 9.995:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
