package loadgen_test

import (
	"strings"
	"testing"
	"time"

	"github.com/infertune/infertune/loadgen"
)

func TestParseArrival(t *testing.T) {
	good := []struct {
		spec string
		want loadgen.Arrival
	}{
		{"poisson(50000)", loadgen.Arrival{Kind: loadgen.KindPoisson, Rate: 50000}},
		{" constant( 12.5 ) ", loadgen.Arrival{Kind: loadgen.KindConstant, Rate: 12.5}},
		{"poisson(100/s)", loadgen.Arrival{Kind: loadgen.KindPoisson, Rate: 100}},
		{"closed(8)", loadgen.Arrival{Kind: loadgen.KindClosed, Concurrency: 8}},
	}
	for _, tc := range good {
		t.Run(tc.spec, func(t *testing.T) {
			a, err := loadgen.ParseArrival(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if a.Kind != tc.want.Kind || a.Rate != tc.want.Rate || a.Concurrency != tc.want.Concurrency {
				t.Fatalf("got %+v, want %+v", a, tc.want)
			}
			if b, err := loadgen.ParseArrival(a.String()); err != nil || b.String() != a.String() {
				t.Fatalf("String %q does not parse back: %v", a.String(), err)
			}
		})
	}
	bad := []struct{ spec, mention string }{
		{"poisson(-5)", "-5"},
		{"poisson(0)", "rate 0"},
		{"poisson(NaN)", "NaN"},
		{"poisson(Inf)", "+Inf"},
		{"constant(1e9)", "1e+09"},
		{"poisson(fast)", `"fast"`},
		{"closed(0)", "concurrency 0"},
		{"closed(2.5)", `"2.5"`},
		{"gamma(3)", `"gamma"`},
		{"poisson", "poisson(RATE)"},
		{"trace()", "trace(FILE)"},
		{"trace(/nonexistent/trace.txt)", "/nonexistent/trace.txt"},
		{"", "poisson(RATE)"},
	}
	for _, tc := range bad {
		t.Run("bad/"+tc.spec, func(t *testing.T) {
			_, err := loadgen.ParseArrival(tc.spec)
			if err == nil {
				t.Fatalf("ParseArrival(%q) = nil error", tc.spec)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestReadTrace(t *testing.T) {
	a, err := loadgen.ReadTrace(strings.NewReader("# offsets\n0\n\n0.5\n500ms\n1.5s\n1600000us\n"), "t.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{0, 500 * time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond, 1600 * time.Millisecond}
	if len(a.Offsets) != len(want) {
		t.Fatalf("offsets %v, want %v", a.Offsets, want)
	}
	for i := range want {
		if a.Offsets[i] != want[i] {
			t.Fatalf("offset %d = %v, want %v", i, a.Offsets[i], want[i])
		}
	}
	bad := []struct{ name, text, mention string }{
		{"word", "0\nsoon\n", "t.txt:2:"},
		{"negative", "0\n-1\n", "t.txt:2:"},
		{"decreasing", "1s\n2s\n1.5s\n", "t.txt:3:"},
		{"nan", "NaN\n", "t.txt:1:"},
		{"huge", "1e30\n", "t.txt:1:"},
		{"empty", "# nothing\n\n", "no offsets"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadgen.ReadTrace(strings.NewReader(tc.text), "t.txt")
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.mention)
			}
		})
	}
}

func FuzzReadTrace(f *testing.F) {
	for _, s := range []string{"0\n1\n2\n", "0.5\n500ms\n# c\n1s\n", "1e30\n", "-1\n", "10ms\n5ms\n", "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, err := loadgen.ReadTrace(strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("ReadTrace accepted an invalid trace: %v", err)
		}
	})
}

func FuzzParseArrival(f *testing.F) {
	for _, s := range []string{"poisson(1)", "constant(2.5)", "closed(3)", "poisson(-1)", "x(", "closed(99999999999999999999)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if strings.Contains(spec, "trace") {
			return // reads files
		}
		a, err := loadgen.ParseArrival(spec)
		if err == nil {
			if err := a.Validate(); err != nil {
				t.Fatalf("ParseArrival(%q) accepted an invalid arrival: %v", spec, err)
			}
		}
	})
}
