package lockfmt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateGolden(t *testing.T) {
	require.NoError(t, sampleManifest().Validate())
}

// TestValidateRejects: every rule Validate enforces, with an error naming
// the entry.
func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *Manifest)
		want string
	}{
		{"schema", func(m *Manifest) { m.Schema = 2 }, "schema: 2"},
		{"empty argv", func(m *Manifest) { m.Run.Argv = nil }, "run.argv: empty"},
		{"relative workdir", func(m *Manifest) { m.Run.WorkDir = "exp" }, `run.workdir: path "exp" must be absolute`},
		{"unclean workdir", func(m *Manifest) { m.Run.WorkDir = "/a/../b" }, "must be absolute and clean"},
		{"bad file digest", func(m *Manifest) { m.Files[0].Digest = "sha256:ABC" }, "file[0] /usr/lib/x86_64-linux-gnu/libc.so.6: digest"},
		{"upper-case digest", func(m *Manifest) {
			m.Libraries[0].Digest = "sha256:" + "A" + m.Libraries[0].Digest[8:]
		}, "library[0] /usr/lib/x86_64-linux-gnu/libc.so.6: digest"},
		{"relative file path", func(m *Manifest) { m.Files[1].Path = "usr/lib/libm.so.6" }, `file[1] usr/lib/libm.so.6: path`},
		{"duplicate file", func(m *Manifest) { m.Files[1].Path = m.Files[0].Path }, "file[1] /usr/lib/x86_64-linux-gnu/libc.so.6: duplicate of file[0]"},
		{"unknown role", func(m *Manifest) { m.Files[0].Role = "misc" }, `unknown role "misc"`},
		{"unknown type", func(m *Manifest) { m.Files[0].Type = "fifo" }, `unknown type "fifo"`},
		{"symlink without target", func(m *Manifest) { m.Files[2].Target = "" }, "file[2] /lib: symlink without target"},
		{"bad mode", func(m *Manifest) { m.Files[0].Mode = "755" }, `mode "755"`},
		{"file without digest", func(m *Manifest) { m.Files[0].Digest = "" }, "file[0]"},
		{"dir with digest", func(m *Manifest) { m.Files[3].Digest = d("x") }, "a directory has no digest"},
		{"library relative", func(m *Manifest) { m.Libraries[0].Path = "libc.so.6" }, "library[0] libc.so.6"},
		{"duplicate library", func(m *Manifest) { m.Libraries[1].Path = m.Libraries[0].Path }, "library[1]"},
		{"duplicate package", func(m *Manifest) { m.Packages[1] = m.Packages[0] }, "package[1] numpy"},
		{"package digest", func(m *Manifest) { m.Packages[0].Digest = "md5:x" }, "package[0] numpy: digest"},
		{"data relative", func(m *Manifest) { m.Data[0].Path = "data/mnist.npz" }, "data[0] data/mnist.npz path"},
		{"data without location", func(m *Manifest) { m.Data[0].Path, m.Data[0].URI, m.Data[0].Name = "", "", "" }, "needs a path or a uri"},
		{"data kind", func(m *Manifest) { m.Data[0].Kind = "blob" }, `unknown kind "blob"`},
		{"output absolute", func(m *Manifest) { m.Outputs[2].Path = "/tmp/model" }, "output[2] /tmp/model"},
		{"output escapes", func(m *Manifest) { m.Outputs[2].Path = "../model" }, "output[2] ../model"},
		{"output unclean", func(m *Manifest) { m.Outputs[2].Path = "out/./model" }, "output[2] out/./model"},
		{"duplicate output", func(m *Manifest) { m.Outputs[1].Path = StdoutPath }, "output[1] <stdout>: duplicate"},
		{"lockfile absolute", func(m *Manifest) { m.LockFiles[0].Path = "/r.txt" }, "lockfile[0] /r.txt"},
		{"git commit", func(m *Manifest) { m.Code.Git.Commit = "" }, "code.git.commit: empty"},
		{"code digest", func(m *Manifest) { m.Code.Digest = "sha256:1" }, "code.digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleManifest()
			tt.edit(m)
			err := m.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	m := sampleManifest()
	m.Files[0].Role = "x"
	m.Files[1].Role = "y"
	err := m.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"x"`)
	assert.Contains(t, err.Error(), `"y"`)
}
