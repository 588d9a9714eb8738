package replay

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/probe"
	"github.com/repro-ml/repro/lockfmt"
)

const libOpenBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"

// capturedForDiff is a manifest as a numpy+OpenBLAS capture records it.
func capturedForDiff() *lockfmt.Manifest {
	return &lockfmt.Manifest{
		Python: lockfmt.Python{
			Processes: 1,
			Runtimes: []lockfmt.Runtime{
				{API: "blas", Library: libOpenBLAS, Name: "openblas", Version: "0.3.21", CoreType: "Cooperlake", Threads: 2},
				{API: "openmp", Library: "/usr/lib/x86_64-linux-gnu/libgomp.so.1", Name: "libgomp", Threads: 2},
			},
			SIMD: []string{"SSE", "SSE2", "AVX2", "AVX512F", "AVX512_SKX"},
		},
		Determinism: lockfmt.Determinism{Seed: 42, Pins: []lockfmt.Pin{
			{Name: "PYTHONHASHSEED", Value: "0", Applied: true},
			{Name: "OPENBLAS_NUM_THREADS", Value: "2", Applied: true},
			{Name: "numpy.random.seed", Value: "42", Applied: true},
			{Name: "torch.manual_seed", Value: "42", Applied: false, Note: "torch not imported"},
		}},
	}
}

// sameAsCaptured is what a faithful replay of capturedForDiff reports.
func sameAsCaptured() *ReplayedRuntime {
	return &ReplayedRuntime{
		Processes: 1,
		Runtimes: []probe.Runtime{
			{API: "blas", Library: libOpenBLAS, Name: "openblas", Version: "0.3.21", CoreType: "cooperlake", Threads: 2},
			{API: "openmp", Library: "/usr/lib/x86_64-linux-gnu/libgomp.so.1", Name: "libgomp", Threads: 2},
		},
		SIMD: []string{"SSE", "SSE2", "AVX2", "AVX512F", "AVX512_SKX"},
		Pins: []probe.Pin{
			{Name: "PYTHONHASHSEED", Value: "0", Applied: true},
			{Name: "numpy.random.seed", Value: "42", Applied: true},
			{Name: "torch.manual_seed", Value: "42", Note: "torch not imported"},
		},
	}
}

func TestRuntimeDifferences(t *testing.T) {
	tests := []struct {
		name   string
		change func(*ReplayedRuntime)
		want   []string
	}{
		{"identical (core type case ignored)", func(*ReplayedRuntime) {}, nil},
		{"no reports: nothing compared", func(r *ReplayedRuntime) { *r = ReplayedRuntime{Note: "none"} }, nil},
		{"other BLAS core", func(r *ReplayedRuntime) { r.Runtimes[0].CoreType = "Sandybridge" },
			[]string{"BLAS kernel: captured Cooperlake, replay ran Sandybridge (openblas, as the probe reported)"}},
		{"core not reported at replay", func(r *ReplayedRuntime) { r.Runtimes[0].CoreType = "" },
			[]string{"BLAS kernel: captured Cooperlake, replay ran (not reported) (openblas, as the probe reported)"}},
		{"other version and threads", func(r *ReplayedRuntime) {
			r.Runtimes[0].Version, r.Runtimes[0].Threads, r.Runtimes[1].Threads = "0.3.26", 8, 8
		}, []string{
			"library: captured openblas 0.3.21, replay ran 0.3.26",
			"thread count: openblas ran 2 threads at capture, 8 at replay; parallel sums add in another order",
			"thread count: libgomp ran 2 threads at capture, 8 at replay; parallel sums add in another order",
		}},
		{"library at another path is matched by name", func(r *ReplayedRuntime) {
			r.Runtimes[0].Library, r.Runtimes[0].CoreType = "/opt/libopenblas.so", "Haswell"
		}, []string{"BLAS kernel: captured Cooperlake, replay ran Haswell (openblas, as the probe reported)"}},
		{"runtime loaded on one side only", func(r *ReplayedRuntime) {
			r.Runtimes[1] = probe.Runtime{API: "blas", Library: "/opt/libmkl_rt.so", Name: "mkl", Version: "2024.0", Threads: 2}
		}, []string{
			"runtime: libgomp (openmp) was loaded at capture, not at replay",
			"runtime: mkl 2024.0 (blas) was loaded at replay, not at capture",
		}},
		{"SIMD both ways", func(r *ReplayedRuntime) { r.SIMD = []string{"SSE", "SSE2", "AVX2", "AVX512_SPR"} }, []string{
			"numpy kernels: the capture dispatched AVX512F, AVX512_SKX, the replay did not",
			"numpy kernels: the replay dispatched AVX512_SPR, the capture did not",
		}},
		{"numpy not loaded at replay: SIMD not compared", func(r *ReplayedRuntime) { r.SIMD = nil }, nil},
		{"seed not applied at replay", func(r *ReplayedRuntime) {
			r.Pins[1] = probe.Pin{Name: "numpy.random.seed", Value: "42", Note: "numpy not imported"}
		}, []string{"seed: numpy.random.seed=42 applied at capture, not at replay (numpy not imported)"}},
		{"seed not reported, hash seed ignored", func(r *ReplayedRuntime) {
			r.Pins = []probe.Pin{{Name: "PYTHONHASHSEED", Value: "0", Note: "not set in the environment"}}
		}, []string{
			"seed: PYTHONHASHSEED=0 applied at capture, not at replay (not set in the environment)",
			"seed: numpy.random.seed=42 applied at capture; the replay did not report it",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := sameAsCaptured()
			tc.change(rr)
			assert.Equal(t, tc.want, RuntimeDifferences(capturedForDiff(), rr))
		})
	}
	assert.Nil(t, RuntimeDifferences(capturedForDiff(), nil))
}

