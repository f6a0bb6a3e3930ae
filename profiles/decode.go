package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// durationText is a duration as written in a profile, such as "2ms"; the decoded value
// type parses it, so that an error can quote the key and the text.
type durationText string

// sizeText is a size in bytes as written in a profile, such as "64MiB"; parseSize reads it,
// so that an error can quote the key and the text.
type sizeText string

// wholeNumber is a whole number in a profile. yaml's own decoding into an int drops the
// fraction of a number such as 8.5; this type rejects it and accepts 8.0 or 1e3.
type wholeNumber int

// UnmarshalYAML decodes a whole number, reporting a fraction as yaml reports a mismatch.
func (w *wholeNumber) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
		var f float64
		if err := n.Decode(&f); err == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			*w = wholeNumber(f)
			return nil
		}
		v := n.Value
		if len(v) > 10 {
			v = v[:7] + "..."
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal !!float `%s` into int", n.Line, v)}}
	}
	var i int
	if err := n.Decode(&i); err != nil {
		return err
	}
	*w = wholeNumber(i)
	return nil
}

// decodeStrict decodes data, which must hold one YAML document, into dst, a pointer to a
// struct with yaml tags. Unknown keys, values of the wrong type, keys given twice and a
// second document are errors. Each problem is a *FieldError naming the key path and the line,
// and they come joined.
func decodeStrict(data []byte, dst any) error {
	keys := sectionKeys(reflect.TypeOf(dst).Elem())
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(dst)
	if errors.Is(err, io.EOF) {
		return &FieldError{Problem: "empty; accepted: a YAML mapping with the keys " + strings.Join(keys[""], ", ")}
	}
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		return typeErrors(data, te, keys)
	}
	if err != nil {
		return syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return syntaxError(err)
	}
	return &FieldError{Problem: "a second YAML document (after ---); accepted: one document per file"}
}

// syntaxError is a YAML parse error as a problem of the document.
func syntaxError(err error) error {
	return &FieldError{Problem: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// sectionKeys maps the key path of each mapping in a document decoded into t ("" for the
// top level) to the keys accepted there, sorted, as named by the yaml tags.
func sectionKeys(t reflect.Type) map[string][]string {
	out := map[string][]string{}
	var walk func(path string, t reflect.Type)
	walk = func(path string, t reflect.Type) {
		var names []string
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			names = append(names, name)
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(joinKey(path, name), ft)
			}
		}
		slices.Sort(names)
		out[path] = names
	}
	walk("", t)
	return out
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// The messages of yaml.TypeError that typeErrors rewrites (go.yaml.in/yaml/v3 decode.go).
var (
	unknownKeyRE = regexp.MustCompile(`(?s)^line (\d+): field (.*) not found in type \S+$`)
	wrongTypeRE  = regexp.MustCompile("(?s)^line (\\d+): cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	duplicateRE  = regexp.MustCompile(`(?s)^line (\d+): mapping key "(.*)" already defined at line (\d+)$`)
)

// typeErrors turns the problems of a yaml.TypeError into field errors that name the key
// path, the value and what is accepted, finding each key in the document by its line.
func typeErrors(data []byte, te *yaml.TypeError, keys map[string][]string) error {
	idx := indexNodes(data)
	var errs []error
	for _, msg := range te.Errors {
		errs = append(errs, typeError(msg, idx, keys))
	}
	return errors.Join(errs...)
}

func typeError(msg string, idx []nodeEntry, keys map[string][]string) error {
	if m := unknownKeyRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		parent, path := "", m[2]
		if e, ok := findKey(idx, line, m[2]); ok {
			parent, path = e.parent, e.path
		}
		where := "in " + parent
		if parent == "" {
			where = "at the top level"
		}
		return &FieldError{Key: path, Problem: fmt.Sprintf("unknown key (line %d); accepted %s: %s",
			line, where, strings.Join(keys[parent], ", "))}
	}
	if m := duplicateRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		path := m[2]
		if e, ok := findKey(idx, line, m[2]); ok {
			path = e.path
		}
		return &FieldError{Key: path, Problem: fmt.Sprintf("given twice (lines %s and %d); accepted: each key once", m[3], line)}
	}
	if m := wrongTypeRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		path, value := "", m[3]
		if e, ok := findValue(idx, line, m[2], m[3]); ok {
			path, value = e.path, ""
			if e.val.Kind == yaml.ScalarNode {
				value = e.val.Value
			}
		}
		want := typeWord(m[4])
		if k, ok := keys[path]; ok {
			want = "a mapping with the keys " + strings.Join(k, ", ")
		}
		problem := fmt.Sprintf("%s given (line %d); accepted: %s", tagWord(m[2]), line, want)
		if path == "" {
			problem = fmt.Sprintf("the document is %s (line %d); accepted: %s", tagWord(m[2]), line, want)
		}
		return &FieldError{Key: path, Value: value, Problem: problem}
	}
	return &FieldError{Problem: msg}
}

// nodeEntry is one node of a document with its key path: "" for the top level,
// defaults.max_batch for a key, input.tokens[0] for a list item.
type nodeEntry struct {
	parent, path string
	key          *yaml.Node // nil for the top level and list items
	val          *yaml.Node
}

