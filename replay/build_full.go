package replay

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
)

// A full closure adds, for every package of the manifest installed as a
// .dist-info with a RECORD, every file its RECORD lists (paths relative to
// the site directory, the parent of the .dist-info). The package's tree
// digest (lockfmt.TreeDigest of those paths, relative as RECORD writes them
// after cleaning, with file digests or lockfmt.SymlinkDigest targets; files
// RECORD lists that are not on disk are left out) must equal Package.Digest.
// Distributions without RECORD (for example Debian's .egg-info) keep only
// the files the manifest lists.

// maxRecord bounds a RECORD file read from the host or an image.
const maxRecord = 64 << 20

// siteDirs returns the site directories of m's .dist-info packages, sorted.
func siteDirs(m *lockfmt.Manifest) []string {
	set := map[string]bool{}
	for _, p := range m.Packages {
		if strings.HasSuffix(p.Location, ".dist-info") && cleanAbsPath(p.Location) {
			set[path.Dir(p.Location)] = true
		}
	}
	return sortedKeysOf(set)
}

// recordPaths parses a RECORD and returns its member paths, cleaned,
// relative to the site directory (they may start with "../" for scripts).
func recordPaths(b []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var out []string
	seen := map[string]bool{}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) == 0 || rec[0] == "" {
			continue
		}
		p := path.Clean(rec[0])
		if strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\n") {
			return nil, fmt.Errorf("line %d: path %q is not relative", line, rec[0])
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// fullClosureFiles returns the files of every RECORD-listed distribution of
// m's packages, each package checked against its tree digest.
func fullClosureFiles(m *lockfmt.Manifest, root string) ([]lockfmt.File, error) {
	hashes := hashcache.New()
	var out []lockfmt.File
	for _, pkg := range m.Packages {
		if !strings.HasSuffix(pkg.Location, ".dist-info") || !cleanAbsPath(pkg.Location) {
			continue
		}
		rb, err := readHostLimited(root+pkg.Location+"/RECORD", maxRecord)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", pkg.Name, err)
		}
		rels, err := recordPaths(rb)
		if err != nil {
			return nil, fmt.Errorf("package %s: reading %s/RECORD: %w", pkg.Name, pkg.Location, err)
		}
		site := path.Dir(pkg.Location)
		var entries []lockfmt.TreeEntry
		for _, rel := range rels {
			abs := path.Join(site, rel)
			fi, err := os.Lstat(root + abs)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("package %s: %w", pkg.Name, err)
			}
			mode := fmt.Sprintf("%04o", fi.Mode().Perm())
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				t, err := os.Readlink(root + abs)
				if err != nil {
					return nil, fmt.Errorf("package %s: %w", pkg.Name, err)
				}
				entries = append(entries, lockfmt.TreeEntry{Path: rel, Digest: lockfmt.SymlinkDigest(t)})
				out = append(out, lockfmt.File{Path: abs, Type: lockfmt.TypeSymlink, Mode: "0777", Target: t, Role: lockfmt.RolePackages})
			case fi.Mode().IsRegular():
				d, n, err := hashes.File(root + abs)
				if err != nil {
					return nil, fmt.Errorf("package %s: %w", pkg.Name, err)
				}
				entries = append(entries, lockfmt.TreeEntry{Path: rel, Digest: d})
				out = append(out, lockfmt.File{Path: abs, Type: lockfmt.TypeFile, Mode: mode, Size: n, Digest: d, Role: lockfmt.RolePackages})
			}
		}
		got, err := lockfmt.TreeDigest(entries)
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", pkg.Name, err)
		}
		if got != pkg.Digest {
			return nil, fmt.Errorf("package %s %s at %s changed since capture: manifest has tree digest %s, files on disk give %s (rebuild without --closure full, or capture again)", pkg.Name, pkg.Version, site, pkg.Digest, got)
		}
	}
	// Files the manifest lists keep their manifest entry (and role).
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	kept := out[:0]
	for _, f := range out {
		if !listed[f.Path] {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

func readHostLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", p, limit)
	}
	return b, nil
}

// verifyFullClosure accounts for the files of a full-closure image that the
// manifest does not list: each belongs to a package whose RECORD (read from
// the image) lists it, and each such package's tree digest, computed from
// the image's files, equals the manifest's.
func verifyFullClosure(m *lockfmt.Manifest, plan *imagePlan, extra map[string]string, records map[string][]byte) error {
	accounted := map[string]bool{}
	digestOf := func(abs string) (string, bool) {
		if d, ok := extra[abs]; ok {
			return d, true
		}
		if it, ok := plan.items[abs]; ok {
			if it.Type == 'l' {
				return lockfmt.SymlinkDigest(it.Target), true
			}
			return it.Digest, true
		}
		return "", false
	}
	for _, pkg := range m.Packages {
		rb, ok := records[pkg.Location+"/RECORD"]
		if !ok {
			continue
		}
		rels, err := recordPaths(rb)
		if err != nil {
			return &ImageMismatchError{Path: pkg.Location + "/RECORD", Problem: "unreadable RECORD: " + err.Error()}
		}
		site := path.Dir(pkg.Location)
		var entries []lockfmt.TreeEntry
		for _, rel := range rels {
			abs := path.Join(site, rel)
			if d, ok := digestOf(abs); ok {
				entries = append(entries, lockfmt.TreeEntry{Path: rel, Digest: d})
				accounted[abs] = true
			}
		}
		got, err := lockfmt.TreeDigest(entries)
		if err != nil {
			return err
		}
		if got != pkg.Digest {
			return &ImageMismatchError{Path: site, Problem: "package " + pkg.Name + " tree digest differs", Want: pkg.Digest, Got: got}
		}
	}
	for _, p := range sortedKeysOf(extra) {
		if !accounted[p] {
			return &ImageMismatchError{Path: p, Problem: "not in the manifest nor in the RECORD of one of its packages"}
		}
	}
	return nil
}
