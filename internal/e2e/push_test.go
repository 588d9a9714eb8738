package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/compare"
	"github.com/repro-ml/repro/internal/publish"
	"github.com/repro-ml/repro/internal/publish/registrytest"
	"github.com/repro-ml/repro/lockfmt"
	"github.com/repro-ml/repro/replay"
)

// TestPushReplayFromRegistry is the publishing story end to end, with the
// real tools: capture the numpy example signed with an ECDSA P-256 SSH key,
// push it (image built from the manifest, manifest artifact, cosign
// signature) to the real registry server over HTTPS, check the cosign
// signature and a refusal, change only the code and push again (counting
// the bytes each push sends), then replay the first push from its tag on
// the Docker Engine with the author's public key.
func TestPushReplayFromRegistry(t *testing.T) {
	bin := buildRepro(t)
	host, caFile := registrytest.DistributionTLS(t)
	home := t.TempDir()
	env := append(cleanEnv(), "HOME="+home, "SSL_CERT_FILE="+caFile, "SOURCE_DATE_EPOCH=0")
	dir := copyExample(t, "numpy-linalg")
	key := filepath.Join(home, "id_ecdsa")
	run(t, env, home, "ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-C", "alice@uni.example", "-f", key)

	argv := []string{"capture", "-k", key, "--seed", "7", "--", "/usr/bin/python3", "linalg.py", "--size", "120", "--repeat", "1"}
	run(t, env, dir, bin, argv...)
	ref := host + "/lab/linalg"

	var first pushJSON
	out := run(t, env, dir, bin, "push", "--json", "--key", key, "--cosign-key", key, "manifest.toml", ref+":v1")
	require.NoError(t, json.Unmarshal(out, &first), "%s", out)
	require.True(t, strings.HasPrefix(first.Ref, ref+"@sha256:"), first.Ref)

	// "repro build --tar" gives the same image; pushing it checks it against
	// the manifest and sends no layer again.
	run(t, env, dir, bin, "build", "--no-load", "--tar", filepath.Join(home, "exp.tar"), "manifest.toml")
	var fromTar pushJSON
	out = run(t, env, dir, bin, "push", "--json", "--image", filepath.Join(home, "exp.tar"), "manifest.toml", ref+":v1-tar")
	require.NoError(t, json.Unmarshal(out, &fromTar), "%s", out)
	assert.Equal(t, first.Ref, fromTar.Ref, "push builds the image repro build builds")
	assert.Less(t, fromTar.BytesSent, int64(64<<10))

	// The cosign signature verifies over the exact payload with the SSH key.
	pemKey, err := os.ReadFile(key)
	require.NoError(t, err)
	ck, err := publish.LoadCosignKey(pemKey, nil)
	require.NoError(t, err)
	sigRef, err := name.ParseReference(first.CosignSignature)
	require.NoError(t, err)
	sigImg, err := remote.Image(sigRef, remote.WithTransport(trusting(t, caFile)))
	require.NoError(t, err)
	_, err = publish.VerifyCosign(sigImg, &ck.PublicKey, first.ImageDigest)
	require.NoError(t, err)

	// Another key is refused, exit status 1, before any image download.
	other := filepath.Join(home, "other")
	run(t, env, home, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other)
	cmd := exec.Command(bin, "pull", "--key", other+".pub", "-o", filepath.Join(home, "pulled"), ref+":v1")
	cmd.Env = env
	o, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Equal(t, 1, cmd.ProcessState.ExitCode(), "%s", o)
	assert.Contains(t, string(o), "signature was rejected")

	// Change only the code and push again: only the changed layers travel.
	src := filepath.Join(dir, "linalg.py")
	code, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(src, append(code, []byte("\n# second version: same computation\n")...), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, "manifest.toml.sig")))
	run(t, env, dir, bin, argv...)
	var second pushJSON
	out = run(t, env, dir, bin, "push", "--json", "--key", key, "manifest.toml", ref+":v2")
	require.NoError(t, json.Unmarshal(out, &second), "%s", out)
	assert.NotEqual(t, first.ImageDigest, second.ImageDigest)
	tr := trusting(t, caFile)
	v1Layers := layerSizes(t, first.Ref, tr)
	v2Layers := layerSizes(t, second.Ref, tr)
	var total, changed int64
	for _, n := range v1Layers {
		total += n
	}
	for d, n := range v2Layers {
		if _, ok := v1Layers[d]; !ok {
			changed += n
		}
	}
	t.Logf("image v1: %d layers, %d bytes; v2 changes %d of %d layers, %d bytes", len(v1Layers), total, countNew(v1Layers, v2Layers), len(v2Layers), changed)
	t.Logf("bytes sent: first push %d, second push after a code change %d", first.BytesSent, second.BytesSent)
	assert.GreaterOrEqual(t, first.BytesSent, total, "the first push sends every layer")
	mf, err := os.Stat(filepath.Join(dir, "manifest.toml"))
	require.NoError(t, err)
	t.Logf("manifest.toml (sent again as the artifact's layer): %d bytes", mf.Size())
	assert.Less(t, second.BytesSent, changed+mf.Size()+64<<10, "the second push sends only the changed layers, the manifest artifact, config and manifests")
	assert.Less(t, changed, total, "a code change leaves some layers unchanged")

	// Replay from the tag: resolved to the digest, signature verified,
	// outputs bit-identical on the Docker Engine.
	var rep struct {
		Trust struct {
			Verified bool   `json:"verified"`
			Method   string `json:"method"`
		} `json:"trust"`
		Manifest  string `json:"manifest"`
		Identical int    `json:"identical"`
		Total     int    `json:"total"`
		Verdict   string `json:"verdict"`
	}
	out = run(t, env, t.TempDir(), bin, "replay", "--json", "--rm-image", "--key", key+".pub", ref+":v1")
	require.NoError(t, json.Unmarshal(out, &rep), "%s", out)
	assert.True(t, rep.Trust.Verified)
	assert.Equal(t, "key", rep.Trust.Method)
	assert.Equal(t, first.Ref, rep.Manifest, "the report records the digest the tag resolved to")
	assert.Positive(t, rep.Total)
	assert.Equal(t, rep.Total, rep.Identical, "bit-identical: %s", rep.Verdict)

	// The recorded outputs travelled with the manifest: "repro pull" writes
	// them, checked against the manifest, under DIR/outputs.
	assert.Contains(t, first.Outputs, "out/eigenvalues.npy")
	pulled := filepath.Join(home, "pulled-ok")
	run(t, env, home, bin, "pull", "--key", key+".pub", "-o", pulled, ref+":v1")
	for _, o := range first.Outputs {
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(o)))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(pulled, publish.OutputsDir, filepath.FromSlash(o)))
		require.NoError(t, err)
		assert.Equal(t, want, got, o)
	}

	// A replay from the registry on another BLAS kernel differs, and the
	// reader, who has no capture directory, sees typed diffs: the recorded
	// outputs come from the registry.
	m, _, err := lockfmt.ReadFile(filepath.Join(dir, lockfmt.FileName))
	require.NoError(t, err)
	require.NotEmpty(t, m.Python.Runtimes)
	core := otherCore(t, m.Python.Runtimes[0].CoreType)
	reader := replayEnv{bin: bin, home: home, key: key, env: env}
	stdout, stderr, rc := reader.repro(t, t.TempDir(), "replay", "--json", "--rm-image", "--key", key+".pub",
		"--no-pin-kernels", "--env", "OPENBLAS_CORETYPE="+core, ref+":v1")
	require.Equal(t, 1, rc, "%s", stderr)
	assert.Contains(t, stderr, "recorded output(s)")
	var diff replay.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &diff), "%s", stdout)
	var eig *replay.OutputDiff
	for i := range diff.Outputs {
		if diff.Outputs[i].Path == "out/eigenvalues.npy" {
			eig = &diff.Outputs[i]
		}
	}
	require.NotNil(t, eig, "%s", stdout)
	require.Equal(t, replay.StatusDifferent, eig.Status, "%s", stdout)
	require.NotNil(t, eig.Diff)
	assert.Empty(t, eig.NoDetail)
	assert.Equal(t, compare.KindNpy, eig.Diff.Kind, "a typed array diff, not digests only")
	require.NotNil(t, eig.Diff.Array)
	assert.Positive(t, eig.Diff.Array.Differing)
	t.Logf("replay from the registry on %s: %s; eigenvalues.npy %s", core, diff.Verdict, eig.Diff.Summary)
}

