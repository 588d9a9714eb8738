package replay

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/compare"
	"github.com/repro-ml/repro/lockfmt"
)

func TestCompareOutputs(t *testing.T) {
	ref, out := t.TempDir(), t.TempDir()
	write := func(dir, name, body string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	write(ref, "res/a.csv", "x,1.5\n")
	write(out, "res/a.csv", "x,1.25\n")
	write(out, "same.txt", "same\n")
	write(out, "stamp.txt", "12:01\n")
	m := &lockfmt.Manifest{Run: lockfmt.Run{WorkDir: "/nonexistent"}, Outputs: []lockfmt.Output{
		{Path: "res/a.csv", Digest: lockfmt.DigestBytes([]byte("x,1.5\n"))},
		{Path: "same.txt", Digest: lockfmt.DigestBytes([]byte("same\n"))},
		{Path: "stamp.txt", Digest: lockfmt.DigestBytes([]byte("12:00\n")), Nondeterministic: true},
		{Path: "gone.npy", Digest: lockfmt.DigestBytes(nil)},
		{Path: lockfmt.StdoutPath, Digest: lockfmt.DigestBytes([]byte("hi\n"))},
	}}
	res := compareOutputs(m, &Options{ReferenceDir: ref}, out, []byte("hi\n"), nil)
	require.Len(t, res, 5)
	assert.Equal(t, StatusDifferent, res[0].Status)
	require.NotNil(t, res[0].Diff)
	assert.Equal(t, compare.KindNumber, res[0].Diff.Kind)
	assert.Equal(t, StatusIdentical, res[1].Status)
	assert.Equal(t, StatusNondeterministic, res[2].Status)
	assert.NotEmpty(t, res[2].NoDetail, "the recorded stamp is not at hand")
	assert.Equal(t, StatusMissing, res[3].Status)
	assert.Equal(t, StatusIdentical, res[4].Status)

	res = compareOutputs(m, &Options{ReferenceDir: ref, Tolerance: compare.Tolerance{RTol: 0.5}}, out, []byte("hi\n"), nil)
	assert.Equal(t, StatusWithinTolerance, res[0].Status)

	rep := &Report{Outputs: res}
	explain(m, rep, &HostCPU{})
	rep.finish()
	assert.Equal(t, "DIFFERENT: 1 of 5 outputs", rep.Verdict)
	assert.Contains(t, rep.Outputs[3].Causes[0], "the replay did not write gone.npy")
}

// TestCompareOutputsRecordedDir: the outputs pulled from a registry
// (Options.RecordedDir) give a typed diff where the workdir has none.
func TestCompareOutputsRecordedDir(t *testing.T) {
	recorded, out := t.TempDir(), t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(recorded, "res"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(recorded, "res/a.csv"), []byte("x,1.5\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(out, "res"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "res/a.csv"), []byte("x,1.25\n"), 0o644))
	m := &lockfmt.Manifest{Run: lockfmt.Run{WorkDir: "/nonexistent"}, Outputs: []lockfmt.Output{
		{Path: "res/a.csv", Digest: lockfmt.DigestBytes([]byte("x,1.5\n")), Size: 6},
	}}
	res := compareOutputs(m, &Options{}, out, nil, nil)
	require.Len(t, res, 1)
	assert.Equal(t, compare.KindBinary, res[0].Diff.Kind, "without the recorded file: digests only")
	assert.NotEmpty(t, res[0].NoDetail)

	res = compareOutputs(m, &Options{RecordedDir: recorded}, out, nil, nil)
	require.Len(t, res, 1)
	assert.Equal(t, StatusDifferent, res[0].Status)
	require.NotNil(t, res[0].Diff)
	assert.Equal(t, compare.KindNumber, res[0].Diff.Kind)
	assert.Empty(t, res[0].NoDetail)
}
