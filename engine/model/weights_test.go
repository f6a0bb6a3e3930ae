package model_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/infertune/infertune/engine/model"
	"github.com/infertune/infertune/engine/tensor"
)

// namedLinear is one matmul weight of a model with a name for messages.
type namedLinear struct {
	name string
	l    model.Linear
}

// linears lists every matmul weight of m, in a fixed order.
func linears(m *model.Model) []namedLinear {
	var out []namedLinear
	for i, l := range m.Layers {
		for _, w := range []namedLinear{
			{"wq", l.Wq}, {"wk", l.Wk}, {"wv", l.Wv}, {"wo", l.Wo}, {"w1", l.W1}, {"w2", l.W2}, {"w3", l.W3},
		} {
			out = append(out, namedLinear{fmt.Sprintf("layer %d %s", i, w.name), w.l})
		}
	}
	if m.Head.W != nil {
		out = append(out, namedLinear{"head", m.Head})
	}
	for i, d := range m.Dense {
		out = append(out, namedLinear{fmt.Sprintf("dense %d", i), d})
	}
	return out
}

// effective returns the weight a Linear applies, W[r][c]·InScale[c], in float64.
func effective(tb testing.TB, l model.Linear) []float64 {
	tb.Helper()
	f := make([]float32, l.W.Rows*l.W.Cols)
	if err := l.W.ToF32(f); err != nil {
		tb.Fatalf("to f32: %v", err)
	}
	out := widen(f)
	if l.InScale != nil {
		for i := range out {
			out[i] *= float64(l.InScale[i%l.W.Cols])
		}
	}
	return out
}

// frobRel returns ‖a-b‖/‖b‖.
func frobRel(a, b []float64) float64 {
	var d, n float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		n += b[i] * b[i]
	}
	return math.Sqrt(d / n)
}

// wantScales computes the documented outlier migration of one fp32 weight: a column whose
// largest |w| is more than OutlierRatio times the median column's gets (ratio)^α, others 1;
// nil when no column qualifies.
func wantScales(tb testing.TB, l model.Linear) []float64 {
	tb.Helper()
	rows, cols := l.W.Rows, l.W.Cols
	w := effective(tb, l)
	colMax := make([]float64, cols)
	for r := range rows {
		for c := range cols {
			colMax[c] = max(colMax[c], math.Abs(w[r*cols+c]))
		}
	}
	sorted := slices.Clone(colMax)
	slices.Sort(sorted)
	med := sorted[cols/2]
	var s []float64
	for c, v := range colMax {
		if v/med > model.OutlierRatio {
			if s == nil {
				s = make([]float64, cols)
				for i := range s {
					s[i] = 1
				}
			}
			s[c] = math.Pow(v/med, model.MigrationStrength)
		}
	}
	return s
}

// quantErr bounds the relative Frobenius error of a conversion of the synthetic weights:
// fp16 keeps 11 significant bits, bf16 8, Q8_0 about 7 relative to each block's largest
// value and Q4_0 about 3. The bounds are about twice what the tiny and mlp weights show
// (worst matrix: 2.4e-4, 1.8e-3, 4.0e-3, 6.4e-2) and, for int8 and int4, below what
// quantizing without outlier migration gives (1.25e-2 and 0.154), which
// TestConvert also checks directly.
var quantErr = map[model.Precision]float64{
	tensor.F32: 0, tensor.F16: 5e-4, tensor.BF16: 4e-3, tensor.Q8_0: 8e-3, tensor.Q4_0: 0.12,
}

