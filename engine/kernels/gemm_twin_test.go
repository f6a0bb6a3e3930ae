//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// sgemmGo is the Go twin of sgemm12x32 (rows=12, cols=32) and sgemm6x16AVX2 (6, 16).
func sgemmGo(rows, cols int, w []float32, ldaElems int, xp []float32, k int, c []float32) {
	for i := range rows {
		for j := range cols {
			var s float32
			for p := range k {
				s = float32(math.FMA(float64(w[i*ldaElems+p]), float64(xp[p*cols+j]), float64(s)))
			}
			c[i*cols+j] = s
		}
	}
}

// qgemm6x32Go is the Go twin of qgemm6x32VNNI.
func qgemm6x32Go(wq []int8, wd []float32, wc []int32, xp []uint8, xd []float32, nb int, c []float32) {
	for i := range 6 {
		for j := range 32 {
			var s float32
			for b := range nb {
				isum := wc[b*6+i]
				for g := range 8 {
					for e := range 4 {
						isum += int32(wq[(b*6+i)*32+4*g+e]) * int32(xp[((b*8+g)*32+j)*4+e])
					}
				}
				s = float32(math.FMA(float64(isum), float64(wd[b*6+i]*xd[b*32+j]), float64(s)))
			}
			c[i*32+j] = s
		}
	}
}

func TestSgemmKernelTwin(t *testing.T) {
	tiles := []floatTile{tileAVX2}
	if DetectISA() >= ISAAVX512 {
		tiles = append(tiles, tileAVX512)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, tile := range tiles {
		for _, k := range []int{0, 1, 3, 4, 5, 8, 31, 64, 257} {
			const lda = 300 // elements; rows read in place with a stride wider than k
			w := make([]float32, tile.rows*lda)
			for i := range w {
				w[i] = float32(r.NormFloat64())
			}
			xp := make([]float32, max(1, k)*tile.cols)
			for i := range xp {
				xp[i] = float32(r.NormFloat64())
			}
			n := tile.rows * tile.cols
			got, want := make([]float32, n+16), make([]float32, n)
			for i := range got {
				got[i] = -7
			}
			tile.kernel(&w[0], lda*4, &xp[0], k, &got[0])
			sgemmGo(tile.rows, tile.cols, w, lda, xp, k, want)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(k+1) {
					t.Fatalf("%d×%d k=%d c[%d] = %v, twin %v", tile.rows, tile.cols, k, i, got[i], want[i])
				}
			}
			for i := n; i < len(got); i++ {
				if got[i] != -7 {
					t.Fatalf("%d×%d k=%d: wrote past the tile at %d", tile.rows, tile.cols, k, i)
				}
			}
		}
	}
}

func TestQgemmKernelTwin(t *testing.T) {
	if DetectISA() < ISAAVX512VNNI {
		t.Skip("no AVX-512 VNNI")
	}
	r := rand.New(rand.NewPCG(8, 8))
	for _, nb := range []int{0, 1, 2, 7, 32} {
		n := max(1, nb)
		wq := make([]int8, n*6*32)
		wd := make([]float32, n*6)
		wc := make([]int32, n*6)
		xp := make([]uint8, n*8*32*4)
		xd := make([]float32, n*32)
		for i := range wq {
			wq[i] = int8(r.IntN(256) - 128)
		}
		for i := range wd {
			wd[i] = float32(r.Float64())
			wc[i] = int32(r.IntN(1<<20) - 1<<19)
		}
		for i := range xp {
			xp[i] = uint8(r.IntN(256))
		}
		for i := range xd {
			xd[i] = float32(r.Float64())
		}
		got, want := make([]float32, 6*32), make([]float32, 6*32)
		qgemm6x32VNNI((*int8)(unsafe.Pointer(&wq[0])), &wd[0], &wc[0], &xp[0], &xd[0], nb, &got[0])
		qgemm6x32Go(wq, wd, wc, xp, xd, nb, want)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*math.Abs(float64(want[i]))+1e-3 {
				t.Fatalf("nb=%d c[%d] = %v, twin %v", nb, i, got[i], want[i])
			}
		}
	}
}

// scatter6x16Go is the Go twin of scatter6x16: token j's 6 rows at y[j*m:], row r's 16
// tokens at c[r*cols:].
func scatter6x16Go(y []float32, m int, c []float32, cols int) {
	for j := range 16 {
		for r := range 6 {
			y[j*m+r] = c[r*cols+j]
		}
	}
}

// TestScatterKernelTwin checks scatter6x16 against its twin, and that it writes nothing
// but the 6 rows of each of its 16 tokens.
func TestScatterKernelTwin(t *testing.T) {
	if DetectISA() < ISAAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, shape := range []struct{ m, cols, i0 int }{{6, 16, 0}, {22, 32, 0}, {22, 32, 6}, {288, 32, 282}, {1000, 48, 501}} {
		c := make([]float32, 6*shape.cols)
		for i := range c {
			c[i] = float32(r.NormFloat64())
		}
		for _, j0 := range []int{0, shape.cols - 16} {
			size := 16*shape.m + 16
			got, want := make([]float32, size), make([]float32, size)
			for i := range got {
				got[i] = float32(-i)
				want[i] = got[i]
			}
			scatter6x16(&got[shape.i0], 4*shape.m, &c[j0], 4*shape.cols)
			scatter6x16Go(want[shape.i0:], shape.m, c[j0:], shape.cols)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("m=%d cols=%d i0=%d j0=%d: y[%d] = %v, twin %v", shape.m, shape.cols, shape.i0, j0, i, got[i], want[i])
				}
			}
		}
	}
}
