package roofline

import (
	"fmt"
	"testing"

	"github.com/infertune/infertune/engine/tensor"
)

// sumLengths sit on both sides of every unroll edge of the sum loops: 8 (Go), 8, 32 and 64
// (256-bit, which alternates two sets of accumulators every 32), 16 and 128 (512-bit).
var sumLengths = []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 40, 63, 64, 65, 95, 96, 97, 127, 128, 129,
	191, 255, 256, 257, 1000, 4099}

// guarded returns n small integers (whose float32 sum is exact in any order) at offset off of
// a buffer whose other elements are huge guard values, and their sum. A loop that reads past
// either end gets a visibly wrong sum.
func guarded(n, off int) ([]float32, float32) {
	buf := make([]float32, off+n+64)
	for i := range buf {
		buf[i] = 1 << 20
	}
	s := buf[off : off+n : off+n]
	var want float32
	for i := range s {
		s[i] = float32(i%13) - 4
		want += s[i]
	}
	return s, want
}

func testSum(t *testing.T, name string, sum func([]float32) float32) {
	t.Helper()
	for _, n := range sumLengths {
		for _, off := range []int{0, 1, 3} { // aligned and unaligned starts
			s, want := guarded(n, off)
			if got := sum(s); got != want {
				t.Errorf("%s(len %d, offset %d) = %v, want %v", name, n, off, got, want)
			}
		}
	}
}

func TestSumGo(t *testing.T) { testSum(t, "sumGo", sumGo) }

func TestSumLoops(t *testing.T) {
	loops := sumLoops()
	if len(loops) == 0 {
		t.Fatal("sumLoops() is empty")
	}
	for _, l := range loops {
		testSum(t, "sum "+l.name, l.sum)
	}
}

func TestReadSum(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 63, 64, 65, 510, 511, 512, 513, 4098} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := tensor.AlignedBytes(n + 64)
			for i := range b {
				b[i] = 0xff // guard
			}
			b = b[:n:n]
			f := tensor.AsF32(b[:n&^3])
			var want float32
			for i := range f {
				f[i] = float32(i % 5)
				want += f[i]
			}
			for i := n &^ 3; i < n; i++ {
				b[i] = byte(i % 3)
				want += float32(i % 3)
			}
			for _, l := range sumLoops() {
				if got := readSum(b, l.sum); got != want {
					t.Errorf("readSum(%d bytes, %s) = %v, want %v", n, l.name, got, want)
				}
			}
		})
	}
}

func TestSplit(t *testing.T) {
	buf := tensor.AlignedBytes(10000)
	for _, size := range []int{0, 1, 63, 64, 65, 1000, 9999, 10000} {
		for _, n := range []int{1, 2, 3, 7} {
			parts := split(buf[:size], n)
			if len(parts) > n {
				t.Errorf("split(%d, %d) made %d parts", size, n, len(parts))
			}
			total := 0
			for i, p := range parts {
				if len(p) == 0 {
					t.Errorf("split(%d, %d): part %d is empty", size, n, i)
				}
				if total%64 != 0 {
					t.Errorf("split(%d, %d): part %d starts at %d, not a multiple of 64", size, n, i, total)
				}
				if len(p) > 0 && &p[0] != &buf[total] {
					t.Errorf("split(%d, %d): part %d is not contiguous with the previous", size, n, i)
				}
				total += len(p)
			}
			if total != size {
				t.Errorf("split(%d, %d) covers %d bytes", size, n, total)
			}
		}
	}
}

func TestReadBufferIsWritten(t *testing.T) {
	for _, n := range []int64{0, 3, 4096, 4097, 1 << 16, 100003} {
		b := readBuffer(n)
		if int64(len(b)) != n {
			t.Fatalf("readBuffer(%d) has %d bytes", n, len(b))
		}
		// Every 4 KiB page holds non-zero data.
		for p := 0; p+4096 <= len(b); p += 4096 {
			nz := false
			for _, v := range b[p : p+4096] {
				nz = nz || v != 0
			}
			if !nz {
				t.Fatalf("readBuffer(%d): page at %d is all zero", n, p)
			}
		}
	}
}
