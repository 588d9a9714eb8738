package pydist

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/repro-ml/repro/internal/dpkg"
	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func byName(ds []*Dist, name string) *Dist {
	for _, d := range ds {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func pyVersion(t *testing.T, mod string) string {
	out, err := exec.Command("/usr/bin/python3", "-c", "import "+mod+"; print("+mod+".__version__)").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func TestDebianDistPackages(t *testing.T) {
	db, err := dpkg.Open("/")
	require.NoError(t, err)
	ds, err := Scan([]string{"/usr/lib/python3/dist-packages", "/nonexistent/site-packages"}, Options{DPKG: db})
	require.NoError(t, err)
	_, err = Check(ds, hashcache.New())
	require.NoError(t, err)
	for mod, name := range map[string]string{"numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn"} {
		d := byName(ds, name)
		require.NotNil(t, d, name)
		assert.Equal(t, pyVersion(t, mod), d.Version, name)
		assert.Equal(t, "dpkg", d.FileList, name)
		assert.Equal(t, "debian", d.Installer, name)
		assert.True(t, strings.HasPrefix(d.Source, "os:python3-"), d.Source)
		assert.Empty(t, d.Modified, name)
		assert.Greater(t, d.Count, 100, name)
		assert.Contains(t, d.Files, "/usr/lib/python3/dist-packages/"+mod+"/__init__.py")
	}
	// Debian ships cryptography's metadata twice; it is listed once.
	n := 0
	for _, d := range ds {
		if d.Name == "cryptography" {
			n++
		}
	}
	assert.LessOrEqual(t, n, 1)
}

func recordLine(rel string, content []byte) string {
	s := sha256.Sum256(content)
	return fmt.Sprintf("%s,sha256=%s,%d\n", rel, base64.RawURLEncoding.EncodeToString(s[:]), len(content))
}

// makeSite writes a pip-style distribution "Demo_Pkg" 1.0 with a RECORD, a
// script outside the site dir and a direct_url.json.
func makeSite(t *testing.T) (site string) {
	root := t.TempDir()
	site = filepath.Join(root, "lib/python3.11/site-packages")
	files := map[string]string{
		"demo_pkg/__init__.py":                   "x = 1\n",
		"demo_pkg/core.py":                       "def f():\n    return 42\n",
		"../../../bin/demo":                      "#!/usr/bin/python3\nimport demo_pkg\n",
		"demo_pkg-1.0.dist-info/METADATA":        "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.0\n\nbody\nName: not-this\n",
		"demo_pkg-1.0.dist-info/INSTALLER":       "pip\n",
		"demo_pkg-1.0.dist-info/direct_url.json": `{"url": "https://user:secret@example.com/demo.git", "vcs_info": {"vcs": "git", "requested_revision": "v1.0", "commit_id": "0123456789abcdef0123456789abcdef01234567"}}`,
	}
	var rec strings.Builder
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		c := files[rel]
		p := filepath.Join(site, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(c), 0o644))
		rec.WriteString(recordLine(rel, []byte(c)))
	}
	rec.WriteString("demo_pkg/__pycache__/core.cpython-311.pyc,,\n")
	rec.WriteString("demo_pkg-1.0.dist-info/RECORD,,\n")
	require.NoError(t, os.WriteFile(filepath.Join(site, "demo_pkg-1.0.dist-info/RECORD"), []byte(rec.String()), 0o644))
	return site
}

func TestRecordVerifyAndModified(t *testing.T) {
	site := makeSite(t)
	cache := hashcache.New()
	ds, err := Scan([]string{site}, Options{})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, "demo-pkg", d.Name)
	assert.Equal(t, "Demo_Pkg", d.RawName)
	assert.Equal(t, "1.0", d.Version)
	assert.Equal(t, "pip", d.Installer)
	assert.Equal(t, "vcs:git+https://example.com/demo.git@0123456789abcdef0123456789abcdef01234567", d.Source)
	_, err = Check(ds, cache)
	require.NoError(t, err)
	assert.Empty(t, d.Modified)
	assert.Equal(t, 7, d.Count) // 6 files + RECORD, no .pyc
	clean := d.Digest
	assert.Contains(t, d.Files, filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(site))), "bin/demo"))

	// Same tree elsewhere: same digest.
	site2 := makeSite(t)
	ds2, err := Scan([]string{site2}, Options{})
	require.NoError(t, err)
	_, err = Check(ds2, cache)
	require.NoError(t, err)
	assert.Equal(t, clean, ds2[0].Digest)

	// One byte changed: reported modified, digest changes.
	p := filepath.Join(site, "demo_pkg/core.py")
	require.NoError(t, os.WriteFile(p, []byte("def f():\n    return 43\n"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(site, "demo_pkg/__init__.py")))
	_, err = Check(ds, cache)
	require.NoError(t, err)
	assert.Equal(t, []string{"demo_pkg/__init__.py (missing)", "demo_pkg/core.py"}, d.Modified)
	assert.NotEqual(t, clean, d.Digest)
}

