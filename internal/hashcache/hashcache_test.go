package hashcache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFileDigestAndCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.bin")
	require.NoError(t, os.WriteFile(p, []byte("hello"), 0o644))
	sum := sha256.Sum256([]byte("hello"))
	want := "sha256:" + hex.EncodeToString(sum[:])

	cachePath := filepath.Join(dir, "cache", "h.json")
	c := Open(cachePath)
	var hashed int64
	c.Progress = func(n int64) { hashed += n }
	d, n, err := c.File(p)
	require.NoError(t, err)
	require.Equal(t, want, d)
	require.EqualValues(t, 5, n)
	require.EqualValues(t, 5, hashed)
	require.NoError(t, c.Save())

	// A reopened cache answers without reading the file.
	c2 := Open(cachePath)
	hashed = 0
	c2.Progress = func(n int64) { hashed += n }
	d, _, err = c2.File(p)
	require.NoError(t, err)
	require.Equal(t, want, d)
	require.Zero(t, hashed, "unchanged file must come from the cache")

	// A changed file (new size and mtime) is hashed again.
	require.NoError(t, os.WriteFile(p, []byte("hello, world"), 0o644))
	require.NoError(t, os.Chtimes(p, time.Now().Add(time.Hour), time.Now().Add(time.Hour)))
	d, _, err = c2.File(p)
	require.NoError(t, err)
	require.NotEqual(t, want, d)
	require.EqualValues(t, 12, hashed)
}

func TestFilesParallelKeepsOrderAndErrors(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 20 {
		p := filepath.Join(dir, string(rune('a'+i)))
		require.NoError(t, os.WriteFile(p, []byte{byte(i)}, 0o644))
		paths = append(paths, p)
	}
	paths = append(paths, filepath.Join(dir, "missing"))
	res := New().Files(paths)
	require.Len(t, res, 21)
	for i := range 20 {
		require.NoError(t, res[i].Err)
		sum := sha256.Sum256([]byte{byte(i)})
		require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), res[i].Digest)
	}
	require.Error(t, res[20].Err)
}

func TestCorruptCacheIgnored(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.json")
	require.NoError(t, os.WriteFile(p, []byte("{not json"), 0o644))
	c := Open(p)
	require.Empty(t, c.entries)
}

func TestCacheFileRoundTripAndJunk(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "with space.txt")
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	cachePath := filepath.Join(dir, "h")
	c := Open(cachePath)
	d, _, err := c.File(p)
	require.NoError(t, err)
	require.NoError(t, c.Save())

	b, err := os.ReadFile(cachePath)
	require.NoError(t, err)
	// Junk lines are skipped, the good entry survives.
	junk := "1 2 3\nnot a line at all\n1 2 3 4 5 zz " + p + "\n"
	require.NoError(t, os.WriteFile(cachePath, append(b, junk...), 0o600))
	c2 := Open(cachePath)
	require.Len(t, c2.entries, 1)
	require.Equal(t, d, c2.entries[p].Digest)
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte("64769 131 5 1700000000000000000 1700000000000000000 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 /a b/c"))
	f.Add([]byte("1 2 3 4 5"))
	f.Fuzz(func(t *testing.T, line []byte) {
		p, e, ok := parseLine(line)
		if ok {
			require.True(t, len(p) > 0 && p[0] == '/')
			require.Len(t, e.Digest, 71)
		}
	})
}
