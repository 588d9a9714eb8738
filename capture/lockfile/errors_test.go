package lockfile

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMalformed checks that bad input is an error naming the file and the
// line, for every format.
func TestMalformed(t *testing.T) {
	cases := []struct {
		format, path, data string
		line               int
		contains           string
	}{
		{FormatRequirements, "requirements.txt", "six==1\nsix==1\n\nsix==1\n\nsix==1\nnumpy===\n", 7, `requirements.txt:7: invalid requirement "numpy==="`},
		{FormatRequirements, "requirements.txt", "a==1 \\\n  --hash=sha256:zz\n", 1, "invalid hash"},
		{FormatRequirements, "requirements.txt", "--bogus\n", 1, `unknown option "--bogus"`},
		{FormatRequirements, "requirements.txt", "x\nfoo[bar==1\n", 2, "unclosed extras"},
		{FormatRequirements, "requirements.txt", "foo==1 ; python_version >>> '3'\n", 1, "marker"},
		{FormatRequirements, "requirements.txt", "-e\n", 1, "--editable needs"},
		{FormatRequirements, "requirements.txt", "-e foo==1.0\n", 1, "invalid editable requirement"},
		{FormatPipFreeze, "freeze.txt", "ok==1\n@@@\n", 2, "invalid requirement"},
		{FormatPipInspect, "inspect.json", "{\n  \"version\": \"1\",\n  \"installed\": [\n    {\"metadata\": {\"name\": 3}}\n  ]\n}\n", 4, "metadata.name"},
		{FormatPipInspect, "inspect.json", "{\n  \"version\": \"2\", \"installed\": []}\n", 2, "unsupported pip inspect version"},
		{FormatPipInspect, "inspect.json", "{\n\"version\": \"1\",\n\"installed\": [\n {\"metadata\": {}}]}\n", 4, "without metadata.name"},
		{FormatPipReport, "report.json", "{\"version\": \"1\",\n\"install\": [\n,]}", 3, "invalid JSON"},
		{FormatPipfileLock, "Pipfile.lock", "{\"_meta\": {},\n\"default\": {\n  \"six\": {\"hashes\": [\"md5\"]}}}\n", 3, "invalid hash"},
		{FormatPipfileLock, "Pipfile.lock", "{\"_meta\": {},\n\"default\": {\n  \"six\": {\"version\": 1}}}\n", 3, "invalid JSON"},
		{FormatPoetry, "poetry.lock", "[[package]]\nname = \"a\"\nversion = \"1\"\n\n[[package]]\nversion = \"2\"\n", 5, "without a valid name"},
		{FormatPoetry, "poetry.lock", "[[package]]\nname = \"a\"\nversion = 1\n", 3, "invalid TOML"},
		{FormatPoetry, "poetry.lock", "[[package]\nname = \"a\"\n", 2, "invalid TOML"},
		{FormatPoetry, "poetry.lock", "[metadata]\nlock-version = \"3.0\"\n", 0, "unsupported poetry lock-version"},
		{FormatUV, "uv.lock", "version = 1\n\n[[package]]\nname = \"a\"\nsource = { registry = \"x\" }\nwheels = [{ hash = \"sha256\" }]\n", 3, "invalid hash"},
		{FormatUV, "uv.lock", "version = 2\n", 1, "unsupported uv.lock version"},
		{FormatUV, "uv.lock", "revision = 3\n", 1, "no top-level version"},
		{FormatPylock, "pylock.toml", "lock-version = \"2.0\"\n", 1, "unsupported pylock"},
		{FormatPylock, "pylock.toml", "lock-version = \"1.0\"\n[[packages]]\nname = \"ok\"\n[[packages]]\nname = \"bad name!\"\n", 4, "without a valid name"},
		{FormatEnvironmentYML, "environment.yml", "name: x\ndependencies:\n  - numpy=1.2\n  - 'numpy 1.0 py_0 extra'\n", 4, "invalid conda package spec"},
		{FormatEnvironmentYML, "environment.yml", "name: x\ndependencies:\n  - pip:\n    - ok==1\n    - foo===\n", 5, "invalid requirement"},
		{FormatEnvironmentYML, "environment.yml", "name: x\ndependencies: [\n", 2, "invalid YAML"},
		{FormatEnvironmentYML, "environment.yml", "- a\n- b\n", 1, "not a mapping"},
		{FormatCondaExplicit, "explicit.txt", "@EXPLICIT\nhttps://c/conda-forge/linux-64/zlib-1.2.13-h0_5.conda#1234\n", 2, "invalid package line"},
		{FormatCondaExplicit, "explicit.txt", "@EXPLICIT\nhttps://c/conda-forge/linux-64/zlib.conda\n", 2, "invalid package file name"},
		{FormatCondaLock, "conda-lock.yml", "version: 1\npackage:\n- name: a\n  manager: conda\n- version: '1'\n", 5, "without a name"},
		{FormatCondaLock, "conda-lock.yml", "version: 2\n", 1, "unsupported conda-lock version"},
		{FormatCondaLock, "conda-lock.yml", "version: 1\npackage:\n- name: a\n  manager: npm\n", 3, "unknown manager"},
		{FormatPixi, "pixi.lock", "version: 3\n", 1, "unsupported pixi.lock version"},
		{FormatPixi, "pixi.lock", "version: 6\npackages:\n- conda: https://x/linux-64/zlib.conda\n", 3, "without a name"},
		{FormatPixi, "pixi.lock", "version: 6\npackages:\n- npm: https://x\n", 3, "unknown kind"},
	}
	for _, c := range cases {
		t.Run(c.format+"/"+c.contains, func(t *testing.T) {
			_, err := ParseFormat(c.format, c.path, []byte(c.data))
			require.Error(t, err)
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "error %v is not a *ParseError", err)
			assert.Equal(t, c.path, pe.Path)
			assert.Equal(t, c.line, pe.Line, "line of %v", err)
			assert.Contains(t, err.Error(), c.contains)
		})
	}
}

func TestParseUnknown(t *testing.T) {
	_, err := Parse("README.md", []byte("# hello\n\nworld\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "README.md: not a recognised lock")
	_, err = ParseFormat("npm", "package-lock.json", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown lock format "npm"`)
}
