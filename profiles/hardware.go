package profiles

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Ways a hardware profile lays out its targets.
const (
	// TargetsPerThread makes one target per thread count, from 1 to the number of CPUs,
	// each priced as that many vCPUs.
	TargetsPerThread = "per-thread"
)

// targetLayouts lists the ways a hardware profile can lay out its targets.
func targetLayouts() []string { return []string{TargetsPerThread} }

// Hardware is where trials run and what an hour of it costs. Its YAML keys are given beside
// each field.
type Hardware struct {
	// Name names the profile (name); it is the file's name without .yaml.
	Name string
	// Description says in one line what hardware the profile prices (description).
	Description string
	// PricePerVCPUHour is the price of one vCPU (one hardware thread) for an hour, in US
	// dollars (price_per_vcpu_hour).
	PricePerVCPUHour float64
	// PriceSource says where the price comes from (price_source), so a report can cite it.
	PriceSource string
	// Targets is how the profile lays out its targets (targets): TargetsPerThread.
	Targets string
	// Source is the name of the file the profile was read from, such as
	// hardware/local-cpu.yaml, and Raw its text as written.
	Source string
	Raw    []byte
}

// Validate checks the profile and returns every problem at once, joined; each is a
// *FieldError naming the YAML key, the value and what is accepted.
func (h Hardware) Validate() error {
	var errs []error
	bad := func(key, value, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Value: value, Problem: fmt.Sprintf(format, args...)})
	}
	if !nameRE.MatchString(h.Name) {
		bad("name", h.Name, "%saccepted: a lowercase letter, then up to 62 lowercase letters, digits or dashes, such as local-cpu", missing(h.Name))
	}
	if strings.TrimSpace(h.Description) == "" {
		bad("description", "", "missing; accepted: one line saying what hardware the profile prices")
	}
	if p := h.PricePerVCPUHour; !(p > 0) || math.IsInf(p, 0) {
		bad("price_per_vcpu_hour", strconv.FormatFloat(p, 'g', -1, 64), "accepted: US dollars per vCPU-hour above 0, such as 0.0425")
	}
	if strings.TrimSpace(h.PriceSource) == "" {
		bad("price_source", "", "missing; accepted: where the price comes from, such as \"AWS EC2 c6i.large on-demand, us-east-1: 2 vCPU at $0.0850/h\"")
	}
	if !slices.Contains(targetLayouts(), h.Targets) {
		bad("targets", h.Targets, "%s; accepted: %s", unknown(h.Targets, "target layout"), strings.Join(targetLayouts(), ", "))
	}
	return errors.Join(errs...)
}

// rawHardware is a hardware file as decoded, before values are checked.
type rawHardware struct {
	Name             string  `yaml:"name"`
	Description      string  `yaml:"description"`
	PricePerVCPUHour float64 `yaml:"price_per_vcpu_hour"`
	PriceSource      string  `yaml:"price_source"`
	Targets          string  `yaml:"targets"`
}

// ParseHardware decodes a hardware file strictly and validates it. name names the file in
// errors and becomes the profile's Source; data is its text, kept as Raw. Every problem is
// reported, one per joined error, each starting with name and naming the key.
func ParseHardware(name string, data []byte) (Hardware, error) {
	var r rawHardware
	if err := decodeStrict(data, &r); err != nil {
		return Hardware{}, inFile(name, err)
	}
	h := Hardware{
		Name:             r.Name,
		Description:      r.Description,
		PricePerVCPUHour: r.PricePerVCPUHour,
		PriceSource:      r.PriceSource,
		Targets:          r.Targets,
		Source:           name,
		Raw:              slices.Clone(data),
	}
	if err := h.Validate(); err != nil {
		return Hardware{}, inFile(name, err)
	}
	return h, nil
}

// hardwares parses the embedded hardware profiles once.
var hardwares = sync.OnceValues(func() ([]Hardware, error) {
	return loadDir(files, "hardware", ParseHardware, func(h Hardware) string { return h.Name })
})

// Hardwares returns the shipped hardware profiles sorted by name. They are parsed on the
// first call; it panics if an embedded file is invalid, which the package's tests rule
// out. The caller owns the returned values.
func Hardwares() []Hardware {
	hs, err := hardwares()
	if err != nil {
		panic(fmt.Sprintf("profiles: embedded hardware: %v", err))
	}
	out := make([]Hardware, len(hs))
	for i, h := range hs {
		h.Raw = slices.Clone(h.Raw)
		out[i] = h
	}
	return out
}

// LookupHardware returns the shipped hardware profile called name. An unknown name is an
// error naming it and the accepted names.
func LookupHardware(name string) (Hardware, error) {
	hs := Hardwares()
	var names []string
	for _, h := range hs {
		if h.Name == name {
			return h, nil
		}
		names = append(names, h.Name)
	}
	return Hardware{}, fmt.Errorf("unknown hardware profile %q; accepted: %s", name, strings.Join(names, ", "))
}
