package publish

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/publish/registrytest"
	"github.com/repro-ml/repro/lockfmt"
)

// outputsManifest is the golden manifest with its workdir set to workdir
// and its outputs replaced by files (path → recorded bytes).
func outputsManifest(t *testing.T, workdir string, files map[string][]byte) (*lockfmt.Manifest, []byte) {
	t.Helper()
	m, _, err := lockfmt.ReadFile(filepath.Join("..", "..", "lockfmt", "testdata", "golden.toml"))
	require.NoError(t, err)
	m.Run.WorkDir = workdir
	m.Outputs = []lockfmt.Output{{Path: lockfmt.StdoutPath, Digest: lockfmt.DigestBytes(nil)}}
	for p, b := range files {
		m.Outputs = append(m.Outputs, lockfmt.Output{Path: p, Digest: lockfmt.DigestBytes(b), Size: int64(len(b))})
	}
	data, err := lockfmt.Encode(m)
	require.NoError(t, err)
	m, err = lockfmt.Decode(data)
	require.NoError(t, err)
	return m, data
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

func TestCollectOutputs(t *testing.T) {
	wd, outside := t.TempDir(), t.TempDir()
	recorded := map[string][]byte{
		"out/a.npy":   []byte("\x93NUMPY array"),
		"out/b.txt":   []byte("recorded text\n"),
		"out/link":    []byte("secret-looking but recorded\n"),
		"out/big.bin": make([]byte, 4096),
		"out/gone":    []byte("deleted since\n"),
	}
	m, _ := outputsManifest(t, wd, recorded)
	writeFile(t, filepath.Join(wd, "out/a.npy"), recorded["out/a.npy"])
	writeFile(t, filepath.Join(wd, "out/b.txt"), []byte("changed after capture\n"))
	writeFile(t, filepath.Join(outside, "target"), recorded["out/link"])
	require.NoError(t, os.Symlink(filepath.Join(outside, "target"), filepath.Join(wd, "out/link")))
	writeFile(t, filepath.Join(wd, "out/big.bin"), recorded["out/big.bin"])
	writeFile(t, filepath.Join(wd, "unlisted.txt"), []byte("not an output\n"))

	files, skipped := CollectOutputs(m, []string{wd}, 1024)
	require.Len(t, files, 1)
	assert.Equal(t, "out/a.npy", files[0].Path)
	assert.Equal(t, recorded["out/a.npy"], files[0].Data)
	reasons := map[string]string{}
	for _, s := range skipped {
		reasons[s.Path] = s.Reason
	}
	assert.Len(t, reasons, 4)
	assert.Contains(t, reasons["out/big.bin"], "cap")
	assert.Contains(t, reasons["out/b.txt"], "recorded digest")
	assert.Contains(t, reasons["out/link"], "recorded digest", "a symlink is never followed")
	assert.Contains(t, reasons["out/gone"], "recorded digest")

	// With a larger cap the big file goes too; a second directory is
	// looked in when the first lacks the file.
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "out/b.txt"), recorded["out/b.txt"])
	files, _ = CollectOutputs(m, []string{wd, other}, 1<<20)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	assert.ElementsMatch(t, []string{"out/a.npy", "out/b.txt", "out/big.bin"}, paths)
}

func TestValidOutputPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"out/a.npy": true, "a": true, "out/x/y.txt": true,
		"": false, "/etc/passwd": false, "../x": false, "out/../../x": false, "out/./a": false,
		"out//a": false, "out/": false, ".": false, "..": false, `out\..\x`: false,
		lockfmt.StdoutPath: false, "a\x00b": false,
	} {
		assert.Equal(t, ok, ValidOutputPath(p), "%q", p)
	}
}

func FuzzValidOutputPath(f *testing.F) {
	for _, s := range []string{"out/a.npy", "../x", "/abs", "a/../b", "a//b", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !ValidOutputPath(p) {
			return
		}
		joined := filepath.Join("/base/outputs", filepath.FromSlash(p))
		rel, err := filepath.Rel("/base/outputs", joined)
		require.NoError(t, err)
		require.True(t, filepath.IsLocal(rel), "%q escapes", p)
	})
}

func TestPushPullOutputs(t *testing.T) {
	host := registrytest.InMemory(t, true)
	ctx := context.Background()
	wd := t.TempDir()
	recorded := map[string][]byte{"out/a.npy": []byte("\x93NUMPY a"), "summary.txt": []byte("loss 0.25\n")}
	m, mbytes := outputsManifest(t, wd, recorded)
	for p, b := range recorded {
		writeFile(t, filepath.Join(wd, p), b)
	}
	files, skipped := CollectOutputs(m, []string{wd}, DefaultOutputsMax)
	require.Empty(t, skipped)
	img := testImage(t, 512, "print('outputs')\n")
	res, err := Push(ctx, img, mbytes, nil, host+"/lab/out:v1", PushOptions{Options: Options{Insecure: true}, AllowUnsigned: true, Outputs: files})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"out/a.npy", "summary.txt"}, res.Outputs)

	dir := filepath.Join(t.TempDir(), "pulled")
	p, err := Pull(ctx, host+"/lab/out:v1", dir, PullOptions{Options: Options{Insecure: true}, AllowUnsigned: true})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"out/a.npy", "summary.txt"}, p.Outputs)
	assert.Equal(t, filepath.Join(dir, OutputsDir), p.OutputsDir)
	for path, b := range recorded {
		got, err := os.ReadFile(filepath.Join(dir, OutputsDir, path))
		require.NoError(t, err)
		assert.Equal(t, b, got)
	}
	// Pulling again into the same directory keeps identical files.
	_, err = Pull(ctx, host+"/lab/out:v1", dir, PullOptions{Options: Options{Insecure: true}, AllowUnsigned: true})
	require.NoError(t, err)

	// Without outputs the artifact has only the manifest.
	res2, err := Push(ctx, img, mbytes, nil, host+"/lab/none:v1", PushOptions{Options: Options{Insecure: true}, AllowUnsigned: true})
	require.NoError(t, err)
	assert.Empty(t, res2.Outputs)
	p, err = Pull(ctx, host+"/lab/none:v1", filepath.Join(t.TempDir(), "none"), PullOptions{Options: Options{Insecure: true}, AllowUnsigned: true})
	require.NoError(t, err)
	assert.Empty(t, p.Outputs)
	assert.Empty(t, p.OutputsDir)
}

