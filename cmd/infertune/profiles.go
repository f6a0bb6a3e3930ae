package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/infertune/infertune/profiles"
	"github.com/spf13/cobra"
)

func newProfilesCommand(gs *globalState) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List and show the workload profiles built into infertune",
		Long: `profiles lists and shows the workload profiles built into infertune. A workload is a model
(an architecture and a size preset) plus the shape of its traffic: what one request holds
(token lengths or features) and the defaults a run starts from (precision, batching, queue
bounds, arrival process, measurement window).`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		}),
	}
	cmd.AddCommand(newProfilesListCommand(gs), newProfilesShowCommand(gs))
	return cmd
}

func newProfilesListCommand(gs *globalState) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the workload profiles: name, model and what each models",
		Example: `  infertune profiles list
  infertune profiles list --json -`,
		Args: noArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if _, err := loadConfig(gs, cmd, nil, nil); err != nil {
				return err
			}
			ws := profiles.Workloads()
			views := make([]workloadJSON, len(ws))
			for i, w := range ws {
				views[i] = newWorkloadJSON(w)
			}
			if textDue, err := emitJSON(gs, cmd, views); !textDue {
				return err
			}
			if err := writeWorkloadList(gs.stdout, ws); err != nil {
				return fmt.Errorf("profiles list: write: %w", err)
			}
			return nil
		}),
	}
}

func newProfilesShowCommand(gs *globalState) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Print a workload profile as built in (YAML), or typed with --json",
		Long: `show prints the workload profile NAME as built into infertune: its YAML text, comments
included. With --json it prints the decoded profile instead, durations as text such as 2ms.`,
		Example: `  infertune profiles show classify
  infertune profiles show fraud --json -`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return badInputf("%s needs a workload NAME; accepted: %s", cmd.CommandPath(), joinWords(workloadNames()))
			case len(args) > 1:
				return badInputf("unexpected argument %q: %s takes one workload NAME (see '%s --help')",
					args[1], cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return workloadNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if _, err := loadConfig(gs, cmd, nil, nil); err != nil {
				return err
			}
			w, err := profiles.LookupWorkload(args[0])
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if textDue, err := emitJSON(gs, cmd, newWorkloadJSON(w)); !textDue {
				return err
			}
			if _, err := gs.stdout.Write(w.Raw); err != nil {
				return fmt.Errorf("profiles show: write: %w", err)
			}
			return nil
		}),
	}
}

// workloadNames lists the built-in workloads by name.
func workloadNames() []string {
	var names []string
	for _, w := range profiles.Workloads() {
		names = append(names, w.Name)
	}
	return names
}

// lookupWorkload returns the workload named for bench and tune, or the problem with the
// name (unknown, with the names accepted).
func lookupWorkload(name string) (profiles.Workload, string) {
	w, err := profiles.LookupWorkload(name)
	if err != nil {
		return w, "unknown workload; accepted: " + strings.Join(workloadNames(), ", ")
	}
	return w, ""
}

// writeWorkloadList writes one line per workload: name, arch, preset, description.
func writeWorkloadList(w io.Writer, ws []profiles.Workload) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tarch\tpreset\tdescription")
	for _, wl := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", wl.Name, wl.Model.Arch, wl.Model.Preset, strings.TrimSpace(wl.Description))
	}
	return tw.Flush()
}

// workloadJSON is the JSON of a workload: the keys of its YAML file, durations as text
// (such as "2ms"), and the file it came from.
type workloadJSON struct {
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Source      string               `json:"source"`
	Model       workloadModelJSON    `json:"model"`
	Input       workloadInputJSON    `json:"input"`
	Defaults    workloadDefaultsJSON `json:"defaults"`
}

type workloadModelJSON struct {
	Arch   string `json:"arch"`
	Preset string `json:"preset"`
}

// workloadInputJSON holds tokens for an encoder, features for an MLP, prompt and output
// lengths for a decoder.
type workloadInputJSON struct {
	Tokens   *workloadTokensJSON `json:"tokens,omitempty"`
	Features int                 `json:"features,omitempty"`
	Prompt   *workloadTokensJSON `json:"prompt,omitempty"`
	Output   *workloadTokensJSON `json:"output,omitempty"`
}

type workloadTokensJSON struct {
	Min  int     `json:"min"`
	Max  int     `json:"max"`
	Mean float64 `json:"mean"`
}

// batchingJSON is the batcher's settings in the JSON of a workload or a run: the dynamic
// batcher's for an encoder or MLP, the generation batcher's for a decoder (the others
// left out).
type batchingJSON struct {
	MaxBatch         int    `json:"max_batch,omitempty"`
	MaxQueueDelay    string `json:"max_queue_delay,omitempty"`
	Batching         string `json:"batching,omitempty"`
	MaxSeqs          int    `json:"max_seqs,omitempty"`
	MaxBatchedTokens int    `json:"max_batched_tokens,omitempty"`
	KVBlockSize      int    `json:"kv_block_size,omitempty"`
}

// workloadDefaultsJSON holds every default; the batching keys of the other kind of model
// are left out (max_batch and max_queue_delay for a decoder, the generation keys else).
type workloadDefaultsJSON struct {
	Precision string `json:"precision"`
	Threads   int    `json:"threads"`
	batchingJSON
	KVBudget      string `json:"kv_budget,omitempty"`
	KVBudgetBytes int64  `json:"kv_budget_bytes,omitempty"`
	MaxQueue      int    `json:"max_queue"`
	// Rate is in requests per second.
	Rate        float64 `json:"rate"`
	Arrival     string  `json:"arrival"`
	Concurrency int     `json:"concurrency"`
	Duration    string  `json:"duration"`
	Warmup      string  `json:"warmup"`
}

func newWorkloadJSON(w profiles.Workload) workloadJSON {
	d := w.Defaults
	j := workloadJSON{
		Name:        w.Name,
		Description: w.Description,
		Source:      w.Source,
		Model:       workloadModelJSON{Arch: w.Model.Arch, Preset: w.Model.Preset},
		Input:       workloadInputJSON{Features: w.Input.Features},
		Defaults: workloadDefaultsJSON{
			Precision:    d.Precision,
			Threads:      d.Threads,
			batchingJSON: batchingJSON{MaxBatch: d.MaxBatch, MaxQueueDelay: d.MaxQueueDelay.String()},
			MaxQueue:     d.MaxQueue,
			Rate:         d.RequestsPerSec,
			Arrival:      d.Arrival,
			Concurrency:  d.Concurrency,
			Duration:     d.Duration.String(),
			Warmup:       d.Warmup.String(),
		},
	}
	lengths := func(t *profiles.TokenLengths) *workloadTokensJSON {
		if t == nil {
			return nil
		}
		return &workloadTokensJSON{Min: t.Min, Max: t.Max, Mean: t.Mean}
	}
	j.Input.Tokens, j.Input.Prompt, j.Input.Output = lengths(w.Input.Tokens), lengths(w.Input.Prompt), lengths(w.Input.Output)
	if w.Model.Arch == profiles.ArchDecoder {
		jd := &j.Defaults
		jd.MaxQueueDelay = ""
		jd.Batching, jd.MaxSeqs, jd.MaxBatchedTokens = d.Batching, d.MaxSeqs, d.MaxBatchedTokens
		jd.KVBlockSize, jd.KVBudget, jd.KVBudgetBytes = d.KVBlockSize, d.KVBudgetText, d.KVBudgetBytes
	}
	return j
}