// TestCausesObservedFirst: an observed kernel difference leads the likely
// causes; a replay seen to run the captured kernel gets no guessed BLAS
// cause, even with --no-pin-kernels.
func TestCausesObservedFirst(t *testing.T) {
	host := cpuinfo(t, "intel-core-i7-4770-8cpu.txt")
	m := capturedForDiff()
	rep := &Report{PinKernels: false, Image: ImageUsed{Verified: true}, Replayed: sameAsCaptured()}
	rep.Env = BuildEnv(m, nil, []EnvVar{{Name: "OPENBLAS_CORETYPE", Value: "Sandybridge"}})
	rep.Replayed.Runtimes[0].CoreType = "Sandybridge"
	rep.RuntimeDiffs = RuntimeDifferences(m, rep.Replayed)
	c := Causes(m, rep, host)
	require.GreaterOrEqual(t, len(c), 2)
	assert.Equal(t, "BLAS kernel: captured Cooperlake, replay ran Sandybridge (openblas, as the probe reported)", c[0])
	assert.Contains(t, c[1], "forced OPENBLAS_CORETYPE=Sandybridge (--env)")

	rep = &Report{PinKernels: false, Image: ImageUsed{Verified: true}, Replayed: sameAsCaptured()}
	rep.Env = BuildEnv(m, nil, nil)
	rep.RuntimeDiffs = RuntimeDifferences(m, rep.Replayed)
	for _, s := range Causes(m, rep, host) {
		assert.NotContains(t, s, "BLAS kernel")
	}
}

// reportTar builds a tar stream as "docker cp" of the report directory
// makes it.
func reportTar(t testing.TB, files map[string]string, extra ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: ".repro-probe/", Typeflag: tar.TypeDir, Mode: 0o755}))
	for _, h := range extra {
		require.NoError(t, tw.WriteHeader(h))
	}
	for name, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: ".repro-probe/" + name, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(body))}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestReadReplayReports(t *testing.T) {
	main, err := json.Marshal(probe.Report{PID: 1, Runtimes: []probe.Runtime{{API: "blas", Library: libOpenBLAS, Name: "openblas", CoreType: "Haswell", Threads: 1}},
		SIMD: []string{"SSE", "AVX2"}, Pins: []probe.Pin{{Name: "numpy.random.seed", Value: "1"}}})
	require.NoError(t, err)
	child, err := json.Marshal(probe.Report{PID: 7, Runtimes: []probe.Runtime{{API: "blas", Library: libOpenBLAS, Name: "openblas", CoreType: "Haswell", Threads: 1}},
		Pins: []probe.Pin{{Name: "numpy.random.seed", Value: "1", Applied: true}}})
	require.NoError(t, err)
	data := reportTar(t, map[string]string{
		"7.json":         string(child),
		"1.json":         string(main),
		"9.json":         "{not json",
		"9.opened":       "r /etc/passwd\n",
		"3.json.tmp":     "{}",
		"notes.txt":      "junk",
		"big/../x.jsonx": "",
	}, &tar.Header{Name: ".repro-probe/link.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	reps, notes := readReplayReports(bytes.NewReader(data))
	require.Len(t, reps, 2)
	assert.Equal(t, 1, reps[0].PID)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "probe report 9.json skipped")

	rr := mergeReplayed(reps, notes)
	assert.Equal(t, 2, rr.Processes)
	require.Len(t, rr.Runtimes, 1, "one runtime per library")
	assert.Equal(t, []string{"SSE", "AVX2"}, rr.SIMD)
	assert.Equal(t, []probe.Pin{{Name: "numpy.random.seed", Value: "1", Applied: true}}, rr.Pins, "applied when any process applied it")
	assert.Contains(t, rr.Note, "9.json")

	// Nothing at all, a truncated stream, an oversized report: never an error.
	rr = mergeReplayed(readReplayReports(bytes.NewReader(nil)))
	assert.Equal(t, 0, rr.Processes)
	assert.Contains(t, rr.Note, "no Python process reported")
	_, notes = readReplayReports(bytes.NewReader(data[:700]))
	assert.NotEmpty(t, notes)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "huge.json", Typeflag: tar.TypeReg, Size: maxReplayReportSize + 1}))
	reps, notes = readReplayReports(&buf) // the body is missing: the header alone must be refused
	assert.Empty(t, reps)
	require.NotEmpty(t, notes)
	assert.Contains(t, notes[0], "too large")
}

func FuzzReadReplayReports(f *testing.F) {
	f.Add(reportTar(f, map[string]string{"1.json": `{"pid":1,"runtimes":[{"api":"blas","name":"openblas","core_type":"Haswell"}],"simd":["AVX2"]}`}))
	f.Add(reportTar(f, map[string]string{"2.json": `[]`, "3.json": `{"pins":[{"name":""}]}`}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, b []byte) {
		reps, notes := readReplayReports(bytes.NewReader(b))
		rr := mergeReplayed(reps, notes)
		require.Equal(t, len(reps), rr.Processes)
		for _, d := range RuntimeDifferences(capturedForDiff(), rr) {
			require.NotEmpty(t, d)
		}
		if len(reps) == 0 {
			require.NotEmpty(t, rr.Note, "no reports must say why")
		}
	})
}
