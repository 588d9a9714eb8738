package capture

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// statKey is what decides whether a file changed during the run: a file
// whose inode, size, mtime or ctime moved was written. Comparing stats
// instead of digests means the tree is not read before the run; the changed
// files are hashed once afterwards.
type statKey struct {
	ino, size, mtime, ctime int64
}

// snapshot maps slash-separated paths relative to the workdir to the stat
// of each regular file.
type snapshot map[string]statKey

// skippedDir reports directories never walked for outputs or code: version
// control internals and bytecode caches.
func skippedDir(name string) bool {
	return name == ".git" || name == "__pycache__" || name == ".hg" || name == ".svn"
}

// takeSnapshot stats every regular file under root.
func takeSnapshot(root string) (snapshot, error) {
	s := snapshot{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if p != root && skippedDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		s[filepath.ToSlash(rel)] = keyOf(fi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	return s, nil
}

func keyOf(fi os.FileInfo) statKey {
	k := statKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ino = int64(st.Ino)
		k.ctime = st.Ctim.Nano()
	}
	return k
}

// changed lists the paths of after that are new or differ from before.
func changed(before, after snapshot) []string {
	var out []string
	for p, k := range after {
		if b, ok := before[p]; !ok || b != k {
			out = append(out, p)
		}
	}
	return out
}

// matchGlob reports whether the slash-separated relative path p matches
// pattern: path.Match syntax per segment, "**" for any number of segments,
// a pattern without "/" matching the base name at any depth, and a pattern
// naming a directory matching everything below it.
func matchGlob(pattern, p string) bool {
	pattern = strings.TrimPrefix(strings.TrimSuffix(pattern, "/"), "./")
	if pattern == "" {
		return false
	}
	if !strings.Contains(pattern, "/") {
		for _, seg := range strings.Split(p, "/") {
			if ok, _ := path.Match(pattern, seg); ok {
				return true
			}
		}
		return false
	}
	ps := strings.Split(pattern, "/")
	segs := strings.Split(p, "/")
	// A directory pattern matches its contents: try every prefix of p.
	for n := len(segs); n >= 1; n-- {
		if matchSegs(ps, segs[:n]) {
			return true
		}
	}
	return false
}

func matchSegs(ps, segs []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegs(ps[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(ps[0], segs[0]); !ok {
			return false
		}
		ps, segs = ps[1:], segs[1:]
	}
	return len(segs) == 0
}

// validGlob checks a user's glob for syntax errors.
func validGlob(pattern string) error {
	for _, seg := range strings.Split(pattern, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("glob %q: %w", pattern, err)
		}
	}
	return nil
}
