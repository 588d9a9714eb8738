// Package hashcache computes SHA-256 digests of files in parallel and
// remembers them by (device, inode, size, mtime, ctime), so that hashing an
// unchanged file again costs one stat.
//
// The cache file is a line-oriented text file (see fileHeader), written
// atomically; a corrupt or foreign cache file is ignored, never trusted: an
// entry is used only when all five stat fields match.
package hashcache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/repro-ml/repro/lockfmt"
)

// key identifies a file's content version without reading it.
type key struct {
	Dev   uint64
	Ino   uint64
	Size  int64
	Mtime int64
	Ctime int64
}

type entry struct {
	key
	Digest string
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
// missing, unreadable or foreign cache file gives an empty cache; a line
// that does not parse is skipped.
func Open(path string) *Cache {
	c := &Cache{path: path, entries: map[string]entry{}}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte(fileHeader)) {
		return c
	}
	for _, line := range bytes.Split(b[len(fileHeader):], []byte{'\n'}) {
		if p, e, ok := parseLine(line); ok {
			c.entries[p] = e
		}
	}
	return c
}

// fileHeader starts a cache file. The format is one line per file:
//
//	<dev> <ino> <size> <mtime_ns> <ctime_ns> <sha256 hex> <absolute path>
//
// which reads several times faster than JSON for the tens of thousands of
// files a capture hashes (every installed distribution's files).
const fileHeader = "repro-hashcache v1\n"

// parseLine reads one cache line; paths may contain spaces but not newlines.
func parseLine(line []byte) (string, entry, bool) {
	var nums [5]int64
	rest := line
	for i := range nums {
		sp := bytes.IndexByte(rest, ' ')
		if sp <= 0 {
			return "", entry{}, false
		}
		n, err := strconv.ParseInt(string(rest[:sp]), 10, 64)
		if err != nil {
			return "", entry{}, false
		}
		nums[i], rest = n, rest[sp+1:]
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp != 64 || len(rest) < 66 || rest[65] != '/' {
		return "", entry{}, false
	}
	digest := lockfmt.DigestPrefix + string(rest[:64])
	if !lockfmt.ValidDigest(digest) {
		return "", entry{}, false
	}
	e := entry{key: key{Dev: uint64(nums[0]), Ino: uint64(nums[1]), Size: nums[2], Mtime: nums[3], Ctime: nums[4]}, Digest: digest}
	return string(rest[65:]), e, true
}

// DefaultPath is the cache file repro uses: $XDG_CACHE_HOME/repro/hashes
// or ~/.cache/repro/hashes.
func DefaultPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "repro", "hashes")
}

// Save writes the cache atomically if it changed. An in-memory cache does nothing.
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == "" || !c.dirty {
		return nil
	}
	var buf bytes.Buffer
	buf.Grow(len(c.entries) * 160)
	buf.WriteString(fileHeader)
	for p, e := range c.entries {
		if strings.ContainsRune(p, '\n') {
			continue
		}
		fmt.Fprintf(&buf, "%d %d %d %d %d %s %s\n", int64(e.Dev), int64(e.Ino), e.Size, e.Mtime, e.Ctime,
			strings.TrimPrefix(e.Digest, lockfmt.DigestPrefix), p)
	}
	b := buf.Bytes()
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
