package profiles

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedHardware(t *testing.T) {
	hs, err := hardwares()
	if err != nil {
		t.Fatalf("embedded hardware: %v", err)
	}
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		if err := h.Validate(); err != nil {
			t.Errorf("%s: %v", h.Source, err)
		}
		if h.Source != "hardware/"+h.Name+".yaml" || !strings.HasPrefix(string(h.Raw), "#") {
			t.Errorf("%s: source %q, raw %q: want the file's path and its text with its comment header", h.Name, h.Source, h.Raw)
		}
	}
	if want := []string{"local-cpu"}; !slices.Equal(names, want) {
		t.Errorf("hardware %v, want %v", names, want)
	}
	h, err := LookupHardware("local-cpu")
	if err != nil {
		t.Fatal(err)
	}
	if h.PricePerVCPUHour != 0.0425 || h.Targets != TargetsPerThread ||
		!strings.Contains(h.PriceSource, "$0.0850/h") || !strings.Contains(h.PriceSource, "override") ||
		h.Description != "This machine's CPUs, one target per thread count, priced per vCPU-hour." {
		t.Errorf("local-cpu = %+v", h)
	}
}

func TestHardwaresAreCopies(t *testing.T) {
	hs := Hardwares()
	hs[0].Name = "changed"
	hs[0].Raw[0] = 'X'
	again := Hardwares()
	if again[0].Name != "local-cpu" || again[0].Raw[0] != '#' {
		t.Errorf("a caller's change reached the shipped hardware: %+v", again[0])
	}
}

