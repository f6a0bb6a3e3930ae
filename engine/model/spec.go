package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/infertune/infertune/engine/tensor"
)

// Arch is a model architecture.
type Arch int

// The architectures.
const (
	// Encoder is a llama-style encoder with a mean-pooled class head.
	Encoder Arch = iota + 1
	// MLP is a multilayer perceptron over a row of features.
	MLP
	// Decoder is a llama-style causal decoder whose tied classifier gives next-token
	// logits; it runs by Runner.Decode over a KVStore.
	Decoder
)

func (a Arch) String() string {
	switch a {
	case Encoder:
		return "encoder"
	case MLP:
		return "mlp"
	case Decoder:
		return "decoder"
	}
	return fmt.Sprintf("Arch(%d)", int(a))
}

// transformer reports whether a is built of llama-style blocks (Encoder or Decoder).
func (a Arch) transformer() bool { return a == Encoder || a == Decoder }

// ParseArch reads "decoder", "encoder" or "mlp".
func ParseArch(s string) (Arch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "decoder":
		return Decoder, nil
	case "encoder":
		return Encoder, nil
	case "mlp":
		return MLP, nil
	}
	return 0, fmt.Errorf("architecture %q: accepted: decoder, encoder, mlp", s)
}

// Spec is the shape of a model.
type Spec struct {
	Name string
	Arch Arch
	// Transformer shape (Encoder, Decoder).
	Dim, Hidden, Layers, Heads, Vocab, Context int
	// Classes is the number of outputs: classes of the encoder's head, Vocab for the
	// decoder (next-token logits), or the MLP's last layer width.
	Classes int
	// Widths are the MLP's layer widths, input first (256, 1024, 1024, 2).
	Widths []int
}

// HeadDim returns Dim / Heads.
func (s Spec) HeadDim() int { return s.Dim / s.Heads }

// Transformer parameters fixed for every preset.
const (
	NormEps  = 1e-5
	RopeBase = 10000
	// EncoderClasses is the size of the encoder's class head.
	EncoderClasses = 8
)

// presets holds one shape per name. The transformer shapes are stored as encoders; Preset
// turns them into decoders on request (Arch Decoder, Classes Vocab), so both
// architectures share one table.
var presets = map[string]Spec{
	"tiny":  {Name: "tiny", Arch: Encoder, Dim: 64, Hidden: 192, Layers: 2, Heads: 4, Vocab: 512, Context: 128, Classes: EncoderClasses},
	"s15m":  {Name: "s15m", Arch: Encoder, Dim: 288, Hidden: 768, Layers: 6, Heads: 6, Vocab: 32000, Context: 256, Classes: EncoderClasses},
	"s42m":  {Name: "s42m", Arch: Encoder, Dim: 512, Hidden: 1376, Layers: 8, Heads: 8, Vocab: 32000, Context: 1024, Classes: EncoderClasses},
	"s110m": {Name: "s110m", Arch: Encoder, Dim: 768, Hidden: 2048, Layers: 12, Heads: 12, Vocab: 32000, Context: 1024, Classes: EncoderClasses},
	"mlp":   {Name: "mlp", Arch: MLP, Widths: []int{256, 1024, 1024, 2}, Classes: 2},
}

// PresetNames lists the presets.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Preset returns the named shape for arch: tiny, s15m, s42m, s110m (encoder or decoder)
// or mlp. The encoder and the decoder of one name share every transformer dimension; the
// encoder has EncoderClasses outputs, the decoder Vocab (its next-token logits).
func Preset(name string, arch Arch) (Spec, error) {
	s, ok := presets[name]
	if !ok {
		return Spec{}, fmt.Errorf("model preset %q: accepted: %s", name, strings.Join(PresetNames(), ", "))
	}
	if !presetFits(s, arch) {
		var fit []string
		for _, n := range PresetNames() {
			if presetFits(presets[n], arch) {
				fit = append(fit, n)
			}
		}
		kind := "an " + s.Arch.String()
		if s.Arch.transformer() {
			kind = "a transformer shape (encoder or decoder)"
		}
		return Spec{}, fmt.Errorf("model preset %q is %s; accepted for %s: %s", name, kind, arch, strings.Join(fit, ", "))
	}
	if arch == Decoder {
		s.Arch, s.Classes = Decoder, s.Vocab
	}
	s.Widths = slices.Clone(s.Widths)
	return s, nil
}

// presetFits reports whether the stored preset s serves arch.
func presetFits(s Spec, arch Arch) bool {
	return s.Arch == arch || (s.Arch == Encoder && arch == Decoder)
}

// Validate reports whether the shape can be built: every matmul's inner dimension must
// be a whole number of quantization blocks.
func (s Spec) Validate() error {
	var errs []error
	blocks := func(name string, n int) {
		if n < tensor.QK || n%tensor.QK != 0 {
			errs = append(errs, fmt.Errorf("model %s: %s %d must be a positive multiple of %d", s.Name, name, n, tensor.QK))
		}
	}
	switch s.Arch {
	case Encoder, Decoder:
		blocks("dim", s.Dim)
		blocks("hidden", s.Hidden)
		if s.Heads < 1 || s.Dim%s.Heads != 0 || s.HeadDim()%2 != 0 {
			errs = append(errs, fmt.Errorf("model %s: %d heads must divide dim %d into even head sizes", s.Name, s.Heads, s.Dim))
		}
		if s.Layers < 1 || s.Vocab < 1 || s.Context < 1 || s.Classes < 1 {
			errs = append(errs, fmt.Errorf("model %s: layers, vocab, context and classes must be positive", s.Name))
		}
		if s.Arch == Decoder && s.Classes != s.Vocab {
			errs = append(errs, fmt.Errorf("model %s: a decoder's classes %d must equal its vocabulary %d (next-token logits)", s.Name, s.Classes, s.Vocab))
		}
	case MLP:
		if len(s.Widths) < 2 {
			errs = append(errs, fmt.Errorf("model %s: an MLP needs at least two widths", s.Name))
		}
		for i, w := range s.Widths {
			if i < len(s.Widths)-1 {
				blocks(fmt.Sprintf("width %d", i), w)
			} else if w < 1 || w != s.Classes {
				errs = append(errs, fmt.Errorf("model %s: last width %d must equal classes %d", s.Name, w, s.Classes))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("model %s: unknown architecture %d", s.Name, int(s.Arch)))
	}
	return errors.Join(errs...)
}

// Precision is the weight dtype of a model's matmuls.
type Precision = tensor.DType

// Precisions lists the precisions a model converts to, fp32 first.
var Precisions = []Precision{tensor.F32, tensor.F16, tensor.BF16, tensor.Q8_0, tensor.Q4_0}

// PrecisionName returns the user-facing name of a precision: fp32, fp16, bf16, int8, int4.
func PrecisionName(p Precision) string {
	switch p {
	case tensor.F32:
		return "fp32"
	case tensor.F16:
		return "fp16"
	case tensor.BF16:
		return "bf16"
	case tensor.Q8_0:
		return "int8"
	case tensor.Q4_0:
		return "int4"
	}
	return p.String()
}

// ParsePrecision reads fp32, fp16, bf16, int8 or int4 (or a dtype name such as q8_0).
func ParsePrecision(s string) (Precision, error) {
	p, err := tensor.ParseDType(s)
	if err != nil {
		return 0, fmt.Errorf("precision %q: accepted: fp32, fp16, bf16, int8, int4", s)
	}
	return p, nil
}
