package elfdeps

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Link is one symlink met while resolving a path.
type Link struct {
	Path   string // absolute path of the symlink itself
	Target string // its target, verbatim (relative or absolute)
}

// maxLinks bounds symlink resolution, as the kernel's ELOOP limit does.
const maxLinks = 40

// Chain resolves the absolute path p component by component, like
// filepath.EvalSymlinks, and returns every symlink it followed (directory
// symlinks such as /lib -> usr/lib included) in the order met, and the real
// path. An image that holds every returned link and the real file resolves
// p to the same file.
func Chain(p string) ([]Link, string, error) {
	if !filepath.IsAbs(p) {
		return nil, "", fmt.Errorf("resolving %s: not an absolute path", p)
	}
	var links []Link
	pending := strings.Split(strings.TrimPrefix(filepath.Clean(p), "/"), "/")
	cur := "/"
	for n := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(next)
		if err != nil {
			return links, "", fmt.Errorf("resolving %s: %w", p, err)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		n++
		if n > maxLinks {
			return links, "", fmt.Errorf("resolving %s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return links, "", fmt.Errorf("resolving %s: %w", p, err)
		}
		links = append(links, Link{Path: next, Target: target})
		if filepath.IsAbs(target) {
			cur = "/"
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return links, cur, nil
}
