package capture

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
)

func TestCaptureInterruptWritesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	script := `
import time, sys
open("started", "w").close()
try:
    time.sleep(60)
except KeyboardInterrupt:
    open("got-sigint", "w").close()
    sys.exit(130)
`
	go func() {
		for i := 0; i < 300; i++ {
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	m, err := Run(ctx, Options{Argv: []string{python, "-c", script}, WorkDir: dir, Environ: testEnv(), Hashes: hashcache.New()})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrInterrupted), "%v", err)
	assert.Nil(t, m)
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.FileExists(t, filepath.Join(dir, "got-sigint"), "SIGINT was forwarded to the experiment")
	assert.NoFileExists(t, filepath.Join(dir, lockfmt.FileName))
}

func TestCaptureFailingExperiment(t *testing.T) {
	dir := t.TempDir()
	argv := []string{python, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"}
	m, err := Run(context.Background(), Options{Argv: argv, WorkDir: dir, Environ: testEnv(), Hashes: hashcache.New()})
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 3, ee.Code)
	assert.Nil(t, m)
	assert.Equal(t, "the experiment exited with status 3", err.Error())

	c := runCapture(t, dir, argv, func(o *Options) { o.AllowFailure = true })
	assert.Equal(t, 3, c.m.Run.ExitCode)
	assert.Equal(t, lockfmt.DigestBytes([]byte("boom\n")), output(t, c.m, lockfmt.StderrPath).Digest)
}

func TestCaptureCommandNotFound(t *testing.T) {
	_, err := Run(context.Background(), Options{Argv: []string{"no-such-command-xyz"}, WorkDir: t.TempDir(), Hashes: hashcache.New()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "starting no-such-command-xyz")
}

// Secrets in the environment never reach the manifest bytes, even when
// --env names them, and neither do secret command-line values.
func TestCaptureSecretsNeverReachManifest(t *testing.T) {
	const (
		awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		ghToken   = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
		keyBody   = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
		argToken  = "s3cr3t-arg-value-123"
	)
	privKey := "-----BEGIN OPENSSH PRIVATE KEY-----\n" + keyBody + "\n-----END OPENSSH PRIVATE KEY-----"
	dir := t.TempDir()
	c := runCapture(t, dir, []string{python, "-c", "import sys; print(len(sys.argv))", "--token=" + argToken}, func(o *Options) {
		o.Environ = testEnv(
			"AWS_SECRET_ACCESS_KEY="+awsSecret,
			"GITHUB_TOKEN="+ghToken,
			"PYTHON_DEPLOY_KEY_MATERIAL="+privKey,
			"TORCH_HOME_NOTE="+privKey,
			"CUDA_CACHE_PATH=/tmp/cuda-cache",
			"PIP_INDEX_URL=https://alice:hunter2secret@pypi.example.org/simple",
		)
		o.Env = []string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PIP_INDEX_URL"}
	})
	b, err := lockfmt.Encode(c.m)
	require.NoError(t, err)
	for _, secret := range []string{awsSecret, ghToken, keyBody, "PRIVATE KEY", argToken, "hunter2secret"} {
		assert.NotContains(t, string(b), secret)
	}
	assert.Equal(t, []string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PIP_INDEX_URL", "PYTHON_DEPLOY_KEY_MATERIAL", "TORCH_HOME_NOTE"}, c.m.Run.Scrubbed)
	assert.Equal(t, "/tmp/cuda-cache", c.m.Run.Env["CUDA_CACHE_PATH"])
	assert.Equal(t, "--token=<redacted>", c.m.Run.Argv[3])
	assert.Equal(t, "2\n", c.stdout, "the experiment itself got its arguments unchanged")
}

func TestCaptureOutputsGlobsAndExcludes(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pre"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pre", "existing.bin"), []byte("old"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, lockfmt.FileName), []byte("old manifest"), 0o644))
	script := `
import os
os.makedirs("out/logs", exist_ok=True)
open("out/a.json", "w").write("{}")
open("out/logs/run.log", "w").write("log")
open("manifest.toml", "a").write("x")
`
	c := runCapture(t, dir, []string{python, "-c", script}, func(o *Options) {
		o.Outputs = []string{"pre/*.bin"}
		o.Excludes = []string{"*.log"}
	})
	var paths []string
	for _, o := range c.m.Outputs {
		paths = append(paths, o.Path)
	}
	assert.ElementsMatch(t, []string{"<stderr>", "<stdout>", "out/a.json", "pre/existing.bin"}, paths)
}

