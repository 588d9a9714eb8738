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
