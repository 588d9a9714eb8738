// Package ociimage writes deterministic OCI images: layer tars with fixed
// headers, streamed once from the host files (hashed and checked against
// expected digests on the way), gzip-compressed in the same pass, assembled
// into an OCI image with go-containerregistry, and written as an OCI image
// layout or as one tar that both Docker image stores load.
//
// Determinism: entries are written in the order given (callers sort them with
// SortEntries), every header has ModTime = the build's epoch (or the entry's
// own content-derived ModTime), no access or
// change time, the owner given by the entry (no user or group names), USTAR or
// PAX format chosen by the tar writer only when a name or size needs it, and
// gzip from the standard library at a fixed level with no name and no time.
// The same entries and epoch give the same bytes with the same Go toolchain.
package ociimage

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/repro-ml/repro/lockfmt"
)

// Entry types.
const (
	TypeDir     = 'd'
	TypeFile    = 'f'
	TypeSymlink = 'l'
)

// Entry is one member of a layer.
type Entry struct {
	// Path is absolute and clean ("/usr/lib/x.so"); it is written without the
	// leading slash, directories with a trailing one.
	Path string
	Type byte // TypeDir, TypeFile or TypeSymlink
	// Mode is the permission bits, setuid/setgid/sticky included.
	Mode     int64
	UID, GID int
	// Size and Digest are the content's expected size and manifest digest
	// (files only). A file whose bytes differ fails the layer with a
	// *DigestMismatchError.
	Size   int64
	Digest string
	// Source is the host path the content is read from (files only), unless
	// Content is set.
	Source  string
	Content []byte
	// Target is the symlink target, verbatim.
	Target string
	// ModTime, when not 0, is the entry's timestamp in seconds since 1970
	// instead of the build's epoch. It must be derived from content, never
	// from the host's clock or file times (see replay's pycache timestamps).
	ModTime int64
}

// DigestMismatchError reports a file whose bytes on the host are not the
// ones the manifest recorded.
type DigestMismatchError struct {
	Path   string // path in the image
	Source string // host path read
	Want   string // manifest digest
	Got    string // digest of the host file
}

func (e *DigestMismatchError) Error() string {
	src := ""
	if e.Source != e.Path {
		src = " (read from " + e.Source + ")"
	}
	return fmt.Sprintf("%s%s changed since capture: manifest has %s, file has %s", e.Path, src, e.Want, e.Got)
}

// SortEntries sorts entries by path bytewise, which puts every directory
// before its children.
func SortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Path < es[j].Path })
}

// header returns the fixed tar header of e.
func header(e *Entry, mtime time.Time) (*tar.Header, error) {
	if !strings.HasPrefix(e.Path, "/") || e.Path == "/" {
		return nil, fmt.Errorf("entry path %q is not an absolute file path", e.Path)
	}
	h := &tar.Header{
		Name:    e.Path[1:],
		Mode:    e.Mode & 0o7777,
		Uid:     e.UID,
		Gid:     e.GID,
		ModTime: mtime,
	}
	if e.ModTime != 0 {
		h.ModTime = time.Unix(e.ModTime, 0).UTC()
	}
	switch e.Type {
	case TypeDir:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case TypeFile:
		h.Typeflag = tar.TypeReg
		h.Size = e.Size
		if e.Content != nil {
			h.Size = int64(len(e.Content))
		}
	case TypeSymlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.Target
	default:
		return nil, fmt.Errorf("entry %s: unknown type %q", e.Path, e.Type)
	}
	return h, nil
}

// TarStats counts what WriteTar wrote.
type TarStats struct {
	Files int   // regular files and symlinks
	Bytes int64 // file content bytes
}

// WriteTar writes entries (already sorted) as a tar stream to w, reading each
// file once from its Source and checking it against its Digest while it
// streams. mtime is the timestamp of every entry (truncated to seconds, UTC).
// It stops with ctx's error when ctx ends, even inside a large file.
func WriteTar(ctx context.Context, w io.Writer, entries []Entry, mtime time.Time) (TarStats, error) {
	mtime = mtime.UTC().Truncate(time.Second)
	tw := tar.NewWriter(w)
	var st TarStats
	for i := range entries {
		e := &entries[i]
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if i > 0 && entries[i-1].Path >= e.Path {
			return st, fmt.Errorf("layer entries not sorted or duplicated at %s", e.Path)
		}
		h, err := header(e, mtime)
		if err != nil {
			return st, err
		}
		if e.Type == TypeFile && e.Content == nil {
			if err := writeHostFile(ctx, tw, h, e); err != nil {
				return st, err
			}
		} else {
			if err := tw.WriteHeader(h); err != nil {
				return st, fmt.Errorf("writing %s: %w", e.Path, err)
			}
			if e.Content != nil {
				if _, err := tw.Write(e.Content); err != nil {
					return st, fmt.Errorf("writing %s: %w", e.Path, err)
				}
			}
		}
		if e.Type != TypeDir {
			st.Files++
			st.Bytes += h.Size
		}
	}
	if err := tw.Close(); err != nil {
		return st, fmt.Errorf("finishing layer tar: %w", err)
	}
	return st, nil
}

// writeHostFile streams e.Source into tw, hashing it, and fails with a
// *DigestMismatchError when its size or digest is not the expected one.
func writeHostFile(ctx context.Context, tw *tar.Writer, h *tar.Header, e *Entry) error {
	f, err := os.Open(e.Source)
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.Source, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", e.Source, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("reading %s: not a regular file any more (manifest has a %d-byte file)", e.Source, e.Size)
	}
	if fi.Size() != e.Size {
		got, _, herr := lockfmt.DigestReader(f)
		if herr != nil {
			got = fmt.Sprintf("(unreadable: %v)", herr)
		}
		return &DigestMismatchError{Path: e.Path, Source: e.Source, Want: e.Digest, Got: got}
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %s: %w", e.Path, err)
	}
	hash := sha256.New()
	n, err := io.Copy(tw, io.TeeReader(ctxReader{ctx, f}, hash))
	if err != nil {
		if errors.Is(err, tar.ErrWriteTooLong) {
			return fmt.Errorf("reading %s: the file grew while being read", e.Source)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reading %s: %w", e.Source, err)
	}
	got := lockfmt.FormatDigest(hash.Sum(nil))
	if n != e.Size || got != e.Digest {
		return &DigestMismatchError{Path: e.Path, Source: e.Source, Want: e.Digest, Got: got}
	}
	return nil
}

// ctxReader fails reads once its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
