package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func tarOf(files map[string]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for n, c := range files {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Size: int64(len(c)), Mode: 0o644})
		tw.Write([]byte(c))
	}
	tw.Close()
	return b.Bytes()
}

func testImage(t testing.TB) []byte {
	dir := t.(interface{ TempDir() string }).TempDir()
	src := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(src, []byte("hi\n"), 0o644))
	l, err := BuildLayer(context.Background(), []Entry{{Path: "/f", Type: TypeFile, Mode: 0o644, Size: 3, Digest: "sha256:98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4", Source: src}}, LayerOptions{Role: "code", TempDir: dir})
	require.NoError(t, err)
	img, err := Assemble([]*Layer{l}, Spec{Created: time.Unix(0, 0), Architecture: "amd64"})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, WriteArchive(&b, img, "repro:test"))
	return b.Bytes()
}

func TestOpenArchiveRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img.tar")
	require.NoError(t, os.WriteFile(p, testImage(t), 0o644))
	img, err := Open(p)
	require.NoError(t, err)
	ls, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, ls, 1)
	n, size, err := CountLayer(ls[0])
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Positive(t, size)
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"empty.tar":   tarOf(map[string]string{"x": "y"}),
		"badidx.tar":  tarOf(map[string]string{"index.json": "{", "oci-layout": "{}"}),
		"noimg.tar":   tarOf(map[string]string{"index.json": `{"schemaVersion":2,"manifests":[]}`}),
		"missing.tar": tarOf(map[string]string{"index.json": `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2}]}`}),
		"notatar":     []byte("hello"),
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, content, 0o644))
		_, err := Open(p)
		require.Error(t, err, name)
	}
}

// FuzzOpenArchive reads arbitrary bytes as an image tar: errors are fine,
// panics are not. Every part of a successfully opened image is read.
func FuzzOpenArchive(f *testing.F) {
	f.Add(testImage(f))
	f.Add(tarOf(map[string]string{"manifest.json": `[{"Config":"c","Layers":["l"]}]`, "c": "{}", "l": ""}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := openArchiveAt(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if _, err := img.ConfigFile(); err != nil {
			return
		}
		ls, err := img.Layers()
		if err != nil {
			return
		}
		for _, l := range ls {
			CountLayer(l)
		}
	})
}
