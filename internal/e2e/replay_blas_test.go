package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/compare"
	"github.com/repro-ml/repro/lockfmt"
	"github.com/repro-ml/repro/replay"
)

// TestReplayBLASKernel captures the blas-kernel example once and replays it
// with the capture's kernel pinned (bit-identical), with another OpenBLAS
// kernel forced (DIFFERENT, numeric diff, the BLAS kernel named), and with
// the manifest tampered (refused) or its output digest changed and
// re-signed (DIFFERENT).
func TestReplayBLASKernel(t *testing.T) {
	e := replaySetup(t)
	dir := copyExample(t, "blas-kernel")
	e.captureSigned(t, dir, nil, "/usr/bin/python3", "blas.py")
	m, data, err := lockfmt.ReadFile(filepath.Join(dir, lockfmt.FileName))
	require.NoError(t, err)
	require.NotEmpty(t, m.Python.Runtimes)
	recorded := m.Python.Runtimes[0].CoreType
	require.NotEmpty(t, recorded, "the capture recorded no OpenBLAS core type")

	parent := t
	t.Run("pinned", func(t *testing.T) {
		keep, report := filepath.Join(t.TempDir(), "kept"), filepath.Join(t.TempDir(), "report.json")
		rep, stderr, code := e.replayJSON(t, dir, "--keep", keep, "--report", report)
		require.Equal(t, 0, code, stderr)
		removeImage(parent, rep.Image.Ref)
		assert.Equal(t, rep.Total, rep.Identical)
		assert.True(t, rep.PinKernels)
		assert.Contains(t, stderr, "pinned OPENBLAS_CORETYPE="+recorded)
		// What the replay ran with, as its probe saw it: the captured kernel.
		assert.Equal(t, recorded, replayedCore(t, rep))
		assert.Empty(t, rep.RuntimeDiffs)
		kept, err := os.ReadFile(filepath.Join(keep, "product.npy"))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(dir, "product.npy"))
		require.NoError(t, err)
		assert.Equal(t, want, kept)
		saved, err := os.ReadFile(report)
		require.NoError(t, err)
		assert.Contains(t, string(saved), `"verdict": "bit-identical: 5/5 outputs"`)

		// The human report: verdict first, then the table.
		stdout, _, code := e.repro(t, dir, "replay", "--key", e.key+".pub", "manifest.toml")
		require.Equal(t, 0, code)
		assert.True(t, strings.HasPrefix(stdout, "bit-identical: 5/5 outputs\n"), stdout)
		assert.Contains(t, stdout, "product.npy")
	})

	t.Run("other kernel", func(t *testing.T) {
		core := otherCore(t, recorded)
		rep, stderr, code := e.replayJSON(t, dir, "--no-pin-kernels", "--env", "OPENBLAS_CORETYPE="+core)
		require.Equal(t, 1, code, stderr)
		assert.True(t, strings.HasPrefix(rep.Verdict, "DIFFERENT: "), rep.Verdict)
		var product *replay.OutputDiff
		for i := range rep.Outputs {
			if rep.Outputs[i].Path == "product.npy" {
				product = &rep.Outputs[i]
			}
		}
		require.NotNil(t, product)
		require.Equal(t, replay.StatusDifferent, product.Status)
		require.NotNil(t, product.Diff)
		require.Equal(t, compare.KindNpy, product.Diff.Kind)
		require.NotNil(t, product.Diff.Array)
		assert.Greater(t, product.Diff.Array.Differing, 0)
		assert.Greater(t, product.Diff.Array.MaxULP, uint64(0))
		require.NotEmpty(t, product.Causes)
		// The replay was seen to run the other kernel: the first cause is
		// that fact, naming both kernels.
		assert.True(t, strings.EqualFold(core, replayedCore(t, rep)), "replayed core %q, forced %q", replayedCore(t, rep), core)
		assert.Contains(t, product.Causes[0], "BLAS kernel")
		assert.Contains(t, strings.ToLower(product.Causes[0]), "captured "+strings.ToLower(recorded))
		assert.Contains(t, strings.ToLower(product.Causes[0]), "replay ran "+strings.ToLower(core))
		assert.Equal(t, rep.RuntimeDiffs[0], product.Causes[0])

		// Within a loose tolerance the same replay is accepted.
		rep, stderr, code = e.replayJSON(t, dir, "--no-pin-kernels", "--env", "OPENBLAS_CORETYPE="+core, "--tolerance", "1e-9,1e-9")
		if code != 0 {
			// stdout is compared by digest only: it cannot be "within tolerance".
			for _, o := range rep.Outputs {
				if o.Path != lockfmt.StdoutPath {
					assert.NotEqual(t, replay.StatusDifferent, o.Status, "%s: %s", o.Path, stderr)
				}
			}
		}
	})

	t.Run("image from a layout", func(t *testing.T) {
		layout := filepath.Join(t.TempDir(), "layout")
		_, stderr, code := e.repro(t, dir, "build", "--no-load", "--oci", layout, "manifest.toml")
		require.Equal(t, 0, code, stderr)
		rep, stderr, code := e.replayJSON(t, dir, "--image", layout)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "layout", rep.Image.Source)
		assert.True(t, rep.Image.Verified)
		assert.Equal(t, rep.Total, rep.Identical)
	})

	t.Run("tampered manifest", func(t *testing.T) {
		bad := copyExample(t, "blas-kernel")
		tampered := bytes.Replace(data, []byte("blas.py"), []byte("blaz.py"), 1)
		require.NoError(t, os.WriteFile(filepath.Join(bad, lockfmt.FileName), tampered, 0o644))
		sig, err := os.ReadFile(filepath.Join(dir, lockfmt.SignatureName))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bad, lockfmt.SignatureName), sig, 0o644))
		_, stderr, code := e.replayJSON(t, bad)
		require.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, "refusing to replay")

		// Unsigned: refused too, unless --insecure-unsigned.
		require.NoError(t, os.Remove(filepath.Join(bad, lockfmt.SignatureName)))
		_, stderr, code = e.repro(t, bad, "replay", "manifest.toml")
		require.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, "not signed")
	})

	t.Run("tampered output digest", func(t *testing.T) {
		other := copyExample(t, "blas-kernel")
		for _, f := range []string{"product.npy", "eigenvalues.npy", "summary.txt"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(other, f), b, 0o644))
		}
		var sumDigest string
		for _, o := range m.Outputs {
			if o.Path == "summary.txt" {
				sumDigest = o.Digest
			}
		}
		require.NotEmpty(t, sumDigest)
		forged := bytes.Replace(data, []byte(sumDigest), []byte(lockfmt.DigestBytes([]byte("forged"))), 1)
		require.NoError(t, os.WriteFile(filepath.Join(other, lockfmt.FileName), forged, 0o644))
		_, stderr, code := e.repro(t, other, "sign", "-k", e.key, "manifest.toml")
		require.Equal(t, 0, code, stderr)
		// A new manifest digest: the image is built again for it.
		rep, stderr, code := e.replayJSON(t, other, "--rm-image")
		require.Equal(t, 1, code, stderr)
		assert.Equal(t, "DIFFERENT: 1 of 5 outputs", rep.Verdict)
	})
}

