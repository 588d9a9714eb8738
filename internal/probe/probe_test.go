package probe

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReportContract runs the probe in Debian's Python with numpy and
// decodes its report strictly into Report: a field the probe writes that
// the Go side does not know (or a type that changed) fails here.
func TestReportContract(t *testing.T) {
	site := t.TempDir()
	reports := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(site, "sitecustomize.py"), Source, 0o644))
	script := "import random, subprocess, numpy\n" +
		"numpy.dot(numpy.ones((64, 64)), numpy.ones((64, 64)))\n" +
		"open('x.txt', 'w').write(repr((random.random(), numpy.random.rand())))\n" +
		"subprocess.run(['/bin/true'])\n"
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PYTHONPATH="+site, EnvDir+"="+reports, EnvSeed+"=7")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Run())
	assert.Empty(t, stdout.String(), "the probe prints nothing on stdout")

	files, err := filepath.Glob(filepath.Join(reports, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Report
	require.NoError(t, dec.Decode(&r))

	assert.Equal(t, "cpython", r.Implementation)
	assert.Contains(t, r.Executed, "/bin/true")
	assert.NotEmpty(t, r.Mapped)
	assert.NotEmpty(t, r.Runtimes, "numpy's BLAS is reported")
	var names []string
	for _, p := range r.Pins {
		if p.Applied {
			names = append(names, p.Name)
		}
	}
	assert.Contains(t, names, "random.seed")
	assert.Contains(t, names, "numpy.random.seed")
	var wrote bool
	for _, o := range r.Opened {
		if filepath.Base(o.Path) == "x.txt" && o.Write {
			wrote = true
		}
	}
	assert.True(t, wrote, "the output opened for writing is reported")
}
