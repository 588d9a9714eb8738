package capture

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
)

// stackScript imports the scientific stack, does a little BLAS work and
// reads a zoneinfo file, like a small experiment.
const stackScript = `
import numpy, scipy.linalg, sklearn.linear_model, demo_pkg
a = numpy.arange(16.0).reshape(4, 4) + numpy.eye(4)
print(numpy.linalg.inv(a).sum(), scipy.linalg.det(a))
sklearn.linear_model.LogisticRegression().fit(a, [0, 1, 0, 1])
open("/usr/share/zoneinfo/UTC", "rb").read()
`

// probeRun runs python on script under the real probe and returns its
// reports. extraEnv is added to the environment.
func probeRun(t testing.TB, python, dir, script string, extraEnv ...string) []ProbeReport {
	t.Helper()
	pd, err := newProbeDir()
	require.NoError(t, err)
	t.Cleanup(pd.remove)
	rd, err := pd.runDir(0)
	require.NoError(t, err)
	reports := filepath.Join(rd, "reports")
	cmd := exec.Command(python, "-c", script)
	cmd.Dir = dir
	pp := pd.site
	var env []string
	for _, kv := range testEnv(extraEnv...) {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			pp += ":" + v
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "PYTHONPATH="+pp, "REPRO_PROBE_DIR="+reports)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	reps, warns := readReports(reports, cmd.Process.Pid)
	require.Empty(t, warns)
	require.NotEmpty(t, reps)
	return reps
}

// demoSite writes a pip-installed distribution demo-pkg 1.0 (with RECORD)
// into base/lib/python3.11/site-packages and returns that directory.
func demoSite(t testing.TB, base string) string {
	site := filepath.Join(base, "lib", "python3.11", "site-packages")
	files := []struct{ rel, body string }{
		{"demo_pkg/__init__.py", "from demo_pkg.core import f\n"},
		{"demo_pkg/core.py", "def f():\n    return 42\n"},
		{"demo_pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n"},
		{"demo_pkg-1.0.dist-info/INSTALLER", "pip\n"},
	}
	var rec strings.Builder
	for _, f := range files {
		p := filepath.Join(site, f.rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(f.body), 0o644))
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&rec, "%s,sha256=%s,%d\n", f.rel, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	rec.WriteString("demo_pkg-1.0.dist-info/RECORD,,\n")
	require.NoError(t, os.WriteFile(filepath.Join(site, "demo_pkg-1.0.dist-info/RECORD"), []byte(rec.String()), 0o644))
	return site
}

type stackFixture struct {
	workdir, site string
	reports       []ProbeReport
}

var (
	sklearnOnce sync.Once
	sklearnFix  stackFixture
	// stackHashes is shared by the tests: a stat-keyed cache never returns
	// a stale digest, and hashing dist-packages once saves a minute.
	stackHashes = hashcache.New()
)

// sklearnFixture runs stackScript once per test binary with Debian's python.
func sklearnFixture(t testing.TB) stackFixture {
	sklearnOnce.Do(func() {
		removeStaleStackFixtures()
		dir, err := os.MkdirTemp("", fmt.Sprintf("repro-stack-%d-", os.Getpid()))
		require.NoError(t, err)
		wd := filepath.Join(dir, "work")
		require.NoError(t, os.Mkdir(wd, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(wd, "requirements.txt"), []byte("numpy==1.26.4\nscipy\n"), 0o644))
		site := demoSite(t, dir) // outlives the first test or benchmark using it
		sklearnFix = stackFixture{workdir: wd, site: site,
			reports: probeRun(t, python, wd, stackScript, "PYTHONPATH="+site)}
	})
	require.NotEmpty(t, sklearnFix.reports, "the fixture run failed earlier")
	return sklearnFix
}

// removeStaleStackFixtures deletes the fixture directories of test
// processes that have exited (the shared fixture outlives any one test, so
// no test can clean it up).
func removeStaleStackFixtures() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "repro-stack-*-*"))
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "repro-stack-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

