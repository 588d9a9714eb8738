package lockfmt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

// DigestPrefix starts every digest in a manifest: "sha256:" and 64 lower-case
// hex digits.
const DigestPrefix = "sha256:"

// FormatDigest renders a raw SHA-256 sum as a manifest digest.
func FormatDigest(sum []byte) string {
	return DigestPrefix + hex.EncodeToString(sum)
}

// DigestBytes returns the manifest digest of b.
func DigestBytes(b []byte) string {
	s := sha256.Sum256(b)
	return FormatDigest(s[:])
}

// DigestReader returns the manifest digest of everything read from r and the
// number of bytes read.
func DigestReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return FormatDigest(h.Sum(nil)), n, nil
}

// ValidDigest reports whether d has the form "sha256:<64 lower-case hex>".
func ValidDigest(d string) bool {
	if len(d) != len(DigestPrefix)+64 || !strings.HasPrefix(d, DigestPrefix) {
		return false
	}
	for _, c := range d[len(DigestPrefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// TreeEntry is one member of a tree digest: a path relative to the tree's
// root (slash-separated, no leading "./") and its content digest. For a
// symlink, Digest is the digest of its target string prefixed "symlink:".
type TreeEntry struct {
	Path   string
	Digest string
}

// TreeDigest is the Merkle digest repro uses for a directory, a
// distribution or any set of files: the SHA-256 of the lines
//
//	<digest> <path>\n
//
// for every entry, sorted by path bytewise, prefixed "sha256:". Empty
// directories do not contribute. Two trees with the same relative paths and
// contents have the same digest whatever their location, mtimes or inode
// order. Paths containing a newline are refused.
func TreeDigest(entries []TreeEntry) (string, error) {
	sorted := make([]TreeEntry, len(entries))
	copy(sorted, entries)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	for i, e := range sorted {
		if strings.ContainsAny(e.Path, "\n") {
			return "", fmt.Errorf("tree digest: path %q contains a newline", e.Path)
		}
		if i > 0 && sorted[i-1].Path == e.Path {
			return "", fmt.Errorf("tree digest: duplicate path %q", e.Path)
		}
		fmt.Fprintf(h, "%s %s\n", e.Digest, e.Path)
	}
	return FormatDigest(h.Sum(nil)), nil
}

// SymlinkDigest is the TreeEntry digest of a symlink pointing at target.
func SymlinkDigest(target string) string {
	return "symlink:" + target
}
