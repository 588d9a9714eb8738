// Package pydist lists the Python distributions installed in a set of
// site directories (and a conda prefix), with the files each owns, and
// checks those files against what the installer recorded.
//
// Where the file list of a distribution comes from, first match wins:
//
//   - a Debian package (the dpkg database lists the metadata directory):
//     the package's files under the same site directory, verified against
//     the package's md5sums (Debian rewrites files after building the
//     wheel, so a shipped RECORD does not match and is not used);
//   - RECORD of a .dist-info, verified against its sha256 hashes;
//   - installed-files.txt of an .egg-info (not verified: no hashes);
//   - otherwise the top_level.txt modules under the site directory (a guess;
//     FileList says so).
//
// Paths in a distribution's digest are relative to its site directory,
// exactly as RECORD writes them: scripts outside it keep their "../"
// prefix ("../../../bin/f2py"). Compiled caches (__pycache__/*.pyc) are left
// out of the digest and the file count: interpreters create and rewrite them
// at will, and Debian does not list them at all.
package pydist

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/repro-ml/repro/internal/dpkg"
)

// Dist is one installed distribution.
type Dist struct {
	Name      string // PEP 503 normalised
	RawName   string // as its metadata spells it
	Version   string
	Installer string // INSTALLER contents, "debian" for dpkg-owned without one, "conda"
	// Source is the manifest source form (see lockfmt.Package.Source).
	Source string
	// Build and MD5 are set for conda packages: build string and the
	// md5 of the package archive, as conda-meta records them.
	Build, MD5 string
	// SiteDir is the directory the file paths are relative to (the site
	// directory, or the conda prefix).
	SiteDir string
	// Location is the .dist-info/.egg-info path (or conda-meta json).
	Location string
	// OSPackage is the owning dpkg package ("python3-numpy 1:1.24.2-1"), if any.
	OSPackage string
	// FileList names where Files came from: "dpkg", "RECORD",
	// "installed-files.txt", "top_level.txt" or "conda-meta".
	FileList string
	// Files are the absolute, cleaned paths of the distribution's files
	// (no directories once Check ran),
	// sorted, without __pycache__ entries. They may include paths that no
	// longer exist (reported as missing by Check).
	Files []string

	// expected hashes: absolute path -> "sha256:<hex>" / "md5:<hex>" / other algo
	expected map[string]string
	// md5Since: dpkg md5sums ctime; only files changed after it are re-hashed.
	md5Since int64

	// Set by Check.
	Digest   string
	Modified []string // paths relative to SiteDir; missing files end in " (missing)"
	Count    int      // files in the digest
}

// Options configures Scan.
type Options struct {
	// DPKG is the dpkg database used to find Debian-owned distributions; nil
	// when the host has none.
	DPKG *dpkg.DB
	// Warn, when set, hears about distributions skipped or degraded because
	// their metadata is damaged (unreadable METADATA, malformed RECORD).
	Warn func(format string, args ...any)
}

func (o Options) warn(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(format, args...)
	}
}

// Scan lists the distributions in siteDirs, in the order given (earlier
// directories shadow later ones on sys.path; all are listed). Directories
// that do not exist are skipped. Within one directory a name seen twice (a
// Debian package shipping both .egg-info and .dist-info) is kept once,
// .dist-info first.
func Scan(siteDirs []string, opts Options) ([]*Dist, error) {
	var out []*Dist
	seenDir := map[string]bool{}
	for _, sd := range siteDirs {
		sd = filepath.Clean(sd)
		if seenDir[sd] {
			continue
		}
		seenDir[sd] = true
		entries, err := os.ReadDir(sd)
		if os.IsNotExist(err) || os.IsPermission(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", sd, err)
		}
		var metas []string
		for _, e := range entries {
			n := e.Name()
			if strings.HasSuffix(n, ".dist-info") {
				metas = append(metas, n)
			}
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".egg-info") {
				metas = append(metas, e.Name())
			}
		}
		have := map[string]bool{}
		for _, meta := range metas {
			d, err := readDist(sd, filepath.Join(sd, meta), opts)
			if err != nil {
				return nil, err
			}
			if d == nil || have[d.Name] {
				continue
			}
			have[d.Name] = true
			out = append(out, d)
		}
	}
	return out, nil
}

