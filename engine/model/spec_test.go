package model_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// TestPresets checks that every preset validates for its own architecture and that the
// shapes the design documents name are the ones built.
func TestPresets(t *testing.T) {
	names := model.PresetNames()
	if !slices.IsSorted(names) {
		t.Errorf("PresetNames() = %v, want sorted", names)
	}
	for _, want := range []string{"mlp", "s110m", "s15m", "s42m", "tiny"} {
		if !slices.Contains(names, want) {
			t.Errorf("PresetNames() = %v, missing %q", names, want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			arch := model.Encoder
			s, err := model.Preset(name, arch)
			if err != nil {
				arch = model.MLP
				if s, err = model.Preset(name, arch); err != nil {
					t.Fatalf("preset %q is neither an encoder nor an MLP: %v", name, err)
				}
			}
			if s.Name != name || s.Arch != arch {
				t.Errorf("Preset(%q, %s) = %s %s", name, arch, s.Name, s.Arch)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if arch == model.Encoder && s.Classes != model.EncoderClasses {
				t.Errorf("classes %d, want %d", s.Classes, model.EncoderClasses)
			}
		})
	}

	t.Run("shapes", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			arch model.Arch
			want model.Spec
		}{
			{"tiny", model.Encoder, model.Spec{Name: "tiny", Arch: model.Encoder, Dim: 64, Hidden: 192, Layers: 2, Heads: 4, Vocab: 512, Context: 128, Classes: 8}},
			{"s15m", model.Encoder, model.Spec{Name: "s15m", Arch: model.Encoder, Dim: 288, Hidden: 768, Layers: 6, Heads: 6, Vocab: 32000, Context: 256, Classes: 8}},
			{"mlp", model.MLP, model.Spec{Name: "mlp", Arch: model.MLP, Widths: []int{256, 1024, 1024, 2}, Classes: 2}},
		} {
			got, err := model.Preset(tc.name, tc.arch)
			if err != nil {
				t.Fatalf("Preset(%q): %v", tc.name, err)
			}
			if got.Name != tc.want.Name || got.Arch != tc.want.Arch || got.Dim != tc.want.Dim ||
				got.Hidden != tc.want.Hidden || got.Layers != tc.want.Layers || got.Heads != tc.want.Heads ||
				got.Vocab != tc.want.Vocab || got.Context != tc.want.Context || got.Classes != tc.want.Classes ||
				!slices.Equal(got.Widths, tc.want.Widths) {
				t.Errorf("Preset(%q) = %+v, want %+v", tc.name, got, tc.want)
			}
		}
		if s, _ := model.Preset("s15m", model.Encoder); s.HeadDim() != 48 {
			t.Errorf("s15m head size %d, want 48", s.HeadDim())
		}
	})

	t.Run("decoders", func(t *testing.T) {
		// Every transformer shape is also a decoder: the same dimensions, Vocab outputs.
		for _, name := range []string{"tiny", "s15m", "s42m", "s110m"} {
			enc, err := model.Preset(name, model.Encoder)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := model.Preset(name, model.Decoder)
			if err != nil {
				t.Fatalf("Preset(%q, decoder): %v", name, err)
			}
			want := enc
			want.Arch, want.Classes = model.Decoder, enc.Vocab
			if !reflect.DeepEqual(dec, want) {
				t.Errorf("Preset(%q, decoder) = %+v, want %+v", name, dec, want)
			}
			if err := dec.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if again, _ := model.Preset(name, model.Encoder); !reflect.DeepEqual(again, enc) || again.Classes != model.EncoderClasses {
				t.Errorf("asking for the decoder changed the encoder preset: %+v", again)
			}
		}
	})

	t.Run("widths are a copy", func(t *testing.T) {
		a, _ := model.Preset("mlp", model.MLP)
		a.Widths[0] = 7
		b, _ := model.Preset("mlp", model.MLP)
		if b.Widths[0] != 256 {
			t.Errorf("changing a returned preset's widths changed the preset: %v", b.Widths)
		}
	})
}

