package lockfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	l := &Lock{Path: "poetry.lock", Format: FormatPoetry, Packages: []Package{
		{Name: "numpy", Version: "1.26.4", Kind: "pypi"},
		{Name: "foo", Version: "1.0", Kind: "pypi"},
		{Name: "pywin32", Version: "306", Kind: "pypi", Markers: `sys_platform == "win32"`},
		{Name: "colorama", Version: "0.4.6", Kind: "pypi", Markers: `platform_system == "Windows"`},
		{Name: "appnope", Version: "0.1.4", Kind: "pypi", Markers: `sys_platform == "darwin"`},
		{Name: "old", Version: "1.0", Kind: "pypi", Markers: `python_version < "3.8"`},
		{Name: "gpu-extra", Version: "1.0", Kind: "pypi", Markers: `extra == "gpu"`},
		{Name: "torch", Version: "2.5.1", Kind: "pypi"},
		{Name: "scipy", Version: "1.11.0", Kind: "pypi"},
		{Name: "requests", Kind: "pypi"},
		{Name: "unpinned-missing", Kind: "pypi"},
		{Name: "openssl", Version: "3.0", Kind: "conda"},
		{Name: "me", Version: "0.1.0", Source: "virtual:.", Kind: "pypi"},
		{Name: "", Source: "editable:.", Kind: "pypi"},
		{Name: "mac-only", Version: "1", Kind: "pypi", Platform: "osx-arm64"},
		{Name: "multi", Version: "2.9.1", Kind: "pypi"},
		{Name: "multi", Version: "2.9.1+cu128", Kind: "pypi"},
	}}
	installed := map[string]string{
		"NumPy": "1.24.2", "torch": "2.5.1+cu121", "scipy": "1.11", "requests": "2.0",
		"multi": "2.9.1+cu128",
	}
	drift := Compare(l, installed)
	var msgs []string
	for _, d := range drift {
		msgs = append(msgs, d.Message)
	}
	assert.Equal(t, []string{
		"poetry.lock pins foo 1.0; not installed",
		"poetry.lock pins gpu-extra 1.0; not installed",
		"poetry.lock pins numpy 1.26.4; installed 1.24.2",
		"poetry.lock lists unpinned-missing; not installed",
	}, msgs)
	assert.Equal(t, Drift{Package: "numpy", Locked: "1.26.4", Installed: "1.24.2", Message: "poetry.lock pins numpy 1.26.4; installed 1.24.2"}, drift[2])

	// Several entries for one name: drift only when none matches.
	drift = Compare(l, map[string]string{"multi": "2.8.0"})
	var multi *Drift
	for i := range drift {
		if drift[i].Package == "multi" {
			multi = &drift[i]
		}
	}
	require.NotNil(t, multi)
	assert.Equal(t, "poetry.lock pins multi 2.9.1 or 2.9.1+cu128; installed 2.8.0", multi.Message)
}

func TestCompareGroups(t *testing.T) {
	l := &Lock{Path: "poetry.lock", Packages: []Package{
		{Name: "pytest", Version: "8.0", Kind: "pypi", Groups: []string{"dev"}},
		{Name: "black", Version: "24.1", Kind: "pypi", Groups: []string{"dev"}},
		{Name: "extra-only", Version: "1.0", Kind: "pypi", Optional: true},
		{Name: "both", Version: "1.0", Kind: "pypi", Groups: []string{"dev", "main"}},
	}}
	var msgs []string
	for _, d := range Compare(l, map[string]string{"black": "23.0"}) {
		msgs = append(msgs, d.Message)
	}
	assert.Equal(t, []string{
		"poetry.lock pins black 24.1; installed 23.0",
		"poetry.lock pins both 1.0; not installed",
	}, msgs, "dev-only and optional entries are not reported missing")

	pf, err := Parse("Pipfile.lock", []byte(`{"_meta": {}, "default": {"six": {"version": "==1.16.0"}}, "develop": {"six": {"version": "==1.16.0"}, "pytest": {"version": "==8.0"}}}`))
	require.NoError(t, err)
	require.Len(t, pf.Packages, 2)
	assert.Equal(t, []string{"default", "develop"}, one(t, pf, "six").Groups, "one entry, both groups")
	assert.Equal(t, []string{"develop"}, one(t, pf, "pytest").Groups)
}

func TestCompareUVSample(t *testing.T) {
	l, err := ParseFile("testdata/locks/uv/nanochat/uv.lock")
	require.NoError(t, err)
	l.Path = "uv.lock"
	installed := map[string]string{}
	for _, p := range l.Packages {
		if MarkerApplies(p.Markers, DefaultEnv()) && p.Source != "virtual:." {
			installed[p.Name] = p.Version
		}
	}
	assert.Empty(t, Compare(l, installed), "an environment installed from the lock has no drift")
	installed["torch"] = "2.0.0"
	d := Compare(l, installed)
	require.Len(t, d, 1)
	assert.Contains(t, d[0].Message, "uv.lock pins torch 2.9.1 or 2.9.1+cpu or 2.9.1+cu128; installed 2.0.0")
}

