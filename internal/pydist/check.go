package pydist

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
)

// File types of FileHash.
const (
	TypeFile    = "file"
	TypeSymlink = "symlink"
	TypeDir     = "dir"
	TypeMissing = "missing"
	TypeOther   = "other" // device, socket, fifo
)

// FileHash is what HashFiles learned about one path (not following a final
// symlink).
type FileHash struct {
	Path   string
	Type   string
	Mode   os.FileMode // permission bits
	Size   int64
	Digest string // files: "sha256:<hex>"
	Target string // symlinks: verbatim target
	Ctime  int64  // change time, Unix nanoseconds
	Err    error  // unreadable file (not for missing ones)
}

// HashFiles lstat()s every path and hashes the regular files through cache
// (so an unchanged file costs one stat), in parallel. Duplicates are
// handled once.
func HashFiles(cache *hashcache.Cache, paths []string) map[string]FileHash {
	uniq := make([]string, 0, len(paths))
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	res := make([]FileHash, len(uniq))
	var wg sync.WaitGroup
	next := make(chan int, 256)
	for range max(runtime.NumCPU(), 2) * 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res[i] = hashOne(cache, uniq[i])
			}
		}()
	}
	for i := range uniq {
		next <- i
	}
	close(next)
	wg.Wait()
	out := make(map[string]FileHash, len(uniq))
	for _, r := range res {
		out[r.Path] = r
	}
	return out
}

func hashOne(cache *hashcache.Cache, p string) FileHash {
	h := FileHash{Path: p}
	fi, err := os.Lstat(p)
	if os.IsNotExist(err) || isNotDir(err) {
		h.Type = TypeMissing
		return h
	}
	if err != nil {
		h.Type, h.Err = TypeMissing, err
		return h
	}
	h.Mode = fi.Mode().Perm()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		h.Ctime = st.Ctim.Nano()
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		h.Type = TypeSymlink
		h.Target, h.Err = os.Readlink(p)
	case fi.IsDir():
		h.Type = TypeDir
	case fi.Mode().IsRegular():
		h.Type = TypeFile
		h.Digest, h.Size, h.Err = cache.File(p)
	default:
		h.Type = TypeOther
	}
	return h
}

func isNotDir(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == syscall.ENOTDIR
}

// Check hashes every file of every distribution (through cache) and sets
// each one's Digest (lockfmt.TreeDigest over paths relative to SiteDir),
// Count and Modified. It returns what it learned about every file, for
// reuse. A file listed with a hash that is now missing or different is
// modified; for Debian packages only files changed after the package was
// installed (ctime after its md5sums file's) are re-read for their md5.
func Check(dists []*Dist, cache *hashcache.Cache) (map[string]FileHash, error) {
	var all []string
	for _, d := range dists {
		all = append(all, d.Files...)
	}
	hashes := HashFiles(cache, all)
	for _, d := range dists {
		if err := d.check(hashes); err != nil {
			return nil, err
		}
	}
	return hashes, nil
}

func (d *Dist) check(hashes map[string]FileHash) error {
	var entries []lockfmt.TreeEntry
	d.Modified = nil
	kept := d.Files[:0]
	defer func() { d.Files = kept }()
	for _, f := range d.Files {
		h := hashes[f]
		if h.Type != TypeDir && h.Type != TypeOther {
			kept = append(kept, f)
		}
		rel := d.Rel(f)
		switch h.Type {
		case TypeFile:
			if h.Err != nil { // unreadable: no digest to trust, say so
				d.Modified = append(d.Modified, rel+" (unreadable)")
				continue
			}
			entries = append(entries, lockfmt.TreeEntry{Path: rel, Digest: h.Digest})
		case TypeSymlink:
			entries = append(entries, lockfmt.TreeEntry{Path: rel, Digest: lockfmt.SymlinkDigest(h.Target)})
		case TypeMissing:
			if _, listed := d.expected[f]; listed {
				d.Modified = append(d.Modified, rel+" (missing)")
			}
			continue
		default:
			continue
		}
		if d.modified(f, h) {
			d.Modified = append(d.Modified, rel)
		}
	}
	dg, err := lockfmt.TreeDigest(entries)
	if err != nil {
		return fmt.Errorf("digest of %s: %w", d.Location, err)
	}
	d.Digest, d.Count = dg, len(entries)
	sort.Strings(d.Modified)
	return nil
}

// modified compares one existing file with its recorded hash.
func (d *Dist) modified(f string, h FileHash) bool {
	want, ok := d.expected[f]
	if !ok || h.Type != TypeFile {
		return false
	}
	algo, hexWant, _ := strings.Cut(want, ":")
	if algo == "sha256" {
		return h.Digest != lockfmt.DigestPrefix+hexWant
	}
	if algo == "md5" && d.md5Since != 0 && h.Ctime <= d.md5Since {
		return false // unchanged since dpkg installed it
	}
	got, err := fileHash(f, algo)
	if err != nil {
		return false // unknown algorithm or unreadable: no verdict
	}
	return got != hexWant
}

func fileHash(p, algo string) (string, error) {
	var h hash.Hash
	switch algo {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha224":
		h = sha256.New224()
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		return "", fmt.Errorf("unsupported hash %q", algo)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
