package host

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseCPUModel returns the first "model name" of a /proc/cpuinfo listing, or "" when there
// is none (as on many arm64 kernels).
func ParseCPUModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// ParseMemTotal returns MemTotal in bytes from a /proc/meminfo listing.
func ParseMemTotal(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "MemTotal" {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, fmt.Errorf("parse meminfo: MemTotal has no value")
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("parse meminfo: MemTotal %q: not a size", strings.TrimSpace(v))
		}
		if len(f) > 1 {
			switch strings.ToLower(f[1]) {
			case "kb":
				n <<= 10
			case "mb":
				n <<= 20
			case "gb":
				n <<= 30
			default:
				return 0, fmt.Errorf("parse meminfo: MemTotal %q: unknown unit", strings.TrimSpace(v))
			}
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("parse meminfo: %w", err)
	}
	return 0, fmt.Errorf("parse meminfo: no MemTotal line")
}

// ParseCacheSize reads a cache size as /sys writes it: a number of bytes with an optional
// binary suffix K, M or G ("32K", "1024K", "32M").
func ParseCacheSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	shift := 0
	if s != "" {
		switch s[len(s)-1] {
		case 'K', 'k':
			shift = 10
		case 'M', 'm':
			shift = 20
		case 'G', 'g':
			shift = 30
		}
		if shift > 0 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("parse cache size %q: not a size like 32K", s)
	}
	return n << shift, nil
}
