package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/infertune/infertune/engine/kernels"
	"github.com/infertune/infertune/internal/host"
	"github.com/spf13/cobra"
)

// doctorConfig is the doctor section of the configuration.
type doctorConfig struct {
	// NoNoise skips the noise check.
	NoNoise bool `mapstructure:"no_noise"`
}

func defaultDoctorConfig() doctorConfig { return doctorConfig{} }

// Validate returns every problem of the doctor settings (there are none to have yet).
func (c doctorConfig) Validate() error { return nil }

// The noise check: a fixed CPU-bound loop of about noiseEach, timed noiseRuns times.
const (
	noiseRuns = 30
	noiseEach = 5 * time.Millisecond
)

// doctorReport is what `infertune doctor` prints.
type doctorReport struct {
	HostID  string           `json:"host_id"`
	Host    host.Fingerprint `json:"host"`
	Kernels doctorKernels    `json:"kernels"`
	// Noise is absent with --no-noise.
	Noise *doctorNoise `json:"noise,omitempty"`
}

// doctorKernels says which kernels this binary runs here.
type doctorKernels struct {
	// SIMDBuilt reports a build with GOEXPERIMENT=simd.
	SIMDBuilt bool `json:"simd_built"`
	// Tier is the tier used by default.
	Tier string `json:"tier"`
	// ISA is the path the simd tier runs on by default, "none" when it is unavailable.
	ISA string `json:"isa"`
	// ISAs lists the paths the simd tier can be forced onto here.
	ISAs []string `json:"isas"`
	// CPUISA is the best path this CPU supports, whatever the build.
	CPUISA string `json:"cpu_isa"`
	// Prefetch is how the default tier's MatVec kernels prefetch (l2, nta or off; chosen per
	// CPU family, off for the generic tier).
	Prefetch string `json:"prefetch"`
	// Wide512 reports that the default path runs its 512-bit forms (the float MatVec kernels,
	// the int4 superblock kernel's row pairs): on CPUs whose 512-bit operations run at full
	// rate.
	Wide512 bool `json:"wide_512"`
}

// doctorNoise is the noise check with its verdict.
type doctorNoise struct {
	host.Noise
	Verdict string `json:"verdict"`
}

func newDoctorCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Describe this machine: CPU, memory, caches, ISA, kernel tier, and how noisy it is",
		Long: `doctor prints what infertune knows about this machine and binary: CPU model, cores,
memory, cache sizes (from sysfs, else from CPUID), ISA features, whether the binary has the
simd kernel tier (built with GOEXPERIMENT=simd), the tier and ISA path used by default,
how its MatVec kernels prefetch (l2, nta or off, chosen per CPU family), whether they run
their 512-bit forms (on CPUs whose 512-bit operations run at full rate), and a short
noise check that times a fixed CPU-bound loop 30 times: a coefficient of variation above
5% means the machine is too noisy for fine comparisons.`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lc, err := loadConfig(gs, cmd, map[string]string{"doctor.no_noise": "no-noise"}, nil)
			if err != nil {
				return err
			}
			if err := lc.Doctor.Validate(); err != nil {
				return lc.explain(err)
			}
			return runDoctor(gs, cmd, lc)
		}),
	}
	cmd.Flags().Bool("no-noise", defaultDoctorConfig().NoNoise, "skip the noise check")
	return cmd
}

