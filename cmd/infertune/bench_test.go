package main

import (
	"encoding/json"
	"testing"
)

// benchRunJSON is the part of the `infertune bench` JSON report the tests read.
type benchRunJSON struct {
	Config struct {
		Workload  string `json:"workload"`
		Model     string `json:"model"`
		Precision string `json:"precision"`
		MaxBatch  int    `json:"max_batch"`
	} `json:"config"`
	MeanBatch     float64 `json:"mean_batch"`
	ServiceMsMean float64 `json:"service_ms_mean"`
	Fidelity      *struct {
		Top1   float64 `json:"top1"`
		KLD    float64 `json:"kld"`
		Inputs int     `json:"inputs"`
	} `json:"fidelity"`
	loadgenJSON
}

// TestBenchWorkload runs the fraud workload (a small MLP) for a short probe and reads the
// report. Timing figures are not asserted, only their presence and accounting.
func TestBenchWorkload(t *testing.T) {
	ts := newTestState(t, "bench", "--workload", "fraud", "--precision", "int8", "--max-batch", "4",
		"--rate", "500", "--duration", "200ms", "--warmup", "50ms", "--grace", "500ms",
		"--fidelity-inputs", "64", "--json", "-")
	wantProbeExit(t, ts)
	var rep benchRunJSON
	if err := json.Unmarshal([]byte(ts.stdout.String()), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, ts.stdout)
	}
	if rep.Config.Workload != "fraud" || rep.Config.Model != "mlp" || rep.Config.Precision != "int8" || rep.Config.MaxBatch != 4 {
		t.Errorf("config %+v", rep.Config)
	}
	if rep.Fidelity == nil || rep.Fidelity.Inputs != 64 || rep.Fidelity.Top1 < 0.9 || rep.Fidelity.KLD < 0 {
		t.Errorf("fidelity %+v", rep.Fidelity)
	}
	if rep.Sent == 0 || rep.OK+rep.Errors+rep.Rejects+rep.Timeouts+rep.Drops+rep.Cut != rep.Sent {
		t.Errorf("accounting: %+v", rep.loadgenJSON)
	}
	if rep.OK > 0 && (rep.MeanBatch < 1 || rep.MeanBatch > 4 || rep.ServiceMsMean <= 0) {
		t.Errorf("mean batch %v service %v ms", rep.MeanBatch, rep.ServiceMsMean)
	}
	if rep.Target != "engine" {
		t.Errorf("target %q", rep.Target)
	}
}

func TestBenchWorkloadText(t *testing.T) {
	ts := newTestState(t, "bench", "--workload", "fraud", "--arrival", "closed", "--concurrency", "2",
		"--duration", "100ms", "--warmup", "0s", "--fidelity-inputs", "0")
	wantProbeExit(t, ts)
	wantContains(t, "stdout", ts.stdout.String(), "config", "fraud: mlp int8", "batches", "mean batch", "latency", "verdict")
}

func TestBenchWorkloadBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"workload", []string{"--workload", "chess"}, []string{"--workload", `"chess"`, "classify", "fraud"}},
		{"generation workload", []string{"--workload", "chat"}, []string{"--workload", `"chat"`, "generation", "accepted: classify, classify-tiny, fraud"}},
		{"precision", []string{"--precision", "int3"}, []string{"--precision", `"int3"`, "int4"}},
		{"max batch", []string{"--max-batch", "0"}, []string{"--max-batch", `"0"`, "accepted:"}},
		{"max queue", []string{"--max-queue", "lots"}, []string{"--max-queue", `"lots"`, "accepted:"}},
		{"delay", []string{"--max-queue-delay", "-2ms"}, []string{"--max-queue-delay", `"-2ms"`, "accepted:"}},
		{"rate", []string{"--rate", "fast"}, []string{"--rate", `"fast"`, "accepted:"}},
		{"arrival", []string{"--arrival", "bursty"}, []string{"--arrival", `"bursty"`, "poisson"}},
		{"threads", []string{"--threads", "-1"}, []string{"--threads", `"-1"`, "accepted:"}},
		{"tier", []string{"--tier", "quantum"}, []string{"--tier", `"quantum"`, "generic"}},
		{"tokens on an mlp", []string{"--workload", "fraud", "--input-tokens", "64"}, []string{"--input-tokens", "features"}},
		{"tokens past the context", []string{"--workload", "classify", "--input-tokens", "300"}, []string{"--input-tokens", "256"}},
		{"fidelity inputs", []string{"--fidelity-inputs", "-1"}, []string{"--fidelity-inputs", `"-1"`}},
		{"timeout", []string{"--timeout", "soon"}, []string{"--timeout", `"soon"`, "accepted:"}},
		{"argument", []string{"extra"}, []string{`"extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench", "--duration", "10ms", "--warmup", "0s", "--fidelity-inputs", "0"}, tt.args...)
			ts := newTestState(t, args...)
			if code := ts.run(t); code != int(exitBadInput) {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitBadInput, ts.stdout, ts.stderr)
			}
			wantContains(t, "stderr", ts.stderr.String(), tt.want...)
		})
	}
}
