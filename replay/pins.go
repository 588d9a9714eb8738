package replay

import (
	"fmt"
	"sort"
	"strings"

	"github.com/repro-ml/repro/lockfmt"
)

// EnvVar is one variable of the replay's environment and where it came from.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Source is "manifest" (recorded at capture), "kernel-pin" (added by
	// replay to force the capture's CPU kernels) or "override" (--env).
	Source string `json:"source"`
	// Recorded is the manifest's value an override replaced, if any.
	Recorded string `json:"recorded,omitempty"`
}

// Env sources.
const (
	SourceManifest  = "manifest"
	SourceKernelPin = "kernel-pin"
	SourceOverride  = "override"
)

// openblasCoreFlags maps OpenBLAS core names (lower case) to the CPU flags
// their kernels need.
var openblasCoreFlags = map[string][]string{
	"sapphirerapids": {"avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile"},
	"cooperlake":     {"avx512f", "avx512bw", "avx512vl", "avx512_bf16"},
	"skylakex":       {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"},
	"haswell":        {"avx2", "fma"},
	"zen":            {"avx2", "fma"},
	"excavator":      {"avx2", "fma"},
	"steamroller":    {"avx", "fma"},
	"piledriver":     {"avx", "fma"},
	"bulldozer":      {"avx"},
	"sandybridge":    {"avx"},
	"nehalem":        {"sse4_2"},
	"barcelona":      {"sse4a"},
	"opteron_sse3":   {"pni"},
	"dunnington":     {"sse4_1"},
	"penryn":         {"sse4_1"},
	"core2":          {"ssse3"},
	"atom":           {"ssse3"},
	"prescott":       {"pni"},
	"northwood":      {"sse2"},
	"opteron":        {"sse2"},
}

// numpyFeatureFlags maps numpy's dispatchable CPU feature names to the
// host flags they need. Baseline features are left out: numpy refuses to
// disable them.
var numpyFeatureFlags = map[string][]string{
	"SSSE3":      {"ssse3"},
	"SSE41":      {"sse4_1"},
	"POPCNT":     {"popcnt"},
	"SSE42":      {"sse4_2"},
	"AVX":        {"avx"},
	"F16C":       {"f16c"},
	"FMA3":       {"fma"},
	"AVX2":       {"avx2"},
	"AVX512F":    {"avx512f"},
	"AVX512CD":   {"avx512cd"},
	"AVX512_SKX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
	"AVX512_CLX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"},
	"AVX512_CNL": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512ifma", "avx512vbmi"},
	"AVX512_ICL": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512ifma", "avx512vbmi",
		"avx512_vbmi2", "avx512_bitalg", "avx512_vpopcntdq"},
}

// KernelPins returns the variables that force the capture's CPU kernels on
// this host, and warnings for kernels the host cannot run. Variables
// already recorded in the manifest's environment are left alone.
func KernelPins(m *lockfmt.Manifest, h *HostCPU) (pins []EnvVar, warnings []string) {
	recorded := m.Run.Env
	add := func(name, value string) {
		if _, ok := recorded[name]; ok {
			return
		}
		for _, p := range pins {
			if p.Name == name {
				return
			}
		}
		pins = append(pins, EnvVar{Name: name, Value: value, Source: SourceKernelPin})
	}
	for _, rt := range m.Python.Runtimes {
		switch strings.ToLower(rt.Name) {
		case "openblas":
			if rt.CoreType == "" {
				continue
			}
			need, known := openblasCoreFlags[strings.ToLower(rt.CoreType)]
			if known && !h.Has(need...) {
				warnings = append(warnings, fmt.Sprintf("the capture used the OpenBLAS %s kernels, which need %s; this CPU lacks them, so OpenBLAS will choose other kernels",
					rt.CoreType, strings.Join(need, ", ")))
				continue
			}
			add("OPENBLAS_CORETYPE", rt.CoreType)
		case "mkl":
			if branch := mklBranch(m.CPU.Flags); branch != "" {
				if h.Has(mklBranchFlags[branch]...) {
					add("MKL_CBWR", branch)
				} else {
					add("MKL_CBWR", "COMPATIBLE")
					warnings = append(warnings, fmt.Sprintf("the capture's MKL %s code path needs instructions this CPU lacks: pinned MKL_CBWR=COMPATIBLE, results may differ", branch))
				}
			}
		}
	}
	if len(m.Python.SIMD) > 0 {
		had := map[string]bool{}
		for _, f := range m.Python.SIMD {
			had[strings.ToUpper(f)] = true
		}
		var disable []string
		for name, need := range numpyFeatureFlags {
			if !had[name] && h.Has(need...) {
				disable = append(disable, name)
			}
		}
		if len(disable) > 0 {
			sort.Strings(disable)
			add("NPY_DISABLE_CPU_FEATURES", strings.Join(disable, ","))
		}
	}
	return pins, warnings
}

var mklBranchFlags = map[string][]string{
	"AVX512": {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"},
	"AVX2":   {"avx2", "fma"},
	"AVX":    {"avx"},
	"SSE4_2": {"sse4_2"},
}

// mklBranch is the MKL_CBWR branch matching the capture CPU's flags.
func mklBranch(flags []string) string {
	has := map[string]bool{}
	for _, f := range flags {
		has[f] = true
	}
	for _, b := range []string{"AVX512", "AVX2", "AVX", "SSE4_2"} {
		ok := true
		for _, f := range mklBranchFlags[b] {
			ok = ok && has[f]
		}
		if ok {
			return b
		}
	}
	return ""
}

// BuildEnv is the replay environment: the manifest's recorded variables,
// then those that run the probe (seeds, determinism switches), then the kernel pins (unless disabled), then the --env overrides, sorted
// by name.
func BuildEnv(m *lockfmt.Manifest, pins []EnvVar, overrides []EnvVar) []EnvVar {
	byName := map[string]EnvVar{}
	for k, v := range m.Run.Env {
		byName[k] = EnvVar{Name: k, Value: v, Source: SourceManifest}
	}
	for k, v := range probeEnv(m) {
		byName[k] = EnvVar{Name: k, Value: v, Source: SourceRuntime}
	}
	for _, p := range pins {
		byName[p.Name] = p
	}
	for _, o := range overrides {
		o.Source = SourceOverride
		if prev, ok := byName[o.Name]; ok {
			o.Recorded = prev.Value
		}
		byName[o.Name] = o
	}
	out := make([]EnvVar, 0, len(byName))
	for _, v := range byName {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ParseEnvOverride parses one --env NAME=VALUE argument.
func ParseEnvOverride(s string) (EnvVar, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || strings.ContainsAny(k, " \t\n\x00") {
		return EnvVar{}, fmt.Errorf("--env %q: want NAME=VALUE", s)
	}
	return EnvVar{Name: k, Value: v, Source: SourceOverride}, nil
}