func runDoctor(gs *globalState, cmd *cobra.Command, lc *loadedConfig) error {
	fp := host.Detect()
	r := doctorReport{
		HostID: fp.ID(),
		Host:   fp,
		Kernels: doctorKernels{
			SIMDBuilt: kernels.SIMDBuilt(),
			Tier:      kernels.BestTier().String(),
			ISA:       kernels.ISANone.String(),
			CPUISA:    kernels.DetectISA().String(),
			ISAs:      []string{},
			Prefetch:  kernels.PrefetchOff.String(),
		},
	}
	if kernels.BestTier() == kernels.SIMD {
		r.Kernels.ISA = kernels.DetectISA().String()
		r.Kernels.Prefetch = kernels.DetectPrefetch().String()
		r.Kernels.Wide512 = kernels.Wide512()
	}
	for _, i := range kernels.ISAs() {
		r.Kernels.ISAs = append(r.Kernels.ISAs, i.String())
	}
	if !lc.Doctor.NoNoise {
		if !lc.Quiet && jsonTarget(cmd) != "-" {
			fmt.Fprintf(gs.stderr, "checking noise: %d runs of about %v...\n", noiseRuns, noiseEach)
		}
		n, err := host.CheckNoise(cmd.Context(), noiseRuns, noiseEach)
		if err != nil {
			if errors.Is(err, cmd.Context().Err()) {
				return withCode(exitInterrupted, fmt.Errorf("doctor: interrupted during the noise check"))
			}
			return fmt.Errorf("doctor: %w", err)
		}
		r.Noise = &doctorNoise{Noise: n, Verdict: n.Verdict()}
	}

	if textDue, err := emitJSON(gs, cmd, r); !textDue {
		return err
	}
	return writeDoctorText(gs, r)
}

func writeDoctorText(gs *globalState, r doctorReport) error {
	tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', 0)
	h := r.Host
	fmt.Fprintf(tw, "host id\t%s\n", r.HostID)
	fmt.Fprintf(tw, "cpu\t%s\n", h.CPUModel)
	fmt.Fprintf(tw, "cores\t%d\n", h.Cores)
	fmt.Fprintf(tw, "memory\t%s\n", sizeOrUnknown(h.MemBytes))
	fmt.Fprintf(tw, "caches\tL1d %s, L2 %s, L3 %s\n", sizeOrUnknown(h.L1dBytes), sizeOrUnknown(h.L2Bytes), sizeOrUnknown(h.L3Bytes))
	fmt.Fprintf(tw, "isa flags\t%s\n", orNone(strings.Join(h.ISA, " ")))
	osLine := h.OS + "/" + h.Arch
	if h.Kernel != "" {
		osLine += ", kernel " + h.Kernel
	}
	fmt.Fprintf(tw, "os\t%s\n", osLine)
	fmt.Fprintf(tw, "go\t%s\n", h.GoVersion)
	fmt.Fprintf(tw, "binary\t%s, goexperiment %s\n", h.Build.Version, orNone(h.Build.GOEXPERIMENT))
	k := r.Kernels
	if k.SIMDBuilt {
		fmt.Fprintf(tw, "simd built\tyes (GOEXPERIMENT=simd)\n")
	} else {
		fmt.Fprintf(tw, "simd built\tno: build with GOEXPERIMENT=simd (make build) for the simd tier\n")
	}
	fmt.Fprintf(tw, "tier\t%s (default)\n", k.Tier)
	isa := k.ISA
	if k.ISA == kernels.ISANone.String() && k.CPUISA != kernels.ISANone.String() {
		isa += fmt.Sprintf(" (this CPU supports %s)", k.CPUISA)
	}
	fmt.Fprintf(tw, "isa path\t%s\n", isa)
	fmt.Fprintf(tw, "isa paths\t%s\n", joinWords(k.ISAs))
	fmt.Fprintf(tw, "prefetch\t%s (how the MatVec kernels prefetch, chosen per CPU family)\n", k.Prefetch)
	wide := "no: 256-bit float MatVec kernels (512-bit operations are not known to run at full rate here)"
	switch {
	case k.Wide512:
		wide = "yes: 512-bit float MatVec kernels, and int4 row pairs with VNNI (512-bit operations run at full rate)"
	case k.Tier != kernels.SIMD.String():
		wide = "no: the generic tier has no vector kernels"
	}
	fmt.Fprintf(tw, "512-bit\t%s\n", wide)
	if n := r.Noise; n != nil {
		fmt.Fprintf(tw, "noise\tmedian %s, cv %.1f%% over %d runs\n", n.Median.Round(time.Microsecond), n.CV*100, n.Runs)
		fmt.Fprintf(tw, "verdict\t%s\n", n.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write doctor: %w", err)
	}
	return nil
}

// sizeOrUnknown formats a byte count, or "unknown" for 0.
func sizeOrUnknown(n int64) string {
	if n <= 0 {
		return "unknown"
	}
	return formatSize(n)
}
