package publish

import (
	"archive/tar"
	"bytes"
	"io"
	"sort"
	"strings"
	"time"

	"context"
	"encoding/json"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/internal/publish/registrytest"
)

// TestArchiveWithSkopeo checks what the README promises for other tools:
// the archive "repro build --tar" writes is read by skopeo both as an OCI
// archive and as a docker archive, keeps its digest when skopeo copies it
// to an OCI layout or a registry, and repro finds the manifest artifact
// for the image skopeo pushed.
func TestArchiveWithSkopeo(t *testing.T) {
	img := tarImage(t, map[string]string{"app/train.py": "print('skopeo')\n", "app/data.csv": "a,b\n1,2\n"})
	want, err := img.Digest()
	require.NoError(t, err)
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "exp.tar")
	f, err := os.Create(tarPath)
	require.NoError(t, err)
	require.NoError(t, ociimage.WriteArchive(f, img, "repro:skopeo"))
	require.NoError(t, f.Close())

	var inspected struct{ Digest string }
	out := skopeo(t, "inspect", "oci-archive:"+tarPath)
	require.NoError(t, json.Unmarshal(out, &inspected), "%s", out)
	assert.Equal(t, want.String(), inspected.Digest, "oci-archive keeps the digest")
	skopeo(t, "inspect", "docker-archive:"+tarPath)

	skopeo(t, "copy", "-q", "oci-archive:"+tarPath, "oci:"+filepath.Join(dir, "layout")+":exp")
	idx, err := os.ReadFile(filepath.Join(dir, "layout", "index.json"))
	require.NoError(t, err)
	assert.Contains(t, string(idx), want.String())

	// skopeo pushes the archive; repro pushes the manifest for the same
	// image; pull finds it under skopeo's tag.
	host := registrytest.Distribution(t)
	skopeo(t, "copy", "-q", "--dest-tls-verify=false", "oci-archive:"+tarPath, "docker://"+host+"/lab/skopeo:v1")
	push(t, img, host+"/lab/skopeo:v2", testSig, PushOptions{})
	p, err := FetchManifest(context.Background(), host+"/lab/skopeo:v1", PullOptions{Options: Options{Insecure: true}, Verify: acceptSig})
	require.NoError(t, err)
	assert.Equal(t, want.String(), p.Digest)
}

func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("skopeo", args...).Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "skopeo %v: %s", args, stderr)
	return out
}

// tarImage is an OCI image with one gzip tar layer per file, as real
// images have (skopeo checks layer compression against media types).
func tarImage(t *testing.T, files map[string]string) v1.Image {
	t.Helper()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var adds []mutate.Addendum
	for _, n := range names {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(files[n])), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}))
		_, err := tw.Write([]byte(files[n]))
		require.NoError(t, err)
		require.NoError(t, tw.Close())
		raw := b.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }, tarball.WithMediaType(types.OCILayer))
		require.NoError(t, err)
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: time.Unix(0, 0).UTC()}}})
	}
	return appendTestLayers(t, base, adds)
}

// TestArchiveWithPodman loads the archive "repro build --tar" writes with
// podman (into a private storage root) and checks the image keeps its
// digest. Running it needs privileges this test does not assume; the
// README gives the podman run line.
func TestArchiveWithPodman(t *testing.T) {
	img := tarImage(t, map[string]string{"app/train.py": "print('podman')\n"})
	want, err := img.Digest()
	require.NoError(t, err)
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "exp.tar")
	f, err := os.Create(tarPath)
	require.NoError(t, err)
	require.NoError(t, ociimage.WriteArchive(f, img, "repro:podman"))
	require.NoError(t, f.Close())

	storage := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"}
	podman := func(args ...string) string {
		out, err := exec.Command("podman", append(storage, args...)...).CombinedOutput()
		require.NoError(t, err, "podman %v: %s", args, out)
		return string(out)
	}
	t.Cleanup(func() { _ = exec.Command("podman", append(storage, "system", "reset", "--force")...).Run() })
	assert.Contains(t, podman("load", "-i", tarPath), "repro:podman")
	assert.Equal(t, want.String(), strings.TrimSpace(podman("image", "inspect", "--format", "{{.Digest}}", "repro:podman")))
}
