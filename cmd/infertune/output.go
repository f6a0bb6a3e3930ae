package main

import (
	"encoding/json"
	"fmt"
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

// writeJSON writes v as indented JSON to stdout ("-") or to a file relative to the working
// directory. A file that cannot be created is bad input naming --json.
func writeJSON(gs *globalState, target string, v any) error {
	if target == "-" {
		enc := json.NewEncoder(gs.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
		return nil
	}
	f, err := os.Create(gs.path(target))
	if err != nil {
		return badInputf("--json %q: cannot create the file: %v; accepted: a writable path, or - for stdout", target, err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		_ = f.Close()
		return fmt.Errorf("write json %s: %w", target, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write json %s: %w", target, err)
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