// TestPresetErrors checks that a refused preset name says what would be accepted.
func TestPresetErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		arch model.Arch
		want []string
	}{
		{"nope", model.Encoder, []string{`"nope"`, "mlp, s110m, s15m, s42m, tiny"}},
		{"", model.MLP, []string{`""`, "accepted"}},
		{"mlp", model.Encoder, []string{`"mlp"`, "encoder", "s110m, s15m, s42m, tiny"}},
		{"tiny", model.MLP, []string{`"tiny"`, "accepted for mlp: mlp"}},
		{"mlp", model.Decoder, []string{`"mlp"`, "accepted for decoder: s110m, s15m, s42m, tiny"}},
		{"nope", model.Decoder, []string{`"nope"`, "mlp, s110m, s15m, s42m, tiny"}},
	} {
		t.Run(tc.name+"/"+tc.arch.String(), func(t *testing.T) {
			_, err := model.Preset(tc.name, tc.arch)
			if err == nil {
				t.Fatalf("Preset(%q, %s) succeeded", tc.name, tc.arch)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestValidateRejects checks shapes that cannot be built: every problem is reported.
func TestValidateRejects(t *testing.T) {
	tiny, _ := model.Preset("tiny", model.Encoder)
	mlp, _ := model.Preset("mlp", model.MLP)
	with := func(s model.Spec, f func(*model.Spec)) model.Spec {
		s.Widths = slices.Clone(s.Widths)
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name string
		spec model.Spec
		want []string
	}{
		{"dim not blocks", with(tiny, func(s *model.Spec) { s.Dim = 48 }), []string{"dim 48", "multiple of 32"}},
		{"hidden not blocks", with(tiny, func(s *model.Spec) { s.Hidden = 100 }), []string{"hidden 100"}},
		{"odd head size", with(tiny, func(s *model.Spec) { s.Heads = 64 }), []string{"64 heads"}},
		{"heads not dividing", with(tiny, func(s *model.Spec) { s.Heads = 3 }), []string{"3 heads"}},
		{"no heads", with(tiny, func(s *model.Spec) { s.Heads = 0 }), []string{"0 heads"}},
		{"no layers", with(tiny, func(s *model.Spec) { s.Layers = 0 }), []string{"layers"}},
		{"two problems", with(tiny, func(s *model.Spec) { s.Dim, s.Hidden = 40, 50 }), []string{"dim 40", "hidden 50"}},
		{"mlp one width", with(mlp, func(s *model.Spec) { s.Widths = []int{256} }), []string{"two widths"}},
		{"mlp width not blocks", with(mlp, func(s *model.Spec) { s.Widths[1] = 1000 }), []string{"width 1 1000"}},
		{"mlp classes", with(mlp, func(s *model.Spec) { s.Classes = 3 }), []string{"last width 2", "classes 3"}},
		{"no arch", model.Spec{Name: "x"}, []string{"unknown architecture"}},
		{"decoder classes", with(tiny, func(s *model.Spec) { s.Arch = model.Decoder }), []string{"classes 8", "vocabulary 512"}},
		{"decoder dim", with(tiny, func(s *model.Spec) { s.Arch, s.Classes, s.Dim = model.Decoder, s.Vocab, 48 }), []string{"dim 48"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil", tc.spec)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if _, err := model.Generate(tc.spec, 1); err == nil {
				t.Errorf("Generate accepted the invalid spec")
			}
		})
	}
}

// TestParse covers the names users type.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want model.Arch
		ok   bool
	}{
		{"encoder", model.Encoder, true}, {" MLP ", model.MLP, true}, {"Decoder", model.Decoder, true},
		{"gpt", 0, false}, {"", 0, false},
	} {
		got, err := model.ParseArch(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseArch(%q) = %v, %v", tc.in, got, err)
		}
		if err == nil && got.String() != strings.ToLower(strings.TrimSpace(tc.in)) {
			t.Errorf("ParseArch(%q).String() = %q", tc.in, got)
		}
		if err != nil && !strings.Contains(err.Error(), "decoder, encoder, mlp") {
			t.Errorf("ParseArch(%q) error %q does not list what is accepted", tc.in, err)
		}
	}
	for _, p := range model.Precisions {
		name := model.PrecisionName(p)
		got, err := model.ParsePrecision(name)
		if err != nil || got != p {
			t.Errorf("ParsePrecision(%q) = %v, %v; want %v", name, got, err, p)
		}
	}
	if got := []string{
		model.PrecisionName(tensor.F32), model.PrecisionName(tensor.F16), model.PrecisionName(tensor.BF16),
		model.PrecisionName(tensor.Q8_0), model.PrecisionName(tensor.Q4_0),
	}; !slices.Equal(got, []string{"fp32", "fp16", "bf16", "int8", "int4"}) {
		t.Errorf("precision names %v", got)
	}
	if _, err := model.ParsePrecision("fp8"); err == nil || !strings.Contains(err.Error(), "int4") {
		t.Errorf("ParsePrecision(fp8) = %v, want an error listing the precisions", err)
	}
}

// modelBytes serialises every number of a model, in a fixed order.
func modelBytes(tb testing.TB, m *model.Model) []byte {
	tb.Helper()
	var buf bytes.Buffer
	f32 := func(xs []float32) {
		if err := binary.Write(&buf, binary.LittleEndian, xs); err != nil {
			tb.Fatal(err)
		}
	}
	lin := func(l model.Linear) {
		buf.WriteString(l.W.DType.String())
		buf.Write(l.W.Data)
		f32(l.InScale)
	}
	f32(m.Embed)
	for _, l := range m.Layers {
		f32(l.AttnNorm)
		f32(l.FFNNorm)
		for _, w := range []model.Linear{l.Wq, l.Wk, l.Wv, l.Wo, l.W1, l.W2, l.W3} {
			lin(w)
		}
	}
	f32(m.FinalNorm)
	if m.Head.W != nil {
		lin(m.Head)
	}
	for i, d := range m.Dense {
		lin(d)
		f32(m.Bias[i])
	}
	return buf.Bytes()
}

// TestGenerate checks the weights' shapes and statistics and that a seed fixes them.
func TestGenerate(t *testing.T) {
	for _, tc := range []struct {
		name string
		arch model.Arch
	}{{"tiny", model.Encoder}, {"mlp", model.MLP}} {
		t.Run(tc.name, func(t *testing.T) {
			spec, _ := model.Preset(tc.name, tc.arch)
			a, err := model.Generate(spec, 7)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := model.Generate(spec, 7)
			c, _ := model.Generate(spec, 8)
			if a.Precision != tensor.F32 || a.Seed != 7 {
				t.Errorf("precision %v seed %d, want fp32 and 7", a.Precision, a.Seed)
			}
			ab, bb, cb := modelBytes(t, a), modelBytes(t, b), modelBytes(t, c)
			if !bytes.Equal(ab, bb) {
				t.Errorf("two models from seed 7 differ")
			}
			if len(ab) != len(cb) {
				t.Fatalf("seeds 7 and 8 give %d and %d bytes", len(ab), len(cb))
			}
			same := 0
			for i := 0; i+4 <= len(ab); i += 4 {
				if bytes.Equal(ab[i:i+4], cb[i:i+4]) {
					same++
				}
			}
			// Norm weights (ones) and identical dtype tags repeat; random values must not.
			if frac := float64(same) / float64(len(ab)/4); frac > 0.05 {
				t.Errorf("seeds 7 and 8 share %.0f%% of their values", 100*frac)
			}
			checkShapes(t, a)
		})
	}
}

// checkShapes checks every weight's shape and dtype, and the synthetic statistics: unit
// norms, N(0,1) embeddings, N(0, 0.02²) weights (0.02²/(2·layers) for Wo and W2) with a
// few columns OutlierScale times larger.
func checkShapes(t *testing.T, m *model.Model) {
	t.Helper()
	s := m.Spec
	shape := func(name string, l model.Linear, rows, cols int, std float64) {
		t.Helper()
		if l.W == nil || l.W.Rows != rows || l.W.Cols != cols || l.W.DType != tensor.F32 || l.InScale != nil {
			t.Errorf("%s: %+v, want fp32 %d×%d without InScale", name, l.W, rows, cols)
			return
		}
		if err := l.W.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// The median |w| of N(0, σ²) is 0.674σ; outlier columns are a few of hundreds.
		f := tensor.AsF32(l.W.Data)
		abs := make([]float64, len(f))
		for i, v := range f {
			abs[i] = math.Abs(float64(v))
		}
		slices.Sort(abs)
		if sigma := abs[len(abs)/2] / 0.6745; math.Abs(sigma/std-1) > 0.15 {
			t.Errorf("%s: weights' σ ≈ %.4f, want %.4f", name, sigma, std)
		}
		colMax := make([]float64, cols)
		for r := range rows {
			for c := range cols {
				colMax[c] = max(colMax[c], math.Abs(float64(f[r*cols+c])))
			}
		}
		med := slices.Clone(colMax)
		slices.Sort(med)
		outliers := 0
		for _, v := range colMax {
			if v > 5*med[cols/2] {
				outliers++
			}
		}
		if outliers < 1 || outliers > model.OutlierCols {
			t.Errorf("%s: %d outlier columns, want 1 to %d", name, outliers, model.OutlierCols)
		}
	}
	switch s.Arch {
	case model.Encoder:
		if len(m.Embed) != s.Vocab*s.Dim || len(m.Layers) != s.Layers || len(m.FinalNorm) != s.Dim {
			t.Fatalf("embed %d, layers %d, final norm %d", len(m.Embed), len(m.Layers), len(m.FinalNorm))
		}
		var ss float64
		for _, v := range m.Embed {
			ss += float64(v) * float64(v)
		}
		if rms := math.Sqrt(ss / float64(len(m.Embed))); math.Abs(rms-model.EmbedStd) > 0.05 {
			t.Errorf("embeddings' rms %.3f, want %g", rms, model.EmbedStd)
		}
		for i, l := range m.Layers {
			for _, n := range [][]float32{l.AttnNorm, l.FFNNorm} {
				if len(n) != s.Dim || slices.ContainsFunc(n, func(v float32) bool { return v != 1 }) {
					t.Errorf("layer %d: norm weights are not %d ones", i, s.Dim)
				}
			}
			d, h, std := s.Dim, s.Hidden, model.WeightStd
			resid := std / math.Sqrt(2*float64(s.Layers))
			shape("wq", l.Wq, d, d, std)
			shape("wk", l.Wk, d, d, std)
			shape("wv", l.Wv, d, d, std)
			shape("wo", l.Wo, d, d, resid)
			shape("w1", l.W1, h, d, std)
			shape("w3", l.W3, h, d, std)
			shape("w2", l.W2, d, h, resid)
		}
		shape("head", m.Head, s.Classes, s.Dim, model.WeightStd)
	case model.MLP:
		if len(m.Dense) != len(s.Widths)-1 || len(m.Bias) != len(m.Dense) {
			t.Fatalf("%d dense layers, %d biases for widths %v", len(m.Dense), len(m.Bias), s.Widths)
		}
		for i, d := range m.Dense {
			shape("dense", d, s.Widths[i+1], s.Widths[i], model.WeightStd)
			if len(m.Bias[i]) != s.Widths[i+1] {
				t.Errorf("bias %d has %d values, want %d", i, len(m.Bias[i]), s.Widths[i+1])
			}
		}
	}
}

// BenchmarkGenerate measures building a preset's fp32 weights.
func BenchmarkGenerate(b *testing.B) {
	for _, tc := range []struct {
		name string
		arch model.Arch
	}{{"tiny", model.Encoder}, {"s15m", model.Encoder}, {"mlp", model.MLP}} {
		b.Run("preset="+tc.name, func(b *testing.B) {
			spec, err := model.Preset(tc.name, tc.arch)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var m *model.Model
			for b.Loop() {
				if m, err = model.Generate(spec, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.WeightBytes())/1e6, "MB-weights")
		})
	}
}
