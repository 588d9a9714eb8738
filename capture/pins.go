package capture

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/repro-ml/repro/lockfmt"
)

// ThreadVars are the thread-count variables repro pins (decision 3). A value
// already in the environment is kept; otherwise each is pinned to the number
// of logical CPUs the capture could use (runtime.NumCPU, which honours the
// CPU affinity mask), which is what the runtimes would have picked anyway.
var ThreadVars = []string{"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}

// deterministicEnv is what --deterministic adds to the environment (unless
// the user set a value): cuBLAS needs a fixed workspace, older TensorFlow
// reads the two TF_ switches.
var deterministicEnv = [][2]string{
	{"CUBLAS_WORKSPACE_CONFIG", ":4096:8"},
	{"TF_CUDNN_DETERMINISTIC", "1"},
	{"TF_DETERMINISTIC_OPS", "1"},
}

// pinSet is what repro decides before the run: the variables it sets (or
// keeps) and the determinism record they start.
type pinSet struct {
	env map[string]string
	det lockfmt.Determinism
}

// choosePins decides the pins from the starting environment and options.
func choosePins(environ map[string]string, opts *Options) pinSet {
	ps := pinSet{env: map[string]string{}, det: lockfmt.Determinism{
		Seed: -1, Deterministic: opts.Deterministic, Threads: map[string]string{},
	}}
	if v, ok := environ["PYTHONHASHSEED"]; ok && v != "" {
		ps.det.HashSeed, ps.det.HashSeedSetBy = v, "user"
	} else {
		ps.det.HashSeed, ps.det.HashSeedSetBy = cmpOr(opts.HashSeed, DefaultHashSeed), "repro"
	}
	ps.env["PYTHONHASHSEED"] = ps.det.HashSeed
	ncpu := strconv.Itoa(runtime.NumCPU())
	for _, name := range ThreadVars {
		v := environ[name]
		if v == "" {
			v = ncpu
		}
		ps.env[name] = v
		ps.det.Threads[name] = v
	}
	if opts.Seed != nil {
		ps.det.Seed = *opts.Seed
	}
	if opts.Deterministic {
		for _, kv := range deterministicEnv {
			v := environ[kv[0]]
			if v == "" {
				v = kv[1]
			}
			ps.env[kv[0]] = v
		}
	}
	return ps
}

// finishPins completes det.Pins from the probe reports: one pin per
// environment pin, then the in-process pins the probe applied, merged across
// processes (applied when any process applied it).
func finishPins(ps pinSet, reports []ProbeReport) []lockfmt.Pin {
	var pins []lockfmt.Pin
	probe := mergeProbePins(reports)
	hs := lockfmt.Pin{Name: "PYTHONHASHSEED", Value: ps.det.HashSeed, Applied: true,
		Note: "set by " + ps.det.HashSeedSetBy}
	if p, ok := probe["PYTHONHASHSEED"]; ok && !p.Applied {
		hs.Applied, hs.Note = false, "the interpreter ignored it (python -E or -I?)"
	}
	if len(reports) == 0 {
		hs.Note += "; no Python process reported"
	}
	pins = append(pins, hs)
	delete(probe, "PYTHONHASHSEED")

	rts := runtimesByKind(reports)
	for _, name := range ThreadVars {
		pins = append(pins, threadPin(name, ps.env[name], rts))
	}
	if ps.det.Deterministic {
		for _, kv := range deterministicEnv {
			pins = append(pins, lockfmt.Pin{Name: kv[0], Value: ps.env[kv[0]], Applied: true, Note: "environment"})
		}
	}
	names := make([]string, 0, len(probe))
	for n := range probe {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pins = append(pins, probe[n])
	}
	return pins
}

func mergeProbePins(reports []ProbeReport) map[string]lockfmt.Pin {
	out := map[string]lockfmt.Pin{}
	for _, r := range reports {
		for _, p := range r.Pins {
			if p.Name == "" {
				continue
			}
			cur, ok := out[p.Name]
			switch {
			case !ok:
				out[p.Name] = lockfmt.Pin{Name: p.Name, Value: p.Value, Applied: p.Applied, Note: p.Note}
			case p.Applied && !cur.Applied:
				out[p.Name] = lockfmt.Pin{Name: p.Name, Value: p.Value, Applied: true}
			}
		}
	}
	return out
}

// runtimesByKind groups the loaded runtimes: "openblas", "mkl", "openmp".
func runtimesByKind(reports []ProbeReport) map[string][]ProbeRuntime {
	out := map[string][]ProbeRuntime{}
	for _, r := range reports {
		for _, rt := range r.Runtimes {
			k := rt.Name
			if rt.API == "openmp" {
				k = "openmp"
			}
			out[k] = append(out[k], rt)
		}
	}
	return out
}

// threadPin says whether a thread-count pin took effect: the runtimes it
// governs report that many threads, or none of them was loaded.
func threadPin(name, value string, rts map[string][]ProbeRuntime) lockfmt.Pin {
	p := lockfmt.Pin{Name: name, Value: value, Applied: true}
	kind := map[string]string{"OMP_NUM_THREADS": "openmp", "OPENBLAS_NUM_THREADS": "openblas", "MKL_NUM_THREADS": "mkl"}[name]
	loaded := rts[kind]
	if len(loaded) == 0 {
		p.Note = "set in the environment; no " + kind + " runtime was loaded"
		return p
	}
	want, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil {
		p.Note = "not a number; the runtimes chose their own thread counts"
		p.Applied = false
		return p
	}
	for _, rt := range loaded {
		if rt.Threads != want {
			p.Applied = false
			p.Note = fmt.Sprintf("%s reports %d threads", rt.Library, rt.Threads)
			return p
		}
	}
	p.Note = fmt.Sprintf("%s reports %d threads", kind, want)
	return p
}

func cmpOr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
