package pydist

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFileListFallbacks covers distributions without RECORD: an .egg-info
// with installed-files.txt, an .egg-info file (PKG-INFO contents) and an
// .egg-info directory with only top_level.txt.
func TestFileListFallbacks(t *testing.T) {
	site := filepath.Join(t.TempDir(), "site-packages")
	w := func(rel, body string) {
		p := filepath.Join(site, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	w("alpha/__init__.py", "A = 1\n")
	w("alpha-1.0-py3.11.egg-info/PKG-INFO", "Metadata-Version: 1.1\nName: alpha\nVersion: 1.0\n")
	w("alpha-1.0-py3.11.egg-info/installed-files.txt", "../alpha/__init__.py\nPKG-INFO\ninstalled-files.txt\n")
	w("beta.py", "B = 2\n")
	w("beta-2.0.egg-info", "Metadata-Version: 1.0\nName: beta\nVersion: 2.0\n")
	w("Gamma_Pkg/__init__.py", "")
	w("Gamma_Pkg/sub/mod.py", "x = 3\n")
	w("Gamma_Pkg/__pycache__/mod.cpython-311.pyc", "junk")
	w("Gamma_Pkg-0.5.egg-info/PKG-INFO", "Metadata-Version: 1.1\nName: Gamma.Pkg\nVersion: 0.5\n")
	w("Gamma_Pkg-0.5.egg-info/top_level.txt", "Gamma_Pkg\n../../etc\n")
	w("broken.dist-info/WHEEL", "no METADATA: ignored\n")

	ds, err := Scan([]string{site}, Options{})
	require.NoError(t, err)
	_, err = Check(ds, hashcache.New())
	require.NoError(t, err)
	require.Len(t, ds, 3)
	a, b, g := byName(ds, "alpha"), byName(ds, "beta"), byName(ds, "gamma-pkg")
	require.NotNil(t, a)
	require.NotNil(t, b)
	require.NotNil(t, g)
	assert.Equal(t, "installed-files.txt", a.FileList)
	assert.Equal(t, []string{
		filepath.Join(site, "alpha-1.0-py3.11.egg-info/PKG-INFO"),
		filepath.Join(site, "alpha-1.0-py3.11.egg-info/installed-files.txt"),
		filepath.Join(site, "alpha/__init__.py"),
	}, a.Files)
	assert.Equal(t, "", a.Source, "no installer, no source")
	assert.Equal(t, "top_level.txt", b.FileList)
	assert.Equal(t, 1, b.Count, "an .egg-info file without top_level.txt: only itself")
	assert.Equal(t, "top_level.txt", g.FileList)
	assert.Equal(t, 4, g.Count) // PKG-INFO, top_level.txt, __init__.py, sub/mod.py
	for _, f := range g.Files {
		assert.NotContains(t, f, "__pycache__")
		assert.NotContains(t, f, "/etc")
	}
}

// TestDamagedMetadataWarns: damaged metadata degrades one distribution,
// never the scan.
func TestDamagedMetadataWarns(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "site-packages")
	w := func(rel, body string) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	w("site-packages/nameless-1.0.dist-info/METADATA", "Metadata-Version: 2.1\n")
	w("site-packages/badrec-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: badrec\nVersion: 1.0\n")
	w("site-packages/badrec-1.0.dist-info/RECORD", "\"unterminated\n")
	w("conda-meta/ok-1-0.json", `{"name": "ok", "version": "1", "build": "0", "channel": "defaults", "files": []}`)
	w("conda-meta/broken-1-0.json", `{"name": `)
	var warns []string
	opts := Options{Warn: func(f string, a ...any) { warns = append(warns, fmt.Sprintf(f, a...)) }}
	ds, err := Scan([]string{site}, opts)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "top_level.txt", ds[0].FileList)
	cs, err := ScanConda(root, opts)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, "conda:defaults", cs[0].Source)
	require.Len(t, warns, 3)
	assert.Contains(t, warns[0], "RECORD")
	assert.Contains(t, warns[1], "nameless-1.0.dist-info")
	assert.Contains(t, warns[2], "broken-1-0.json")
}
