package dpkg

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dpkgQueryVersion(t *testing.T, pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	require.NoError(t, err)
	return string(out)
}

func TestHostOwners(t *testing.T) {
	db, err := Open("/")
	require.NoError(t, err)
	libc6 := dpkgQueryVersion(t, "libc6")
	for _, p := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"} {
		pkg, ok, err := db.Owner(p)
		require.NoError(t, err)
		require.True(t, ok, p)
		assert.Equal(t, Package{Name: "libc6:amd64", Version: libc6}, pkg)
		assert.Equal(t, "libc6:amd64 "+libc6, pkg.String())
	}
	pkg, ok, err := db.Owner("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "libopenblas0-pthread:amd64", pkg.Name)
	// The alternatives link itself belongs to no package.
	_, ok, err = db.Owner("/usr/lib/x86_64-linux-gnu/libblas.so.3")
	require.NoError(t, err)
	assert.False(t, ok)

	pkg, ok, err = db.Owner("/usr/lib/python3/dist-packages/numpy/__init__.py")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "python3-numpy", pkg.Name)
	assert.Equal(t, dpkgQueryVersion(t, "python3-numpy"), pkg.Version)

	files, err := db.Files("python3-numpy")
	require.NoError(t, err)
	assert.Contains(t, files, "/usr/lib/python3/dist-packages/numpy/__init__.py")
	sums, ct, err := db.MD5Sums("python3-numpy")
	require.NoError(t, err)
	assert.NotZero(t, ct)
	assert.Len(t, sums["/usr/lib/python3/dist-packages/numpy/__init__.py"], 32)
}

func TestFixtureDB(t *testing.T) {
	root := t.TempDir()
	info := filepath.Join(root, "var/lib/dpkg/info")
	require.NoError(t, os.MkdirAll(info, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755))
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(root, "lib")))
	write := func(p, s string) { require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(s), 0o644)) }
	write("var/lib/dpkg/status", "Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1.2-3\nDescription: foo\n multi-line\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 9\n")
	write("var/lib/dpkg/info/libfoo1:amd64.list", "/.\n/lib\n/lib/libfoo.so.1\n")
	write("var/lib/dpkg/info/libfoo1:amd64.md5sums", "d41d8cd98f00b204e9800998ecf8427e  lib/libfoo.so.1\n")
	db, err := Open(root)
	require.NoError(t, err)
	pkg, ok, err := db.Owner("/usr/lib/libfoo.so.1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "libfoo1:amd64 1.2-3", pkg.String())
	sums, _, err := db.MD5Sums("libfoo1:amd64")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"/lib/libfoo.so.1": "d41d8cd98f00b204e9800998ecf8427e"}, sums)
	_, err = Open(t.TempDir())
	require.Error(t, err)
}

func TestParseMD5SumsBad(t *testing.T) {
	_, err := ParseMD5Sums([]byte("d41d8cd98f00b204e9800998ecf8427e  a\nnot-a-sum x\n"))
	require.ErrorContains(t, err, "line 2")
}

func FuzzParseMD5Sums(f *testing.F) {
	f.Add([]byte("d41d8cd98f00b204e9800998ecf8427e  usr/bin/x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMD5Sums(b)
		if err == nil {
			for p := range m {
				if !strings.HasPrefix(p, "/") {
					t.Fatalf("relative path %q", p)
				}
			}
		}
	})
}

func BenchmarkHostIndex(b *testing.B) {
	for b.Loop() {
		db, err := Open("/")
		require.NoError(b, err)
		_, _, err = db.Owner("/usr/lib/x86_64-linux-gnu/libc.so.6")
		require.NoError(b, err)
	}
}
