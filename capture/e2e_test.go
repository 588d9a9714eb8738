package capture

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/lockfmt"
)

// One capture of the scikit-learn example, shared by all its assertions.
func TestCaptureSklearnClassifier(t *testing.T) {
	dir := copyExample(t, "sklearn-classifier")
	runPlain(t, dir, python, "generate_data.py")
	c := runCapture(t, dir, []string{python, "train.py"}, nil)
	m := c.m

	t.Run("run", func(t *testing.T) {
		assert.Equal(t, []string{python, "train.py"}, m.Run.Argv)
		assert.Equal(t, dir, m.Run.WorkDir)
		assert.Equal(t, 0, m.Run.ExitCode)
		assert.Equal(t, 1, m.Run.Runs)
		assert.Equal(t, os.Getuid(), m.Run.UID)
		assert.Positive(t, m.Run.DurationMS)
		assert.Contains(t, c.stdout, "accuracy")
	})
	t.Run("data file digest", func(t *testing.T) {
		csv := filepath.Join(dir, "data", "iris-like.csv")
		var found *lockfmt.Data
		for i := range m.Data {
			if m.Data[i].Path == csv {
				found = &m.Data[i]
			}
		}
		require.NotNil(t, found, "data %s not recorded: %+v", csv, m.Data)
		assert.Equal(t, sha256sum(t, csv), found.Digest)
		assert.Equal(t, "file", found.Kind)
		assert.Equal(t, "opened", found.Source)
		f, ok := fileEntry(m, csv)
		require.True(t, ok)
		assert.Equal(t, lockfmt.RoleData, f.Role)
		assert.Len(t, m.Data, 1, "only the CSV is a data input: %+v", m.Data)
	})
	t.Run("outputs match sha256sum", func(t *testing.T) {
		for _, p := range []string{"out/metrics.json", "out/coefficients.csv"} {
			o := output(t, m, p)
			assert.Equal(t, sha256sum(t, filepath.Join(dir, p)), o.Digest, p)
			assert.False(t, o.Nondeterministic)
		}
		assert.Equal(t, lockfmt.DigestBytes([]byte(c.stdout)), output(t, m, lockfmt.StdoutPath).Digest)
		output(t, m, lockfmt.StderrPath)
		assert.Len(t, m.Outputs, 4, "the input CSV and the code are not outputs")
	})
	t.Run("code", func(t *testing.T) {
		train := filepath.Join(dir, "train.py")
		assert.Equal(t, []string{train}, m.Code.Files)
		assert.True(t, lockfmt.ValidDigest(m.Code.Digest))
		f, ok := fileEntry(m, train)
		require.True(t, ok)
		assert.Equal(t, lockfmt.RoleCode, f.Role)
		assert.Equal(t, sha256sum(t, train), f.Digest)
		// Without git, every .py file of the project goes into the image.
		g, ok := fileEntry(m, filepath.Join(dir, "generate_data.py"))
		require.True(t, ok)
		assert.Equal(t, lockfmt.RoleCode, g.Role)
		assert.Nil(t, m.Code.Git)
	})
	t.Run("packages", func(t *testing.T) {
		names := map[string]bool{}
		for _, p := range m.Packages {
			names[p.Name] = true
		}
		assert.True(t, names["numpy"], "numpy among the packages")
		assert.True(t, names["scikit-learn"], "scikit-learn among the packages")
	})
	t.Run("blas loaded", func(t *testing.T) {
		var blas []lockfmt.Runtime
		for _, rt := range m.Python.Runtimes {
			if rt.API == "blas" {
				blas = append(blas, rt)
			}
		}
		require.NotEmpty(t, blas, "a BLAS runtime among the loaded objects")
		assert.Equal(t, "openblas", blas[0].Name)
		assert.Contains(t, blas[0].Library, "blas")
		assert.NotEmpty(t, blas[0].CoreType)
		assert.NotEmpty(t, m.Python.SIMD)
	})
	t.Run("pins", func(t *testing.T) {
		assert.Equal(t, "0", m.Run.Env["PYTHONHASHSEED"])
		assert.Equal(t, "0", m.Determinism.HashSeed)
		assert.Equal(t, "repro", m.Determinism.HashSeedSetBy)
		p, ok := pin(m, "PYTHONHASHSEED")
		require.True(t, ok)
		assert.True(t, p.Applied, p.Note)
		for _, v := range ThreadVars {
			assert.NotEmpty(t, m.Determinism.Threads[v], v)
			assert.Equal(t, m.Determinism.Threads[v], m.Run.Env[v], v)
		}
		ob, ok := pin(m, "OPENBLAS_NUM_THREADS")
		require.True(t, ok)
		assert.True(t, ob.Applied, ob.Note)
		assert.Equal(t, int64(-1), m.Determinism.Seed)
	})
	t.Run("python", func(t *testing.T) {
		assert.Equal(t, python, m.Python.Executable)
		assert.Equal(t, 1, m.Python.Processes)
		assert.Greater(t, m.Python.Modules, 100)
	})
}

