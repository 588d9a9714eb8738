package lockfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byName returns the packages of l called name.
func byName(l *Lock, name string) []Package {
	var out []Package
	for _, p := range l.Packages {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

func one(t *testing.T, l *Lock, name string) Package {
	t.Helper()
	ps := byName(l, name)
	require.Len(t, ps, 1, "packages named %q", name)
	return ps[0]
}

func TestRequirementsEdgeCases(t *testing.T) {
	const h1 = "sha256:0C996F25C0490700FADABE6351630F6111534FA0AE252CC6D2014EA3B141135F"
	data := []byte(`# header comment
--index-url https://example.org/simple
Absl_Py==2.5.0 \
    --hash=` + h1 + ` \
    --hash sha256:0f17b89f2a4eaaedc4f28c622998aa690564b3012a396a4ffad0821007fe03ba
    # via -r build/test-requirements.txt
etils[epy, epath]==1.12.2 ; python_version <= "3.12"   # trailing comment
numpy>=1.26,<2
scipy (==1.11.4)
torch===2.5.1+cu121
-i https://download.example.org/whl/cu121
torchvision==0.20.1+cu121
demo @ https://example.org/demo-1.0-py3-none-any.whl#sha256=71e1ca6b16ae3382a698c284013f66504f2581099b2ce4801f60e9536236ceee
git+https://github.com/org/repo.git@v1.0#egg=Repo_Pkg&subdirectory=sub
-e git+https://github.com/org/ed.git@abc123#egg=editable_pkg
-e ./local/project
./wheels/simple.dist-0.1-py2.py3-none-any.whl
foo @ file:///tmp/foo ; sys_platform == "win32"
--extra-index-url https://extra.example.org/simple
--find-links ./wheels
--prefer-binary
`)
	l, err := ParseFormat(FormatRequirements, "requirements.txt", data)
	require.NoError(t, err)

	absl := one(t, l, "absl-py")
	assert.Equal(t, "2.5.0", absl.Version)
	assert.Equal(t, "https://example.org/simple", absl.Source)
	assert.Equal(t, []string{
		"sha256:0c996f25c0490700fadabe6351630f6111534fa0ae252cc6d2014ea3b141135f",
		"sha256:0f17b89f2a4eaaedc4f28c622998aa690564b3012a396a4ffad0821007fe03ba",
	}, absl.Hashes)

	etils := one(t, l, "etils")
	assert.Equal(t, []string{"epath", "epy"}, etils.Extras)
	assert.Equal(t, `python_version <= "3.12"`, etils.Markers)

	assert.Equal(t, "", one(t, l, "numpy").Version, "a range is not a pin")
	assert.Equal(t, "1.11.4", one(t, l, "scipy").Version)
	assert.Equal(t, "2.5.1+cu121", one(t, l, "torch").Version)
	assert.Equal(t, "https://download.example.org/whl/cu121", one(t, l, "torchvision").Source)

	demo := one(t, l, "demo")
	assert.Equal(t, "1.0", demo.Version, "version from the wheel file name")
	assert.Equal(t, "url:https://example.org/demo-1.0-py3-none-any.whl", demo.Source)
	assert.Equal(t, []string{"sha256:71e1ca6b16ae3382a698c284013f66504f2581099b2ce4801f60e9536236ceee"}, demo.Hashes)

	assert.Equal(t, "vcs:git+https://github.com/org/repo.git@v1.0#subdirectory=sub", one(t, l, "repo-pkg").Source)
	assert.Equal(t, "vcs:git+https://github.com/org/ed.git@abc123", one(t, l, "editable-pkg").Source)
	assert.Equal(t, "editable:./local/project", one(t, l, "").Source)

	simple := one(t, l, "simple-dist")
	assert.Equal(t, "0.1", simple.Version)
	assert.Equal(t, "path:./wheels/simple.dist-0.1-py2.py3-none-any.whl", simple.Source)

	foo := one(t, l, "foo")
	assert.Equal(t, "path:/tmp/foo", foo.Source)
	assert.Equal(t, `sys_platform == "win32"`, foo.Markers)

	for i := 1; i < len(l.Packages); i++ {
		assert.LessOrEqual(t, l.Packages[i-1].Name, l.Packages[i].Name, "sorted by name")
	}
}

func TestPipFreezeEditableComment(t *testing.T) {
	data := []byte(`# Editable Git install with no remote (demo-editable==0.1.0)
-e /src/demo_editable
# Editable install with no version control (other==2.0)
-e /src/other
Demo-VCS @ git+file:///src/demo_vcs@25ac2ca292599b1454c8c25018b995cfe551eaf0
legacy===1.0-custom
## The following requirements were added by pip freeze:
six==1.16.0
`)
	format, ok := Detect("freeze.txt", data)
	require.True(t, ok)
	require.Equal(t, FormatPipFreeze, format)
	l, err := Parse("freeze.txt", data)
	require.NoError(t, err)
	ed := one(t, l, "demo-editable")
	assert.Equal(t, "0.1.0", ed.Version)
	assert.Equal(t, "editable:/src/demo_editable", ed.Source)
	assert.Equal(t, "2.0", one(t, l, "other").Version)
	assert.Equal(t, "vcs:git+file:///src/demo_vcs@25ac2ca292599b1454c8c25018b995cfe551eaf0", one(t, l, "demo-vcs").Source)
	assert.Equal(t, "1.0-custom", one(t, l, "legacy").Version)
	assert.Equal(t, "1.16.0", one(t, l, "six").Version)

	// The sniffer recognises freeze output under any name.
	format, ok = Detect("env-snapshot.out", data)
	require.True(t, ok)
	assert.Equal(t, FormatPipFreeze, format)
}

func TestParseFileIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	write("base/common.txt", "six==1.16.0\n-c ../constraints.txt\n")
	write("constraints.txt", "numpy==1.26.4\nunused==9\n")
	top := write("requirements.txt", "-r base/common.txt\n--requirement=extra.txt\nnumpy\n")
	write("extra.txt", "-r base/common.txt\nrequests==2.31.0\n")
	l, err := ParseFile(top)
	require.NoError(t, err)
	assert.Equal(t, FormatRequirements, l.Format)
	assert.Equal(t, "1.16.0", one(t, l, "six").Version, "diamond include is not a cycle; duplicates merged")
	assert.Equal(t, "2.31.0", one(t, l, "requests").Version)
	assert.Empty(t, byName(l, "unused"), "constraints add no packages")
	assert.Equal(t, "", one(t, l, "numpy").Version, "constraints of an included file apply to that file only")

	write("a.txt", "-r b.txt\nsix==1\n")
	write("b.txt", "x==1\n-r a.txt\n")
	_, err = ParseFile(filepath.Join(dir, "a.txt"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "b.txt:2: include cycle")

	write("c.txt", "-r missing.txt\n")
	_, err = ParseFile(filepath.Join(dir, "c.txt"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "c.txt:1: reading included file")

	t.Setenv("REQ_DIR", filepath.Join(dir, "base"))
	write("env.txt", "-r ${REQ_DIR}/common.txt\n")
	l, err = ParseFile(filepath.Join(dir, "env.txt"))
	require.NoError(t, err)
	assert.Equal(t, "1.16.0", one(t, l, "six").Version, "${VAR} in an include is expanded")

	write("d.txt", "-c pins.txt\nnumpy\n")
	write("pins.txt", "numpy==2.0.0\n")
	l, err = ParseFile(filepath.Join(dir, "d.txt"))
	require.NoError(t, err)
	assert.Equal(t, "2.0.0", one(t, l, "numpy").Version, "a constraint pins an unpinned requirement")
}
