package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infertune/infertune/engine/kernels/roofline"
)

// This file parses the values of flags, environment variables and config keys that are
// given as text: lists, thread counts, sizes and durations. Each parser's error says what
// is accepted; the caller adds which setting it was.

// splitList splits every item on commas and drops blanks, so "f32,q8_0", ["f32", "q8_0"]
// and ["f32, q8_0"] read alike.
func splitList(items []string) []string {
	var out []string
	for _, it := range items {
		for p := range strings.SplitSeq(it, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// maxThreads bounds a thread count; more is a typo, not a machine.
const maxThreads = roofline.MaxThreads

const threadsAccepted = "accepted: whole numbers from 1, comma-separated, or a range like 1..4"

// parseThreads reads thread counts: numbers and ranges "a..b", returned sorted without
// duplicates.
func parseThreads(item string) ([]int, error) {
	num := func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("not a whole number; %s", threadsAccepted)
		}
		if n < 1 {
			return 0, fmt.Errorf("thread count must be 1 or more; %s", threadsAccepted)
		}
		if n > maxThreads {
			return 0, fmt.Errorf("thread count above %d; %s", maxThreads, threadsAccepted)
		}
		return n, nil
	}
	if lo, hi, ok := strings.Cut(item, ".."); ok {
		a, err := num(lo)
		if err != nil {
			return nil, err
		}
		b, err := num(hi)
		if err != nil {
			return nil, err
		}
		if b < a {
			return nil, fmt.Errorf("empty range; %s", threadsAccepted)
		}
		out := make([]int, 0, b-a+1)
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
		return out, nil
	}
	n, err := num(item)
	if err != nil {
		return nil, err
	}
	return []int{n}, nil
}

// sizeUnits are the accepted suffixes of a size, case-insensitively.
var sizeUnits = []struct {
	name string
	mult int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

const sizeAccepted = "accepted: a number of bytes with an optional unit B, KiB, MiB, GiB, TiB, KB, MB, GB or TB, such as 1GiB or 512MiB"

// parseSize reads a size in bytes such as 1GiB, 512 MiB, 1.5GB or 4096.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(t, u.name); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "xXpP_") || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a size; %s", sizeAccepted)
	}
	if f < 0 {
		return 0, fmt.Errorf("negative size; %s", sizeAccepted)
	}
	b := f * float64(mult)
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("size too large; %s", sizeAccepted)
	}
	return int64(b), nil
}

// formatSize writes a byte count with a binary unit: 1 GiB, 1.5 MiB, 512 B.
func formatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".") + " " + units[i]
}

const durationAccepted = "accepted: a positive duration such as 300ms, 1s or 1m30s"

// parsePositiveDuration reads a duration greater than zero.
func parsePositiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not a duration; %s", durationAccepted)
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive; %s", durationAccepted)
	}
	return d, nil
}

// parseDurationIn reads a duration in [lo, hi], or in (0, hi] when lo is 0 and positive
// is set; the error says which range is accepted.
func parseDurationIn(s string, lo, hi time.Duration, positive bool) (time.Duration, error) {
	accepted := fmt.Sprintf("accepted: a duration from %v to %v, such as %v", lo, hi, max(lo, time.Second))
	if positive && lo == 0 {
		accepted = fmt.Sprintf("accepted: a duration above 0, at most %v, such as 300ms or 10s", hi)
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("not a duration; %s", accepted)
	case d < lo || (positive && d == 0) || d > hi:
		return 0, fmt.Errorf("out of range; %s", accepted)
	}
	return d, nil
}

// joinInts writes 1,2,4.
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// joinStrings writes the String of each value, comma-separated.
func joinStrings[T fmt.Stringer](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ",")
}

// appendUnique appends the values of add that s lacks.
func appendUnique[T comparable](s []T, add ...T) []T {
	for _, v := range add {
		if !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}