func pyPrint(t *testing.T, python, expr string) string {
	out, err := exec.Command(python, "-c", "import numpy, scipy, sklearn; print("+expr+")").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func gather(t testing.TB, reports []ProbeReport, workdir string, cache *hashcache.Cache) *lockfmt.Manifest {
	t.Helper()
	m := &lockfmt.Manifest{Schema: lockfmt.SchemaVersion, Tool: lockfmt.Tool{Name: "repro", Version: "test"},
		Run: lockfmt.Run{Argv: []string{"python"}, WorkDir: workdir, Runs: 1}}
	var warns []string
	err := gatherStack(context.Background(), reports, m, StackOptions{WorkDir: workdir, Hashes: cache,
		Warn: func(f string, a ...any) { warns = append(warns, fmt.Sprintf(f, a...)) }})
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	return m
}

func pkgNamed(m *lockfmt.Manifest, name string) *lockfmt.Package {
	for i := range m.Packages {
		if m.Packages[i].Name == name {
			return &m.Packages[i]
		}
	}
	return nil
}

func fileAt(m *lockfmt.Manifest, p string) *lockfmt.File {
	for i := range m.Files {
		if m.Files[i].Path == p {
			return &m.Files[i]
		}
	}
	return nil
}

func TestStackDebianSklearn(t *testing.T) {
	fx := sklearnFixture(t)
	m := gather(t, fx.reports, fx.workdir, stackHashes)

	for mod, name := range map[string]string{"numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn"} {
		p := pkgNamed(m, name)
		require.NotNil(t, p, name)
		assert.Equal(t, pyPrint(t, python, mod+".__version__"), p.Version, name)
		assert.True(t, p.Imported, name)
		assert.Equal(t, "debian", p.Installer)
		assert.Empty(t, p.Modified, name)
		assert.True(t, lockfmt.ValidDigest(p.Digest))
	}
	assert.False(t, pkgNamed(m, "pygments").Imported)

	// Native libraries: OpenBLAS with its Debian package, libc, libm, the loader.
	var blas, libc, libm, ld *lockfmt.Library
	for i := range m.Libraries {
		l := &m.Libraries[i]
		switch {
		case strings.Contains(filepath.Base(l.Path), "openblas"):
			blas = l
		case l.Soname == "libc.so.6":
			libc = l
		case l.Soname == "libm.so.6":
			libm = l
		case l.Soname == "ld-linux-x86-64.so.2":
			ld = l
		}
	}
	require.NotNil(t, blas)
	assert.True(t, strings.HasPrefix(blas.Package, "libopenblas0"), blas.Package)
	require.NotNil(t, libc)
	assert.True(t, libc.Loaded)
	assert.True(t, strings.HasPrefix(libc.Package, "libc6:amd64 "), libc.Package)
	require.NotNil(t, libm)
	require.NotNil(t, ld)

	assert.Equal(t, "glibc", m.OS.Libc)
	assert.NotEmpty(t, m.OS.LibcVer)
	assert.Equal(t, "debian", m.OS.ID)
	assert.NotEmpty(t, m.CPU.Level)
	assert.NotEmpty(t, m.CPU.Flags)
	assert.Empty(t, m.GPUs, "no nvidia-smi on this machine")

	assert.Equal(t, "/usr/bin/python3", m.Python.Executable)
	assert.Equal(t, 1, m.Python.Processes)
	assert.Greater(t, m.Python.Modules, 100)

	// Files: symlink chains, the interpreter, stdlib, packages, system files.
	want := map[string]lockfmt.File{
		"/lib":                                   {Type: lockfmt.TypeSymlink, Target: "usr/lib", Role: lockfmt.RoleSystem},
		"/bin":                                   {Type: lockfmt.TypeSymlink, Target: "usr/bin", Role: lockfmt.RoleSystem},
		"/usr/bin/python3":                       {Type: lockfmt.TypeSymlink, Target: "python3.11", Role: lockfmt.RoleInterpreter},
		"/usr/bin/python3.11":                    {Type: lockfmt.TypeFile, Role: lockfmt.RoleInterpreter},
		"/usr/lib/python3.11/os.py":              {Type: lockfmt.TypeFile, Role: lockfmt.RoleInterpreter},
		"/usr/share/zoneinfo/UTC":                {Type: lockfmt.TypeSymlink, Target: "Etc/UTC", Role: lockfmt.RoleSystem},
		"/usr/share/zoneinfo/Etc/UTC":            {Type: lockfmt.TypeFile, Role: lockfmt.RoleSystem},
		"/usr/lib/x86_64-linux-gnu/libblas.so.3": {Type: lockfmt.TypeSymlink, Target: "/etc/alternatives/libblas.so.3-x86_64-linux-gnu", Role: lockfmt.RoleSystem},
		"/etc/alternatives/libblas.so.3-x86_64-linux-gnu":  {Type: lockfmt.TypeSymlink, Role: lockfmt.RoleSystem},
		"/usr/lib/python3/dist-packages/numpy/__init__.py": {Type: lockfmt.TypeFile, Role: lockfmt.RolePackages},
		filepath.Join(fx.site, "demo_pkg/core.py"):         {Type: lockfmt.TypeFile, Role: lockfmt.RolePackages},
	}
	for p, w := range want {
		f := fileAt(m, p)
		require.NotNil(t, f, p)
		assert.Equal(t, w.Type, f.Type, p)
		assert.Equal(t, w.Role, f.Role, p)
		if w.Target != "" {
			assert.Equal(t, w.Target, f.Target, p)
		}
	}
	for _, f := range m.Files {
		assert.False(t, strings.Contains(f.Path, "/test/") && strings.HasPrefix(f.Path, "/usr/lib/python3.11/"), f.Path)
		assert.False(t, strings.HasPrefix(f.Path, "/tmp/") && !strings.HasPrefix(f.Path, filepath.Dir(filepath.Dir(filepath.Dir(fx.site)))), f.Path)
		assert.NotEqual(t, "/etc/passwd", f.Path)
	}
	// The real OpenBLAS file is there with the digest the library records.
	var blasReal *lockfmt.File
	for i := range m.Files {
		if strings.HasSuffix(m.Files[i].Path, "/openblas-pthread/libblas.so.3") {
			blasReal = &m.Files[i]
		}
	}
	require.NotNil(t, blasReal)

	// Lock file and drift.
	require.Len(t, m.LockFiles, 1)
	assert.Equal(t, "requirements.txt", m.LockFiles[0].Path)
	assert.Equal(t, "requirements", m.LockFiles[0].Format)
	assert.Equal(t, 2, m.LockFiles[0].Packages)
	require.Len(t, m.Drift, 1)
	assert.Equal(t, "numpy", m.Drift[0].Package)
	assert.Equal(t, pyPrint(t, python, "numpy.__version__"), m.Drift[0].Installed)
}

func TestStackModifiedInstall(t *testing.T) {
	fx := sklearnFixture(t)
	site := demoSite(t, t.TempDir()) // a fresh copy: the shared fixture's stays intact
	// A hostile RECORD cannot pull secrets into the image.
	rec := filepath.Join(site, "demo_pkg-1.0.dist-info/RECORD")
	f, err := os.OpenFile(rec, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("/etc/shadow,,\n../../../../../../etc/ssh/ssh_host_ed25519_key,,\n/proc/self/environ,,\n/root/.profile,,\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	reports := append([]ProbeReport(nil), fx.reports...)
	r := reports[0]
	r.Path = append([]string{site}, r.Path...)
	r.Modules = append(r.Modules, ProbeModule{Name: "demo_pkg.core", File: filepath.Join(site, "demo_pkg/core.py")})
	reports[0] = r
	cache := stackHashes
	m := gather(t, reports, fx.workdir, cache)
	var demo *lockfmt.Package
	for i := range m.Packages {
		if m.Packages[i].Name == "demo-pkg" && strings.HasPrefix(m.Packages[i].Location, site) {
			demo = &m.Packages[i]
		}
	}
	require.NotNil(t, demo)
	assert.Empty(t, demo.Modified)
	assert.Equal(t, "index", demo.Source)
	for _, p := range []string{"/etc/shadow", "/etc/ssh/ssh_host_ed25519_key", "/proc/self/environ", "/root/.profile"} {
		assert.Nil(t, fileAt(m, p), p)
	}
	require.NotNil(t, fileAt(m, filepath.Join(site, "demo_pkg/core.py")))
	clean := demo.Digest

	p := filepath.Join(site, "demo_pkg/core.py")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-2] = '3' // 42 -> 43
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	m = gather(t, reports, fx.workdir, cache)
	for i := range m.Packages {
		if m.Packages[i].Name == "demo-pkg" && strings.HasPrefix(m.Packages[i].Location, site) {
			demo = &m.Packages[i]
		}
	}
	assert.Equal(t, []string{"demo_pkg/core.py"}, demo.Modified)
	assert.NotEqual(t, clean, demo.Digest)
}

func TestStackNoReports(t *testing.T) {
	m := &lockfmt.Manifest{}
	require.NoError(t, gatherStack(context.Background(), nil, m, StackOptions{WorkDir: t.TempDir()}))
	assert.Equal(t, "glibc", m.OS.Libc)
	assert.NotEmpty(t, m.CPU.Arch)
	assert.Empty(t, m.Files)
}

// BenchmarkGatherStackSklearn measures gatherStack on the scikit-learn run
// with a warm digest cache (a repeated capture on the same machine).
func BenchmarkGatherStackSklearn(b *testing.B) {
	fx := sklearnFixture(b)
	cache := hashcache.New()
	m := gather(b, fx.reports, fx.workdir, cache)
	var before, after syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &before))
	n := 0
	b.ResetTimer()
	for b.Loop() {
		gather(b, fx.reports, fx.workdir, cache)
		n++
	}
	b.StopTimer()
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &after))
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(n)
	b.ReportMetric(float64(cpu.Milliseconds()), "cpu-ms/op")
	b.ReportMetric(float64(len(m.Libraries)), "libraries")
	b.ReportMetric(float64(len(m.Packages)), "packages")
	b.ReportMetric(float64(len(m.Files)), "files")
}

