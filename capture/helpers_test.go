package capture

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
)

// python is the interpreter the end-to-end tests use: Debian's, with numpy,
// scipy and scikit-learn installed (CI installs them; a missing one fails).
const python = "/usr/bin/python3"

// copyExample copies examples/<name> into a fresh temporary directory.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "examples", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "out" || d.Name() == "data" || d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	require.NoError(t, err)
	// Resolve symlinks (e.g. /tmp on some systems) as capture does.
	real, err := filepath.EvalSymlinks(dst)
	require.NoError(t, err)
	return real
}

// testEnv is the environment the tests start experiments from: the test
// process's, without variables a developer's shell may add that would change
// what is recorded.
func testEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PYTHONHASHSEED" || k == "PYTHONPATH" || k == "PYTHONSTARTUP":
		case k == "OMP_NUM_THREADS" || k == "OPENBLAS_NUM_THREADS" || k == "MKL_NUM_THREADS":
		default:
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type captured struct {
	m      *lockfmt.Manifest
	dir    string
	stdout string
}

// runCapture captures argv in dir with an in-memory hash cache.
func runCapture(t *testing.T, dir string, argv []string, mod func(*Options)) captured {
	t.Helper()
	var out bytes.Buffer
	opts := Options{Argv: argv, WorkDir: dir, Environ: testEnv(), Stdout: &out, Stderr: os.Stderr, Hashes: hashcache.New(),
		Progress: func(e Event) {
			if e.Kind == EventWarning {
				t.Logf("warning: %s", e.Message)
			}
		}}
	if mod != nil {
		mod(&opts)
	}
	m, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	_, err = lockfmt.Encode(m)
	require.NoError(t, err)
	return captured{m: m, dir: dir, stdout: out.String()}
}

// sha256sum digests a file with the coreutils tool, independent of repro.
func sha256sum(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("sha256sum", p).Output()
	require.NoError(t, err, "sha256sum %s", p)
	return lockfmt.DigestPrefix + strings.Fields(string(out))[0]
}

func output(t *testing.T, m *lockfmt.Manifest, path string) lockfmt.Output {
	t.Helper()
	for _, o := range m.Outputs {
		if o.Path == path {
			return o
		}
	}
	var have []string
	for _, o := range m.Outputs {
		have = append(have, o.Path)
	}
	t.Fatalf("no output %q; have %v", path, have)
	return lockfmt.Output{}
}

func fileEntry(m *lockfmt.Manifest, path string) (lockfmt.File, bool) {
	for _, f := range m.Files {
		if f.Path == path {
			return f, true
		}
	}
	return lockfmt.File{}, false
}

func pin(m *lockfmt.Manifest, name string) (lockfmt.Pin, bool) {
	for _, p := range m.Determinism.Pins {
		if p.Name == name {
			return p, true
		}
	}
	return lockfmt.Pin{}, false
}

func runPlain(t *testing.T, dir string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", strings.Join(argv, " "), out)
}
