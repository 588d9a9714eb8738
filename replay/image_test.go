package replay

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/engine"
)

func TestBuildRunsInDocker(t *testing.T) {
	h := getHello(t)
	ctx := context.Background()
	img, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir(), Tag: "repro-test:hello"})
	require.NoError(t, err)
	defer img.Close()
	eng, err := engine.Connect(ctx)
	require.NoError(t, err)
	defer eng.Close()
	id, err := img.Load(ctx, eng)
	require.NoError(t, err)
	defer eng.RemoveImage(ctx, id)
	require.Contains(t, []string{img.ConfigDigest, img.Digest}, id)

	ref, found, err := eng.FindImageByLabel(ctx, LabelManifestDigest, img.ManifestDigest)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, id, ref)

	out, err := exec.Command("docker", "run", "--rm", "--network", "none", id).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "hello from image\n", string(out))

	// The image the engine exports verifies against the manifest.
	got, err := OpenImage(ctx, id, eng)
	require.NoError(t, err)
	require.NoError(t, VerifyImage(ctx, got, h.manifest, h.bytes))
}

func TestWriteTarAndLayout(t *testing.T) {
	h := getHello(t)
	ctx := context.Background()
	img, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer img.Close()
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "image.tar")
	var buf bytes.Buffer
	require.NoError(t, img.WriteTar(&buf))
	require.NoError(t, os.WriteFile(tarPath, buf.Bytes(), 0o644))
	var buf2 bytes.Buffer
	require.NoError(t, img.WriteTar(&buf2))
	require.Equal(t, buf.Bytes(), buf2.Bytes(), "the archive is deterministic")

	out, err := exec.Command("skopeo", "inspect", "oci-archive:"+tarPath).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), img.Digest)

	// podman (containers/image) reads the tar as an OCI archive and keeps
	// the name and the config digest.
	proot := t.TempDir()
	out, err = exec.Command("podman", "--root", proot+"/root", "--runroot", proot+"/run", "--storage-driver", "vfs", "load", "-i", tarPath).CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command("podman", "--root", proot+"/root", "--runroot", proot+"/run", "--storage-driver", "vfs", "image", "inspect", "--format", "{{.ID}}", img.Tag).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, img.ConfigDigest[len("sha256:"):], strings.TrimSpace(string(out)))

	layoutDir := filepath.Join(dir, "layout")
	require.NoError(t, img.WriteOCILayout(layoutDir))
	out, err = exec.Command("skopeo", "inspect", "oci:"+layoutDir).CombinedOutput()
	require.NoError(t, err, string(out))
	require.True(t, strings.Contains(string(out), img.Digest), string(out))

	for _, ref := range []string{tarPath, layoutDir} {
		got, err := OpenImage(ctx, ref, nil)
		require.NoError(t, err)
		d, err := got.Digest()
		require.NoError(t, err)
		require.Equal(t, img.Digest, d.String())
		require.NoError(t, validate.Image(got))
		require.NoError(t, VerifyImage(ctx, got, h.manifest, h.bytes))
	}
}