func TestCaptureNumpyLinalg(t *testing.T) {
	dir := copyExample(t, "numpy-linalg")
	seed := int64(7)
	c := runCapture(t, dir, []string{python, "linalg.py", "--size", "200", "--repeat", "2"}, func(o *Options) { o.Seed = &seed })
	m := c.m
	for _, p := range []string{"out/eigenvalues.npy", "out/singular.npy", "out/summary.csv"} {
		assert.Equal(t, sha256sum(t, filepath.Join(dir, p)), output(t, m, p).Digest, p)
	}
	assert.Empty(t, m.Data, "no data inputs")
	assert.Equal(t, int64(7), m.Determinism.Seed)
	for _, name := range []string{"random.seed", "numpy.random.seed"} {
		p, ok := pin(m, name)
		require.True(t, ok, name)
		assert.True(t, p.Applied, "%s: %s", name, p.Note)
		assert.Equal(t, "7", p.Value)
	}
	p, ok := pin(m, "torch.manual_seed")
	require.True(t, ok)
	assert.False(t, p.Applied)
	assert.Equal(t, "torch not imported", p.Note)
	require.NotEmpty(t, m.Python.Runtimes)
	assert.Equal(t, m.Determinism.Threads["OPENBLAS_NUM_THREADS"], strconv.Itoa(m.Python.Runtimes[0].Threads))
}

func TestCaptureThreads(t *testing.T) {
	dir := copyExample(t, "threads")
	c := runCapture(t, dir, []string{python, "threads.py"}, func(o *Options) {
		o.Environ = testEnv("OPENBLAS_NUM_THREADS=2", "OMP_NUM_THREADS=2")
	})
	m := c.m
	o := output(t, m, "out/threads.json")
	assert.Equal(t, sha256sum(t, filepath.Join(dir, "out/threads.json")), o.Digest)
	assert.Equal(t, "2", m.Determinism.Threads["OPENBLAS_NUM_THREADS"], "a user's value is kept")
	assert.Equal(t, "2", m.Run.Env["OMP_NUM_THREADS"])
	ob, ok := pin(m, "OPENBLAS_NUM_THREADS")
	require.True(t, ok)
	assert.True(t, ob.Applied, ob.Note)
	b, err := os.ReadFile(filepath.Join(dir, "out/threads.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"num_threads": 2`)
	assert.Equal(t, 1, m.Python.Processes, "threads are one process")
}

func TestCaptureRunsFlagsTimestamp(t *testing.T) {
	dir := copyExample(t, "timestamp")
	c := runCapture(t, dir, []string{python, "stamp.py"}, func(o *Options) { o.Runs = 2 })
	m := c.m
	assert.Equal(t, 2, m.Run.Runs)
	stamp := output(t, m, "out/stamp.txt")
	assert.True(t, stamp.Nondeterministic)
	assert.Contains(t, stamp.Reason, "timestamps?")
	assert.Equal(t, sha256sum(t, filepath.Join(dir, "out/stamp.txt")), stamp.Digest, "the last run's bytes")
	res := output(t, m, "out/result.txt")
	assert.False(t, res.Nondeterministic)
	assert.False(t, output(t, m, lockfmt.StdoutPath).Nondeterministic)
}

func TestCaptureShellScriptCallingPython(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "input.txt"), []byte("3\n4\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sum.py"), []byte(
		"import sys\nn = sum(int(l) for l in open('input.txt'))\nopen(sys.argv[1], 'w').write('%d\\n' % n)\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte(
		"#!/bin/sh\nset -e\n"+python+" sum.py a.txt\n"+python+" sum.py b.txt\necho shell done\n"), 0o755))
	c := runCapture(t, dir, []string{"./run.sh"}, nil)
	m := c.m
	assert.Equal(t, 2, m.Python.Processes, "both Python processes reported")
	assert.Equal(t, sha256sum(t, filepath.Join(dir, "a.txt")), output(t, m, "a.txt").Digest)
	output(t, m, "b.txt")
	assert.Contains(t, c.stdout, "shell done")
	require.Len(t, m.Data, 1)
	assert.Equal(t, filepath.Join(dir, "input.txt"), m.Data[0].Path)
	f, ok := fileEntry(m, filepath.Join(dir, "run.sh"))
	require.True(t, ok, "the script is code")
	assert.Equal(t, lockfmt.RoleCode, f.Role)
	assert.Equal(t, "0755", f.Mode)
	assert.Contains(t, m.Code.Files, filepath.Join(dir, "sum.py"))
}

