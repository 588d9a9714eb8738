package replay

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/internal/pydist"
	"github.com/repro-ml/repro/lockfmt"
)

// fullFixture is a site directory with one RECORD-listed distribution of
// which the manifest lists only the imported module.
func fullFixture(t *testing.T) (root string, m *lockfmt.Manifest, mb []byte) {
	root = t.TempDir()
	site := "/opt/site"
	files := map[string]string{
		"foo/__init__.py":            "from .core import x\n",
		"foo/core.py":                "x = 1\n",
		"foo/data.txt":               "not imported\n",
		"foo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
	}
	record := ""
	for rel, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(root+site+"/"+rel), 0o755))
		require.NoError(t, os.WriteFile(root+site+"/"+rel, []byte(c), 0o644))
		record += rel + ",,\n"
	}
	record += "foo-1.0.dist-info/RECORD,,\n"
	require.NoError(t, os.WriteFile(root+site+"/foo-1.0.dist-info/RECORD", []byte(record), 0o644))
	dists, err := pydist.Scan([]string{root + site}, pydist.Options{})
	require.NoError(t, err)
	_, err = pydist.Check(dists, hashcache.New())
	require.NoError(t, err)
	require.Len(t, dists, 1)

	m = &lockfmt.Manifest{
		Schema:   1,
		Run:      lockfmt.Run{Argv: []string{"/bin/true"}, WorkDir: "/work", Runs: 1},
		OS:       lockfmt.OS{Arch: "amd64"},
		Packages: []lockfmt.Package{{Name: "foo", Version: "1.0", Location: site + "/foo-1.0.dist-info", Digest: dists[0].Digest, Files: dists[0].Count, Imported: true}},
		Files: []lockfmt.File{
			fileEntry(t, root, site+"/foo/__init__.py", "0644", lockfmt.RolePackages),
			fileEntry(t, root, site+"/foo/core.py", "0644", lockfmt.RolePackages),
		},
	}
	mb, err = lockfmt.Encode(m)
	require.NoError(t, err)
	return root, m, mb
}

func TestBuildFullClosure(t *testing.T) {
	root, m, mb := fullFixture(t)
	ctx := context.Background()
	imported, err := Build(ctx, m, mb, BuildOptions{Root: root, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer imported.Close()
	full, err := Build(ctx, m, mb, BuildOptions{Root: root, TempDir: t.TempDir(), Closure: ClosureFull})
	require.NoError(t, err)
	defer full.Close()
	require.NotEqual(t, imported.Digest, full.Digest)
	var pk LayerInfo
	for _, l := range full.Layers {
		if l.Role == lockfmt.RolePackages {
			pk = l
		}
	}
	require.Equal(t, 5, pk.Files, "every RECORD file, the imported ones once")
	require.NoError(t, VerifyImage(ctx, full.Image, m, mb))
	require.NoError(t, VerifyImage(ctx, imported.Image, m, mb))

	// A tampered package digest in the manifest: the full image no longer verifies.
	bad := *m
	bad.Packages = []lockfmt.Package{m.Packages[0]}
	bad.Packages[0].Digest = lockfmt.DigestBytes([]byte("other"))
	badBytes, err := lockfmt.Encode(&bad)
	require.NoError(t, err)
	full2, err := Build(ctx, &bad, badBytes, BuildOptions{Root: root, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer full2.Close()
	// Cross-check: the full image of m against the wrong manifest bytes fails on the label.
	var mm *ImageMismatchError
	require.ErrorAs(t, VerifyImage(ctx, full.Image, &bad, badBytes), &mm)

	// A package file changed since capture stops a full build.
	require.NoError(t, os.WriteFile(root+"/opt/site/foo/data.txt", []byte("changed\n"), 0o644))
	_, err = Build(ctx, m, mb, BuildOptions{Root: root, TempDir: t.TempDir(), Closure: ClosureFull})
	require.ErrorContains(t, err, "package foo 1.0 at /opt/site/foo-1.0.dist-info changed since capture")
	// The imported closure does not need that file.
	_, err = Build(ctx, m, mb, BuildOptions{Root: root, TempDir: t.TempDir()})
	require.NoError(t, err)
}
