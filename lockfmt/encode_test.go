package lockfmt

import (
	"encoding/json"
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden: Encode of the sample manifest equals testdata/golden.toml, and
// decoding the golden file then encoding it gives the same bytes.
func TestGolden(t *testing.T) {
	golden := filepath.Join("testdata", "golden.toml")
	got, err := Encode(sampleManifest())
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "run go test ./lockfmt -run TestGolden -update after an intended change")

	m, err := Decode(want)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	again, err := Encode(m)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(again))
	assert.Equal(t, sortedCopy(sampleManifest()), m)
}

// TestEncodeDeterministic: encoding twice, or after shuffling every list
// and rebuilding every map, gives identical bytes; Encode does not reorder
// the caller's slices.
func TestEncodeDeterministic(t *testing.T) {
	m := sampleManifest()
	a, err := Encode(m)
	require.NoError(t, err)
	b, err := Encode(m)
	require.NoError(t, err)
	assert.Equal(t, a, b)

	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		s := sampleManifest()
		shuffle(r, s.Files)
		shuffle(r, s.Libraries)
		shuffle(r, s.Packages)
		shuffle(r, s.Outputs)
		shuffle(r, s.Data)
		shuffle(r, s.CPU.Flags)
		shuffle(r, s.Determinism.Pins)
		shuffle(r, s.Run.Scrubbed)
		shuffle(r, s.Python.Runtimes)
		firstFile := s.Files[0]
		c, err := Encode(s)
		require.NoError(t, err)
		require.Equal(t, string(a), string(c))
		assert.Equal(t, firstFile, s.Files[0], "Encode must not sort the caller's slices")
	}
}

func shuffle[T any](r *rand.Rand, s []T) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

// TestEncodeAwkwardStrings: quotes, backslashes, newlines, control
// characters, unicode and TOML-looking text survive a round trip, in values
// and in map keys.
func TestEncodeAwkwardStrings(t *testing.T) {
	awkward := []string{
		`say "hi"`, `C:\path\to`, "two\nlines", "tab\there", "cr\rlf", "\x00nul\x01\x1f\x7f",
		"bell\b form\f", "é ü 中文 🎉", `"""`, `'''`, "# not a comment", "key = value", "]", "[table]",
		"\u2028 line separator", "trailing\\", "",
	}
	for _, s := range awkward {
		m := sampleManifest()
		m.Run.Argv = append(m.Run.Argv, s)
		m.Run.Env[s] = s
		m.Files[0].Target = s
		m.Outputs[0].Reason = s
		b, err := Encode(m)
		require.NoError(t, err, "%q", s)
		got, err := Decode(b)
		require.NoError(t, err, "%q\n%s", s, b)
		assert.Equal(t, s, got.Run.Argv[len(got.Run.Argv)-1])
		assert.Equal(t, s, got.Run.Env[s])
		b2, err := Encode(got)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(b2))
	}
}

func TestEncodeRefuses(t *testing.T) {
	_, err := Encode(nil)
	require.Error(t, err)
	m := sampleManifest()
	m.Schema = 0
	_, err = Encode(m)
	require.ErrorContains(t, err, "schema is 0")
	m = sampleManifest()
	m.Files[0].Path = "/bad\xffutf8"
	_, err = Encode(m)
	require.ErrorContains(t, err, "not valid UTF-8")
}

func TestEncodeEmptySections(t *testing.T) {
	m := &Manifest{Schema: SchemaVersion}
	b, err := Encode(m)
	require.NoError(t, err)
	got, err := Decode(b)
	require.NoError(t, err, "%s", b)
	b2, err := Encode(got)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2))
	assert.Contains(t, string(b), "run.env = {}\n")
}

// TestLargeManifestSpeed: a 20,000-file manifest encodes and decodes well
// under a second (see BenchmarkEncode/BenchmarkDecode for figures).
func TestLargeManifestSpeed(t *testing.T) {
	m := bigManifest(20000)
	start := time.Now()
	b, err := Encode(m)
	require.NoError(t, err)
	enc := time.Since(start)
	start = time.Now()
	got, err := Decode(b)
	require.NoError(t, err)
	dec := time.Since(start)
	require.Len(t, got.Files, len(m.Files))
	t.Logf("20k files: %d bytes, encode %v, decode %v", len(b), enc, dec)
	assert.Less(t, enc+dec, 10*time.Second, "catches pathological (e.g. quadratic) slowdowns; BenchmarkEncode20k/BenchmarkDecode20k measure")
}

func BenchmarkEncode20k(b *testing.B) {
	m := bigManifest(20000)
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode20k(b *testing.B) {
	data, err := Encode(bigManifest(20000))
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	require.NoError(t, WriteFile(p, sampleManifest()))
	m, data, err := ReadFile(p)
	require.NoError(t, err)
	want, _ := Encode(sampleManifest())
	assert.Equal(t, want, data)
	assert.Equal(t, "repro", m.Tool.Name)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	m.Schema = 7
	require.Error(t, WriteFile(p, m))
	_, data2, err := ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, data, data2, "a failed write leaves the old file")
}

func TestEncodeJSON(t *testing.T) {
	b, err := EncodeJSON(sampleManifest())
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v))
	assert.Equal(t, float64(1), v["schema"])
	run := v["run"].(map[string]any)
	assert.Equal(t, "/home/alice/exp", run["workdir"])
	files := v["file"].([]any)
	assert.Equal(t, "/home/alice/exp/data/mnist.npz", files[0].(map[string]any)["path"], "sorted like the TOML")
	b2, err := EncodeJSON(sampleManifest())
	require.NoError(t, err)
	assert.Equal(t, b, b2)
}