func TestCaptureDeclaredData(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	ds := filepath.Join(dir, "dataset")
	require.NoError(t, os.MkdirAll(filepath.Join(ds, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "a.txt"), []byte("a"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "sub", "b.txt"), []byte("bb"), 0o644))
	// A git-lfs pointer and a DVC file in the project.
	oid := strings.Repeat("ab", 32)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "weights.bin"), []byte(lfsPointerPrefix+"oid sha256:"+oid+"\nsize 12345\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".gitattributes"), []byte("*.bin filter=lfs diff=lfs merge=lfs -text\n"), 0o644))
	dvc := "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 99\n  path: images\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "images.dvc"), []byte(dvc), 0o644))

	hex := strings.Repeat("0f", 32)
	c := runCapture(t, dir, []string{python, "-c", "open('dataset/a.txt').read()"}, func(o *Options) {
		o.Data = []string{"dataset", "imagenet=s3://user:pw@bucket/imagenet.tar#sha256=" + hex}
	})
	byKind := map[string]lockfmt.Data{}
	for _, d := range c.m.Data {
		byKind[d.Kind] = d
	}
	require.Len(t, c.m.Data, 4, "%+v", c.m.Data)
	d := byKind["dir"]
	assert.Equal(t, ds, d.Path)
	assert.Equal(t, 2, d.Files)
	assert.Equal(t, int64(3), d.Size)
	want, err := lockfmt.TreeDigest([]lockfmt.TreeEntry{
		{Path: "a.txt", Digest: lockfmt.DigestBytes([]byte("a"))},
		{Path: "sub/b.txt", Digest: lockfmt.DigestBytes([]byte("bb"))},
	})
	require.NoError(t, err)
	assert.Equal(t, want, d.Digest)
	f, ok := fileEntry(c.m, filepath.Join(ds, "sub", "b.txt"))
	require.True(t, ok)
	assert.Equal(t, lockfmt.RoleData, f.Role)

	u := byKind["uri"]
	assert.Equal(t, "imagenet", u.Name)
	assert.Equal(t, "s3://bucket/imagenet.tar", u.URI, "credentials removed")
	assert.Equal(t, "sha256:"+hex, u.Digest)

	l := byKind["git-lfs"]
	assert.Equal(t, "sha256:"+oid, l.Digest)
	assert.Equal(t, int64(12345), l.Size)
	assert.Equal(t, filepath.Join(dir, "weights.bin"), l.Path)

	v := byKind["dvc"]
	assert.Equal(t, "images", v.Name)
	assert.Equal(t, "dvc:images#md5=0123456789abcdef0123456789abcdef", v.URI)
	assert.Equal(t, lockfmt.DigestBytes([]byte(dvc)), v.Digest)
	assert.Equal(t, int64(99), v.Size)
}

// A private key the run reads (or git tracks) never goes into the image.
func TestCapturePrivateKeyFileLeftOut(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	key := filepath.Join(dir, "deploy_key")
	require.NoError(t, os.WriteFile(key, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600))
	c := runCapture(t, dir, []string{python, "-c", "open('deploy_key').read()"}, nil)
	assert.Empty(t, c.m.Data)
	_, ok := fileEntry(c.m, key)
	assert.False(t, ok)
}
