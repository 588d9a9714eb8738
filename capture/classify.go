package capture

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/repro-ml/repro/lockfmt"
)

// systemDirs hold files that are never guessed to be data inputs: what the
// OS, the interpreter and the packages own (gatherStack records those it
// needs) and the kernel's pseudo files. Declare data there with --data.
var systemDirs = []string{
	"/proc", "/sys", "/dev", "/run", "/etc", "/usr", "/lib", "/lib32", "/lib64",
	"/libx32", "/bin", "/sbin", "/var/lib", "/var/cache/ldconfig", "/opt/conda/pkgs",
}

// classify adds the code and data sections and their Files entries (roles
// code and data) for everything gatherStack did not already place.
func (c *capturer) classify(ctx context.Context, m *lockfmt.Manifest, reports []ProbeReport, g *lockfmt.Git, tracked []string, before snapshot) error {
	have := map[string]bool{}
	for _, f := range m.Files {
		have[f.Path] = true
	}
	outputs := map[string]bool{}
	for _, o := range m.Outputs {
		outputs[filepath.Join(c.workdir, filepath.FromSlash(o.Path))] = true
	}
	skip := func(p string) bool {
		return have[p] || outputs[p] || underDir(p, c.probe.root) || p == c.manifest || p == c.manifest+".sig"
	}

	// What the run read: opened for reading, imported, named on the command line.
	read := map[string]bool{}
	for _, r := range reports {
		for _, o := range r.Opened {
			if !o.Write && filepath.IsAbs(o.Path) {
				read[filepath.Clean(o.Path)] = true
			}
		}
	}
	imported := map[string]bool{}
	for _, r := range reports {
		for _, mod := range r.Modules {
			if filepath.IsAbs(mod.File) {
				imported[filepath.Clean(mod.File)] = true
			}
		}
	}
	for _, a := range c.opts.Argv {
		p := a
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.workdir, p)
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && underDir(p, c.workdir) {
			imported[filepath.Clean(p)] = true // run as code: python train.py, ./run.sh
		}
	}
	var pyDirs []string
	for _, r := range reports {
		pyDirs = append(pyDirs, r.Prefix, r.BasePrefix)
		for _, k := range []string{"path.stdlib", "path.platstdlib", "path.purelib", "path.platlib"} {
			if v := r.Sysconfig[k]; v != "" {
				pyDirs = append(pyDirs, v)
			}
		}
		for _, p := range r.Path {
			if filepath.IsAbs(p) && !underDir(p, c.workdir) && !underDir(c.workdir, p) {
				pyDirs = append(pyDirs, p)
			}
		}
	}

	codeRead := map[string]bool{}
	dataRead := map[string]bool{}
	for p := range imported {
		if underDir(p, c.workdir) && !skip(p) {
			codeRead[p] = true
		}
	}
	for p := range read {
		if skip(p) || codeRead[p] {
			continue
		}
		if underDir(p, c.workdir) {
			rel, _ := filepath.Rel(c.workdir, p)
			if hasSkippedDir(filepath.ToSlash(rel)) {
				continue
			}
			if isCodeFile(p) {
				codeRead[p] = true
			} else {
				dataRead[p] = true
			}
			continue
		}
		if imported[p] || strings.HasSuffix(p, ".pyc") || inAny(p, systemDirs) || (p != c.workdir && inAny(p, pyDirs)) {
			continue
		}
		dataRead[p] = true
	}

	// The project's code: tracked files, or without git its .py files.
	project := map[string]bool{}
	if tracked != nil {
		for _, rel := range tracked {
			project[filepath.Join(c.workdir, filepath.FromSlash(rel))] = true
		}
	} else {
		for rel := range before {
			if strings.HasSuffix(rel, ".py") && !vendoredDir(rel) {
				project[filepath.Join(c.workdir, filepath.FromSlash(rel))] = true
			}
		}
	}

	// Declared data: files and directory members.
	var declFiles []string
	declDirs := map[string][]string{}
	for _, d := range c.decls {
		if d.Path == "" {
			m.Data = append(m.Data, lockfmt.Data{Name: d.Name, URI: d.URI, Kind: "uri", Digest: d.Digest, Source: "declared"})
			continue
		}
		fi, err := os.Stat(d.Path)
		if err != nil {
			return fmt.Errorf("--data %s: %w", d.Path, err)
		}
		if fi.IsDir() {
			files, _, err := dirFiles(d.Path)
			if err != nil {
				return err
			}
			declDirs[d.Path] = files
			declFiles = append(declFiles, files...)
		} else {
			declFiles = append(declFiles, d.Path)
		}
	}
	declared := map[string]bool{}
	for _, p := range declFiles {
		declared[p] = true
		delete(dataRead, p)
	}

	// Hash everything at once, in parallel.
	var all []string
	add := func(set map[string]bool) {
		for p := range set {
			all = append(all, p)
		}
	}
	add(codeRead)
	add(dataRead)
	all = append(all, declFiles...)
	for p := range project {
		if !codeRead[p] && !dataRead[p] && !declared[p] && !skip(p) {
			all = append(all, p)
		}
	}
	sort.Strings(all)
	all = dedupe(all)
	digests, err := c.hashAll(all)
	if err != nil {
		return err
	}

	addFile := func(p, role string) bool {
		h, ok := digests[p]
		if !ok || have[p] {
			return ok
		}
		have[p] = true
		m.Files = append(m.Files, lockfmt.File{Path: p, Type: lockfmt.TypeFile, Mode: h.mode, Size: h.size, Digest: h.digest, Role: role})
		return true
	}

	// Data first: a tracked CSV the run read is data, not code.
	for _, d := range c.decls {
		if d.Path == "" {
			continue
		}
		if files, ok := declDirs[d.Path]; ok {
			var entries []lockfmt.TreeEntry
			var size int64
			for _, f := range files {
				if !addFile(f, lockfmt.RoleData) {
					continue
				}
				rel, _ := filepath.Rel(d.Path, f)
				entries = append(entries, lockfmt.TreeEntry{Path: filepath.ToSlash(rel), Digest: digests[f].digest})
				size += digests[f].size
			}
			td, err := lockfmt.TreeDigest(entries)
			if err != nil {
				return fmt.Errorf("--data %s: %w", d.Path, err)
			}
			m.Data = append(m.Data, lockfmt.Data{Path: d.Path, Kind: "dir", Digest: td, Size: size, Files: len(entries), Source: "declared"})
			continue
		}
		if addFile(d.Path, lockfmt.RoleData) {
			h := digests[d.Path]
			m.Data = append(m.Data, lockfmt.Data{Path: d.Path, Kind: "file", Digest: h.digest, Size: h.size, Source: "declared"})
		}
	}
	for _, p := range sortedKeys(dataRead) {
		if inDeclaredDir(p, declDirs) {
			continue
		}
		if addFile(p, lockfmt.RoleData) {
			h := digests[p]
			m.Data = append(m.Data, lockfmt.Data{Path: p, Kind: "file", Digest: h.digest, Size: h.size, Source: "opened"})
		}
	}
	ptrs, warns := pointerData(c.workdir, before)
	for _, w := range warns {
		c.warnf("%s", w)
	}
	m.Data = append(m.Data, ptrs...)

	// Code: what the run read, then the rest of the project.
	var entries []lockfmt.TreeEntry
	for _, p := range sortedKeys(codeRead) {
		if !addFile(p, lockfmt.RoleCode) {
			continue
		}
		m.Code.Files = append(m.Code.Files, p)
		rel, _ := filepath.Rel(c.workdir, p)
		entries = append(entries, lockfmt.TreeEntry{Path: filepath.ToSlash(rel), Digest: digests[p].digest})
	}
	for _, p := range sortedKeys(project) {
		addFile(p, lockfmt.RoleCode)
	}
	if len(entries) > 0 {
		if m.Code.Digest, err = lockfmt.TreeDigest(entries); err != nil {
			return fmt.Errorf("code digest: %w", err)
		}
	}
	m.Code.Git = g
	return ctx.Err()
}

