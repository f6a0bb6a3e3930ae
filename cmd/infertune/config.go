package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// config is the whole configuration of one invocation: flags over INFERTUNE_* environment
// variables over the config file over defaults. Keys are the mapstructure tags joined by
// dots (bench.kernels.min_time); the environment variable of a key is INFERTUNE_ and the key
// upper-cased with dots as underscores (INFERTUNE_BENCH_KERNELS_MIN_TIME); its flag is the
// last part with dashes (--min-time). Each section belongs to the command named after it and
// is validated by that command.
type config struct {
	// DB is the SQLite file that stores runs.
	DB string `mapstructure:"db"`
	// Quiet turns progress output off.
	Quiet bool `mapstructure:"quiet"`
	// NoColor turns colour off.
	NoColor bool `mapstructure:"no_color"`
	// Doctor configures `infertune doctor`.
	Doctor doctorConfig `mapstructure:"doctor"`
	// Bench configures the bench commands.
	Bench benchConfig `mapstructure:"bench"`
	// Tune configures `infertune tune`.
	Tune tuneConfig `mapstructure:"tune"`
	// TUI configures `infertune tui`.
	TUI tuiConfig `mapstructure:"tui"`
}

// benchConfig holds the settings of `infertune bench` and the sections of its subcommands.
// The workload's settings are text, "" meaning the workload profile's default.
type benchConfig struct {
	// Workload names a workload profile: chat, classify, classify-tiny, fraud.
	Workload string `mapstructure:"workload"`
	// Precision: fp32, fp16, bf16, int8, int4.
	Precision string `mapstructure:"precision"`
	// Threads: inference threads, 0 for every CPU.
	Threads string `mapstructure:"threads"`
	// Tier: the kernel tier, generic or simd ("" for the best this binary and CPU have).
	Tier string `mapstructure:"tier"`
	// MaxBatch and MaxQueueDelay: the dynamic batcher of an encoder or MLP workload.
	MaxBatch      string `mapstructure:"max_batch"`
	MaxQueueDelay string `mapstructure:"max_queue_delay"`
	// MaxQueue: the most requests waiting, for every workload.
	MaxQueue string `mapstructure:"max_queue"`
	// Batching (continuous, static), MaxSeqs, MaxBatchedTokens, KVBlockSize and KVBudget (a
	// size such as 64MiB): the generation batcher of a decoder workload.
	Batching         string `mapstructure:"batching"`
	MaxSeqs          string `mapstructure:"max_seqs"`
	MaxBatchedTokens string `mapstructure:"max_batched_tokens"`
	KVBlockSize      string `mapstructure:"kv_block_size"`
	KVBudget         string `mapstructure:"kv_budget"`
	// Rate (requests/s), Arrival (poisson, constant, closed) and Concurrency (closed).
	Rate        string `mapstructure:"rate"`
	Arrival     string `mapstructure:"arrival"`
	Concurrency string `mapstructure:"concurrency"`
	// Timeout bounds each request in the engine ("" or 0: none); expired requests leave
	// the queue and count as timeouts. Encoder and MLP workloads only.
	Timeout string `mapstructure:"timeout"`
	// Duration and Warmup of the probe; Grace for requests in flight at its end.
	Duration string `mapstructure:"duration"`
	Warmup   string `mapstructure:"warmup"`
	Grace    string `mapstructure:"grace"`
	// InputTokens fixes every request's length (encoder workloads); 0 draws from the profile.
	InputTokens int `mapstructure:"input_tokens"`
	// FidelityInputs is the size of the fidelity evaluation set; 0 skips fidelity.
	FidelityInputs int `mapstructure:"fidelity_inputs"`
	// Seed seeds the weights, the requests and the arrivals.
	Seed uint64 `mapstructure:"seed"`

	// Kernels configures `infertune bench kernels`.
	Kernels benchKernelsConfig `mapstructure:"kernels"`
	// Loadgen configures `infertune bench loadgen`.
	Loadgen benchLoadgenConfig `mapstructure:"loadgen"`
}

// defaultConfig returns the defaults of every key.
func defaultConfig() config {
	return config{
		DB:     "infertune.db",
		Doctor: defaultDoctorConfig(),
		Bench:  defaultBenchConfig(),
		Tune:   defaultTuneConfig(),
	}
}

// Validate checks the global settings and returns every problem at once.
func (c config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.DB) == "" {
		errs = append(errs, &fieldError{Key: "db", Problem: "empty; accepted: a file path such as infertune.db"})
	}
	return errors.Join(errs...)
}

