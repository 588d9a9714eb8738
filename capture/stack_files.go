package capture

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/repro-ml/repro/internal/elfdeps"
	"github.com/repro-ml/repro/internal/pydist"
	"github.com/repro-ml/repro/lockfmt"
)

// stkStdlibSkip are standard library directories an experiment does not
// need (tests, GUI, bundled installers); a file the run opened there is
// still recorded.
var stkStdlibSkip = map[string]bool{
	"test": true, "tests": true, "idlelib": true, "tkinter": true, "turtledemo": true,
	"ensurepip": true, "lib2to3": true, "pydoc_data": true, "__pycache__": true,
	"site-packages": true, "dist-packages": true,
}

// stkSystemDirs are where opened files are taken to be part of the OS an
// image needs (locale, zoneinfo, certificates, configuration).
var stkSystemDirs = []string{"/etc", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/opt"}

// stkNeverDirs hold pseudo files, never recorded; stkScratchDirs hold
// scratch space, recorded only inside an interpreter's directories (a venv
// made in /tmp).
var (
	stkNeverDirs   = []string{"/proc", "/sys", "/dev"}
	stkScratchDirs = []string{"/run", "/tmp", "/var/tmp"}
)

// excluded reports paths that never become Files entries: pseudo files,
// scratch space outside the interpreter's trees, secrets.
func (s *stackState) excluded(p string) bool {
	if stkUnderAny(p, stkNeverDirs) || stkSecret(p) {
		return true
	}
	return stkUnderAny(p, stkScratchDirs) && !stkUnderAny(p, s.pyAreas())
}

// pyAreas are the interpreter's trees: site directories, standard library,
// non-system prefixes.
func (s *stackState) pyAreas() []string {
	return append(append(append([]string(nil), s.siteDirs...), s.stdlib...), s.pyRoots...)
}

// stkSecret reports paths that must never enter a manifest or image, and
// the account files repro build writes itself.
func stkSecret(p string) bool {
	switch p {
	case "/etc/passwd", "/etc/group":
		return true
	}
	b := filepath.Base(p)
	return strings.HasPrefix(p, "/etc/ssh/") || strings.HasPrefix(p, "/etc/ssl/private/") ||
		strings.HasPrefix(b, "shadow") || strings.HasPrefix(b, "gshadow") || strings.HasPrefix(p, "/etc/sudoers") ||
		b == ".netrc" || b == ".pgpass" || strings.HasPrefix(b, "id_") || strings.HasSuffix(b, ".key")
}

func stkUnderAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if stkUnder(p, d) {
			return true
		}
	}
	return false
}

// roleOf classifies a path into a Files role.
func (s *stackState) roleOf(p string) string {
	switch {
	case stkUnderAny(p, s.siteDirs):
		return lockfmt.RolePackages
	case stkUnderAny(p, s.stdlib) || stkUnderAny(p, s.pyRoots):
		return lockfmt.RoleInterpreter
	}
	if s.interp[p] {
		return lockfmt.RoleInterpreter
	}
	return lockfmt.RoleSystem
}

// interpreterFiles adds the interpreter executables, a venv's pyvenv.cfg,
// the standard library's .py files and the lib-dynload extension modules.
func (s *stackState) interpreterFiles() error {
	for _, r := range s.reports {
		for _, p := range []string{r.Executable, r.RealExecutable} {
			if filepath.IsAbs(p) {
				s.files[filepath.Clean(p)] = lockfmt.RoleInterpreter
			}
		}
		if r.Prefix != "" && r.Prefix != r.BasePrefix {
			cfg := filepath.Join(r.Prefix, "pyvenv.cfg")
			if _, err := os.Stat(cfg); err == nil {
				s.files[cfg] = lockfmt.RoleInterpreter
			}
		}
		for _, p := range r.Path {
			if filepath.Base(p) == "lib-dynload" {
				s.addTree(filepath.Clean(p), func(string) bool { return true })
			}
		}
	}
	for _, d := range s.stdlib {
		s.addTree(d, func(name string) bool { return strings.HasSuffix(name, ".py") })
	}
	return nil
}

// addTree adds the files (and symlinks) under dir whose name keep accepts,
// outside the skipped directories, with role interpreter.
func (s *stackState) addTree(dir string, keep func(string) bool) {
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() {
			if p != dir && stkStdlibSkip[e.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if keep(e.Name()) {
			if _, set := s.files[p]; !set {
				s.files[p] = lockfmt.RoleInterpreter
			}
		}
		return nil
	})
}

