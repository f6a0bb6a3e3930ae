package profiles

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// files holds the shipped profiles, one YAML file per profile, named after it.
//
//go:embed workloads/*.yaml hardware/*.yaml
var files embed.FS

// workloads parses the embedded workloads once.
var workloads = sync.OnceValues(func() ([]Workload, error) {
	return loadDir(files, "workloads", Parse, func(w Workload) string { return w.Name })
})

// Workloads returns the shipped workloads sorted by name. They are parsed on the first
// call; it panics if an embedded file is invalid, which the package's tests rule out. The
// caller owns the returned values.
func Workloads() []Workload {
	ws, err := workloads()
	if err != nil {
		panic(fmt.Sprintf("profiles: embedded workloads: %v", err))
	}
	out := make([]Workload, len(ws))
	for i, w := range ws {
		out[i] = w.clone()
	}
	return out
}

// LookupWorkload returns the shipped workload called name. An unknown name is an error
// naming it and the accepted names.
func LookupWorkload(name string) (Workload, error) {
	ws := Workloads()
	var names []string
	for _, w := range ws {
		if w.Name == name {
			return w, nil
		}
		names = append(names, w.Name)
	}
	return Workload{}, fmt.Errorf("unknown workload %q; accepted: %s", name, strings.Join(names, ", "))
}

// loadDir parses every .yaml file of dir in fsys, checks that each profile is named after
// its file and returns them sorted by name. Errors name the file.
func loadDir[T any](fsys fs.FS, dir string, parse func(name string, data []byte) (T, error), nameOf func(T) string) ([]T, error) {
	paths, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []T
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		v, err := parse(p, data)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(path.Base(p), ".yaml"); nameOf(v) != want {
			return nil, fmt.Errorf("%s: name %q: accepted: the file's name, %q", p, nameOf(v), want)
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(nameOf(a), nameOf(b)) })
	return out, nil
}
