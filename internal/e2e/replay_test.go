package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/replay"
)

// replayEnv is one signing identity and the repro binary, shared by the
// replay tests.
type replayEnv struct {
	bin, home, key string
	env            []string
}

var (
	replayOnce  sync.Once
	replayShare replayEnv
	replayErr   error
)

func replaySetup(t *testing.T) replayEnv {
	t.Helper()
	replayOnce.Do(func() {
		dir, err := os.MkdirTemp("", "repro-replay-e2e-")
		if err != nil {
			replayErr = err
			return
		}
		bin := filepath.Join(dir, "repro")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/repro-ml/repro/cmd/repro").CombinedOutput(); err != nil {
			replayErr = errors.New(string(out))
			return
		}
		home := filepath.Join(dir, "home")
		key := filepath.Join(home, "id_ed25519")
		if err := os.MkdirAll(home, 0o700); err != nil {
			replayErr = err
			return
		}
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@lab.example", "-f", key).CombinedOutput(); err != nil {
			replayErr = errors.New(string(out))
			return
		}
		replayShare = replayEnv{bin: bin, home: home, key: key, env: append(cleanEnv(), "HOME="+home)}
	})
	require.NoError(t, replayErr)
	return replayShare
}

// repro runs the binary in dir and returns stdout, stderr and the exit status.
func (e replayEnv) repro(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, s bytes.Buffer
	cmd := exec.CommandContext(context.Background(), e.bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, e.env, &o, &s
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return o.String(), s.String(), code
}

// captureSigned captures argv in dir, signed with the shared key.
func (e replayEnv) captureSigned(t *testing.T, dir string, flags []string, argv ...string) {
	t.Helper()
	args := append([]string{"capture", "-k", e.key}, flags...)
	args = append(append(args, "--"), argv...)
	_, stderr, code := e.repro(t, dir, args...)
	require.Equal(t, 0, code, "capture: %s", stderr)
}

// replayJSON replays manifest.toml in dir with --json and the shared key.
func (e replayEnv) replayJSON(t *testing.T, dir string, extra ...string) (*replay.Report, string, int) {
	t.Helper()
	args := append([]string{"replay", "--json", "--key", e.key + ".pub"}, extra...)
	stdout, stderr, code := e.repro(t, dir, append(args, "manifest.toml")...)
	if code == 2 {
		require.Empty(t, stdout)
		return nil, stderr, code
	}
	var rep replay.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), "stdout: %s\nstderr: %s", stdout, stderr)
	return &rep, stderr, code
}

// TestReplayExamples captures each example, signed, and replays it: every
// deterministic output, stdout and stderr included, is bit-identical.
func TestReplayExamples(t *testing.T) {
	e := replaySetup(t)
	cases := []struct {
		example string
		prepare []string
		flags   []string
		argv    []string
	}{
		{example: "numpy-linalg", argv: []string{"/usr/bin/python3", "linalg.py", "--size", "200"}},
		{example: "sklearn-classifier", prepare: []string{"/usr/bin/python3", "generate_data.py"}, argv: []string{"/usr/bin/python3", "train.py"}},
		{example: "timestamp", flags: []string{"--runs", "2"}, argv: []string{"/usr/bin/python3", "stamp.py"}},
	}
	for _, c := range cases {
		t.Run(c.example, func(t *testing.T) {
			dir := copyExample(t, c.example)
			if c.prepare != nil {
				buildRun(t, dir, c.prepare...)
			}
			e.captureSigned(t, dir, c.flags, c.argv...)
			rep, stderr, code := e.replayJSON(t, dir, "--rm-image")
			require.Equal(t, 0, code, "replay: %s", stderr)
			require.True(t, rep.Image.Removed)
			require.True(t, rep.Trust.Verified)
			require.True(t, rep.Image.Verified)
			// Pinned on the capture's host: the replay runs what the capture ran.
			require.NotNil(t, rep.Replayed)
			assert.Positive(t, rep.Replayed.Processes, rep.Replayed.Note)
			assert.Empty(t, rep.RuntimeDiffs)
			for _, o := range rep.Outputs {
				if o.Status != replay.StatusIdentical {
					assert.Equal(t, replay.StatusNondeterministic, o.Status, "%s: %+v", o.Path, o.Diff)
				}
			}
			if c.example == "timestamp" {
				assert.Contains(t, rep.Verdict, "reproduced")
			} else {
				assert.Equal(t, rep.Total, rep.Identical)
				assert.True(t, strings.HasPrefix(rep.Verdict, "bit-identical: "), rep.Verdict)
			}
		})
	}
}

// TestReplayExampleThreads replays the threads example. threadpoolctl finds
// the BLAS through ctypes.util.find_library, which runs /sbin/ldconfig: the
// capture must record that program (the probe's exec events) or the
// container's out/threads.json lists no BLAS.
func TestReplayExampleThreads(t *testing.T) {
	e := replaySetup(t)
	dir := copyExample(t, "threads")
	e.captureSigned(t, dir, nil, "/usr/bin/python3", "threads.py")
	rep, stderr, code := e.replayJSON(t, dir, "--rm-image")
	require.Equal(t, 0, code, "replay: %s", stderr)
	assert.Equal(t, rep.Total, rep.Identical)
}

// removeImage removes an image from the engine when the test ends.
func removeImage(t *testing.T, ref string) {
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ref).Run() })
}

