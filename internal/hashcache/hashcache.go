// Package hashcache computes SHA-256 digests of files in parallel and
// remembers them by (device, inode, size, mtime, ctime), so that hashing an
// unchanged file again costs one stat.
//
// The cache file is JSON, written atomically; a corrupt or foreign cache
// file is ignored, never trusted: an entry is used only when all five stat
// fields match.
package hashcache

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/repro-ml/repro/lockfmt"
)

// key identifies a file's content version without reading it.
type key struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Ctime int64  `json:"ctime_ns"`
}

type entry struct {
	key
	Digest string `json:"digest"`
}

// Cache is a digest cache. The zero value is not usable; call Open or New.
// A Cache is safe for concurrent use.
type Cache struct {
	path string // "" = in memory only

	mu      sync.Mutex
	entries map[string]entry
	dirty   bool
	// Progress, when set, is called after each file is hashed (not for cache
	// hits) with the number of bytes read.
	Progress func(bytes int64)
}

// New returns an in-memory cache.
func New() *Cache { return &Cache{entries: map[string]entry{}} }

// Open returns a cache backed by the file at path (created on Save). A
// missing or unreadable cache file gives an empty cache.
func Open(path string) *Cache {
	c := &Cache{path: path, entries: map[string]entry{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return c
	}
	var m map[string]entry
	if json.Unmarshal(b, &m) == nil {
		for p, e := range m {
			if lockfmt.ValidDigest(e.Digest) {
				c.entries[p] = e
			}
		}
	}
	return c
}

// DefaultPath is the cache file repro uses: $XDG_CACHE_HOME/repro/hashes.json
// or ~/.cache/repro/hashes.json.
func DefaultPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "repro", "hashes.json")
}

// Save writes the cache atomically if it changed. An in-memory cache does nothing.
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == "" || !c.dirty {
		return nil
	}
	b, err := json.Marshal(c.entries)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("saving hash cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".hashes-*.tmp")
	if err != nil {
		return fmt.Errorf("saving hash cache: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving hash cache %s: %w", c.path, err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving hash cache %s: %w", c.path, err)
	}
	c.dirty = false
	return nil
}

func statKey(fi os.FileInfo) (key, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return key{}, false
	}
	return key{
		Dev: uint64(st.Dev), Ino: st.Ino, Size: fi.Size(),
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
	}, true
}

// File returns the digest ("sha256:...") and size of the regular file at
// path, following symlinks, from the cache when its stat is unchanged.
func (c *Cache) File(path string) (digest string, size int64, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", 0, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", 0, err
	}
	if !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("hashing %s: not a regular file", path)
	}
	k, ok := statKey(fi)
	if ok {
		c.mu.Lock()
		e, hit := c.entries[abs]
		c.mu.Unlock()
		if hit && e.key == k {
			return e.Digest, k.Size, nil
		}
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	digest = lockfmt.FormatDigest(h.Sum(nil))
	// Re-stat: a file that changed while being read is not cached.
	if fi2, err := f.Stat(); err == nil && ok {
		if k2, ok2 := statKey(fi2); ok2 && k2 == k && n == k.Size {
			c.mu.Lock()
			c.entries[abs] = entry{key: k, Digest: digest}
			c.dirty = true
			c.mu.Unlock()
		}
	}
	if c.Progress != nil {
		c.Progress(n)
	}
	return digest, n, nil
}

// Result is the outcome of hashing one file with Files.
type Result struct {
	Path   string
	Digest string
	Size   int64
	Err    error
}

// Files hashes paths in parallel (one worker per CPU, at least 2) and
// returns one Result per path, in the order given.
func (c *Cache) Files(paths []string) []Result {
	out := make([]Result, len(paths))
	workers := max(runtime.NumCPU(), 2)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d, n, err := c.File(paths[i])
				out[i] = Result{Path: paths[i], Digest: d, Size: n, Err: err}
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}