// openedFiles adds what the run opened for reading in the interpreter's
// trees (including the .pyc files it loaded) and in the system
// directories, plus the dynamic loader's configuration.
func (s *stackState) openedFiles() {
	pyAreas := s.pyAreas()
	for _, r := range s.reports {
		for _, o := range r.Opened {
			if o.Write || !filepath.IsAbs(o.Path) {
				continue
			}
			p := filepath.Clean(o.Path)
			if s.excluded(p) {
				continue
			}
			if stkUnderAny(p, pyAreas) {
				if _, set := s.files[p]; !set {
					s.files[p] = s.roleOf(p)
				}
				continue
			}
			if s.opts.WorkDir != "" && stkUnder(p, s.opts.WorkDir) {
				continue // code and data: recorded by the capture itself
			}
			if stkUnderAny(p, stkSystemDirs) {
				if _, set := s.files[p]; !set {
					s.files[p] = lockfmt.RoleSystem
				}
			}
		}
	}
	if len(s.reports) == 0 {
		return
	}
	// The loader's configuration, and the merged-/usr links (/bin -> usr/bin)
	// that scripts and #! lines rely on.
	confs, _ := filepath.Glob("/etc/ld.so.conf.d/*")
	extra := append([]string{"/etc/ld.so.cache", "/etc/ld.so.conf"}, confs...)
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if fi, err := os.Lstat(d); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			extra = append(extra, d)
		}
	}
	for _, p := range extra {
		if _, err := os.Lstat(p); err == nil {
			if _, set := s.files[p]; !set {
				s.files[p] = lockfmt.RoleSystem
			}
		}
	}
}

// writeFiles turns s.files into Files entries: each path at its real
// location, every symlink met on the way (directories included) as a
// symlink entry with its target verbatim.
func (s *stackState) writeFiles() error {
	have := map[string]bool{}
	for _, f := range s.m.Files {
		have[f.Path] = true
	}
	entries := map[string]lockfmt.File{}
	dirMemo := map[string]string{} // dir -> real dir ("" when unresolvable)
	addLink := func(l elfdeps.Link) {
		if _, ok := entries[l.Path]; !ok && !have[l.Path] {
			entries[l.Path] = lockfmt.File{Path: l.Path, Type: lockfmt.TypeSymlink, Mode: "0777",
				Target: l.Target, Role: s.roleOf(l.Path)}
		}
	}
	realDir := func(d string) string {
		if r, ok := dirMemo[d]; ok {
			return r
		}
		links, real, err := elfdeps.Chain(d)
		if err != nil {
			real = ""
		}
		for _, l := range links {
			addLink(l)
		}
		dirMemo[d] = real
		return real
	}
	pending := map[string]string{} // final path -> role
	for p, role := range s.files {
		if s.excluded(p) {
			continue // also when a RECORD lists it: RECORD is untrusted
		}
		rd := realDir(filepath.Dir(p))
		if rd == "" {
			continue
		}
		pending[filepath.Join(rd, filepath.Base(p))] = role
	}
	for round := 0; len(pending) > 0 && round < 40; round++ {
		paths := make([]string, 0, len(pending))
		for p := range pending {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		var unknown []string
		for _, p := range paths {
			if _, ok := s.known[p]; !ok {
				unknown = append(unknown, p)
			}
		}
		hashes := pydist.HashFiles(s.opts.Hashes, unknown)
		for _, p := range paths {
			if h, ok := s.known[p]; ok {
				hashes[p] = h
			}
		}
		next := map[string]string{}
		for _, p := range paths {
			role, h := pending[p], hashes[p]
			if _, done := entries[p]; done || have[p] || s.excluded(p) {
				continue
			}
			if h.Err != nil {
				s.opts.Warn("%s left out of the image: %v", p, h.Err)
				continue
			}
			switch h.Type {
			case pydist.TypeFile:
				entries[p] = lockfmt.File{Path: p, Type: lockfmt.TypeFile, Mode: stkMode(h.Mode),
					Size: h.Size, Digest: h.Digest, Role: role}
			case pydist.TypeSymlink:
				addLink(elfdeps.Link{Path: p, Target: h.Target})
				t := h.Target
				if !filepath.IsAbs(t) {
					t = filepath.Join(filepath.Dir(p), t)
				}
				if rd := realDir(filepath.Dir(t)); rd != "" {
					next[filepath.Join(rd, filepath.Base(t))] = s.roleOf(t)
				}
			}
		}
		pending = next
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.m.Files = append(s.m.Files, entries[k])
	}
	return nil
}