// replayedCore returns the OpenBLAS core type the replay's probe reported.
func replayedCore(t *testing.T, rep *replay.Report) string {
	t.Helper()
	require.NotNil(t, rep.Replayed, "no replayed_runtime in the report")
	require.Positive(t, rep.Replayed.Processes, "no Python process reported: %s", rep.Replayed.Note)
	for _, rt := range rep.Replayed.Runtimes {
		if strings.EqualFold(rt.Name, "openblas") {
			return rt.CoreType
		}
	}
	t.Fatalf("the replay's probe reported no OpenBLAS runtime: %+v", rep.Replayed.Runtimes)
	return ""
}

// escapeScript writes result.txt, or, when REPRO_TEST_ESCAPE is set at
// replay, makes it a symlink leaving the working directory.
const escapeScript = `import os
if os.environ.get("REPRO_TEST_ESCAPE"):
    os.symlink("../../../../../../etc/passwd", "result.txt")
else:
    with open("result.txt", "w") as f:
        f.write("ok\n")
`

// TestReplayRefusesEscapingOutput checks that an output copied out of the
// container as a link leaving the output directory is refused (exit 2).
func TestReplayRefusesEscapingOutput(t *testing.T) {
	e := replaySetup(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "escape.py"), []byte(escapeScript), 0o644))
	e.captureSigned(t, dir, nil, "/usr/bin/python3", "escape.py")
	rep, stderr, code := e.replayJSON(t, dir)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, rep.Total, rep.Identical)

	_, stderr, code = e.replayJSON(t, dir, "--env", "REPRO_TEST_ESCAPE=1", "--rm-image")
	require.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "refusing the experiment's outputs")
	assert.Contains(t, stderr, "outside the output directory")
}