// pushCrafted pushes img and a manifest artifact carrying mbytes and the
// given output layers exactly as described, as a hostile pusher could.
func pushCrafted(t *testing.T, ref string, img v1.Image, mbytes []byte, outs ...file) {
	t.Helper()
	r := mustRef(t, ref)
	require.NoError(t, remote.Write(r, img))
	desc, err := partialDescriptor(img)
	require.NoError(t, err)
	files := append([]file{{data: mbytes, mediaType: ManifestMediaType, title: ManifestTitle}}, outs...)
	art, err := newArtifact(ArtifactType, desc, nil, files...)
	require.NoError(t, err)
	ai, err := art.image()
	require.NoError(t, err)
	d, err := ai.Digest()
	require.NoError(t, err)
	require.NoError(t, remote.Write(r.Context().Digest(d.String()), ai))
}

func TestPullRefusesBadOutputs(t *testing.T) {
	host := registrytest.InMemory(t, true)
	ctx := context.Background()
	recorded := map[string][]byte{"out/a.npy": []byte("\x93NUMPY a")}
	_, mbytes := outputsManifest(t, "/work/exp", recorded)
	img := testImage(t, 256, "print('bad outputs')\n")
	out := func(p string, data []byte) file {
		return file{data: data, mediaType: OutputMediaType, title: p, annotations: map[string]string{OutputPathAnnotation: p}}
	}
	for name, layer := range map[string]file{
		"traversal":    out("../../evil", recorded["out/a.npy"]),
		"absolute":     out("/tmp/evil", recorded["out/a.npy"]),
		"not-listed":   out("out/b.npy", recorded["out/a.npy"]),
		"stream":       out(lockfmt.StdoutPath, nil),
		"tampered":     out("out/a.npy", []byte("\x93NUMPY b")),
		"title-escape": {data: recorded["out/a.npy"], mediaType: OutputMediaType, title: "out/../../a.npy"},
	} {
		t.Run(name, func(t *testing.T) {
			ref := host + "/lab/" + name + ":v1"
			pushCrafted(t, ref, img, mbytes, layer)
			dir := filepath.Join(t.TempDir(), "pulled")
			_, err := Pull(ctx, ref, dir, PullOptions{Options: Options{Insecure: true}, AllowUnsigned: true})
			require.ErrorIs(t, err, ErrOutputRejected)
			_, err = os.Stat(dir)
			assert.ErrorIs(t, err, os.ErrNotExist, "nothing is written when an output is refused")
		})
	}

	// A duplicate of a good layer is refused too.
	ref := host + "/lab/dup:v1"
	pushCrafted(t, ref, img, mbytes, out("out/a.npy", recorded["out/a.npy"]), out("out/a.npy", recorded["out/a.npy"]))
	_, err := Pull(ctx, ref, filepath.Join(t.TempDir(), "dup"), PullOptions{Options: Options{Insecure: true}, AllowUnsigned: true})
	require.ErrorIs(t, err, ErrOutputRejected)
}

func TestPullOutputsRefusesOtherExistingFile(t *testing.T) {
	host := registrytest.InMemory(t, true)
	ctx := context.Background()
	wd := t.TempDir()
	recorded := map[string][]byte{"out/a.npy": []byte("\x93NUMPY a")}
	m, mbytes := outputsManifest(t, wd, recorded)
	writeFile(t, filepath.Join(wd, "out/a.npy"), recorded["out/a.npy"])
	files, _ := CollectOutputs(m, []string{wd}, DefaultOutputsMax)
	_, err := Push(ctx, testImage(t, 256, "x\n"), mbytes, nil, host+"/lab/ex:v1", PushOptions{Options: Options{Insecure: true}, AllowUnsigned: true, Outputs: files})
	require.NoError(t, err)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, OutputsDir, "out/a.npy"), []byte("mine"))
	_, err = Pull(ctx, host+"/lab/ex:v1", dir, PullOptions{Options: Options{Insecure: true}, AllowUnsigned: true})
	require.ErrorContains(t, err, "other contents")
	got, err := os.ReadFile(filepath.Join(dir, OutputsDir, "out/a.npy"))
	require.NoError(t, err)
	assert.Equal(t, []byte("mine"), got)
}
