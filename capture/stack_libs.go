package capture

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/repro-ml/repro/internal/dpkg"
	"github.com/repro-ml/repro/internal/elfdeps"
	"github.com/repro-ml/repro/lockfmt"
)

// libraries records the ELF closure of the interpreters and of every shared
// object the run mapped, and adds each library (with the names it is
// loaded by) to files, the paths for Files. Mapped files that are not ELF
// (locale data) become system files. It writes only files, m.Libraries and
// s.libcPath, so it can run beside packages.
func (s *stackState) libraries(files map[string]string) {
	mapped := map[string]bool{}
	var roots []string
	exes := map[string]bool{}
	for _, r := range s.reports {
		if filepath.IsAbs(r.RealExecutable) {
			exe := filepath.Clean(r.RealExecutable)
			exes[exe] = true
			roots = stkAppendNew(roots, exe)
		}
		for _, p := range r.Mapped {
			if filepath.IsAbs(p) {
				p = filepath.Clean(p)
				mapped[p] = true
				roots = stkAppendNew(roots, p)
			}
		}
	}
	for _, p := range s.opts.Executables {
		if filepath.IsAbs(p) {
			p = filepath.Clean(p)
			exes[p] = true
			if real, err := filepath.EvalSymlinks(p); err == nil {
				exes[real] = true
			}
			roots = stkAppendNew(roots, p)
		}
	}
	if len(roots) == 0 {
		return
	}
	ldPath := os.Getenv("LD_LIBRARY_PATH")
	if v, ok := s.m.Run.Env["LD_LIBRARY_PATH"]; ok {
		ldPath = v
	}
	c := elfdeps.NewResolver(ldPath).Resolve(roots)
	for _, p := range c.NotELF {
		files[p] = s.roleOf(p)
	}
	var paths []string
	for _, l := range c.Libs {
		paths = append(paths, l.Real)
	}
	hashes := s.opts.Hashes.Files(paths)
	for i, l := range c.Libs {
		for _, p := range append([]string{l.Path, l.Real}, l.Aliases...) {
			files[p] = s.roleOf(p)
		}
		if exes[l.Real] || exes[l.Path] {
			continue // the interpreter itself is in Files, not a library
		}
		h := hashes[i]
		if h.Err != nil {
			s.opts.Warn("library %s not recorded: %v", l.Real, h.Err)
			continue
		}
		loaded := mapped[l.Path] || mapped[l.Real]
		for _, a := range l.Aliases {
			loaded = loaded || mapped[a]
		}
		s.m.Libraries = append(s.m.Libraries, lockfmt.Library{
			Path: l.Path, Soname: l.Soname, Digest: h.Digest,
			Package: s.owner(append([]string{l.Path, l.Real}, l.Aliases...)), Loaded: loaded,
		})
		base := filepath.Base(l.Real)
		if l.Soname == "libc.so.6" || strings.HasPrefix(base, "ld-musl-") || strings.HasPrefix(base, "libc.musl-") {
			if s.libcPath == "" {
				s.libcPath = l.Real
			}
		}
	}
}

// owner names the OS package owning the first of paths any package lists.
func (s *stackState) owner(paths []string) string {
	if s.dpkg == nil {
		return dpkg.Unowned
	}
	for _, p := range paths {
		if pkg, ok, err := s.dpkg.Owner(p); err == nil && ok {
			return pkg.String()
		}
	}
	return dpkg.Unowned
}

// stkFindLibc finds the host's C library without a probe report: through
// the closure of /bin/sh.
func stkFindLibc() string {
	c := elfdeps.NewResolver("").Resolve([]string{"/bin/sh"})
	for _, l := range c.Libs {
		if l.Soname == "libc.so.6" || strings.HasPrefix(filepath.Base(l.Real), "ld-musl-") {
			return l.Real
		}
	}
	return ""
}