func TestLookupHardwareUnknown(t *testing.T) {
	_, err := LookupHardware("tpu")
	if err == nil {
		t.Fatal("no error for an unknown hardware profile")
	}
	for _, want := range []string{`"tpu"`, "accepted: local-cpu"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// validHardware is a valid hardware profile; the cases of TestParseHardwareErrors break it
// one way each.
const validHardware = `name: local-cpu
description: This machine's CPUs.
price_per_vcpu_hour: 0.0425
price_source: "AWS EC2 c6i.large on-demand, us-east-1: 2 vCPU at $0.0850/h"
targets: per-thread
`

func TestParseHardware(t *testing.T) {
	h, err := ParseHardware("test.yaml", []byte(validHardware))
	if err != nil {
		t.Fatal(err)
	}
	want := Hardware{Name: "local-cpu", Description: "This machine's CPUs.", PricePerVCPUHour: 0.0425,
		PriceSource: "AWS EC2 c6i.large on-demand, us-east-1: 2 vCPU at $0.0850/h", Targets: TargetsPerThread, Source: "test.yaml"}
	if string(h.Raw) != validHardware {
		t.Errorf("Raw = %q, want the text", h.Raw)
	}
	h.Raw = nil
	if !reflect.DeepEqual(h, want) {
		t.Errorf("ParseHardware = %+v, want %+v", h, want)
	}
}

func TestParseHardwareErrors(t *testing.T) {
	hw := func(old, new string) replacedText { return replaceOnce(t, validHardware, old, new) }
	tests := []struct {
		name string
		yaml replacedText
		want []string // each must appear in one of the error's lines
		n    int      // the number of problems (lines)
	}{
		{"unknown key", hw("targets: per-thread", "targets: per-thread\nthreads: 8"),
			[]string{"threads: unknown key (line 6); accepted at the top level: description, name, price_per_vcpu_hour, price_source, targets"}, 1},
		{"price zero", hw("price_per_vcpu_hour: 0.0425", "price_per_vcpu_hour: 0"),
			[]string{`price_per_vcpu_hour "0": accepted: US dollars per vCPU-hour above 0, such as 0.0425`}, 1},
		{"price negative", hw("price_per_vcpu_hour: 0.0425", "price_per_vcpu_hour: -1"),
			[]string{`price_per_vcpu_hour "-1": accepted: US dollars per vCPU-hour above 0`}, 1},
		{"price infinite", hw("price_per_vcpu_hour: 0.0425", "price_per_vcpu_hour: .inf"),
			[]string{`price_per_vcpu_hour "+Inf": accepted`}, 1},
		{"price nan", hw("price_per_vcpu_hour: 0.0425", "price_per_vcpu_hour: .nan"),
			[]string{`price_per_vcpu_hour "NaN": accepted`}, 1},
		{"price missing", hw("price_per_vcpu_hour: 0.0425\n", ""),
			[]string{`price_per_vcpu_hour "0": accepted: US dollars per vCPU-hour above 0`}, 1},
		{"price with a currency", hw("price_per_vcpu_hour: 0.0425", "price_per_vcpu_hour: $0.0425"),
			[]string{`price_per_vcpu_hour "$0.0425": text given (line 3); accepted: a number`}, 1},
		{"price as a list", hw("price_per_vcpu_hour: 0.0425", "price_per_vcpu_hour: [0.04]"),
			[]string{"price_per_vcpu_hour: a list given (line 3); accepted: a number"}, 1},
		{"no price source", hw("price_source: \"AWS EC2 c6i.large on-demand, us-east-1: 2 vCPU at $0.0850/h\"", "price_source: \"  \""),
			[]string{"price_source: missing; accepted: where the price comes from"}, 1},
		{"unknown targets", hw("targets: per-thread", "targets: per-core"),
			[]string{`targets "per-core": unknown target layout; accepted: per-thread`}, 1},
		{"no targets", hw("targets: per-thread\n", ""),
			[]string{"targets: missing; accepted: per-thread"}, 1},
		{"bad name", hw("name: local-cpu", "name: Local CPU"),
			[]string{`name "Local CPU": accepted: a lowercase letter`}, 1},
		{"no description", hw("description: This machine's CPUs.\n", ""),
			[]string{"description: missing; accepted: one line saying what hardware the profile prices"}, 1},
		{"key given twice", hw("targets: per-thread", "targets: per-thread\ntargets: per-thread"),
			[]string{"targets: given twice (lines 5 and 6)"}, 1},
		{"empty", "", []string{"empty; accepted: a YAML mapping with the keys description, name, price_per_vcpu_hour, price_source, targets"}, 1},
		{"two documents", replacedText(validHardware + "---\nname: other\n"), []string{"a second YAML document"}, 1},
		{"every problem at once", hw("price_per_vcpu_hour: 0.0425", "price_per_vcpu_hour: 0").replace("targets: per-thread", "targets: all").replace("name: local-cpu", "name: \"\""),
			[]string{"name: missing", `price_per_vcpu_hour "0"`, `targets "all"`}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHardware("test.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error; parsed %+v", h)
			}
			if h.Name != "" || h.Raw != nil {
				t.Errorf("a failed ParseHardware returned a profile: %+v", h)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, l := range lines {
				if !strings.HasPrefix(l, "test.yaml: ") {
					t.Errorf("problem %q does not name the file", l)
				}
			}
			if len(lines) != tt.n {
				t.Errorf("%d problems, want %d:\n%v", len(lines), tt.n, err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if _, ok := errors.AsType[*FieldError](err); !ok {
				t.Errorf("error holds no *FieldError: %#v", err)
			}
		})
	}
}

// FuzzParseHardware checks that ParseHardware never panics, that every problem it reports
// names the file, and that what it accepts validates with a usable price.
func FuzzParseHardware(f *testing.F) {
	for _, h := range Hardwares() {
		f.Add(h.Raw)
	}
	for _, s := range []string{
		validHardware,
		"",
		"name: [\n",
		"price_per_vcpu_hour: -0.0\ntargets: per-core\n",
		"price_per_vcpu_hour: 1e400\n",
		"a: &x [*x]\n",
		"<<: {name: x, bogus: 1}\n",
		validHardware + "---\n" + validHardware,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHardware("fuzz.yaml", data)
		if err != nil {
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml: ") || len(line) == len("fuzz.yaml: ") {
					t.Fatalf("problem %q does not name the file or says nothing; error:\n%v", line, err)
				}
			}
			return
		}
		if err := h.Validate(); err != nil {
			t.Fatalf("ParseHardware accepted a profile that does not validate: %v", err)
		}
		if !(h.PricePerVCPUHour > 0) || h.PricePerVCPUHour > 1e308 {
			t.Fatalf("accepted price %g", h.PricePerVCPUHour)
		}
	})
}