func TestMarkers(t *testing.T) {
	env := DefaultEnv()
	cases := map[string]bool{
		`sys_platform == "win32"`:                                          false,
		`sys_platform == 'linux'`:                                          true,
		`platform_system == "Windows"`:                                     false,
		`sys_platform == "darwin" or platform_system == "Darwin"`:          false,
		`os_name == "nt" or sys_platform == "win32"`:                       false,
		`python_version < "3.10"`:                                          false,
		`python_version >= "3.8" and python_version < '3.12'`:              true,
		`python_full_version == '3.11.*'`:                                  true,
		`python_full_version >= '3.12'`:                                    false,
		`python_full_version < '3.11.4'`:                                   true, // unknown patch level: applies
		`extra == "gpu"`:                                                   true, // unknown: applies
		`extra == "gpu" and sys_platform == "win32"`:                       false,
		`(sys_platform == "win32" or extra == "x") and os_name == "posix"`: true,
		`python_version not in '3.0, 3.1, 3.2, 3.3'`:                       true,
		`"linux" in sys_platform`:                                          true,
		`platform_python_implementation != "PyPy"`:                         true,
		`python_version ~= "3.9"`:                                          true,
		`python_version ~= "3.12"`:                                         false,
		`implementation_name == "pypy"`:                                    false,
	}
	for m, want := range cases {
		assert.Equal(t, want, MarkerApplies(m, env), m)
	}
	for _, bad := range []string{`sys_platform ==`, `foo == "1"`, `(python_version < "3"`, `python_version <> "3"`, `"a" "b"`, `python_version < "3" or`} {
		_, err := parseMarker(bad)
		assert.Error(t, err, bad)
	}
}

func TestVersionMatches(t *testing.T) {
	for _, c := range []struct {
		locked, installed string
		want              bool
	}{
		{"1.0", "1.0.0", true},
		{"1.26.4", "1.24.2", false},
		{"2.5.1", "2.5.1+cu121", true},
		{"2.5.1+cu121", "2.5.1", false},
		{"2.5.1+cu121", "2.5.1+CU121", true},
		{"1.0a1", "1.0.alpha.1", true},
		{"1.0.post1", "1.0-1", true},
		{"2023c", "2023c", true},
		{"1.0.dev0", "1.0", false},
		{"v1.2", "1.2", true},
	} {
		assert.Equal(t, c.want, VersionMatches(c.locked, c.installed), "%s vs %s", c.locked, c.installed)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"requirements.txt", "requirements-dev.txt", "dev-requirements.txt", "constraints.txt",
		"requirements/base.txt", "requirements/notes.md",
		"Pipfile.lock", "poetry.lock", "uv.lock", "pylock.toml", "pylock.gpu.toml",
		"environment.yml", "conda-lock.yml", "linux.conda-lock.yml", "pixi.lock",
		"README.md", "setup.py", "notes.txt",
		".venv/requirements.txt", "node_modules/x/requirements.txt", ".git/poetry.lock", "sub/uv.lock",
	} {
		p := filepath.Join(dir, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x==1\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "conda-linux-64.lock"), []byte("# platform: linux-64\n@EXPLICIT\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "spec-file.txt"), []byte("@EXPLICIT\n"), 0o644))
	require.NoError(t, os.Symlink("/nonexistent", filepath.Join(dir, "requirements-broken.txt")))
	got, err := Find(dir)
	require.NoError(t, err)
	var rel []string
	for _, p := range got {
		r, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		rel = append(rel, filepath.ToSlash(r))
	}
	assert.Equal(t, []string{
		"Pipfile.lock", "conda-linux-64.lock", "conda-lock.yml", "constraints.txt", "dev-requirements.txt",
		"environment.yml", "linux.conda-lock.yml", "pixi.lock", "poetry.lock", "pylock.gpu.toml", "pylock.toml",
		"requirements-dev.txt", "requirements.txt", "requirements/base.txt", "spec-file.txt", "uv.lock",
	}, rel)

	_, err = Find(filepath.Join(dir, "missing"))
	assert.Error(t, err)
}

func TestFormatsAllParse(t *testing.T) {
	assert.Len(t, Formats(), 12)
	for _, f := range Formats() {
		_, err := ParseFormat(f, "empty", nil)
		// Empty input is either an empty lock or a clear error, never a panic.
		if err != nil {
			assert.Contains(t, err.Error(), "empty")
		}
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("numpy==1.26.4\nscipy==1.11.4\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "poetry.lock"), []byte("[[package]\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "requirements"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "requirements", "dev.txt"), []byte("-r ../requirements.txt\npytest==8.0\n"), 0o644))
	locks, drift, problems, err := Scan(dir, map[string]string{"numpy": "1.24.2", "scipy": "1.11.4"})
	require.NoError(t, err)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].Error(), "poetry.lock:2: invalid TOML")
	require.Len(t, locks, 2)
	assert.Equal(t, "requirements.txt", locks[0].Path)
	assert.Equal(t, FormatRequirements, locks[0].Format)
	assert.Equal(t, 2, locks[0].Packages)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, locks[0].Digest)
	assert.Equal(t, "requirements/dev.txt", locks[1].Path)
	assert.Equal(t, 3, locks[1].Packages, "includes are followed")
	var msgs []string
	for _, d := range drift {
		msgs = append(msgs, d.LockFile+": "+d.Message)
	}
	assert.Equal(t, []string{
		"requirements.txt: requirements.txt pins numpy 1.26.4; installed 1.24.2",
		"requirements/dev.txt: requirements/dev.txt pins numpy 1.26.4; installed 1.24.2",
		"requirements/dev.txt: requirements/dev.txt pins pytest 8.0; not installed",
	}, msgs)
}

func TestCompareNamesAbsoluteLockByBase(t *testing.T) {
	l := &Lock{Path: "/home/me/proj/uv.lock", Packages: []Package{{Name: "foo", Version: "1.0", Kind: "pypi"}}}
	d := Compare(l, nil)
	require.Len(t, d, 1)
	assert.Equal(t, "uv.lock pins foo 1.0; not installed", d[0].Message)
}