// envPrefix starts the name of every environment variable infertune reads.
const envPrefix = "INFERTUNE_"

// envName returns the environment variable of a key: bench.kernels.min_time is
// INFERTUNE_BENCH_KERNELS_MIN_TIME.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// defaultConfigFile is read from the working directory when --config is not given.
const defaultConfigFile = "infertune.yaml"

// loadedConfig is a resolved config and where each of its values came from, so that an
// error can name the flag, variable or file key the user should fix.
type loadedConfig struct {
	config
	file     string                 // the config file read; "" when none
	fileKeys map[string]bool        // keys set by the file
	envKeys  map[string]string      // key → environment variable, for keys set there
	flags    map[string]*pflag.Flag // key → the flag bound to it
}

// loadConfig resolves the configuration for cmd with a fresh viper instance. binds maps
// config keys to the names of cmd's flags that set them; the global flags (--db, --quiet,
// --no-color) are bound for every command. adjust, when not nil, runs after every layer is
// loaded and before decoding, to change defaults that depend on other keys (presets). Every
// error is bad input (exit 2) and names the key, its source and what is accepted.
func loadConfig(gs *globalState, cmd *cobra.Command, binds map[string]string, adjust func(*viper.Viper)) (*loadedConfig, error) {
	v := viper.New()
	defaults := map[string]any{}
	flatten("", reflect.ValueOf(defaultConfig()), defaults)
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	lc := &loadedConfig{fileKeys: map[string]bool{}, envKeys: map[string]string{}, flags: map[string]*pflag.Flag{}}

	all := map[string]string{"db": "db", "quiet": "quiet", "no_color": "no-color"}
	for k, f := range binds {
		all[k] = f
	}
	for key, name := range all {
		if _, ok := defaults[key]; !ok {
			panic(fmt.Sprintf("config: flag --%s bound to unknown key %q", name, key))
		}
		f := cmd.Flags().Lookup(name)
		if f == nil {
			panic(fmt.Sprintf("config: %s has no flag --%s for key %q", cmd.CommandPath(), name, key))
		}
		if err := v.BindPFlag(key, f); err != nil {
			panic(fmt.Sprintf("config: bind --%s: %v", name, err))
		}
		lc.flags[key] = f
	}

	if err := lc.readFile(gs, cmd, v, defaults); err != nil {
		return nil, withCode(exitBadInput, err)
	}

	// The environment is read through gs.lookupEnv, not viper's AutomaticEnv (which calls
	// os.LookupEnv and cannot be injected in tests). Every known key is looked up under its
	// INFERTUNE_ name and merged over the file's values: viper ranks the config layer under
	// flags and over defaults, so the order stays flags > environment > file > defaults, and
	// no variable is dropped for being unknown to viper.
	env := map[string]any{}
	for key := range defaults {
		name := envName(key)
		if val, ok := gs.lookupEnv(name); ok && val != "" {
			setNested(env, key, val)
			lc.envKeys[key] = name
		}
	}
	if err := v.MergeConfigMap(env); err != nil {
		return nil, withCode(exitInternal, fmt.Errorf("merge environment: %w", err))
	}

	if adjust != nil {
		adjust(v)
	}
	if err := v.UnmarshalExact(&lc.config); err != nil {
		return nil, lc.explain(decodeError(v, err))
	}
	if err := lc.config.Validate(); err != nil {
		return nil, lc.explain(err)
	}
	return lc, nil
}

// readFile reads the config file, if any, into v and rejects keys that are not known.
func (lc *loadedConfig) readFile(gs *globalState, cmd *cobra.Command, v *viper.Viper, known map[string]any) error {
	path, explicit := "", false
	if f := cmd.Flags().Lookup("config"); f != nil && f.Changed {
		path, explicit = f.Value.String(), true
	} else if p, ok := gs.lookupEnv(envPrefix + "CONFIG"); ok {
		path, explicit = p, true
	}
	if explicit && path == "" {
		return nil // --config "" reads no file
	}
	if !explicit {
		path = defaultConfigFile
	}
	full := gs.path(path)
	b, err := os.ReadFile(full)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	typ := strings.TrimPrefix(filepath.Ext(full), ".")
	switch typ {
	case "yaml", "yml", "json", "toml":
	default:
		typ = "yaml"
	}
	v.SetConfigType(typ)
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("config file %s: %s", path, strings.Join(strings.Fields(err.Error()), " "))
	}
	lc.file = path
	var errs []error
	for _, k := range v.AllKeys() {
		if !v.InConfig(k) {
			continue
		}
		if _, ok := known[k]; ok {
			lc.fileKeys[k] = true
			continue
		}
		if section := sectionKeys(k, known); len(section) > 0 {
			errs = append(errs, fmt.Errorf("config file %s: %q is a section, not a value; accepted in it: %s",
				path, k, strings.Join(section, ", ")))
			continue
		}
		errs = append(errs, fmt.Errorf("config file %s: unknown key %q; %s", path, k, acceptedKeys(k, known)))
	}
	return errors.Join(errs...)
}