// TestConvert converts the fp32 tiny and mlp models to every precision and checks each
// matmul weight: its dtype, its InScale (absent for float formats, the documented migration
// for quantized ones), and that W·diag(InScale) reproduces the fp32 weight within the
// format's error. Embeddings, norms and biases stay fp32 and shared; the source model is
// left as it was.
func TestConvert(t *testing.T) {
	for _, get := range []func() (*model.Model, error){tinyModel, mlpModel} {
		src := fixture(t, get)
		before := modelBytes(t, src)
		for _, p := range model.Precisions {
			t.Run(src.Spec.Name+"/"+model.PrecisionName(p), func(t *testing.T) {
				c := convert(t, src, p)
				if c.Precision != p || c.Seed != src.Seed || c.Spec.Name != src.Spec.Name {
					t.Errorf("converted model: precision %v seed %d name %s", c.Precision, c.Seed, c.Spec.Name)
				}
				srcL, dstL := linears(src), linears(c)
				if len(srcL) != len(dstL) || len(dstL) == 0 {
					t.Fatalf("%d matmul weights, source has %d", len(dstL), len(srcL))
				}
				worst, migrated, plain := 0.0, 0.0, 0.0
				for i, nl := range dstL {
					l := nl.l
					if l.W.DType != p {
						t.Errorf("%s: dtype %v, want %v", nl.name, l.W.DType, p)
					}
					if l.W.Rows != srcL[i].l.W.Rows || l.W.Cols != srcL[i].l.W.Cols {
						t.Errorf("%s: %d×%d, want %d×%d", nl.name, l.W.Rows, l.W.Cols, srcL[i].l.W.Rows, srcL[i].l.W.Cols)
					}
					if err := l.W.Validate(); err != nil {
						t.Errorf("%s: %v", nl.name, err)
					}
					if p.Quantized() {
						want := wantScales(t, srcL[i].l)
						if want == nil {
							t.Fatalf("%s: the synthetic weight has no outlier column", nl.name)
						}
						if l.InScale == nil {
							t.Errorf("%s: InScale is nil, want the migration scales", nl.name)
						} else if e := relErr(l.InScale, want); e > 1e-5 {
							t.Errorf("%s: InScale differs from the documented migration by %.3g", nl.name, e)
						}
					} else if l.InScale != nil {
						t.Errorf("%s: InScale set for %s", nl.name, model.PrecisionName(p))
					}
					ref := effective(t, srcL[i].l)
					e := frobRel(effective(t, l), ref)
					worst = max(worst, e)
					if p.Quantized() {
						// The same weight quantized as it is, outliers left in place.
						w := make([]float32, len(ref))
						if err := srcL[i].l.W.ToF32(w); err != nil {
							t.Fatal(err)
						}
						q, err := tensor.FromF32(p, l.W.Rows, l.W.Cols, w)
						if err != nil {
							t.Fatal(err)
						}
						migrated += e
						plain += frobRel(effective(t, model.Linear{W: q}), ref)
					}
					if e > quantErr[p] {
						t.Errorf("%s: W·diag(InScale) is %.3g from the fp32 weight, want <= %g", nl.name, e, quantErr[p])
					}
				}
				t.Logf("worst relative weight error %.3g", worst)
				if p.Quantized() && migrated >= plain {
					t.Errorf("outlier migration does not help: mean weight error %.3g, %.3g without it", migrated/float64(len(dstL)), plain/float64(len(dstL)))
				}
				if p == tensor.F32 && src.Precision == tensor.F32 {
					for i := range dstL {
						if dstL[i].l.W != srcL[i].l.W {
							t.Errorf("%s: converting to the model's own precision copied the weight", dstL[i].name)
							break
						}
					}
				}
				if len(src.Embed) > 0 && &c.Embed[0] != &src.Embed[0] {
					t.Errorf("embeddings were copied, want them shared")
				}
				for i := range src.Bias {
					if &c.Bias[i][0] != &src.Bias[i][0] {
						t.Errorf("bias %d was copied, want it shared", i)
					}
				}
			})
		}
		if !bytes.Equal(modelBytes(t, src), before) {
			t.Errorf("%s: converting changed the source model", src.Spec.Name)
		}
		if src.Precision != tensor.F32 {
			t.Errorf("%s: source precision now %v", src.Spec.Name, src.Precision)
		}
	}
}