// otherCore picks an OpenBLAS core type this CPU runs that is not the one
// the capture recorded.
func otherCore(t *testing.T, recorded string) string {
	host, err := replay.ReadHostCPU()
	require.NoError(t, err)
	for _, c := range []struct{ core, flag string }{{"Sandybridge", "avx"}, {"Nehalem", "sse4_2"}, {"Prescott", "pni"}} {
		if !strings.EqualFold(c.core, recorded) && host.Has(c.flag) {
			return c.core
		}
	}
	t.Fatalf("no OpenBLAS core type other than %s runs on this CPU", recorded)
	return ""
}

// TestReplayDataExternal replays an image built without its data: the data
// is mounted read-only from the host after a digest check, and a changed
// data file is refused.
func TestReplayDataExternal(t *testing.T) {
	e := replaySetup(t)
	dir := copyExample(t, "sklearn-classifier")
	buildRun(t, dir, "/usr/bin/python3", "generate_data.py")
	e.captureSigned(t, dir, nil, "/usr/bin/python3", "train.py")
	_, stderr, code := e.repro(t, dir, "build", "--data-external", "manifest.toml")
	require.Equal(t, 0, code, stderr)
	rep, stderr, code := e.replayJSON(t, dir)
	require.Equal(t, 0, code, stderr)
	removeImage(t, rep.Image.Ref)
	assert.True(t, rep.Image.DataExternal)
	assert.Equal(t, rep.Total, rep.Identical)

	data := filepath.Join(dir, "data", "iris-like.csv")
	b, err := os.ReadFile(data)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(data, append(b, "0,0,0,0,0\n"...), 0o644))
	_, stderr, code = e.replayJSON(t, dir)
	require.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "iris-like.csv on this host has digest")
}

// TestReplayShellScript captures an experiment that is a shell script
// calling Python (and a non-Python program), and replays it: the shell, the
// programs it ran and their libraries are in the image.
func TestReplayShellScript(t *testing.T) {
	e := replaySetup(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "step.py"),
		[]byte("import sys\nopen('out.txt', 'w').write('python %d\\n' % sys.version_info[0])\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run.sh"),
		[]byte("#!/bin/sh\nset -e\n/usr/bin/python3 step.py\nsleep 0.1\nwc -c out.txt > count.txt\necho done\n"), 0o755))
	e.captureSigned(t, dir, nil, "./run.sh")
	rep, stderr, code := e.replayJSON(t, dir, "--rm-image")
	require.Equal(t, 0, code, "replay: %s", stderr)
	assert.Equal(t, 4, rep.Total, "out.txt, count.txt, stdout and stderr")
	assert.Equal(t, rep.Total, rep.Identical, rep.Verdict)
}

// TestReplaySeedPinned captures an experiment that never seeds its random
// generators itself, with --seed: the replay applies the same seed through
// the probe in the image, so the random outputs are bit-identical.
func TestReplaySeedPinned(t *testing.T) {
	e := replaySetup(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "draw.py"), []byte(
		"import random\nimport numpy as np\nopen('draws.txt', 'w').write('%r %r\\n' % (random.random(), np.random.rand()))\n"), 0o644))
	e.captureSigned(t, dir, []string{"--seed", "42", "--runs", "2"}, "/usr/bin/python3", "draw.py")
	m, err := os.ReadFile(filepath.Join(dir, "manifest.toml"))
	require.NoError(t, err)
	assert.NotContains(t, string(m), "nondeterministic = true", "the seed makes both capture runs agree")
	rep, stderr, code := e.replayJSON(t, dir, "--rm-image")
	require.Equal(t, 0, code, "replay: %s", stderr)
	assert.Equal(t, rep.Total, rep.Identical, rep.Verdict)
}

// TestReplayThroughPyenvShim captures "python3 t.py" the way most users type
// it, with pyenv's shims first on PATH (as on these machines): the shim is a
// shell script that asks pyenv which interpreter to start. The replay starts
// the interpreter the capture saw directly, in the image and on its PATH.
func TestReplayThroughPyenvShim(t *testing.T) {
	e := replaySetup(t)
	shims := "/root/.pyenv/shims"
	_, err := os.Stat(filepath.Join(shims, "python3"))
	require.NoError(t, err, "this test needs pyenv's shims (the machine's pyenv-built Python 3.11) at %s", shims)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t.py"), []byte(
		"import json, subprocess, sys\n"+
			"child = subprocess.run(['python3', '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout\n"+
			"json.dump({'v': list(sys.version_info[:2]), 'child': child}, open('out.json', 'w'))\n"), 0o644))
	env := replayEnv{bin: e.bin, home: e.home, key: e.key}
	for _, kv := range e.env {
		if !strings.HasPrefix(kv, "PATH=") {
			env.env = append(env.env, kv)
		}
	}
	env.env = append(env.env, "PATH="+shims+":/usr/local/bin:/usr/bin:/bin")
	env.captureSigned(t, dir, nil, "python3", "t.py")
	out, err := os.ReadFile(filepath.Join(dir, "out.json"))
	require.NoError(t, err)
	require.Contains(t, string(out), `"child": "42\n"`, "the child python3 ran through the shim at capture")
	rep, stderr, code := env.replayJSON(t, dir, "--rm-image")
	require.Equal(t, 0, code, "replay: %s", stderr)
	assert.Equal(t, rep.Total, rep.Identical, rep.Verdict)
}
