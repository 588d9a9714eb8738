// Package safetar extracts untrusted tar streams (outputs copied out of a
// container) without letting them write outside the target directory.
package safetar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrUnsafe is returned (wrapped) when a tar stream copied out of a
// container tries to write outside the output directory, holds a device or
// exceeds the size limits. Such a replay is refused.
var ErrUnsafe = errors.New("unsafe archive entry refused")

// Limits bound what Extract writes.
type Limits struct {
	MaxFileBytes  int64 // per regular file
	MaxTotalBytes int64 // sum of regular files
	MaxEntries    int
}

// DefaultLimits allow outputs up to 8 GiB each and 32 GiB in all.
var DefaultLimits = Limits{MaxFileBytes: 8 << 30, MaxTotalBytes: 32 << 30, MaxEntries: 1 << 20}

// Extract writes the tar stream r into the existing directory dest,
// refusing (with ErrUnsafe) any entry with an absolute name or a ".."
// component, a symlink or hard link whose target leaves dest, an entry
// written through a symlink, a device, FIFO or other special file, and
// anything beyond limits. Regular files get mode 0644 or 0755, directories
// 0755: owners and modes from the container are not trusted.
func Extract(r io.Reader, dest string, limits Limits) error {
	tr := tar.NewReader(r)
	var total int64
	links := map[string]bool{} // symlinks created, by clean relative name
	files := map[string]bool{} // regular files created
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the output archive: %w", err)
		}
		if n >= limits.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrUnsafe, limits.MaxEntries)
		}
		name, err := safeName(h.Name)
		if err != nil {
			return err
		}
		if name == "." {
			continue
		}
		for p := path.Dir(name); p != "."; p = path.Dir(p) {
			if links[p] {
				return fmt.Errorf("%w: %q is written through the symlink %q", ErrUnsafe, h.Name, p)
			}
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		if links[name] || files[name] {
			return fmt.Errorf("%w: %q appears twice", ErrUnsafe, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("extracting %s: %w", h.Name, err)
			}
		case tar.TypeReg:
			if h.Size < 0 || h.Size > limits.MaxFileBytes || total+h.Size > limits.MaxTotalBytes {
				return fmt.Errorf("%w: %q is %d bytes, beyond the output size limit", ErrUnsafe, h.Name, h.Size)
			}
			total += h.Size
			if err := writeFile(target, tr, h); err != nil {
				return err
			}
			files[name] = true
		case tar.TypeSymlink:
			if err := checkLink(name, h.Linkname, true); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fmt.Errorf("extracting %s: %w", h.Name, err)
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return fmt.Errorf("extracting %s: %w", h.Name, err)
			}
			links[name] = true
		case tar.TypeLink:
			if err := checkLink(name, h.Linkname, false); err != nil {
				return err
			}
			src, _ := safeName(h.Linkname)
			if !files[src] {
				return fmt.Errorf("%w: hard link %q points at %q, not a file extracted before it", ErrUnsafe, h.Name, h.Linkname)
			}
			if err := copyFile(filepath.Join(dest, filepath.FromSlash(src)), target); err != nil {
				return fmt.Errorf("extracting %s: %w", h.Name, err)
			}
			files[name] = true
		default:
			return fmt.Errorf("%w: %q is a special file (type %q)", ErrUnsafe, h.Name, string(h.Typeflag))
		}
	}
}

// safeName returns the clean relative form of a tar entry name, refusing
// absolute names and ".." components.
func safeName(n string) (string, error) {
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\\") || strings.ContainsRune(n, 0) {
		return "", fmt.Errorf("%w: entry name %q", ErrUnsafe, n)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: entry name %q leaves the output directory", ErrUnsafe, n)
		}
	}
	return path.Clean(n), nil
}

// checkLink refuses link targets leaving the extraction root. A symlink
// target is relative to the link's directory, a hard link's to the root.
func checkLink(name, target string, symlink bool) error {
	if target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, 0) {
		return fmt.Errorf("%w: link %q points at %q, outside the output directory", ErrUnsafe, name, target)
	}
	joined := target
	if symlink {
		joined = path.Join(path.Dir(name), target)
	}
	if c := path.Clean(joined); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("%w: link %q points at %q, outside the output directory", ErrUnsafe, name, target)
	}
	return nil
}

func writeFile(target string, r io.Reader, h *tar.Header) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	mode := os.FileMode(0o644)
	if h.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, h.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != h.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("extracting %s: %w", h.Name, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
