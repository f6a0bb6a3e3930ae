package host

import "runtime/debug"

// Build describes how the running binary was built, from runtime/debug.ReadBuildInfo.
type Build struct {
	// Version is the main module's version: a tag, a pseudo-version, or "(devel)".
	Version string `json:"version"`
	// Revision is the VCS commit (vcs.revision), empty when the build was not stamped.
	Revision string `json:"revision,omitempty"`
	// Modified reports uncommitted changes at build time (vcs.modified).
	Modified bool `json:"modified,omitempty"`
	// GOEXPERIMENT is the experiment list the binary was built with ("simd" for the simd
	// kernel tier), empty for none.
	GOEXPERIMENT string `json:"goexperiment,omitempty"`
	// GOAMD64 is the amd64 microarchitecture level (v1..v4), empty on other architectures.
	GOAMD64 string `json:"goamd64,omitempty"`
}

// ReadBuild returns the build description of the running binary.
func ReadBuild() Build {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Build{Version: "(unknown)"}
	}
	return BuildFrom(bi)
}

// BuildFrom extracts a Build from build information.
func BuildFrom(bi *debug.BuildInfo) Build {
	b := Build{Version: bi.Main.Version}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "GOEXPERIMENT":
			b.GOEXPERIMENT = s.Value
		case "GOAMD64":
			b.GOAMD64 = s.Value
		}
	}
	return b
}