// decodeProblem matches one value mapstructure could not convert.
var decodeProblem = regexp.MustCompile(`'([^']+)' cannot parse value as '([^']+)'`)

// decodeError rewrites the errors of decoding into the typed config as field errors that
// quote the value and say what is accepted.
func decodeError(v *viper.Viper, err error) error {
	ms := decodeProblem.FindAllStringSubmatch(err.Error(), -1)
	if len(ms) == 0 {
		return fmt.Errorf("invalid configuration: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	var errs []error
	for _, m := range ms {
		accepted := "accepted: a value of type " + m[2]
		switch {
		case m[2] == "bool":
			accepted = "accepted: true or false"
		case strings.HasPrefix(m[2], "int"):
			accepted = "accepted: a whole number"
		case strings.HasPrefix(m[2], "uint"):
			accepted = "accepted: a whole number from 0"
		}
		errs = append(errs, &fieldError{Key: m[1], Value: fmt.Sprint(v.Get(m[1])), Problem: "not readable; " + accepted})
	}
	return errors.Join(errs...)
}

// acceptedKeys says which keys would be accepted in place of an unknown one: those of the
// deepest known section above it.
func acceptedKeys(unknown string, known map[string]any) string {
	section := unknown
	for section != "" {
		i := strings.LastIndex(section, ".")
		if i < 0 {
			section = ""
			break
		}
		section = section[:i]
		if keys := sectionKeys(section, known); len(keys) > 0 {
			return fmt.Sprintf("accepted in %s: %s", section, strings.Join(keys, ", "))
		}
	}
	var top []string
	for k := range known {
		top = append(top, strings.SplitN(k, ".", 2)[0])
	}
	slices.Sort(top)
	return "accepted at the top level: " + strings.Join(slices.Compact(top), ", ")
}

// sectionKeys returns the known keys under section (relative to it, sorted); none when
// section is not a section.
func sectionKeys(section string, known map[string]any) []string {
	var keys []string
	for k := range known {
		if rest, ok := strings.CutPrefix(k, section+"."); ok {
			keys = append(keys, rest)
		}
	}
	slices.Sort(keys)
	return keys
}

// label names where the value of key came from, for error messages: the flag when it was
// given, else the environment variable, else the file key, else the flag (a default).
func (lc *loadedConfig) label(key string) string {
	f := lc.flags[key]
	switch {
	case f != nil && f.Changed:
		return "--" + f.Name
	case lc.envKeys[key] != "":
		return lc.envKeys[key]
	case lc.fileKeys[key]:
		return fmt.Sprintf("%s (in %s)", key, lc.file)
	case f != nil:
		return "--" + f.Name
	}
	return key
}

// explain turns the problems of a Validate into bad input whose field errors name the
// source of each value.
func (lc *loadedConfig) explain(err error) error {
	var out []error
	for _, e := range unjoin(err) {
		if fe, ok := errors.AsType[*fieldError](e); ok {
			c := *fe
			c.Key = lc.label(fe.Key)
			e = &c
		}
		out = append(out, e)
	}
	return withCode(exitBadInput, errors.Join(out...))
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

// fieldError is one invalid setting: its key (relabelled with its source before printing),
// the value given and what is wrong, including what would be accepted.
type fieldError struct {
	Key     string
	Value   string
	Problem string
}

func (e *fieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Key, e.Problem)
	}
	return fmt.Sprintf("%s %q: %s", e.Key, e.Value, e.Problem)
}

// flatten writes the leaves of a config struct into out as dotted mapstructure keys.
func flatten(prefix string, v reflect.Value, out map[string]any) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		if f.Type.Kind() == reflect.Struct {
			flatten(key+".", v.Field(i), out)
			continue
		}
		out[key] = v.Field(i).Interface()
	}
}

// setNested stores val under a dotted key in a tree of maps.
func setNested(m map[string]any, key string, val any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = val
}