func readDist(site, meta string, opts Options) (*Dist, error) {
	fi, err := os.Stat(meta)
	if err != nil {
		return nil, nil // dangling symlink: not a distribution
	}
	metaFile := meta
	if fi.IsDir() {
		if strings.HasSuffix(meta, ".dist-info") {
			metaFile = filepath.Join(meta, "METADATA")
		} else {
			metaFile = filepath.Join(meta, "PKG-INFO")
		}
	}
	b, err := os.ReadFile(metaFile)
	if err != nil {
		return nil, nil // incomplete metadata directory: ignored, as importlib.metadata does
	}
	raw, ver, err := ParseMetadata(b)
	if err != nil {
		opts.warn("distribution at %s skipped: reading %s: %v", meta, metaFile, err)
		return nil, nil
	}
	d := &Dist{Name: Normalize(raw), RawName: raw, Version: ver, SiteDir: site, Location: meta}
	if fi.IsDir() {
		if b, err := os.ReadFile(filepath.Join(meta, "INSTALLER")); err == nil {
			d.Installer = strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(filepath.Join(meta, "direct_url.json")); err == nil {
			if src, err := ParseDirectURL(b); err == nil {
				d.Source = src
			}
		}
	}
	if opts.DPKG != nil {
		pkg, ok, err := opts.DPKG.Owner(meta)
		if err == nil && ok {
			saved := *d
			if err = d.fromDpkg(opts.DPKG, pkg); err == nil {
				return d, nil
			}
			*d = saved
		}
		if err != nil {
			opts.warn("%s %s: dpkg database not usable, RECORD used instead: %v", d.Name, d.Version, err)
		}
	}
	if d.Source == "" && d.Installer != "" {
		d.Source = "index"
	}
	if fi.IsDir() {
		if b, err := os.ReadFile(filepath.Join(meta, "RECORD")); err == nil {
			recs, err := ParseRecord(b)
			if err != nil {
				opts.warn("%s %s: files guessed: reading %s: %v", d.Name, d.Version, filepath.Join(meta, "RECORD"), err)
				d.FileList = "top_level.txt"
				d.Files = topLevelFiles(site, meta, true)
				d.finish()
				return d, nil
			}
			d.FileList = "RECORD"
			d.expected = map[string]string{}
			for _, r := range recs {
				p := abs(site, r.Path)
				d.Files = append(d.Files, p)
				if algo, h, ok := RecordHash(r.Hash); ok {
					d.expected[p] = algo + ":" + h
				}
			}
			d.finish()
			return d, nil
		}
		if b, err := os.ReadFile(filepath.Join(meta, "installed-files.txt")); err == nil {
			d.FileList = "installed-files.txt"
			for _, line := range strings.Split(string(b), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					d.Files = append(d.Files, abs(meta, line))
				}
			}
			d.finish()
			return d, nil
		}
	}
	d.FileList = "top_level.txt"
	d.Files = topLevelFiles(site, meta, fi.IsDir())
	d.finish()
	return d, nil
}

// fromDpkg takes the distribution's files from its Debian package.
func (d *Dist) fromDpkg(db *dpkg.DB, pkg dpkg.Package) error {
	d.OSPackage = pkg.String()
	if d.Installer == "" {
		d.Installer = "debian"
	}
	if d.Source == "" {
		d.Source = "os:" + pkg.Name
	}
	d.FileList = "dpkg"
	files, err := db.Files(pkg.Name)
	if err != nil {
		return err
	}
	sums, since, err := db.MD5Sums(pkg.Name)
	if err != nil {
		return err
	}
	d.expected = map[string]string{}
	d.md5Since = since
	for _, f := range files {
		if !under(f, d.SiteDir) {
			continue
		}
		d.Files = append(d.Files, f) // directories are dropped by Check

		if s, ok := sums[f]; ok {
			d.expected[f] = "md5:" + s
		}
	}
	d.finish()
	return nil
}

// topLevelFiles guesses a distribution's files: its metadata plus the
// modules top_level.txt names (or, without it, none).
func topLevelFiles(site, meta string, isDir bool) []string {
	files := []string{meta}
	if !isDir {
		return files
	}
	files = listTree(meta)
	b, err := os.ReadFile(filepath.Join(meta, "top_level.txt"))
	if err != nil {
		return files
	}
	for _, mod := range strings.Fields(string(b)) {
		if strings.ContainsAny(mod, `/\`) || mod == ".." || mod == "." {
			continue
		}
		p := filepath.Join(site, mod)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			files = append(files, listTree(p)...)
			continue
		}
		if m, _ := filepath.Glob(filepath.Join(site, mod+".*")); len(m) > 0 {
			for _, x := range m {
				if fi, err := os.Stat(x); err == nil && !fi.IsDir() {
					files = append(files, x)
				}
			}
		}
	}
	return files
}

func listTree(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() {
			if e.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, p)
		return nil
	})
	return out
}

// finish cleans, filters and sorts Files.
func (d *Dist) finish() {
	seen := map[string]bool{}
	out := d.Files[:0]
	for _, f := range d.Files {
		f = filepath.Clean(f)
		if seen[f] || IsBytecodeCache(f) || strings.ContainsAny(f, "\n\r") {
			continue
		}
		seen[f] = true
		out = append(out, f)
	}
	sort.Strings(out)
	d.Files = out
}

// IsBytecodeCache reports whether p is a compiled cache file in __pycache__.
func IsBytecodeCache(p string) bool {
	return strings.HasSuffix(p, ".pyc") && filepath.Base(filepath.Dir(p)) == "__pycache__"
}

// Rel returns p relative to the distribution's site directory.
func (d *Dist) Rel(p string) string {
	r, err := filepath.Rel(d.SiteDir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func abs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, filepath.FromSlash(p))
}

func under(p, dir string) bool {
	return strings.HasPrefix(p, dir+"/")
}