// TestConvertComposes converts a converted model again: the conversion undoes the
// previous InScale first, so int8 → int4 lands within int8's error of fp32 → int4, and
// int8 → fp32 recovers the fp32 weights within int8's error.
func TestConvertComposes(t *testing.T) {
	for _, get := range []func() (*model.Model, error){tinyModel, mlpModel} {
		src := fixture(t, get)
		for _, tc := range []struct {
			via, to model.Precision
		}{
			{tensor.Q8_0, tensor.Q4_0},
			{tensor.Q4_0, tensor.Q8_0},
			{tensor.Q8_0, tensor.F32},
			{tensor.Q8_0, tensor.F16},
			{tensor.F16, tensor.Q4_0},
			{tensor.Q4_0, tensor.Q4_0},
		} {
			name := fmt.Sprintf("%s/%s-via-%s", src.Spec.Name, model.PrecisionName(tc.to), model.PrecisionName(tc.via))
			t.Run(name, func(t *testing.T) {
				twice := convert(t, convert(t, src, tc.via), tc.to)
				direct := convert(t, src, tc.to)
				if twice.Precision != tc.to {
					t.Errorf("precision %v, want %v", twice.Precision, tc.to)
				}
				// Two roundings: each within its own format's bound (a rounding of an
				// already rounded value can add at most the second format's error).
				bound := quantErr[tc.via] + quantErr[tc.to]
				srcL, twiceL, directL := linears(src), linears(twice), linears(direct)
				for i := range srcL {
					l := twiceL[i].l
					if l.W.DType != tc.to {
						t.Errorf("%s: dtype %v, want %v", twiceL[i].name, l.W.DType, tc.to)
					}
					if (l.InScale != nil) != tc.to.Quantized() {
						t.Errorf("%s: InScale %v for %s", twiceL[i].name, l.InScale != nil, model.PrecisionName(tc.to))
					}
					ref := effective(t, srcL[i].l)
					e := frobRel(effective(t, l), ref)
					d := frobRel(effective(t, directL[i].l), ref)
					if e > bound {
						t.Errorf("%s: twice-converted weight is %.3g from fp32 (direct: %.3g), want <= %.3g", twiceL[i].name, e, d, bound)
					}
					if tc.via == tc.to && !bytes.Equal(l.W.Data, directL[i].l.W.Data) {
						t.Errorf("%s: converting to the same precision again changed the weights", twiceL[i].name)
					}
				}
			})
		}
	}
}

// TestWeightBytes checks that the streamed bytes shrink with the precision and match the
// formats' sizes: 4, 2, 2, 34/32 and 18/32 bytes per weight, plus 4 per InScale value.
func TestWeightBytes(t *testing.T) {
	for _, get := range []func() (*model.Model, error){tinyModel, mlpModel} {
		src := fixture(t, get)
		t.Run(src.Spec.Name, func(t *testing.T) {
			var params, cols int64
			for _, nl := range linears(src) {
				params += int64(nl.l.W.Rows * nl.l.W.Cols)
				cols += int64(nl.l.W.Cols)
			}
			got := map[model.Precision]int64{}
			for _, p := range model.Precisions {
				got[p] = convert(t, src, p).WeightBytes()
			}
			want := map[model.Precision]int64{
				tensor.F32:  4 * params,
				tensor.F16:  2 * params,
				tensor.BF16: 2 * params,
				tensor.Q8_0: params/32*34 + 4*cols,
				tensor.Q4_0: params/32*18 + 4*cols,
			}
			for _, p := range model.Precisions {
				if got[p] != want[p] {
					t.Errorf("%s: WeightBytes %d, want %d", model.PrecisionName(p), got[p], want[p])
				}
			}
			if !(got[tensor.Q4_0] < got[tensor.Q8_0] && got[tensor.Q8_0] < got[tensor.F16] && got[tensor.F16] < got[tensor.F32]) {
				t.Errorf("WeightBytes do not shrink with precision: %v", got)
			}
			if src.WeightBytes() != got[tensor.F32] {
				t.Errorf("source WeightBytes %d, fp32 conversion %d", src.WeightBytes(), got[tensor.F32])
			}
		})
	}
}

// TestConvertRejectsUnknownPrecision checks the error for a precision that does not exist.
func TestConvertRejectsUnknownPrecision(t *testing.T) {
	m := fixture(t, tinyModel)
	if c, err := m.Convert(model.Precision(99)); err == nil {
		t.Errorf("Convert(99) = %v, want an error", c.Precision)
	}
}

