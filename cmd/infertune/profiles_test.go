package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infertune/infertune/profiles"
)

func TestProfilesList(t *testing.T) {
	ts := newTestState(t, "profiles", "list")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	lines := strings.Split(strings.TrimRight(ts.stdout.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("want a header and 4 rows, got:\n%s", ts.stdout)
	}
	for i, want := range [][]string{
		{"name", "arch", "preset", "description"},
		{"chat", "decoder", "s15m", "Chat generation with the s15m decoder, continuous batching."},
		{"classify", "encoder", "s15m", "Sentence classification with the s15m encoder (8 classes), request/response."},
		{"classify-tiny", "encoder", "tiny", "Classification with the tiny encoder (8 classes), for tests and quick demos."},
		{"fraud", "mlp", "mlp", "Tabular fraud scoring with a 256→1024→1024→2 MLP, request/response."},
	} {
		wantContains(t, "row", lines[i], want...)
		if !strings.HasPrefix(lines[i], want[0]+" ") {
			t.Errorf("row %d = %q, want it to start with %q", i, lines[i], want[0])
		}
	}
	if ts.stderr.String() != "" {
		t.Errorf("stderr: %s", ts.stderr)
	}

	ts = newTestState(t, "profiles", "list", "--json", "-")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	var views []workloadJSON
	if err := json.Unmarshal([]byte(ts.stdout.String()), &views); err != nil {
		t.Fatalf("stdout is not a JSON list: %v\n%s", err, ts.stdout)
	}
	var names []string
	for _, v := range views {
		names = append(names, v.Name)
	}
	if !slices.Equal(names, []string{"chat", "classify", "classify-tiny", "fraud"}) {
		t.Errorf("names %v, want [chat classify classify-tiny fraud]", names)
	}
	if len(views) == 2 && (views[0].Defaults.MaxQueueDelay != "2ms" || views[1].Input.Features != 256) {
		t.Errorf("list JSON = %+v", views)
	}
}

func TestProfilesShow(t *testing.T) {
	for _, name := range []string{"classify", "classify-tiny", "fraud"} {
		t.Run(name, func(t *testing.T) {
			w, err := profiles.LookupWorkload(name)
			if err != nil {
				t.Fatal(err)
			}
			ts := newTestState(t, "profiles", "show", name)
			if code := ts.run(t); code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
			}
			if got := ts.stdout.String(); got != string(w.Raw) {
				t.Errorf("stdout is not the embedded file:\n%s\nwant:\n%s", got, w.Raw)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		ts := newTestState(t, "profiles", "show", "classify", "--json", "-")
		if code := ts.run(t); code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
		}
		// Decoded generically, so that the test sees the JSON's own types.
		var got map[string]any
		if err := json.Unmarshal([]byte(ts.stdout.String()), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, ts.stdout)
		}
		d, _ := got["defaults"].(map[string]any)
		in, _ := got["input"].(map[string]any)
		tokens, _ := in["tokens"].(map[string]any)
		if got["name"] != "classify" || got["source"] != "workloads/classify.yaml" ||
			d["max_queue_delay"] != "2ms" || d["duration"] != "20s" || d["warmup"] != "2s" ||
			d["rate"] != 40.0 || d["max_batch"] != 8.0 || d["precision"] != "int8" || d["arrival"] != "poisson" ||
			tokens["min"] != 8.0 || tokens["max"] != 128.0 || tokens["mean"] != 32.0 {
			t.Errorf("show --json:\n%s", ts.stdout)
		}
		if _, ok := in["features"]; ok {
			t.Errorf("an encoder workload's JSON has features:\n%s", ts.stdout)
		}
	})

	t.Run("json file and text", func(t *testing.T) {
		ts := newTestState(t, "profiles", "show", "fraud", "--json", "fraud.json")
		if code := ts.run(t); code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
		}
		wantContains(t, "stdout", ts.stdout.String(), "# fraud:", "features: 256")
		data, err := os.ReadFile(filepath.Join(ts.gs.workDir, "fraud.json"))
		if err != nil {
			t.Fatal(err)
		}
		var v workloadJSON
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("fraud.json is not JSON: %v\n%s", err, data)
		}
		if v.Name != "fraud" || v.Input.Tokens != nil || v.Input.Features != 256 || v.Defaults.MaxQueueDelay != "1ms" || v.Defaults.Rate != 2000 {
			t.Errorf("fraud.json = %+v", v)
		}
	})
}

func TestProfilesHelp(t *testing.T) {
	ts := newTestState(t, "profiles")
	if code := ts.run(t); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, ts.stderr)
	}
	wantContains(t, "stdout", ts.stdout.String(), "Usage:", "infertune profiles [command]", "list", "show")
}

func TestProfilesBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown name", []string{"profiles", "show", "nope"},
			[]string{`infertune: unknown workload "nope"; accepted: chat, classify, classify-tiny, fraud`}},
		{"missing name", []string{"profiles", "show"},
			[]string{"infertune profiles show needs a workload NAME; accepted: chat, classify, classify-tiny, fraud"}},
		{"two names", []string{"profiles", "show", "classify", "fraud"},
			[]string{`unexpected argument "fraud": infertune profiles show takes one workload NAME`}},
		{"argument to list", []string{"profiles", "list", "classify"},
			[]string{`unexpected argument "classify"`, "takes no arguments"}},
		{"unknown subcommand", []string{"profiles", "lst"},
			[]string{`unknown command "lst"`, "accepted: list, show"}},
		{"unknown flag", []string{"profiles", "list", "--verbose"},
			[]string{"unknown flag: --verbose", "--json"}},
		{"unwritable json", []string{"profiles", "list", "--json", "no/such/dir/out.json"},
			[]string{`--json "no/such/dir/out.json": cannot create the file`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestState(t, tt.args...)
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitBadInput, ts.stdout, ts.stderr)
			}
			wantContains(t, "stderr", ts.stderr.String(), tt.want...)
			if ts.stdout.String() != "" {
				t.Errorf("stdout holds output on bad input:\n%s", ts.stdout)
			}
		})
	}

	// A broken config file is reported by every command, profiles included.
	ts := newTestState(t, "profiles", "list")
	ts.writeFile(t, "infertune.yaml", "colour: true\n")
	if code := ts.run(t); code != int(exitBadInput) {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitBadInput, ts.stderr)
	}
	wantContains(t, "stderr", ts.stderr.String(), `"colour"`)
}
