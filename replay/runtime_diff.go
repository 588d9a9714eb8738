package replay

import (
	"fmt"
	"strings"

	"github.com/repro-ml/repro/internal/probe"
	"github.com/repro-ml/repro/lockfmt"
)

// RuntimeDifferences compares what the capture ran with (the manifest's
// Python.Runtimes, Python.SIMD and Determinism.Pins) with what the replay
// actually ran with, as its probe reported: BLAS kernels (core types),
// library versions, thread counts, runtimes loaded on one side only,
// numpy SIMD features dispatched on one side only, and seeds or switches
// applied at capture but not at replay. These are observed facts, not
// guesses. It returns nothing when the replay's probe reported nothing.
func RuntimeDifferences(m *lockfmt.Manifest, rr *ReplayedRuntime) []string {
	if rr == nil || rr.Processes == 0 {
		return nil
	}
	var d []string
	d = append(d, runtimeDiffs(m.Python.Runtimes, rr.Runtimes)...)
	d = append(d, simdDiffs(m.Python.SIMD, rr.SIMD)...)
	d = append(d, pinDiffs(m.Determinism.Pins, rr.Pins)...)
	// One library reached by two names (libblas.so.3 and
	// libopenblas...so) differs twice in the same words.
	return dedupe(d)
}

// runtimeDiffs pairs each captured runtime with the replayed one loaded
// from the same library (else of the same API and name) and compares them.
func runtimeDiffs(captured []lockfmt.Runtime, replayed []probe.Runtime) []string {
	var kernels, versions, threads, loaded []string
	used := make([]bool, len(replayed))
	match := func(c lockfmt.Runtime) int {
		for i, r := range replayed {
			if !used[i] && c.Library != "" && r.Library == c.Library {
				return i
			}
		}
		for i, r := range replayed {
			if !used[i] && r.API == c.API && strings.EqualFold(r.Name, c.Name) {
				return i
			}
		}
		return -1
	}
	for _, c := range captured {
		i := match(c)
		if i < 0 {
			loaded = append(loaded, fmt.Sprintf("runtime: %s was loaded at capture, not at replay", describeRuntime(c.Name, c.API, c.Version)))
			continue
		}
		used[i] = true
		r := replayed[i]
		if !strings.EqualFold(c.CoreType, r.CoreType) && (c.CoreType != "" || r.CoreType != "") {
			label := "BLAS kernel"
			if c.API != "blas" {
				label = "kernel"
			}
			kernels = append(kernels, fmt.Sprintf("%s: captured %s, replay ran %s (%s, as the probe reported)",
				label, orNotReported(c.CoreType), orNotReported(r.CoreType), c.Name))
		}
		if c.Version != r.Version && c.Version != "" && r.Version != "" {
			versions = append(versions, fmt.Sprintf("library: captured %s %s, replay ran %s", c.Name, c.Version, r.Version))
		}
		if c.Threads != r.Threads && c.Threads > 0 && r.Threads > 0 {
			threads = append(threads, fmt.Sprintf("thread count: %s ran %d threads at capture, %d at replay; parallel sums add in another order",
				c.Name, c.Threads, r.Threads))
		}
	}
	for i, r := range replayed {
		if !used[i] {
			loaded = append(loaded, fmt.Sprintf("runtime: %s was loaded at replay, not at capture", describeRuntime(r.Name, r.API, r.Version)))
		}
	}
	out := append(kernels, versions...)
	out = append(out, threads...)
	return append(out, loaded...)
}

func describeRuntime(name, api, version string) string {
	s := name
	if s == "" {
		s = "a runtime"
	}
	if version != "" {
		s += " " + version
	}
	if api != "" {
		s += " (" + api + ")"
	}
	return s
}

// simdDiffs names numpy CPU features dispatched on one side only. A side
// that did not load numpy (no features) is not compared.
func simdDiffs(captured, replayed []string) []string {
	if len(captured) == 0 || len(replayed) == 0 {
		return nil
	}
	onlyCap, onlyRep := setDiff(captured, replayed), setDiff(replayed, captured)
	var out []string
	if len(onlyCap) > 0 {
		out = append(out, fmt.Sprintf("numpy kernels: the capture dispatched %s, the replay did not", strings.Join(onlyCap, ", ")))
	}
	if len(onlyRep) > 0 {
		out = append(out, fmt.Sprintf("numpy kernels: the replay dispatched %s, the capture did not", strings.Join(onlyRep, ", ")))
	}
	return out
}

// setDiff returns the elements of a not in b, in a's order.
func setDiff(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[strings.ToUpper(s)] = true
	}
	var out []string
	for _, s := range a {
		if !in[strings.ToUpper(s)] {
			out = append(out, s)
		}
	}
	return out
}

// pinDiffs names seeds and switches applied at capture but not at replay.
// The probe reports its in-process pins (dotted names such as
// numpy.random.seed) and PYTHONHASHSEED; the capture's environment pins
// (thread counts, ...) are compared only when the replay reported them.
func pinDiffs(captured []lockfmt.Pin, replayed []probe.Pin) []string {
	byName := map[string]probe.Pin{}
	for _, p := range replayed {
		byName[p.Name] = p
	}
	var out []string
	for _, c := range captured {
		if !c.Applied {
			continue
		}
		r, ok := byName[c.Name]
		switch {
		case ok && !r.Applied:
			why := ""
			if r.Note != "" {
				why = " (" + r.Note + ")"
			}
			out = append(out, fmt.Sprintf("%s: %s=%s applied at capture, not at replay%s", pinKind(c.Name), c.Name, c.Value, why))
		case !ok && strings.Contains(c.Name, "."):
			out = append(out, fmt.Sprintf("%s: %s=%s applied at capture; the replay did not report it", pinKind(c.Name), c.Name, c.Value))
		}
	}
	return out
}

func pinKind(name string) string {
	if strings.Contains(strings.ToLower(name), "seed") {
		return "seed"
	}
	return "determinism switch"
}

func orNotReported(s string) string {
	if s == "" {
		return "(not reported)"
	}
	return s
}
