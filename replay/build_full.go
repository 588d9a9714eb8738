package replay

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/repro-ml/repro/internal/dpkg"
	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/internal/pydist"
	"github.com/repro-ml/repro/lockfmt"
)

// ClosureListPath is the generated file of a full-closure image that lists,
// per package, the files (relative to its site directory) its tree digest
// covers. VerifyImage authenticates it through the manifest: the files it
// names, with their contents in the image, must give each package's
// recorded tree digest.
const ClosureListPath = "/.repro/closure.json"

// maxClosureList bounds ClosureListPath read from an image.
const maxClosureList = 64 << 20

// closurePackage is one package of ClosureListPath.
type closurePackage struct {
	Location string   `json:"location"`
	SiteDir  string   `json:"site_dir"`
	Files    []string `json:"files"` // relative to SiteDir, sorted
}

type closureList struct {
	Packages []closurePackage `json:"packages"`
}

// siteDirs returns the site directories of m's packages (the parent of each
// .dist-info or .egg-info), sorted.
func siteDirs(m *lockfmt.Manifest) []string {
	set := map[string]bool{}
	for _, p := range m.Packages {
		if (strings.HasSuffix(p.Location, ".dist-info") || strings.HasSuffix(p.Location, ".egg-info")) && cleanAbsPath(p.Location) {
			set[path.Dir(p.Location)] = true
		}
	}
	return sortedKeysOf(set)
}

// fullClosureFiles lists every file of every distribution of m's packages
// (found the way capture found them: internal/pydist), checks each package
// against its tree digest, and returns the files m.Files does not already
// list, with the closure list file's content.
func fullClosureFiles(m *lockfmt.Manifest, root string, hashes *hashcache.Cache) ([]lockfmt.File, []byte, error) {
	sites := siteDirs(m)
	if len(sites) == 0 {
		return nil, nil, nil
	}
	hostSites := make([]string, len(sites))
	for i, s := range sites {
		hostSites[i] = root + s
	}
	var opts pydist.Options
	if db, err := dpkg.Open(root + "/"); err == nil {
		opts.DPKG = db
	}
	dists, err := pydist.Scan(hostSites, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("listing distributions for --closure full: %w", err)
	}
	if hashes == nil {
		hashes = hashcache.New()
	}
	fh, err := pydist.Check(dists, hashes)
	if err != nil {
		return nil, nil, fmt.Errorf("hashing distributions for --closure full: %w", err)
	}
	byLoc := map[string]*pydist.Dist{}
	for _, d := range dists {
		byLoc[strings.TrimPrefix(d.Location, root)] = d
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	var out []lockfmt.File
	var list closureList
	added := map[string]bool{}
	for _, pkg := range m.Packages {
		d, ok := byLoc[pkg.Location]
		if !ok {
			continue
		}
		if d.Digest != pkg.Digest {
			return nil, nil, fmt.Errorf("package %s %s at %s changed since capture: manifest has tree digest %s, files on disk give %s (build without --closure full, or capture again)", pkg.Name, pkg.Version, pkg.Location, pkg.Digest, d.Digest)
		}
		cp := closurePackage{Location: pkg.Location, SiteDir: strings.TrimPrefix(d.SiteDir, root)}
		for _, hp := range d.Files {
			h := fh[hp]
			p := strings.TrimPrefix(hp, root)
			switch h.Type {
			case pydist.TypeFile:
				if !listed[p] && !added[p] {
					out = append(out, lockfmt.File{Path: p, Type: lockfmt.TypeFile, Mode: fmt.Sprintf("%04o", h.Mode&0o7777), Size: h.Size, Digest: h.Digest, Role: lockfmt.RolePackages})
				}
			case pydist.TypeSymlink:
				if !listed[p] && !added[p] {
					out = append(out, lockfmt.File{Path: p, Type: lockfmt.TypeSymlink, Mode: "0777", Target: h.Target, Role: lockfmt.RolePackages})
				}
			default:
				continue
			}
			added[p] = true
			cp.Files = append(cp.Files, d.Rel(hp))
		}
		sort.Strings(cp.Files)
		list.Packages = append(list.Packages, cp)
	}
	sort.Slice(list.Packages, func(i, j int) bool { return list.Packages[i].Location < list.Packages[j].Location })
	b, err := json.MarshalIndent(list, "", " ")
	if err != nil {
		return nil, nil, err
	}
	return out, append(b, '\n'), nil
}

// verifyFullClosure accounts for the files of a full-closure image that the
// manifest does not list: each must be named by the image's closure list
// under a package whose tree digest, computed from the image's own files,
// equals the manifest's.
func verifyFullClosure(m *lockfmt.Manifest, plan *imagePlan, extra map[string]string, listing []byte) error {
	if listing == nil {
		if len(extra) > 0 {
			return &ImageMismatchError{Path: sortedKeysOf(extra)[0], Problem: "not in the manifest (and the image has no " + ClosureListPath + ")"}
		}
		return nil
	}
	var list closureList
	if err := json.Unmarshal(listing, &list); err != nil {
		return &ImageMismatchError{Path: ClosureListPath, Problem: "unreadable: " + err.Error()}
	}
	pkgs := map[string]lockfmt.Package{}
	for _, p := range m.Packages {
		pkgs[p.Location] = p
	}
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
	accounted := map[string]bool{}
	for _, cp := range list.Packages {
		pkg, ok := pkgs[cp.Location]
		if !ok || !cleanAbsPath(cp.SiteDir) {
			return &ImageMismatchError{Path: ClosureListPath, Problem: "names a package the manifest does not have: " + cp.Location}
		}
		var entries []lockfmt.TreeEntry
		for _, rel := range cp.Files {
			abs := path.Join(cp.SiteDir, rel)
			d, ok := digestOf(abs)
			if !ok {
				return &ImageMismatchError{Path: abs, Problem: "listed for package " + pkg.Name + " but missing from the image"}
			}
			entries = append(entries, lockfmt.TreeEntry{Path: rel, Digest: d})
			accounted[abs] = true
		}
		got, err := lockfmt.TreeDigest(entries)
		if err != nil {
			return &ImageMismatchError{Path: ClosureListPath, Problem: err.Error()}
		}
		if got != pkg.Digest {
			return &ImageMismatchError{Path: pkg.Location, Problem: "package " + pkg.Name + " tree digest differs", Want: pkg.Digest, Got: got}
		}
	}
	for _, p := range sortedKeysOf(extra) {
		if !accounted[p] {
			return &ImageMismatchError{Path: p, Problem: "not in the manifest nor in one of its packages"}
		}
	}
	return nil
}