type fileHash struct {
	digest string
	size   int64
	mode   string
}

// hashAll digests the regular files among paths (others are left out) with
// the hash cache, reporting progress in bytes.
func (c *capturer) hashAll(paths []string) (map[string]fileHash, error) {
	out := map[string]fileHash{}
	var regular []string
	modes := map[string]string{}
	var total int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		regular = append(regular, p)
		modes[p] = fmt.Sprintf("%04o", fi.Mode().Perm())
		total += fi.Size()
	}
	if c.progress != nil {
		var mu sync.Mutex
		var done int64
		c.cache.Progress = func(n int64) {
			mu.Lock()
			defer mu.Unlock()
			done += n
			c.progress(Event{Kind: EventHash, Message: "hashing code and data", Done: done, Total: total})
		}
		defer func() { c.cache.Progress = nil }()
	}
	for _, r := range c.cache.Files(regular) {
		if r.Err == nil && r.Size <= maxKeyFile && looksLikePrivateKey(r.Path) {
			c.warnf("leaving %s out of the manifest and the image: it looks like a private key", r.Path)
			continue
		}
		if r.Err != nil {
			if os.IsNotExist(r.Err) || os.IsPermission(r.Err) {
				c.warnf("skipping %s: %v", r.Path, r.Err)
				continue
			}
			return nil, fmt.Errorf("hashing %s: %w", r.Path, r.Err)
		}
		out[r.Path] = fileHash{digest: r.Digest, size: r.Size, mode: modes[r.Path]}
	}
	return out, nil
}

