package replay

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/lockfmt"
)

// RoleRuntime is the role of the last layer: the files repro build generates
// (/tmp, /etc/passwd, /etc/group, the home and working directories, and the
// manifest itself at ManifestPathInImage).
const RoleRuntime = "repro-runtime"

// ManifestPathInImage is where every image carries its manifest, byte for byte.
const ManifestPathInImage = "/.repro/manifest.toml"

// LayerRoles lists the image's layers in order, slowest-changing first.
var LayerRoles = []string{lockfmt.RoleSystem, lockfmt.RoleInterpreter, lockfmt.RolePackages, lockfmt.RoleData, lockfmt.RoleCode, RoleRuntime}

// planOptions are the build choices that change an image's contents. They are
// recorded in the image's labels so VerifyImage recomputes the same plan.
type planOptions struct {
	DataExternal bool
	Closure      string
}

// planItem is one non-directory member of the image, at its path in the image
// (parent directories resolved through the image's own symlinks).
type planItem struct {
	ociimage.Entry
	role string
	// host is the path the content is read from on the capture machine
	// (the manifest's path, before resolution).
	host string
}

// imagePlan is the content of an image, before any byte is read.
type imagePlan struct {
	items map[string]*planItem
	// dirs maps every directory of the image to its attributes.
	dirs map[string]ociimage.Entry
	uid  int
	gid  int
	home string
	work string
	// sites are the site directories of the manifest's packages.
	sites []string
}

func parseFileMode(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 8, 32)
	if err != nil || v < 0 || v > 0o7777 {
		return 0, fmt.Errorf("mode %q is not octal permission bits", s)
	}
	return v, nil
}

func cleanAbsPath(p string) bool {
	return strings.HasPrefix(p, "/") && p != "/" && path.Clean(p) == p && !strings.ContainsAny(p, "\x00\n")
}

// planImage computes what an image built from m holds.
func planImage(m *lockfmt.Manifest, manifestBytes []byte, o planOptions, extra []lockfmt.File) (*imagePlan, error) {
	p := &imagePlan{items: map[string]*planItem{}, dirs: map[string]ociimage.Entry{}, uid: m.Run.UID, gid: m.Run.GID}
	if p.uid < 0 || p.gid < 0 {
		return nil, fmt.Errorf("manifest run uid/gid %d:%d is negative", p.uid, p.gid)
	}
	if !cleanAbsPath(m.Run.WorkDir) {
		return nil, fmt.Errorf("manifest run.workdir %q is not an absolute clean path", m.Run.WorkDir)
	}
	p.work = m.Run.WorkDir
	p.home = homeDir(m)
	p.sites = siteDirs(m)

	files := make([]lockfmt.File, 0, len(m.Files)+len(extra))
	files = append(files, m.Files...)
	if !o.DataExternal {
		files = append(files, dataFiles(m)...)
	}
	files = append(files, extra...)

	symlinks := map[string]string{}
	explicitDirs := map[string]int64{}
	for i, f := range files {
		if !cleanAbsPath(f.Path) {
			return nil, fmt.Errorf("manifest file %d: path %q is not an absolute clean path", i+1, f.Path)
		}
		if f.Type == lockfmt.TypeSymlink {
			if f.Target == "" || strings.ContainsAny(f.Target, "\x00") {
				return nil, fmt.Errorf("manifest file %s: symlink without a valid target", f.Path)
			}
			symlinks[f.Path] = f.Target
		}
	}
	roleRank := map[string]int{}
	for i, r := range LayerRoles {
		roleRank[r] = i
	}
	for _, f := range files {
		if o.DataExternal && f.Role == lockfmt.RoleData {
			continue
		}
		if _, ok := roleRank[f.Role]; !ok || f.Role == RoleRuntime {
			return nil, fmt.Errorf("manifest file %s: unknown role %q (want one of %s)", f.Path, f.Role, strings.Join(lockfmt.Roles, ", "))
		}
		mode, err := parseFileMode(f.Mode)
		if err != nil {
			return nil, fmt.Errorf("manifest file %s: %w", f.Path, err)
		}
		dst, err := resolveParents(f.Path, symlinks)
		if err != nil {
			return nil, fmt.Errorf("manifest file %s: %w", f.Path, err)
		}
		it := &planItem{role: f.Role, host: f.Path}
		it.Path, it.Mode = dst, mode
		switch f.Type {
		case lockfmt.TypeFile:
			if !lockfmt.ValidDigest(f.Digest) || f.Size < 0 {
				return nil, fmt.Errorf("manifest file %s: missing or invalid digest/size", f.Path)
			}
			it.Type, it.Digest, it.Size = ociimage.TypeFile, f.Digest, f.Size
		case lockfmt.TypeSymlink:
			it.Type, it.Target = ociimage.TypeSymlink, f.Target
		case lockfmt.TypeDir:
			explicitDirs[dst] = mode
			continue
		default:
			return nil, fmt.Errorf("manifest file %s: unknown type %q", f.Path, f.Type)
		}
		if old, ok := p.items[dst]; ok {
			if old.Type != it.Type || old.Digest != it.Digest || old.Target != it.Target {
				return nil, fmt.Errorf("manifest files %s and %s are the same path in the image (%s) with different contents", old.host, f.Path, dst)
			}
			if roleRank[f.Role] < roleRank[old.role] {
				old.role = f.Role
			}
			continue
		}
		p.items[dst] = it
	}
	p.addRuntime(m, manifestBytes)
	return p, p.addDirs(explicitDirs)
}

