package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeContext(t *testing.T, dir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]))
	require.NoError(t, os.MkdirAll(meta, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(meta, "meta.json"),
		[]byte(`{"Name":"`+name+`","Endpoints":{"docker":{"Host":"`+host+`","SkipTLSVerify":false}}}`), 0o644))
}

func TestConnectDefault(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	e, err := Connect(context.Background())
	require.NoError(t, err)
	defer e.Close()
	require.NotEmpty(t, e.APIVersion)
	require.Empty(t, e.Context)
}

func TestConnectHonoursContext(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_HOST", "")
	writeContext(t, dir, "mine", "unix:///var/run/docker.sock")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext":"mine"}`), 0o644))
	e, err := Connect(context.Background())
	require.NoError(t, err)
	defer e.Close()
	require.Equal(t, "mine", e.Context)
	require.Equal(t, "unix:///var/run/docker.sock", e.Host)

	// A context pointing at a dead socket says the engine is not reachable.
	writeContext(t, dir, "dead", "unix://"+filepath.Join(dir, "nope.sock"))
	t.Setenv("DOCKER_CONTEXT", "dead")
	_, err = Connect(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "is it running?")

	t.Setenv("DOCKER_CONTEXT", "missing")
	_, err = Connect(context.Background())
	require.ErrorContains(t, err, `docker context "missing"`)
}

func TestConnectDockerHostWins(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_CONTEXT", "missing") // ignored: DOCKER_HOST wins
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "nope.sock"))
	_, err := Connect(context.Background())
	require.ErrorContains(t, err, "cannot reach the Docker Engine")
}

func TestDecodeLoadStream(t *testing.T) {
	id, err := decodeLoadStream(strings.NewReader(`{"stream":"Loaded image: repro:x\n"}
{"stream":"Loaded image ID: sha256:abc\n"}`), "h")
	require.NoError(t, err)
	require.Equal(t, "sha256:abc", id)

	id, err = decodeLoadStream(strings.NewReader(`{"stream":"Loaded image: repro:x\n"}`), "h")
	require.NoError(t, err)
	require.Equal(t, "repro:x", id)

	_, err = decodeLoadStream(strings.NewReader(`{"errorDetail":{"message":"write /x: no space left on device"},"error":"write /x: no space left on device"}`), "h")
	require.ErrorContains(t, err, "ran out of disk space")

	_, err = decodeLoadStream(strings.NewReader(`{"error":"invalid archive"}`), "h")
	require.ErrorContains(t, err, "invalid archive")

	_, err = decodeLoadStream(strings.NewReader(`{"stream":`), "h")
	require.Error(t, err)
}

func TestImageNotFound(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	e, err := Connect(context.Background())
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Inspect(context.Background(), "sha256:"+strings.Repeat("0", 64))
	require.ErrorIs(t, err, ErrImageNotFound)
	_, found, err := e.FindImageByLabel(context.Background(), "org.repro.test", "nothing")
	require.NoError(t, err)
	require.False(t, found)
	require.NoError(t, e.RemoveImage(context.Background(), "sha256:"+strings.Repeat("0", 64)))
}

func TestConnectVersionChecks(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("DOCKER_API_VERSION", "1.39")
	_, err := Connect(context.Background())
	require.ErrorContains(t, err, "DOCKER_API_VERSION=1.39 is older than the API 1.40 repro needs")
	t.Setenv("DOCKER_API_VERSION", "1.99")
	_, err = Connect(context.Background())
	require.ErrorContains(t, err, "DOCKER_API_VERSION=1.99 is newer than the API")

	require.ErrorContains(t, checkVersions("h", "1.39", ""), "upgrade Docker")
	require.NoError(t, checkVersions("h", "1.41", ""))
	require.NoError(t, checkVersions("h", "1.41", "1.41"))
}

func TestLoadRejectsGarbage(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	e, err := Connect(context.Background())
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Load(context.Background(), strings.NewReader("this is not a tar"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "loading the image into the Docker Engine")
}