// indexNodes lists the nodes of the first document of data in document order; nil if it
// does not parse. Aliases are not followed.
func indexNodes(data []byte) []nodeEntry {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []nodeEntry
	var walk func(parent, path string, key, n *yaml.Node)
	walk = func(parent, path string, key, n *yaml.Node) {
		out = append(out, nodeEntry{parent: parent, path: path, key: key, val: n})
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "<<" && k.ShortTag() == "!!merge" {
					// The keys of a merged mapping belong to this one.
					walk(parent, path, k, v)
					continue
				}
				walk(path, joinKey(path, k.Value), k, v)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(path, fmt.Sprintf("%s[%d]", path, i), nil, c)
			}
		}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		walk("", "", nil, doc.Content[0])
	}
	return out
}

// findKey finds the key named name on a line.
func findKey(idx []nodeEntry, line int, name string) (nodeEntry, bool) {
	for _, e := range idx {
		if e.key != nil && e.key.Line == line && e.key.Value == name {
			return e, true
		}
	}
	return nodeEntry{}, false
}

// findValue finds the value a yaml type error names: its line, its tag, and for a scalar
// the text as the message quotes it (cut to 7 characters and "..." when over 10).
func findValue(idx []nodeEntry, line int, tag, quoted string) (nodeEntry, bool) {
	for _, e := range idx {
		if e.val.Line != line {
			continue
		}
		switch e.val.Kind {
		case yaml.MappingNode:
			if tag == "!!map" {
				return e, true
			}
		case yaml.SequenceNode:
			if tag == "!!seq" {
				return e, true
			}
		case yaml.ScalarNode:
			v := e.val.Value
			if len(v) > 10 {
				v = v[:7] + "..."
			}
			if v == quoted {
				return e, true
			}
		}
	}
	return nodeEntry{}, false
}

// tagWord names the kind of value a YAML tag marks.
func tagWord(tag string) string {
	switch tag {
	case "!!str":
		return "text"
	case "!!int":
		return "a whole number"
	case "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	case "!!null":
		return "null"
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!timestamp":
		return "a timestamp"
	case "!!binary":
		return "binary data"
	}
	return "a value tagged " + tag
}

// typeWord names what a Go type of a raw profile accepts.
func typeWord(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "int", "int64", "uint64":
		return "a whole number"
	case "float64":
		return "a number"
	case "string":
		return "text"
	case "profiles.durationText":
		return "a duration with a unit, such as 2ms or 20s"
	case "profiles.sizeText":
		return "a size with a unit, such as 64MiB"
	}
	return "a value of another kind (" + goType + ")"
}

// parseDuration reads a duration key of a profile; "" (the key missing) is 0.
func parseDuration(key string, text durationText, errs *[]error) time.Duration {
	s := strings.TrimSpace(string(text))
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		*errs = append(*errs, &FieldError{Key: key, Value: string(text),
			Problem: "not a duration; accepted: a number with a unit (ns, us, ms, s, m, h), such as 2ms or 20s"})
		return 0
	}
	return d
}

// sizeUnits are the units of a size and their bytes: binary (KiB = 1024 bytes) and decimal
// (KB = 1000 bytes).
var sizeUnits = map[string]int64{
	"B":   1,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
	"KB": 1e3, "MB": 1e6, "GB": 1e9,
}

// sizeUnitNames lists the units of a size, smallest first, binary before decimal.
func sizeUnitNames() []string { return []string{"B", "KiB", "MiB", "GiB", "KB", "MB", "GB"} }

// sizeRE is a size: a decimal number, optional spaces, a unit.
var sizeRE = regexp.MustCompile(`^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)) *([A-Za-z]+)$`)

// ParseSize reads a size in bytes written as a decimal number and a unit: B, KiB, MiB, GiB
// (powers of 1024) or KB, MB, GB (powers of 1000), as in 64MiB, 1.5GiB or 512 KB. The size
// must come to a whole number of bytes that fits an int64; it may be 0 or negative, which
// callers that want a positive size check. The error quotes s and says what is accepted.
func ParseSize(s string) (int64, error) {
	n, problem := readSize(s)
	if problem != "" {
		return 0, fmt.Errorf("size %q: %s", s, problem)
	}
	return n, nil
}

// readSize parses a size as ParseSize does; on failure it returns the problem, saying what
// is accepted.
func readSize(s string) (int64, string) {
	accepted := "accepted: a number with a unit (" + strings.Join(sizeUnitNames(), ", ") + "), such as 64MiB"
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, "not a size; " + accepted
	}
	unit, ok := sizeUnits[m[2]]
	if !ok {
		return 0, fmt.Sprintf("unknown unit %s; %s", m[2], accepted)
	}
	r, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, "not a size; " + accepted
	}
	r.Mul(r, new(big.Rat).SetInt64(unit))
	switch {
	case !r.IsInt():
		return 0, "not a whole number of bytes; " + accepted
	case !r.Num().IsInt64():
		return 0, fmt.Sprintf("too large; %s, up to %d bytes", accepted, int64(math.MaxInt64))
	}
	return r.Num().Int64(), ""
}

// parseSize reads a size key of a profile; "" (the key missing) is 0.
func parseSize(key string, text sizeText, errs *[]error) int64 {
	if strings.TrimSpace(string(text)) == "" {
		return 0
	}
	n, problem := readSize(string(text))
	if problem != "" {
		*errs = append(*errs, &FieldError{Key: key, Value: string(text), Problem: problem})
		return 0
	}
	return n
}

// unjoin flattens errors.Join trees into their leaves.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// inFile prefixes each problem of err with the file it is in.
func inFile(name string, err error) error {
	if name == "" || err == nil {
		return err
	}
	var out []error
	for _, e := range unjoin(err) {
		out = append(out, fmt.Errorf("%s: %w", name, e))
	}
	return errors.Join(out...)
}
