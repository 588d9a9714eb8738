// Package e2e holds end-to-end tests: real experiments captured with the
// real interpreters of this machine, built into images, run in Docker.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/capture"
	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
	"github.com/repro-ml/repro/replay"
)

// buildRepoRoot is the repository root, for the examples.
func buildRepoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// buildCopyDir copies the regular files of src (one level deep) into dst.
func buildCopyDir(t *testing.T, src, dst string) {
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
}

func buildRun(t *testing.T, dir string, argv ...string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", strings.Join(argv, " "), out)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// captureBuildReplay captures argv in dir, builds the image with no base
// image, runs it with networking off and checks that every deterministic
// output, stdout and stderr included, is byte-identical.
func captureBuildReplay(t *testing.T, dir string, argv ...string) *lockfmt.Manifest {
	t.Helper()
	ctx := context.Background()
	m, err := capture.Run(ctx, capture.Options{Argv: argv, WorkDir: dir, Hashes: hashcache.New()})
	require.NoError(t, err)
	mb, err := lockfmt.Encode(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, lockfmt.FileName), mb, 0o644))

	img, err := replay.Build(ctx, m, mb, replay.BuildOptions{TempDir: t.TempDir()})
	require.NoError(t, err)
	defer img.Close()
	// Building again gives the same image.
	again, err := replay.Build(ctx, m, mb, replay.BuildOptions{TempDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, img.Digest, again.Digest)
	again.Close()

	eng, err := engine.Connect(ctx)
	require.NoError(t, err)
	defer eng.Close()
	id, err := img.Load(ctx, eng)
	require.NoError(t, err)
	defer eng.RemoveImage(ctx, id)
	require.NoError(t, replay.VerifyImage(ctx, img.Image, m, mb))

	name := "repro-e2e-build-" + img.Digest[7:19]
	exec.Command("docker", "rm", "-f", name).Run()
	run := exec.Command("docker", "run", "--name", name, "--network", "none", id)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	err = run.Run()
	defer exec.Command("docker", "rm", "-f", name).Run()
	require.NoError(t, err, "docker run: stderr:\n%s", stderr.String())

	outDir := t.TempDir()
	for _, o := range m.Outputs {
		if o.Nondeterministic {
			continue
		}
		var got []byte
		switch o.Path {
		case lockfmt.StdoutPath:
			got = stdout.Bytes()
		case lockfmt.StderrPath:
			got = stderr.Bytes()
		default:
			dst := filepath.Join(outDir, strings.ReplaceAll(o.Path, "/", "_"))
			cp := exec.Command("docker", "cp", name+":"+filepath.Join(m.Run.WorkDir, o.Path), dst)
			out, err := cp.CombinedOutput()
			require.NoError(t, err, "docker cp %s: %s", o.Path, out)
			got, err = os.ReadFile(dst)
			require.NoError(t, err)
		}
		require.Equal(t, o.Digest, sha(got), "output %s differs in the container:\n%s", o.Path, got)
	}
	return m
}

func TestBuildE2EDebianSklearn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sklearn")
	buildCopyDir(t, filepath.Join(buildRepoRoot(t), "examples", "sklearn-classifier"), dir)
	buildRun(t, dir, "/usr/bin/python3", "generate_data.py")
	m := captureBuildReplay(t, dir, "/usr/bin/python3", "train.py")
	require.NotEmpty(t, m.Outputs)

	// --closure full: every file of every recorded distribution (Debian's
	// via dpkg), each package checked against its tree digest, and the
	// image verifies against the manifest.
	mb, err := os.ReadFile(filepath.Join(dir, lockfmt.FileName))
	require.NoError(t, err)
	ctx := context.Background()
	full, err := replay.Build(ctx, m, mb, replay.BuildOptions{TempDir: t.TempDir(), Closure: replay.ClosureFull})
	require.NoError(t, err)
	defer full.Close()
	require.NoError(t, replay.VerifyImage(ctx, full.Image, m, mb))
}

const stdlibExperiment = `import hashlib, json, math, os, random, statistics
random.seed(7)
xs = [random.gauss(0, 1) for _ in range(1000)]
res = {"mean": round(statistics.fmean(xs), 12), "sd": round(statistics.pstdev(xs), 12),
       "sha": hashlib.sha256(json.dumps(xs).encode()).hexdigest(), "pi": math.pi}
os.makedirs("out", exist_ok=True)
with open("out/result.json", "w") as f:
    json.dump(res, f, sort_keys=True)
print("mean", res["mean"])
`

func TestBuildE2EPyenv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "stdlib")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stats.py"), []byte(stdlibExperiment), 0o644))
	captureBuildReplay(t, dir, "/root/.pyenv/versions/3.11.7/bin/python3", "stats.py")
}

func TestBuildE2EVenv(t *testing.T) {
	base := t.TempDir()
	venv := filepath.Join(base, "venv")
	buildRun(t, base, "/usr/bin/python3", "-m", "venv", "--system-site-packages", venv)
	dir := filepath.Join(base, "sklearn")
	buildCopyDir(t, filepath.Join(buildRepoRoot(t), "examples", "sklearn-classifier"), dir)
	buildRun(t, dir, "/usr/bin/python3", "generate_data.py")
	captureBuildReplay(t, dir, filepath.Join(venv, "bin", "python"), "train.py")
}
