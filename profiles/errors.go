package profiles

import "fmt"

// FieldError is one problem with one key of a profile: its YAML key path (such as
// defaults.max_batch; empty for the document as a whole), the value as written (empty when
// the key is missing or holds a mapping) and what is wrong, including what is accepted.
type FieldError struct {
	Key     string
	Value   string
	Problem string
}

func (e *FieldError) Error() string {
	switch {
	case e.Key == "":
		return e.Problem
	case e.Value == "":
		return fmt.Sprintf("%s: %s", e.Key, e.Problem)
	}
	return fmt.Sprintf("%s %q: %s", e.Key, e.Value, e.Problem)
}