func TestCaptureChainsExistingSitecustomize(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	user := filepath.Join(t.TempDir(), "usersite")
	require.NoError(t, os.MkdirAll(user, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(user, "sitecustomize.py"), []byte(
		"import os\nCHAINED = True\nos.environ['CHAINED_SITECUSTOMIZE'] = 'yes'\n"), 0o644))
	c := runCapture(t, dir, []string{python, "-c",
		"import os, sys, sitecustomize; print(os.environ.get('CHAINED_SITECUSTOMIZE'), getattr(sitecustomize, 'CHAINED', False)); print(any('repro-capture' in p for p in sys.path))"},
		func(o *Options) { o.Environ = testEnv("PYTHONPATH=" + user) })
	assert.Equal(t, "yes True\nFalse\n", c.stdout, "the user's sitecustomize ran; the probe is not on sys.path")
	assert.Equal(t, 1, c.m.Python.Processes, "the probe ran too")
	assert.Equal(t, user, c.m.Run.Env["PYTHONPATH"], "the user's PYTHONPATH is recorded, not the probe's")
}

func TestCaptureProbeIsSilent(t *testing.T) {
	dir := t.TempDir()
	c := runCapture(t, dir, []string{python, "-c", "import numpy, json; print(json.dumps([1]))"}, nil)
	assert.Equal(t, "[1]\n", c.stdout)
	assert.Equal(t, lockfmt.DigestBytes(nil), output(t, c.m, lockfmt.StderrPath).Digest, "nothing on stderr")
}

// multiprocessing workers (forked, then stopped with SIGTERM by "with
// Pool()") write no report, but the files they read are still data inputs.
func TestCaptureMultiprocessingWorkers(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	for i := 0; i < 4; i++ {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "in"+strconv.Itoa(i)+".txt"), []byte(strconv.Itoa(i)), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mp.py"), []byte(`
import multiprocessing as mp
def f(i):
    return open("in%d.txt" % i).read()
if __name__ == "__main__":
    with mp.Pool(2) as p:
        r = p.map(f, range(4))
    open("out.txt", "w").write("".join(r))
`), 0o644))
	c := runCapture(t, dir, []string{python, "mp.py"}, nil)
	var paths []string
	for _, d := range c.m.Data {
		paths = append(paths, filepath.Base(d.Path))
	}
	assert.Equal(t, []string{"in0.txt", "in1.txt", "in2.txt", "in3.txt"}, paths)
	assert.Equal(t, sha256sum(t, filepath.Join(dir, "out.txt")), output(t, c.m, "out.txt").Digest)
}