// dataFiles returns Files entries for local data files the manifest lists
// under [[data]] but not under [[file]].
func dataFiles(m *lockfmt.Manifest) []lockfmt.File {
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	var out []lockfmt.File
	for _, d := range m.Data {
		if d.Kind == "file" && d.Path != "" && !listed[d.Path] {
			out = append(out, lockfmt.File{Path: d.Path, Type: lockfmt.TypeFile, Mode: "0644", Size: d.Size, Digest: d.Digest, Role: lockfmt.RoleData})
		}
	}
	return out
}

// resolveParents rewrites the directory part of p through the symlinks of
// the image, as the kernel would inside the container, so that no entry is
// written below a symlink.
func resolveParents(p string, symlinks map[string]string) (string, error) {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	for hops := 0; ; hops++ {
		if hops > 40 {
			return "", fmt.Errorf("too many levels of symbolic links")
		}
		changed := false
		parts := strings.Split(strings.TrimPrefix(dir, "/"), "/")
		cur := ""
		for i, part := range parts {
			if part == "" {
				continue
			}
			cur += "/" + part
			if t, ok := symlinks[cur]; ok {
				var nt string
				if strings.HasPrefix(t, "/") {
					nt = t
				} else {
					nt = path.Join(path.Dir(cur), t)
				}
				dir = path.Clean(path.Join(append([]string{"/", nt}, parts[i+1:]...)...))
				changed = true
				break
			}
		}
		if !changed {
			break
		}
	}
	if dir == "/" {
		return "/" + base, nil
	}
	return dir + "/" + base, nil
}

// owned reports whether the run's user owns p: the working directory, the
// home directory and everything below them.
func (p *imagePlan) owned(q string) bool {
	for _, root := range []string{p.work, p.home} {
		if q == root || strings.HasPrefix(q, root+"/") {
			return true
		}
	}
	return false
}

// addDirs creates the attributes of every directory: explicit ones keep
// their recorded mode, /tmp is 1777, the rest 0755; the run's user owns its
// working and home directories.
func (p *imagePlan) addDirs(explicit map[string]int64) error {
	need := func(d string) {
		for d != "/" && d != "." {
			if _, ok := p.dirs[d]; ok {
				return
			}
			e := ociimage.Entry{Path: d, Type: ociimage.TypeDir, Mode: 0o755}
			if m, ok := explicit[d]; ok {
				e.Mode = m
			}
			if p.owned(d) {
				e.UID, e.GID = p.uid, p.gid
			}
			if d == "/tmp" {
				e.Mode, e.UID, e.GID = 0o1777, 0, 0
			}
			p.dirs[d] = e
			d = path.Dir(d)
		}
	}
	for d := range explicit {
		need(d)
	}
	for q, it := range p.items {
		if it.Type == ociimage.TypeDir {
			continue
		}
		if _, isDir := explicit[q]; isDir {
			return fmt.Errorf("manifest lists %s both as a directory and as a %s", q, map[byte]string{ociimage.TypeFile: "file", ociimage.TypeSymlink: "symlink"}[it.Type])
		}
		need(path.Dir(q))
		if p.owned(q) && it.role != RoleRuntime {
			it.UID, it.GID = p.uid, p.gid
		}
	}
	for _, d := range []string{"/tmp", p.work, p.home} {
		need(d)
	}
	for q := range p.dirs {
		if it, ok := p.items[q]; ok {
			return fmt.Errorf("%s is a directory in the image and also a manifest %s entry (%s)", q, it.role, it.host)
		}
	}
	return nil
}

// layers returns the entries of each layer (directories included), in
// LayerRoles order, sorted. Empty layers are left out.
func (p *imagePlan) layers(root string) map[string][]ociimage.Entry {
	out := map[string][]ociimage.Entry{}
	seenDir := map[string]map[string]bool{}
	addDir := func(role, d string) {
		if seenDir[role] == nil {
			seenDir[role] = map[string]bool{}
		}
		for d != "/" && !seenDir[role][d] {
			seenDir[role][d] = true
			out[role] = append(out[role], p.dirs[d])
			d = path.Dir(d)
		}
	}
	times := p.sourceTimes(root)
	for q, it := range p.items {
		e := it.Entry
		if e.Type == ociimage.TypeFile && e.Content == nil {
			e.Source = root + it.host
		}
		e.ModTime = times[q]
		out[it.role] = append(out[it.role], e)
		addDir(it.role, path.Dir(q))
	}
	// Explicit (possibly empty) directories and the generated ones live in
	// the runtime layer, which comes last and so decides their attributes.
	for d := range p.dirs {
		addDir(RoleRuntime, d)
	}
	for _, es := range out {
		ociimage.SortEntries(es)
	}
	return out
}

// sortedKeysOf returns the keys of m, sorted.
func sortedKeysOf[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