// fillPython completes the python section from the probe reports where
// gatherStack left it empty.
func fillPython(m *lockfmt.Manifest, reports []ProbeReport) {
	if len(reports) == 0 {
		return
	}
	py := &m.Python
	r := reports[0]
	if py.Executable == "" {
		py.Executable, py.RealExecutable, py.Version = r.Executable, r.RealExecutable, r.Version
		py.Implementation, py.Prefix, py.BasePrefix = r.Implementation, r.Prefix, r.BasePrefix
		py.Path = r.Path
		py.Sysconfig = r.Sysconfig
	}
	if py.Processes == 0 {
		py.Processes = len(reports)
	}
	if py.Modules == 0 {
		names := map[string]bool{}
		for _, r := range reports {
			for _, mod := range r.Modules {
				names[mod.Name] = true
			}
		}
		py.Modules = len(names)
	}
	if py.Runtimes == nil {
		seen := map[string]bool{}
		for _, r := range reports {
			for _, rt := range r.Runtimes {
				if seen[rt.Library] {
					continue
				}
				seen[rt.Library] = true
				py.Runtimes = append(py.Runtimes, lockfmt.Runtime{API: rt.API, Library: rt.Library, Name: rt.Name,
					Version: rt.Version, CoreType: rt.CoreType, Threads: rt.Threads})
			}
		}
	}
	if py.SIMD == nil {
		for _, r := range reports {
			if len(r.SIMD) > 0 {
				py.SIMD = r.SIMD
				break
			}
		}
	}
	for _, r := range reports {
		py.CUDA, py.CuDNN = cmpOr(py.CUDA, r.CUDA), cmpOr(py.CuDNN, r.CuDNN)
	}
}

func hasSkippedDir(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if skippedDir(seg) {
			return true
		}
	}
	return false
}

func inAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if d != "" && d != "/" && underDir(p, d) {
			return true
		}
	}
	return false
}

func inDeclaredDir(p string, dirs map[string][]string) bool {
	for d := range dirs {
		if underDir(p, d) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// maxKeyFile bounds the files checked for private keys: key files are small.
const maxKeyFile = 64 << 10

// looksLikePrivateKey reports a PEM or OpenSSH private key file, which must
// never be copied into an image however the run used it.
func looksLikePrivateKey(p string) bool {
	b, err := readPrefix(p, 128)
	return err == nil && strings.Contains(string(b), "-----BEGIN") && strings.Contains(string(b), "PRIVATE KEY-----")
}