// TestGenerateDecoder checks the decoder's weights: the encoder's embeddings and blocks
// of the same seed, value for value, and a tied classifier, a Vocab×Dim fp32 view of the
// embeddings (no copy, no class head of its own).
func TestGenerateDecoder(t *testing.T) {
	dec := fixture(t, tinyDecoder)
	enc := fixture(t, tinyModel)
	s := dec.Spec
	if !slices.Equal(dec.Embed, enc.Embed) {
		t.Errorf("decoder embeddings differ from the encoder's of the same seed")
	}
	strip := func(m *model.Model) *model.Model {
		c := *m
		c.Head = model.Linear{}
		return &c
	}
	if !bytes.Equal(modelBytes(t, strip(dec)), modelBytes(t, strip(enc))) {
		t.Errorf("decoder blocks differ from the encoder's of the same seed")
	}
	h := dec.Head
	if h.W == nil || h.W.DType != tensor.F32 || h.W.Rows != s.Vocab || h.W.Cols != s.Dim || h.InScale != nil {
		t.Fatalf("head %+v, want fp32 %d×%d without InScale", h.W, s.Vocab, s.Dim)
	}
	if err := h.W.Validate(); err != nil {
		t.Fatal(err)
	}
	if &tensor.AsF32(h.W.Data)[0] != &dec.Embed[0] || len(h.W.Data) != 4*len(dec.Embed) {
		t.Errorf("the head is not a view of the embeddings")
	}
	other, err := presetModel("tiny", model.Decoder, 2)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other.Embed, dec.Embed) {
		t.Errorf("seeds 1 and 2 give the same embeddings")
	}
}

// TestConvertDecoder converts the tiny decoder to every precision: the tied head becomes a
// Linear of that precision within the format's error of the embeddings (TestConvert's
// bounds), the blocks convert as the encoder's do, and the embeddings stay fp32 and shared.
// WeightBytes counts the head like any matmul weight: the decoder's total is the
// encoder's with the class head swapped for the Vocab×Dim one.
func TestConvertDecoder(t *testing.T) {
	dec := fixture(t, tinyDecoder)
	enc := fixture(t, tinyModel)
	s := dec.Spec
	embed := widen(dec.Embed)
	headBytes := func(l model.Linear) int64 { return int64(len(l.W.Data)) + 4*int64(len(l.InScale)) }
	for _, p := range model.Precisions {
		t.Run(model.PrecisionName(p), func(t *testing.T) {
			c := convert(t, dec, p)
			h := c.Head
			if h.W.DType != p || h.W.Rows != s.Vocab || h.W.Cols != s.Dim {
				t.Fatalf("head %v %d×%d, want %v %d×%d", h.W.DType, h.W.Rows, h.W.Cols, p, s.Vocab, s.Dim)
			}
			if e := frobRel(effective(t, h), embed); e > quantErr[p] {
				t.Errorf("head is %.3g from the embeddings, want <= %g", e, quantErr[p])
			}
			if &c.Embed[0] != &dec.Embed[0] {
				t.Errorf("embeddings were copied, want them shared")
			}
			if p == tensor.F32 && h.W != dec.Head.W {
				t.Errorf("converting to fp32 copied the tied head")
			}
			for i, nl := range linears(c)[:len(c.Layers)*7] {
				if nl.l.W.DType != p {
					t.Errorf("%s (%d): dtype %v, want %v", nl.name, i, nl.l.W.DType, p)
				}
			}
			ce := convert(t, enc, p)
			want := ce.WeightBytes() - headBytes(ce.Head) + headBytes(h)
			if got := c.WeightBytes(); got != want {
				t.Errorf("WeightBytes %d, want %d (the encoder's %d with its head swapped)", got, want, ce.WeightBytes())
			}
		})
	}
	if !slices.Equal(dec.Embed, fixture(t, tinyModel).Embed) {
		t.Errorf("converting changed the source embeddings")
	}
}
