package replay

import (
	"fmt"
	"strings"

	"github.com/repro-ml/repro/lockfmt"
)

// threadVars are the variables that set math library thread counts.
var threadVars = []string{"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_DEFAULT_NUM_THREADS",
	"MKL_NUM_THREADS", "OMP_DYNAMIC", "MKL_DYNAMIC", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"}

// kernelVars are the variables that choose CPU kernels.
var kernelVars = []string{"OPENBLAS_CORETYPE", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "NPY_DISABLE_CPU_FEATURES",
	"ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA"}

// Causes lists the differences between the capture and this replay that
// can change results, most likely first. It is computed once per replay
// and attached to every differing output.
func Causes(m *lockfmt.Manifest, rep *Report, host *HostCPU) []string {
	env := map[string]EnvVar{}
	for _, e := range rep.Env {
		env[e.Name] = e
	}
	// 0. What the replay was observed to run with differently: facts
	// first, then the guesses below.
	c := append([]string(nil), rep.RuntimeDiffs...)
	// 1. The BLAS kernel.
	for _, rt := range m.Python.Runtimes {
		if rt.API != "blas" && !strings.EqualFold(rt.Name, "openblas") && !strings.EqualFold(rt.Name, "mkl") {
			continue
		}
		if sameCoreObserved(rep.Replayed, rt) {
			continue // the replay was seen to run the capture's kernel
		}
		core := rt.CoreType
		if core == "" {
			core = "(not recorded)"
		}
		switch e, ok := env["OPENBLAS_CORETYPE"]; {
		case ok && e.Source == SourceOverride && strings.EqualFold(rt.Name, "openblas"):
			c = append(c, fmt.Sprintf("BLAS kernel: the capture ran OpenBLAS's %s kernels; this replay forced OPENBLAS_CORETYPE=%s (--env)", core, e.Value))
		case !rep.PinKernels && strings.EqualFold(rt.Name, "openblas"):
			c = append(c, fmt.Sprintf("BLAS kernel: the capture ran OpenBLAS's %s kernels; --no-pin-kernels let OpenBLAS choose for this CPU (%s)", core, orUnknown(host.Model)))
		case !ok && strings.EqualFold(rt.Name, "openblas") && rt.CoreType != "":
			c = append(c, fmt.Sprintf("BLAS kernel: the capture ran OpenBLAS's %s kernels, which this CPU cannot run", core))
		}
		if strings.EqualFold(rt.Name, "mkl") {
			if e, ok := env["MKL_CBWR"]; !ok || e.Source == SourceOverride {
				c = append(c, "BLAS kernel: MKL chose its code path for this CPU (MKL_CBWR not pinned to the capture's)")
			}
		}
	}
	// 2. Other kernel switches overridden or unpinned.
	for _, name := range kernelVars {
		if e, ok := env[name]; ok && e.Source == SourceOverride && name != "OPENBLAS_CORETYPE" {
			c = append(c, fmt.Sprintf("CPU kernels: %s=%s set by --env (recorded: %s)", name, e.Value, noneIfEmpty(e.Recorded)))
		}
	}
	if !rep.PinKernels && len(m.Python.SIMD) > 0 {
		if _, extra := flagDiff(m.CPU.Flags, host); len(extra) > 0 {
			c = append(c, fmt.Sprintf("numpy kernels: --no-pin-kernels let numpy use %s, which the capture CPU lacked", strings.Join(extra, ", ")))
		}
	}
	// 3. Thread counts.
	for _, name := range threadVars {
		e, ok := env[name]
		rec, had := m.Run.Env[name]
		switch {
		case ok && e.Source == SourceOverride:
			c = append(c, fmt.Sprintf("thread count: %s=%s set by --env (recorded: %s); parallel sums add in another order", name, e.Value, noneIfEmpty(e.Recorded)))
		case !ok && had:
			c = append(c, fmt.Sprintf("thread count: %s=%s recorded but not applied", name, rec))
		}
	}
	if len(m.Determinism.Threads) == 0 && m.CPU.Cores != host.Cores && m.CPU.Cores > 0 {
		c = append(c, fmt.Sprintf("thread count: not pinned at capture; %d CPUs then, %d here", m.CPU.Cores, host.Cores))
	}
	// 4. The CPU itself.
	if m.CPU.Level != "" && host.Level != "" && m.CPU.Level != host.Level {
		c = append(c, fmt.Sprintf("CPU: captured on %s (%s), replayed on %s (%s)", m.CPU.Level, orUnknown(m.CPU.Model), host.Level, orUnknown(host.Model)))
	} else if missing, extra := flagDiff(m.CPU.Flags, host); len(missing)+len(extra) > 0 {
		c = append(c, fmt.Sprintf("CPU: floating-point instruction sets differ (capture only: %s; replay host only: %s)", noneIfEmpty(strings.Join(missing, ", ")), noneIfEmpty(strings.Join(extra, ", "))))
	}
	// 5. Libraries and data.
	if !rep.Image.Verified {
		c = append(c, "libraries: the image was not checked against the manifest's digests")
	}
	for _, d := range m.Data {
		if d.Kind == "uri" || d.Kind == "dvc" || d.Kind == "git-lfs" && d.Path == "" {
			c = append(c, fmt.Sprintf("data: %s is external (%s) and was not checked by digest", noneIfEmpty(d.Name+d.URI), d.Kind))
		}
	}
	// 6. Seeds and other overrides.
	if m.Determinism.Seed == -1 && !anyPinApplied(m) {
		c = append(c, "seeds: no seed was pinned at capture (repro capture --seed); random draws may differ")
	}
	if m.Determinism.HashSeed == "random" {
		c = append(c, "hash seed: PYTHONHASHSEED was random at capture; set and string order may differ")
	}
	for _, e := range rep.Env {
		if e.Source == SourceOverride && !hasString(threadVars, e.Name) && !hasString(kernelVars, e.Name) {
			c = append(c, fmt.Sprintf("environment: %s=%s set by --env (recorded: %s)", e.Name, e.Value, noneIfEmpty(e.Recorded)))
		}
	}
	return c
}

func explain(m *lockfmt.Manifest, rep *Report, host *HostCPU) {
	causes := dedupe(Causes(m, rep, host))
	for i := range rep.Outputs {
		o := &rep.Outputs[i]
		if o.Status == StatusIdentical {
			continue
		}
		if o.Status == StatusMissing {
			o.Causes = []string{fmt.Sprintf("the replay did not write %s (exit status %d, recorded %d)", o.Path, rep.ExitCode, rep.RecordedExit)}
			continue
		}
		o.Causes = causes
		if len(causes) == 0 {
			o.Causes = []string{"no environment difference found: the experiment itself may be nondeterministic (threads racing, time, unseeded randomness); capture with --runs 2 to detect it"}
		}
	}
}

// sameCoreObserved reports whether the replay's probe saw the captured BLAS
// runtime run the captured core type.
func sameCoreObserved(rr *ReplayedRuntime, rt lockfmt.Runtime) bool {
	if rr == nil || rt.CoreType == "" {
		return false
	}
	for _, r := range rr.Runtimes {
		if (r.Library == rt.Library || strings.EqualFold(r.Name, rt.Name)) && strings.EqualFold(r.CoreType, rt.CoreType) {
			return true
		}
	}
	return false
}

func anyPinApplied(m *lockfmt.Manifest) bool {
	for _, p := range m.Determinism.Pins {
		if p.Applied && strings.Contains(strings.ToLower(p.Name), "seed") {
			return true
		}
	}
	return false
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
