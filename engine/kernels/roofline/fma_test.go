package roofline

import "testing"

func TestFMAGo(t *testing.T) {
	// a = 1 and b a power of two keep every value exact: acc = init + n*b.
	acc := [8]float32{1, 2, 3, 4, 5, 6, 7, 8}
	fmaGo(1000, 1, 0.25, &acc)
	for j, v := range acc {
		if want := float32(j+1) + 250; v != want {
			t.Errorf("acc[%d] = %v, want %v", j, v, want)
		}
	}
}

func TestFMALoops(t *testing.T) {
	loops := fmaLoops()
	if len(loops) == 0 {
		t.Fatal("fmaLoops() is empty")
	}
	for _, l := range loops {
		if l.lanes < 1 || l.accs < 8 || l.run == nil {
			t.Fatalf("fmaLoops(): %+v", l)
		}
		acc := make([]float32, l.lanes*l.accs)
		l.run(10, 1, 0.5, acc)
		for i, v := range acc {
			if v != 5 {
				t.Fatalf("%s loop: acc[%d] = %v after 10 iterations with a = 1, b = 0.5, want 5", l.name, i, v)
			}
		}
	}
}