// TestStackThroughCapture checks the criteria on a real capture of
// the scikit-learn example: versions, OpenBLAS with its Debian package,
// libc and libm, the CPU level.
func TestStackThroughCapture(t *testing.T) {
	dir := copyExample(t, "sklearn-classifier")
	runPlain(t, dir, python, "generate_data.py")
	m := runCapture(t, dir, []string{python, "train.py"}, nil).m
	for mod, name := range map[string]string{"numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn"} {
		p := pkgNamed(m, name)
		require.NotNil(t, p, name)
		assert.Equal(t, pyPrint(t, python, mod+".__version__"), p.Version, name)
		assert.True(t, p.Imported, name)
	}
	sonames := map[string]*lockfmt.Library{}
	for i, l := range m.Libraries {
		sonames[l.Soname] = &m.Libraries[i]
	}
	require.Contains(t, sonames, "libc.so.6")
	require.Contains(t, sonames, "libm.so.6")
	blas := sonames["libopenblas.so.0"]
	require.NotNil(t, blas, "OpenBLAS in the closure")
	assert.True(t, strings.HasPrefix(blas.Package, "libopenblas0-pthread:amd64 "), blas.Package)
	assert.Regexp(t, `^x86-64-v[1-4]$`, m.CPU.Level)
	roles := map[string]int{}
	for _, f := range m.Files {
		roles[f.Role]++
	}
	for _, r := range []string{lockfmt.RoleSystem, lockfmt.RoleInterpreter, lockfmt.RolePackages, lockfmt.RoleData, lockfmt.RoleCode} {
		assert.Positive(t, roles[r], r)
	}
	t.Logf("%d packages, %d libraries, %d files %v", len(m.Packages), len(m.Libraries), len(m.Files), roles)
}