// layerSizes maps the layer digests of the image ref to their sizes.
func layerSizes(t *testing.T, ref string, tr http.RoundTripper) map[string]int64 {
	t.Helper()
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	img, err := remote.Image(r, remote.WithTransport(tr))
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	out := map[string]int64{}
	for _, l := range m.Layers {
		out[l.Digest.String()] = l.Size
	}
	return out
}

func countNew(old, cur map[string]int64) int {
	n := 0
	for d := range cur {
		if _, ok := old[d]; !ok {
			n++
		}
	}
	return n
}

type pushJSON struct {
	Ref             string   `json:"ref"`
	ImageDigest     string   `json:"image_digest"`
	CosignSignature string   `json:"cosign_signature"`
	BytesSent       int64    `json:"bytes_sent"`
	Outputs         []string `json:"outputs"`
}

// buildRepro compiles the CLI once per test binary.
func buildRepro(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "repro")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/repro-ml/repro/cmd/repro")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// run runs a command in dir and returns its stdout; stderr goes to the test log.
func run(t *testing.T, env []string, dir, bin string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// cleanEnv is the test's environment without variables that would change
// what capture records or how keys are read.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PYTHONHASHSEED", "PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "SSH_AUTH_SOCK", "HOME", "SSL_CERT_FILE", "SOURCE_DATE_EPOCH", "DOCKER_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// copyExample copies examples/<name> (without outputs) to a fresh directory.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", name)
	dst, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "out" || d.Name() == "__pycache__" {
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
	return dst
}

// trusting is an HTTP transport that trusts the test registry's certificate.
func trusting(t *testing.T, caFile string) http.RoundTripper {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return tr
}
