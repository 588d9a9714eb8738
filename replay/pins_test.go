package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/lockfmt"
)

func cpuinfo(t *testing.T, name string) *HostCPU {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "cpuinfo", name))
	require.NoError(t, err)
	h, err := ParseCPUInfo(b)
	require.NoError(t, err)
	return h
}

func TestParseCPUInfo(t *testing.T) {
	h := cpuinfo(t, "intel-core-i7-4770-8cpu.txt")
	assert.Equal(t, 8, h.Cores)
	assert.Equal(t, "x86-64-v3", h.Level)
	assert.True(t, h.Has("avx2", "fma"))
	assert.False(t, h.Has("avx512f"))
	assert.Contains(t, h.Model, "i7-4770")

	old := cpuinfo(t, "intel-core2-e6550-2cpu.txt")
	assert.Equal(t, "x86-64-v1", old.Level)
	assert.Equal(t, "x86-64-v4", cpuinfo(t, "intel-xeon-8375c-aws-4cpu.txt").Level)
}

func blasManifest(core string, flags ...string) *lockfmt.Manifest {
	return &lockfmt.Manifest{
		Run:    lockfmt.Run{Env: map[string]string{"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "2"}},
		CPU:    lockfmt.CPU{Arch: "x86_64", Cores: 2, Level: "x86-64-v4", Flags: flags},
		Python: lockfmt.Python{Runtimes: []lockfmt.Runtime{{API: "blas", Name: "openblas", CoreType: core, Threads: 2}}},
		Determinism: lockfmt.Determinism{
			Seed: -1, Threads: map[string]string{"OPENBLAS_NUM_THREADS": "2"},
		},
	}
}

func TestKernelPinsOpenBLAS(t *testing.T) {
	haswellHost := cpuinfo(t, "intel-core-i7-4770-8cpu.txt")
	pins, warns := KernelPins(blasManifest("Haswell"), haswellHost)
	assert.Empty(t, warns)
	assert.Equal(t, []EnvVar{{Name: "OPENBLAS_CORETYPE", Value: "Haswell", Source: SourceKernelPin}}, pins)

	// A SkylakeX capture cannot be forced on a Haswell: warned, not pinned.
	pins, warns = KernelPins(blasManifest("SkylakeX"), haswellHost)
	assert.Empty(t, pins)
	require.Len(t, warns, 1)
	assert.Contains(t, warns[0], "SkylakeX")

	// A value recorded at capture is left alone.
	m := blasManifest("Haswell")
	m.Run.Env["OPENBLAS_CORETYPE"] = "Sandybridge"
	pins, _ = KernelPins(m, haswellHost)
	assert.Empty(t, pins)
}

func TestKernelPinsNumpyAndMKL(t *testing.T) {
	host := cpuinfo(t, "intel-xeon-8375c-aws-4cpu.txt")
	m := blasManifest("")
	m.Python.Runtimes = []lockfmt.Runtime{{API: "blas", Name: "mkl"}}
	m.CPU.Flags = []string{"avx", "avx2", "fma", "sse4_2"}
	m.Python.SIMD = []string{"SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C", "FMA3", "AVX2"}
	pins, warns := KernelPins(m, host)
	assert.Empty(t, warns)
	byName := map[string]string{}
	for _, p := range pins {
		byName[p.Name] = p.Value
	}
	assert.Equal(t, "AVX2", byName["MKL_CBWR"])
	assert.Contains(t, byName["NPY_DISABLE_CPU_FEATURES"], "AVX512F")
	assert.Contains(t, byName["NPY_DISABLE_CPU_FEATURES"], "AVX512_SKX")
	assert.NotContains(t, byName["NPY_DISABLE_CPU_FEATURES"], "AVX2")
}

func TestBuildEnvOverrides(t *testing.T) {
	m := blasManifest("Haswell")
	pins := []EnvVar{{Name: "OPENBLAS_CORETYPE", Value: "Haswell", Source: SourceKernelPin}}
	o, err := ParseEnvOverride("OPENBLAS_NUM_THREADS=1")
	require.NoError(t, err)
	m.Determinism.Seed = 7
	env := BuildEnv(m, pins, []EnvVar{o})
	require.Len(t, env, 6)
	assert.Equal(t, EnvVar{Name: "OPENBLAS_CORETYPE", Value: "Haswell", Source: SourceKernelPin}, env[0])
	assert.Equal(t, EnvVar{Name: "OPENBLAS_NUM_THREADS", Value: "1", Source: SourceOverride, Recorded: "2"}, env[1])
	// The probe runs in the replay as in the capture, with the recorded seed.
	assert.Equal(t, EnvVar{Name: "PYTHONPATH", Value: ProbeDirInImage, Source: SourceRuntime}, env[3])
	assert.Equal(t, EnvVar{Name: "REPRO_PROBE_DIR", Value: ReportDirInImage, Source: SourceRuntime}, env[4])
	assert.Equal(t, EnvVar{Name: "REPRO_SEED", Value: "7", Source: SourceRuntime}, env[5])
	_, err = ParseEnvOverride("=x")
	assert.Error(t, err)
}

func TestCausesNameTheKernelAndThreads(t *testing.T) {
	host := cpuinfo(t, "intel-core-i7-4770-8cpu.txt")
	m := blasManifest("Haswell", "avx", "avx2", "fma")
	rep := &Report{PinKernels: false, Image: ImageUsed{Verified: true}}
	rep.Env = BuildEnv(m, nil, []EnvVar{{Name: "OPENBLAS_CORETYPE", Value: "Sandybridge"}, {Name: "OPENBLAS_NUM_THREADS", Value: "1"}})
	c := Causes(m, rep, host)
	require.NotEmpty(t, c)
	assert.Contains(t, c[0], "BLAS kernel")
	assert.Contains(t, c[0], "Sandybridge")
	joined := strings.Join(c, "\n")
	assert.Contains(t, joined, "thread count: OPENBLAS_NUM_THREADS=1 set by --env (recorded: 2)")
	assert.Contains(t, joined, "CPU: captured on x86-64-v4")
	assert.Contains(t, joined, "seeds: no seed was pinned")

	// With the kernel pinned and nothing overridden, only the CPU and the
	// seed remain.
	rep = &Report{PinKernels: true, Image: ImageUsed{Verified: true}}
	pins, _ := KernelPins(m, host)
	rep.Env = BuildEnv(m, pins, nil)
	for _, s := range Causes(m, rep, host) {
		assert.NotContains(t, s, "BLAS kernel")
		assert.NotContains(t, s, "thread count")
	}
}

func TestReportVerdict(t *testing.T) {
	r := &Report{Outputs: []OutputDiff{{Status: StatusIdentical}, {Status: StatusIdentical}}}
	r.finish()
	assert.Equal(t, "bit-identical: 2/2 outputs", r.Verdict)
	assert.Equal(t, 0, r.Status())
	r.Outputs = append(r.Outputs, OutputDiff{Status: StatusNondeterministic}, OutputDiff{Status: StatusWithinTolerance})
	r.finish()
	assert.Equal(t, 0, r.Status())
	assert.Contains(t, r.Verdict, "reproduced: 2/4")
	r.Outputs = append(r.Outputs, OutputDiff{Status: StatusMissing})
	r.finish()
	assert.Equal(t, "DIFFERENT: 1 of 5 outputs", r.Verdict)
	assert.Equal(t, 1, r.Status())

	p := filepath.Join(t.TempDir(), "r.json")
	require.NoError(t, r.WriteFile(p))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"verdict": "DIFFERENT: 1 of 5 outputs"`)
}

func TestHardwareWarnings(t *testing.T) {
	host := cpuinfo(t, "intel-core-i7-4770-8cpu.txt")
	m := blasManifest("SkylakeX", "avx", "avx2", "fma", "avx512f")
	m.Determinism.Threads = nil
	w := strings.Join(HardwareWarnings(m, host, false), "\n")
	assert.Contains(t, w, "CPU level differs: captured on x86-64-v4")
	assert.Contains(t, w, "lacks instructions the capture machine had (avx512f)")
	assert.Contains(t, w, "captured with 2 CPUs, this host has 8")
	m.GPUs = []lockfmt.GPU{{Vendor: "nvidia", Name: "A100"}}
	assert.Contains(t, strings.Join(HardwareWarnings(m, host, false), "\n"), "runs without GPUs")
}

func TestStartError(t *testing.T) {
	err := startError(nil, &engine.ContainerResult{ExitCode: 127, Stderr: []byte("/usr/bin/python3: error while loading shared libraries: libffi.so.8: cannot open shared object file")})
	require.ErrorIs(t, err, ErrDidNotStart)
	assert.Contains(t, err.Error(), "the shared library libffi.so.8 is missing from the image")
}
