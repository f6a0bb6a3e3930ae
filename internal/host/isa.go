package host

import "golang.org/x/sys/cpu"

// feature is one CPU extension: its lowercase name as Linux spells it and whether the CPU
// has it.
type feature struct {
	name string
	has  bool
}

// features lists the extensions the kernels care about, in the order they are reported.
func features() []feature {
	x, a := &cpu.X86, &cpu.ARM64
	return []feature{
		{"sse4.2", x.HasSSE42},
		{"popcnt", x.HasPOPCNT},
		{"avx", x.HasAVX},
		{"avx2", x.HasAVX2},
		{"fma", x.HasFMA},
		{"f16c", x.HasF16C},
		{"bmi2", x.HasBMI2},
		{"avx512f", x.HasAVX512F},
		{"avx512cd", x.HasAVX512CD},
		{"avx512bw", x.HasAVX512BW},
		{"avx512dq", x.HasAVX512DQ},
		{"avx512vl", x.HasAVX512VL},
		{"avx512ifma", x.HasAVX512IFMA},
		{"avx512vbmi", x.HasAVX512VBMI},
		{"avx512vbmi2", x.HasAVX512VBMI2},
		{"avx512vnni", x.HasAVX512VNNI},
		{"avx512bf16", x.HasAVX512BF16},
		{"avx512vpopcntdq", x.HasAVX512VPOPCNTDQ},
		{"avx512bitalg", x.HasAVX512BITALG},
		{"avxvnni", x.HasAVXVNNI},
		{"avxvnniint8", x.HasAVXVNNIInt8},
		{"avxifma", x.HasAVXIFMA},
		{"amx_tile", x.HasAMXTile},
		{"amx_int8", x.HasAMXInt8},
		{"amx_bf16", x.HasAMXBF16},
		{"asimd", a.HasASIMD},
		{"fphp", a.HasFPHP},
		{"asimdhp", a.HasASIMDHP},
		{"asimddp", a.HasASIMDDP},
		{"asimdfhm", a.HasASIMDFHM},
		{"i8mm", a.HasI8MM},
		{"sve", a.HasSVE},
		{"sve2", a.HasSVE2},
	}
}

// ISAFlags returns the names of the CPU extensions present on this machine, from a fixed
// list of those that matter to the kernels (x86: sse4.2 ... avx512vnni avx512bf16 avxvnni
// amx_*; arm64: asimd ... sve2).
func ISAFlags() []string {
	return present(features())
}

func present(fs []feature) []string {
	out := []string{}
	for _, f := range fs {
		if f.has {
			out = append(out, f.name)
		}
	}
	return out
}
