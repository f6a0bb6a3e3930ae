package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true},
		{"1gib", 1 << 30, true},
		{"512 MiB", 512 << 20, true},
		{"64KiB", 64 << 10, true},
		{"1.5GiB", 3 << 29, true},
		{"2GB", 2e9, true},
		{"10KB", 10e3, true},
		{"3MB", 3e6, true},
		{"1TiB", 1 << 40, true},
		{"4096", 4096, true},
		{"4096B", 4096, true},
		{"0", 0, true},
		{"lots", 0, false},
		{"", 0, false},
		{"GiB", 0, false},
		{"-1GiB", 0, false},
		{"-5", 0, false},
		{"1 GiB extra", 0, false},
		{"0x10", 0, false},
		{"inf", 0, false},
		{"NaN", 0, false},
		{"1e30GiB", 0, false},
		{"1Gb/s", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := map[int64]string{0: "0 B", 512: "512 B", 1 << 10: "1 KiB", 1536: "1.5 KiB", 1 << 30: "1 GiB", 17 << 20: "17 MiB"}
	for in, want := range tests {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
	flags := map[int64]string{1 << 30: "1GiB", 512 << 20: "512MiB", 1000: "1000", 3 << 10: "3KiB"}
	for in, want := range flags {
		if got := formatSizeFlag(in); got != want {
			t.Errorf("formatSizeFlag(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParseThreads(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1", []int{1}, true},
		{" 4 ", []int{4}, true},
		{"1..4", []int{1, 2, 3, 4}, true},
		{"2..2", []int{2}, true},
		{"0", nil, false},
		{"-1", nil, false},
		{"x", nil, false},
		{"1.5", nil, false},
		{"4..2", nil, false},
		{"0..2", nil, false},
		{"1..", nil, false},
		{"100000", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseThreads(tt.in)
			if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("parseThreads(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	got := splitList([]string{"f32, q8_0", "", " bf16 ", "a,,b"})
	if want := []string{"f32", "q8_0", "bf16", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("splitList = %v, want %v", got, want)
	}
}

func TestParsePositiveDuration(t *testing.T) {
	if d, err := parsePositiveDuration(" 300ms "); err != nil || d != 300*time.Millisecond {
		t.Errorf("parsePositiveDuration(300ms) = %v, %v", d, err)
	}
	for _, bad := range []string{"0", "0s", "-1s", "soon", ""} {
		if _, err := parsePositiveDuration(bad); err == nil {
			t.Errorf("parsePositiveDuration(%q): want an error", bad)
		}
	}
}
