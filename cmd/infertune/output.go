package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// jsonTarget returns the --json value: "" for none, "-" for stdout, else a path.
func jsonTarget(cmd *cobra.Command) string {
	f := cmd.Flags().Lookup("json")
	if f == nil {
		return ""
	}
	return f.Value.String()
}

// emitJSON writes v where --json asks (nowhere when it is not given) and reports whether
// the text output is still due: not when the JSON went to stdout in its place.
func emitJSON(gs *globalState, cmd *cobra.Command, v any) (textDue bool, err error) {
	target := jsonTarget(cmd)
	if target == "" {
		return true, nil
	}
	if err := writeJSON(gs, target, v); err != nil {
		return false, err
	}
	return target != "-", nil
}

// writeJSON writes v as indented JSON to stdout ("-") or to a file relative to the working
// directory. A file that cannot be created is bad input naming --json.
func writeJSON(gs *globalState, target string, v any) error {
	if target == "-" {
		return encodeJSON(gs.stdout, "", v)
	}
	f, err := os.Create(gs.path(target))
	if err != nil {
		return badInputf("--json %q: cannot create the file: %v; accepted: a writable path, or - for stdout", target, err)
	}
	if err := encodeJSON(f, " "+target, v); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write json %s: %w", target, err)
	}
	return nil
}

// encodeJSON writes v to w, indented, HTML characters unescaped; where names w in errors.
func encodeJSON(w io.Writer, where string, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json%s: %w", where, err)
	}
	return nil
}

// joinWords writes a list for people: "a, b, c", or "none" when empty.
func joinWords(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
