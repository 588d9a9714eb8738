package lockfmt

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func goldenBytes(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "golden.toml"))
	require.NoError(t, err)
	return b
}

// lineOf returns the 1-based line of the first line of data containing s.
func lineOf(t *testing.T, data, s string) int {
	for i, l := range strings.Split(data, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in data", s)
	return 0
}

// TestDecodeErrors: each kind of bad manifest is an error naming the key and
// its line.
func TestDecodeErrors(t *testing.T) {
	golden := string(goldenBytes(t))
	tests := []struct {
		name    string
		edit    func(string) string
		marker  string // text on the line the error must name
		message string
	}{
		{"unknown key", func(s string) string {
			return strings.Replace(s, "run.argv =", "run.argvv =", 1)
		}, "run.argvv", "unknown key run.argvv"},
		{"unknown section", func(s string) string {
			return strings.Replace(s, "tool.name =", "tol.name =", 1)
		}, "tol.name", "unknown key tol"},
		{"unknown key in file entry", func(s string) string {
			return strings.Replace(s, `{ path = "/home/alice/exp/train.py",`, `{ path = "/home/alice/exp/train.py", colour = "red",`, 1)
		}, "colour", "unknown key file[2].colour"},
		{"wrong type", func(s string) string {
			return strings.Replace(s, "run.exit_code = 0", `run.exit_code = "0"`, 1)
		}, "run.exit_code", "key run.exit_code: want integer, got string"},
		{"wrong type in list", func(s string) string {
			return strings.Replace(s, `size = 1024,`, `size = 10.5,`, 1)
		}, "size = 10.5", "key file[1].size: want integer, got float"},
		{"missing required", func(s string) string {
			return strings.Replace(s, "run.workdir = \"/home/alice/exp\"\n", "", 1)
		}, "run.argv", "missing required key run.workdir"},
		{"missing required in entry", func(s string) string {
			return strings.Replace(s, `mode = "0644", size = 1024,`, `size = 1024,`, 1)
		}, `"/home/alice/exp/model/net.py"`, "missing required key file[1].mode"},
		{"schema version", func(s string) string {
			return strings.Replace(s, "schema = 1", "schema = 2", 1)
		}, "schema = 2", "unsupported manifest schema version 2"},
		{"syntax", func(s string) string {
			return strings.Replace(s, "run.uid = 1000", "run.uid = = 1000", 1)
		}, "run.uid", ""},
		{"duplicate key", func(s string) string {
			return strings.Replace(s, "run.uid = 1000", "run.uid = 1000\nrun.uid = 1001", 1)
		}, "run.uid = 1001", "already"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.edit(golden)
			require.NotEqual(t, golden, data, "edit did not apply")
			_, err := Decode([]byte(data))
			require.Error(t, err)
			var de *DecodeError
			require.True(t, errors.As(err, &de), "%T %v", err, err)
			assert.Equal(t, lineOf(t, data, tt.marker), de.Line, "%v", err)
			assert.Contains(t, err.Error(), tt.message)
			assert.True(t, strings.HasPrefix(err.Error(), "line "), "%v", err)
		})
	}
}

func TestDecodeSchemaSentinel(t *testing.T) {
	_, err := Decode([]byte("schema = 9\n"))
	require.ErrorIs(t, err, ErrSchemaVersion)
	_, err = Decode([]byte("tool.name = \"repro\"\n"))
	require.ErrorContains(t, err, "schema")
}

// TestDecodeTableForms: standard TOML spellings of the same content
// ([tables], [[arrays of tables]]) decode like Encode's dotted form.
func TestDecodeTableForms(t *testing.T) {
	doc := `schema = 1
[tool]
name = "repro"
version = "v1"
created = "2026-01-01T00:00:00Z"
[run]
argv = ["python3", "x.py"]
workdir = "/w"
exit_code = 0
duration_ms = 1
uid = 0
gid = 0
runs = 1
[run.env]
A = "1"
[python]
executable = ""
real_executable = ""
version = ""
implementation = ""
prefix = ""
base_prefix = ""
path = []
modules = 0
processes = 0
[os]
id = "debian"
kernel = "6"
libc = "glibc"
arch = "amd64"
[cpu]
arch = "x86_64"
cores = 1
flags = []
[determinism]
hash_seed = "0"
hash_seed_set_by = "repro"
seed = -1
deterministic = false
[[file]]
path = "/a"
type = "dir"
mode = "0755"
role = "system"
[[file]]
path = "/a/b"
type = "file"
mode = "0644"
digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
role = "system"
bogus = 1
`
	_, err := Decode([]byte(doc))
	require.Error(t, err)
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, strings.Count(doc, "\n"), de.Line)
	assert.Contains(t, err.Error(), "unknown key file[1].bogus")

	m, err := Decode([]byte(strings.Replace(doc, "bogus = 1\n", "", 1)))
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	assert.Len(t, m.Files, 2)
	assert.Equal(t, map[string]string{"A": "1"}, m.Run.Env)
}

func TestReadFileErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "manifest.toml")
	data := strings.Replace(string(goldenBytes(t)), "run.argv =", "run.argvv =", 1)
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	_, raw, err := ReadFile(p)
	require.Error(t, err)
	assert.Equal(t, data, string(raw))
	assert.Equal(t, p+":"+strconv.Itoa(lineOf(t, data, "run.argvv"))+": unknown key run.argvv", err.Error())
	var de *DecodeError
	assert.ErrorAs(t, err, &de)

	_, _, err = ReadFile(filepath.Join(dir, "missing.toml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
