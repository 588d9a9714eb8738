package capture

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/lockfmt"
)

// TestStackPyenvInterpreter: an interpreter with its own prefix, linked
// against its own libpython through an absolute RUNPATH.
func TestStackPyenvInterpreter(t *testing.T) {
	const pyenv = "/root/.pyenv/versions/3.11.7/bin/python3.11"
	require.FileExists(t, pyenv, "this test needs pyenv's CPython 3.11.7 built with --enable-shared (pyenv install 3.11.7)")
	wd := t.TempDir()
	reports := probeRun(t, pyenv, wd, "import json, decimal, six; print(json.dumps([1]))")
	m := gather(t, reports, wd, stackHashes)
	assert.Equal(t, "/root/.pyenv/versions/3.11.7", m.Python.Prefix)
	assert.Equal(t, "3.11.7", m.Python.Version)
	var libpy *lockfmt.Library
	for i := range m.Libraries {
		if m.Libraries[i].Soname == "libpython3.11.so.1.0" {
			libpy = &m.Libraries[i]
		}
	}
	require.NotNil(t, libpy)
	assert.Equal(t, "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", libpy.Path)
	assert.Equal(t, "unowned", libpy.Package)
	assert.True(t, libpy.Loaded)
	for p, role := range map[string]string{
		"/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0":            lockfmt.RoleInterpreter,
		"/root/.pyenv/versions/3.11.7/bin/python3.11":                      lockfmt.RoleInterpreter,
		"/root/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py":     lockfmt.RoleInterpreter,
		"/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/six.py": lockfmt.RolePackages,
	} {
		f := fileAt(m, p)
		require.NotNil(t, f, p)
		assert.Equal(t, role, f.Role, p)
	}
	six := pkgNamed(m, "six")
	require.NotNil(t, six)
	assert.True(t, six.Imported)
	assert.Equal(t, "pip", six.Installer)
	assert.Equal(t, "index", six.Source)
	// The lib-dynload module the run loaded is recorded.
	var dyn bool
	for _, f := range m.Files {
		dyn = dyn || strings.Contains(f.Path, "/lib-dynload/_decimal")
	}
	assert.True(t, dyn)
}

// TestStackVenvSystemSitePackages: a venv made from Debian's python with
// --system-site-packages: symlinked interpreter, pyvenv.cfg, numpy from
// the system's dist-packages.
func TestStackVenvSystemSitePackages(t *testing.T) {
	venv := filepath.Join(t.TempDir(), "venv")
	out, err := exec.Command(python, "-m", "venv", "--system-site-packages", "--without-pip", venv).CombinedOutput()
	require.NoError(t, err, string(out))
	wd := t.TempDir()
	reports := probeRun(t, filepath.Join(venv, "bin", "python"), wd, "import numpy; print(numpy.__version__)")
	m := gather(t, reports, wd, stackHashes)
	assert.Equal(t, venv, m.Python.Prefix)
	assert.Equal(t, "/usr", m.Python.BasePrefix)
	for p, w := range map[string]lockfmt.File{
		filepath.Join(venv, "bin/python"):                  {Type: lockfmt.TypeSymlink, Target: "python3", Role: lockfmt.RoleInterpreter},
		filepath.Join(venv, "bin/python3"):                 {Type: lockfmt.TypeSymlink, Target: python, Role: lockfmt.RoleInterpreter},
		filepath.Join(venv, "pyvenv.cfg"):                  {Type: lockfmt.TypeFile, Role: lockfmt.RoleInterpreter},
		"/usr/bin/python3":                                 {Type: lockfmt.TypeSymlink, Target: "python3.11", Role: lockfmt.RoleInterpreter},
		"/usr/bin/python3.11":                              {Type: lockfmt.TypeFile, Role: lockfmt.RoleInterpreter},
		"/usr/lib/python3/dist-packages/numpy/__init__.py": {Type: lockfmt.TypeFile, Role: lockfmt.RolePackages},
	} {
		f := fileAt(m, p)
		require.NotNil(t, f, p)
		assert.Equal(t, w.Type, f.Type, p)
		assert.Equal(t, w.Role, f.Role, p)
		if w.Target != "" {
			assert.Equal(t, w.Target, f.Target, p)
		}
	}
	np := pkgNamed(m, "numpy")
	require.NotNil(t, np)
	assert.True(t, np.Imported)
	assert.Equal(t, pyPrint(t, python, "numpy.__version__"), np.Version)
}

// TestStackVenvIsolated: a plain venv sees none of the system's packages.
func TestStackVenvIsolated(t *testing.T) {
	venv := filepath.Join(t.TempDir(), "venv")
	out, err := exec.Command(python, "-m", "venv", "--without-pip", venv).CombinedOutput()
	require.NoError(t, err, string(out))
	wd := t.TempDir()
	reports := probeRun(t, filepath.Join(venv, "bin", "python3"), wd, "import json")
	m := gather(t, reports, wd, stackHashes)
	assert.Nil(t, pkgNamed(m, "numpy"))
	assert.Equal(t, filepath.Join(venv, "bin", "python3"), m.Python.Executable)
	assert.Equal(t, "/usr/bin/python3.11", m.Python.RealExecutable)
	f := fileAt(m, filepath.Join(venv, "pyvenv.cfg"))
	require.NotNil(t, f)
	assert.Equal(t, lockfmt.RoleInterpreter, f.Role)
}

// TestStackCondaPrefix: a conda environment is read from conda-meta.
func TestStackCondaPrefix(t *testing.T) {
	prefix, err := filepath.Abs("../testdata/conda-env")
	require.NoError(t, err)
	site := filepath.Join(prefix, "lib/python3.11/site-packages")
	rep := ProbeReport{Executable: "/usr/bin/python3", RealExecutable: "/usr/bin/python3.11", Version: "3.11.2",
		Prefix: prefix, BasePrefix: prefix, Path: []string{site},
		Modules: []ProbeModule{{Name: "tinypkg", File: filepath.Join(site, "tinypkg/__init__.py")}}}
	m := gather(t, []ProbeReport{rep}, t.TempDir(), stackHashes)
	var conda *lockfmt.Package
	for i := range m.Packages {
		if m.Packages[i].Name == "tinypkg" && m.Packages[i].Installer == "conda" && strings.HasSuffix(m.Packages[i].Location, ".json") {
			conda = &m.Packages[i]
		}
	}
	require.NotNil(t, conda)
	assert.Equal(t, "0.3.1", conda.Version)
	assert.Equal(t, "conda:conda-forge", conda.Source)
	assert.Equal(t, "py311h2f0e5a1_0", conda.Build)
	assert.Equal(t, "0f3a6c3e1b2d4e5f60718293a4b5c6d7", conda.MD5)
	assert.True(t, conda.Imported)
	assert.Empty(t, conda.Modified)
	var pip *lockfmt.Package
	for i := range m.Packages {
		if strings.HasSuffix(m.Packages[i].Location, ".dist-info") {
			pip = &m.Packages[i]
		}
	}
	require.NotNil(t, pip, "the .dist-info of the conda package")
	assert.Equal(t, "conda:conda-forge", pip.Source)
	lt := pkgNamed(m, "libtiny")
	require.NotNil(t, lt)
	assert.False(t, lt.Imported)
}