func TestDpkgModifiedFixture(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "usr/lib/python3/dist-packages")
	require.NoError(t, os.MkdirAll(filepath.Join(site, "foo-2.0.egg-info"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(site, "foo"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/dpkg/info"), 0o755))
	w := func(p, s string) { require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(s), 0o644)) }
	w("usr/lib/python3/dist-packages/foo-2.0.egg-info/PKG-INFO", "Metadata-Version: 1.2\nName: foo\nVersion: 2.0\n")
	w("usr/lib/python3/dist-packages/foo/__init__.py", "A = 1\n")
	// dpkg database paths are absolute on the host: use the fixture's real location.
	list := strings.Join([]string{site, site + "/foo-2.0.egg-info", site + "/foo-2.0.egg-info/PKG-INFO", site + "/foo", site + "/foo/__init__.py", "/usr/share/doc/python3-foo/copyright"}, "\n") + "\n"
	w("var/lib/dpkg/info/python3-foo.list", list)
	w("var/lib/dpkg/status", "Package: python3-foo\nStatus: install ok installed\nArchitecture: all\nVersion: 2.0-1\n")
	md5 := func(s string) string { return fmt.Sprintf("%x", mustMD5(s)) }
	w("var/lib/dpkg/info/python3-foo.md5sums", md5("A = 1\n")+"  "+strings.TrimPrefix(site, "/")+"/foo/__init__.py\n")
	db, err := dpkg.Open(root)
	require.NoError(t, err)
	ds, err := Scan([]string{site}, Options{DPKG: db})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, "python3-foo 2.0-1", d.OSPackage)
	assert.Equal(t, "os:python3-foo", d.Source)
	_, err = Check(ds, hashcache.New())
	require.NoError(t, err)
	assert.Equal(t, []string{site + "/foo-2.0.egg-info/PKG-INFO", site + "/foo/__init__.py"}, d.Files)
	assert.Empty(t, d.Modified)
	// Patch after installation: ctime moves past the md5sums file's.
	w("usr/lib/python3/dist-packages/foo/__init__.py", "A = 2\n")
	_, err = Check(ds, hashcache.New())
	require.NoError(t, err)
	assert.Equal(t, []string{"foo/__init__.py"}, d.Modified)
}

func TestCondaFixture(t *testing.T) {
	prefix, err := filepath.Abs("../../testdata/conda-env")
	require.NoError(t, err)
	require.True(t, IsCondaPrefix(prefix))
	ds, err := ScanConda(prefix, Options{})
	require.NoError(t, err)
	require.Len(t, ds, 2)
	_, err = Check(ds, hashcache.New())
	require.NoError(t, err)
	lt, tp := ds[0], ds[1]
	assert.Equal(t, "libtiny", lt.Name)
	assert.Equal(t, "conda:pkgs/main", lt.Source)
	assert.Equal(t, "h7f98852_1", lt.Build)
	assert.Equal(t, 2, lt.Count)
	assert.Equal(t, "tinypkg", tp.Name)
	assert.Equal(t, "0.3.1", tp.Version)
	assert.Equal(t, "conda", tp.Installer)
	assert.Equal(t, "conda:conda-forge", tp.Source)
	assert.Equal(t, "0f3a6c3e1b2d4e5f60718293a4b5c6d7", tp.MD5)
	assert.Empty(t, tp.Modified)
	assert.Equal(t, filepath.Join(prefix, "conda-meta/tinypkg-0.3.1-py311h2f0e5a1_0.json"), tp.Location)
}

func TestParseDirectURL(t *testing.T) {
	cases := map[string]string{
		`{"url": "file:///home/u/proj", "dir_info": {"editable": true}}`:                            "editable:/home/u/proj",
		`{"url": "file:///home/u/proj", "dir_info": {}}`:                                            "local:/home/u/proj",
		`{"url": "https://example.com/x-1.0.tar.gz", "archive_info": {"hashes": {"sha256": "ab"}}}`: "url:https://example.com/x-1.0.tar.gz",
		`{"url": "ssh://git@example.com/x.git", "vcs_info": {"vcs": "git", "commit_id": "abc"}}`:    "vcs:git+ssh://git@example.com/x.git@abc",
	}
	for in, want := range cases {
		got, err := ParseDirectURL([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	_, err := ParseDirectURL([]byte(`{}`))
	require.Error(t, err)
}

func TestParseRecordErrors(t *testing.T) {
	_, err := ParseRecord([]byte("a,sha256=x,1\n\"unterminated,\n"))
	require.Error(t, err)
	_, err = ParseRecord([]byte("a,,\n,sha256=x,1\n"))
	require.ErrorContains(t, err, "line 2")
	algo, h, ok := RecordHash("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
	require.True(t, ok)
	assert.Equal(t, "sha256", algo)
	assert.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", h)
}

func TestNormalize(t *testing.T) {
	assert.Equal(t, "scikit-learn", Normalize("scikit_learn"))
	assert.Equal(t, "zope-event", Normalize("zope.event"))
	assert.Equal(t, "a-b", Normalize("A__-.B"))
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("demo/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\ndemo-1.0.dist-info/RECORD,,\n"))
	f.Add([]byte("\"a,b\",sha256=,\r\n../../bin/x,,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ParseRecord(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Path == "" {
				t.Fatal("empty path accepted")
			}
			_, _, _ = RecordHash(r.Hash)
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: x\nVersion: 1\n\nbody"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ParseMetadata(b)
		_, _ = ParseDirectURL(b)
		_, _ = ParseCondaMeta(b, "/p")
	})
}

func mustMD5(s string) [16]byte { return md5Sum([]byte(s)) }
