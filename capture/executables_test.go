package capture

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecutablesFromCommandScriptAndProbe(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	tool := filepath.Join(bin, "mytool")
	require.NoError(t, os.WriteFile(tool, []byte("\x7fELF not really"), 0o755))
	script := filepath.Join(dir, "run.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\n# mytool in a comment does not count: nosuchprog\nmytool --x | wc -l > out\n"), 0o755))
	path := bin + ":/usr/bin:/bin"

	got := executables([]string{"./run.sh"}, dir, path, []string{"/usr/bin/env"},
		[]ProbeReport{{Executed: []string{"/sbin/ldconfig", "nosuchprog"}}})
	assert.Contains(t, got, script)
	assert.Contains(t, got, "/bin/sh", "the script's interpreter")
	assert.Contains(t, got, tool, "a program the script names")
	assert.Contains(t, got, "/usr/bin/wc")
	assert.Contains(t, got, "/sbin/ldconfig", "a program the probe saw started")
	assert.Contains(t, got, "/usr/bin/env", "a program the watcher saw")
	for _, p := range got {
		assert.NotContains(t, p, "nosuchprog")
	}

	// "sh run.sh" scans the script too; "sh -c CMD" has no script file.
	got = executables([]string{"sh", "run.sh"}, dir, path, nil, nil)
	assert.Contains(t, got, tool)
	got = executables([]string{"sh", "-c", "mytool"}, dir, path, nil, nil)
	assert.NotContains(t, got, tool)
}

func TestShebang(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s")
	require.NoError(t, os.WriteFile(p, []byte("#!/usr/bin/env python3 -u\nprint(1)\n"), 0o755))
	assert.Equal(t, []string{"/usr/bin/env", "python3"}, shebang(p))
	require.NoError(t, os.WriteFile(p, []byte("#!relative\n"), 0o755))
	assert.Nil(t, shebang(p))
	require.NoError(t, os.WriteFile(p, []byte("no shebang"), 0o755))
	assert.Nil(t, shebang(p))
}

func TestProcWatcherSeesChildren(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.3; /bin/sleep 0.3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	w := watchProcesses(cmd.Process.Pid)
	require.NoError(t, cmd.Wait())
	got := w.finish()
	real, err := filepath.EvalSymlinks("/bin/sleep")
	require.NoError(t, err)
	assert.Contains(t, got, real)
	sh, err := filepath.EvalSymlinks("/bin/sh")
	require.NoError(t, err)
	assert.Contains(t, got, sh)
}
