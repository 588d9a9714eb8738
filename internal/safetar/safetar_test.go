package safetar

import (
	"archive/tar"
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type tarEntry struct {
	name, link string
	typ        byte
	body       string
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, tw.WriteHeader(h))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestExtractGood(t *testing.T) {
	dir := t.TempDir()
	b := makeTar(t,
		tarEntry{name: "out/", typ: tar.TypeDir},
		tarEntry{name: "out/a.txt", typ: tar.TypeReg, body: "hello"},
		tarEntry{name: "out/link", typ: tar.TypeSymlink, link: "a.txt"},
		tarEntry{name: "out/hard", typ: tar.TypeLink, link: "out/a.txt"},
	)
	require.NoError(t, Extract(bytes.NewReader(b), dir, DefaultLimits))
	got, err := os.ReadFile(filepath.Join(dir, "out", "hard"))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
	target, err := os.Readlink(filepath.Join(dir, "out", "link"))
	require.NoError(t, err)
	assert.Equal(t, "a.txt", target)
}

func TestExtractRefuses(t *testing.T) {
	cases := map[string][]tarEntry{
		"dotdot":          {{name: "../evil", typ: tar.TypeReg, body: "x"}},
		"inner dotdot":    {{name: "out/../../evil", typ: tar.TypeReg, body: "x"}},
		"absolute":        {{name: "/etc/passwd", typ: tar.TypeReg, body: "x"}},
		"symlink out":     {{name: "l", typ: tar.TypeSymlink, link: "../../etc"}},
		"symlink abs":     {{name: "l", typ: tar.TypeSymlink, link: "/etc"}},
		"through symlink": {{name: "l", typ: tar.TypeSymlink, link: "d"}, {name: "d/", typ: tar.TypeDir}, {name: "l/x", typ: tar.TypeReg, body: "x"}},
		"hardlink out":    {{name: "h", typ: tar.TypeLink, link: "../x"}},
		"hardlink unseen": {{name: "h", typ: tar.TypeLink, link: "nothere"}},
		"device":          {{name: "dev", typ: tar.TypeChar}},
		"fifo":            {{name: "p", typ: tar.TypeFifo}},
		"duplicate":       {{name: "a", typ: tar.TypeReg, body: "1"}, {name: "a", typ: tar.TypeReg, body: "2"}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "root")
			require.NoError(t, os.Mkdir(dir, 0o755))
			err := Extract(bytes.NewReader(makeTar(t, entries...)), dir, DefaultLimits)
			require.ErrorIs(t, err, ErrUnsafe)
			_, serr := os.Stat(filepath.Join(filepath.Dir(dir), "evil"))
			assert.True(t, os.IsNotExist(serr))
		})
	}
}

func TestExtractLimits(t *testing.T) {
	b := makeTar(t, tarEntry{name: "big", typ: tar.TypeReg, body: "0123456789"})
	err := Extract(bytes.NewReader(b), t.TempDir(), Limits{MaxFileBytes: 5, MaxTotalBytes: 100, MaxEntries: 10})
	require.ErrorIs(t, err, ErrUnsafe)
	b = makeTar(t, tarEntry{name: "a", typ: tar.TypeReg, body: "1"}, tarEntry{name: "b", typ: tar.TypeReg, body: "2"})
	err = Extract(bytes.NewReader(b), t.TempDir(), Limits{MaxFileBytes: 5, MaxTotalBytes: 100, MaxEntries: 1})
	require.ErrorIs(t, err, ErrUnsafe)
}

// FuzzExtract checks that no archive writes outside the extraction
// directory, whatever it holds.
func FuzzExtract(f *testing.F) {
	f.Add(makeTar(f, tarEntry{name: "a/b", typ: tar.TypeReg, body: "x"}))
	f.Add(makeTar(f, tarEntry{name: "l", typ: tar.TypeSymlink, link: "a/../.."}, tarEntry{name: "l/x", typ: tar.TypeReg}))
	f.Add(makeTar(f, tarEntry{name: "a", typ: tar.TypeReg, body: "x"}, tarEntry{name: "h", typ: tar.TypeLink, link: "a"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		// os.MkdirTemp, not t.TempDir: the latter stalls fuzz workers here.
		parent, err := os.MkdirTemp("", "safetar-fuzz-")
		require.NoError(t, err)
		defer os.RemoveAll(parent)
		dir := filepath.Join(parent, "root")
		require.NoError(t, os.Mkdir(dir, 0o755))
		_ = Extract(bytes.NewReader(b), dir, Limits{MaxFileBytes: 1 << 16, MaxTotalBytes: 1 << 18, MaxEntries: 64})
		entries, err := os.ReadDir(parent)
		require.NoError(t, err)
		require.Len(t, entries, 1, "something was written beside the extraction directory")
		// Every symlink created stays inside.
		require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.Type()&os.ModeSymlink == 0 {
				return err
			}
			target, _ := os.Readlink(p)
			resolved := filepath.Clean(filepath.Join(filepath.Dir(p), target))
			rel, rerr := filepath.Rel(dir, resolved)
			require.NoError(t, rerr)
			require.False(t, rel == ".." || len(rel) > 2 && rel[:3] == "../", "symlink %s escapes to %s", p, target)
			return nil
		}))
	})
}

// TestExtractMutations runs random mutations of small archives through
// Extract with the same invariant as FuzzExtract (nothing lands beside the
// extraction directory), as a fixed-seed complement to fuzzing.
func TestExtractMutations(t *testing.T) {
	seeds := [][]byte{
		makeTar(t, tarEntry{name: "a/b", typ: tar.TypeReg, body: "x"}),
		makeTar(t, tarEntry{name: "l", typ: tar.TypeSymlink, link: "d"}, tarEntry{name: "l/x", typ: tar.TypeReg}),
		makeTar(t, tarEntry{name: "a", typ: tar.TypeReg, body: "x"}, tarEntry{name: "h", typ: tar.TypeLink, link: "a"}),
	}
	r := rand.New(rand.NewSource(1))
	parent := t.TempDir()
	for i := 0; i < 500; i++ {
		b := append([]byte(nil), seeds[r.Intn(len(seeds))]...)
		for k := 0; k < 1+r.Intn(4); k++ {
			b[r.Intn(len(b))] = byte(r.Intn(256))
		}
		dir := filepath.Join(parent, "root")
		require.NoError(t, os.Mkdir(dir, 0o755))
		_ = Extract(bytes.NewReader(b), dir, Limits{MaxFileBytes: 1 << 16, MaxTotalBytes: 1 << 18, MaxEntries: 64})
		entries, err := os.ReadDir(parent)
		require.NoError(t, err)
		require.Len(t, entries, 1, "input %q wrote beside the extraction directory", b)
		require.NoError(t, os.RemoveAll(dir))
	}
}
