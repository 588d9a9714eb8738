package lockfmt

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Validate checks what the types cannot: schema version, well-formed
// digests, absolute and clean paths where the schema says absolute (run
// workdir, file, library and local data paths), relative clean output and
// lock file paths, known file types and roles, symlink targets, octal modes,
// and no duplicate paths or names. It returns all problems joined, each
// naming its entry ("file[12] /usr/lib/x: ...").
func (m *Manifest) Validate() error {
	v := &validator{}
	if m.Schema != SchemaVersion {
		v.addf("schema: %d is not supported (want %d)", m.Schema, SchemaVersion)
	}
	if m.Tool.Name == "" {
		v.addf("tool.name: empty")
	}
	if len(m.Run.Argv) == 0 {
		v.addf("run.argv: empty")
	}
	v.absPath("run.workdir", m.Run.WorkDir)
	if m.Run.Runs < 0 {
		v.addf("run.runs: negative (%d)", m.Run.Runs)
	}
	v.optDigest("code.digest", m.Code.Digest)
	if g := m.Code.Git; g != nil {
		if g.Commit == "" {
			v.addf("code.git.commit: empty")
		}
		v.optDigest("code.git.diff_digest", g.DiffDigest)
	}
	for i, p := range m.Determinism.Pins {
		if p.Name == "" {
			v.addf("determinism.pin[%d]: empty name", i)
		}
	}
	v.dups("determinism.pin", len(m.Determinism.Pins), func(i int) string { return m.Determinism.Pins[i].Name })
	for i, d := range m.Data {
		name := fmt.Sprintf("data[%d] %s", i, cmpOr(d.Path, d.URI, d.Name))
		switch {
		case d.Path == "" && d.URI == "":
			v.addf("%s: needs a path or a uri", name)
		case d.Path != "":
			v.absPath(name+" path", d.Path)
		}
		if !slices.Contains([]string{"file", "dir", "uri", "dvc", "git-lfs"}, d.Kind) {
			v.addf("%s: unknown kind %q (want file, dir, uri, dvc or git-lfs)", name, d.Kind)
		}
		v.digest(name, d.Digest)
		if d.Size < 0 {
			v.addf("%s: negative size", name)
		}
	}
	for i, o := range m.Outputs {
		name := fmt.Sprintf("output[%d] %s", i, o.Path)
		if o.Path != StdoutPath && o.Path != StderrPath {
			v.relPath(name, o.Path)
		}
		v.digest(name, o.Digest)
		if o.Size < 0 {
			v.addf("%s: negative size", name)
		}
	}
	v.dups("output", len(m.Outputs), func(i int) string { return m.Outputs[i].Path })
	for i, p := range m.Packages {
		name := fmt.Sprintf("package[%d] %s", i, p.Name)
		if p.Name == "" {
			v.addf("%s: empty name", name)
		}
		if p.Version == "" {
			v.addf("%s: empty version", name)
		}
		v.absPath(name+" location", p.Location)
		v.digest(name, p.Digest)
	}
	v.dups("package", len(m.Packages), func(i int) string { return m.Packages[i].Name + " " + m.Packages[i].Location })
	for i, l := range m.LockFiles {
		name := fmt.Sprintf("lockfile[%d] %s", i, l.Path)
		v.relPath(name, l.Path)
		v.digest(name, l.Digest)
	}
	v.dups("lockfile", len(m.LockFiles), func(i int) string { return m.LockFiles[i].Path })
	for i, l := range m.Libraries {
		name := fmt.Sprintf("library[%d] %s", i, l.Path)
		v.absPath(name, l.Path)
		v.digest(name, l.Digest)
	}
	v.dups("library", len(m.Libraries), func(i int) string { return m.Libraries[i].Path })
	for i, f := range m.Files {
		v.file(i, f)
	}
	v.dups("file", len(m.Files), func(i int) string { return m.Files[i].Path })
	return errors.Join(v.errs...)
}

func (v *validator) file(i int, f File) {
	name := fmt.Sprintf("file[%d] %s", i, f.Path)
	v.absPath(name, f.Path)
	if !slices.Contains(Roles, f.Role) {
		v.addf("%s: unknown role %q (want one of %s)", name, f.Role, strings.Join(Roles, ", "))
	}
	if !validMode(f.Mode) {
		v.addf("%s: mode %q is not a 4-digit octal string like \"0644\"", name, f.Mode)
	}
	if f.Size < 0 {
		v.addf("%s: negative size", name)
	}
	switch f.Type {
	case TypeFile:
		v.digest(name, f.Digest)
		if f.Target != "" {
			v.addf("%s: a regular file has no target", name)
		}
	case TypeSymlink:
		if f.Target == "" {
			v.addf("%s: symlink without target", name)
		}
		if f.Digest != "" {
			v.addf("%s: a symlink has no digest", name)
		}
	case TypeDir:
		if f.Digest != "" || f.Target != "" {
			v.addf("%s: a directory has no digest or target", name)
		}
	default:
		v.addf("%s: unknown type %q (want file, dir or symlink)", name, f.Type)
	}
}

type validator struct{ errs []error }

func (v *validator) addf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

func (v *validator) digest(name, d string) {
	if !ValidDigest(d) {
		v.addf("%s: digest %q is not sha256:<64 lower-case hex>", name, d)
	}
}

func (v *validator) optDigest(name, d string) {
	if d != "" {
		v.digest(name, d)
	}
}

func (v *validator) absPath(name, p string) {
	if !path.IsAbs(p) || path.Clean(p) != p {
		v.addf("%s: path %q must be absolute and clean", name, p)
	}
}

func (v *validator) relPath(name, p string) {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		v.addf("%s: path %q must be relative to the working directory, clean, without ..", name, p)
	}
}

// dups reports keys that occur more than once among n entries.
func (v *validator) dups(section string, n int, key func(int) string) {
	seen := make(map[string]int, n)
	for i := 0; i < n; i++ {
		k := key(i)
		if j, ok := seen[k]; ok {
			v.addf("%s[%d] %s: duplicate of %s[%d]", section, i, k, section, j)
			continue
		}
		seen[k] = i
	}
}

func validMode(m string) bool {
	if len(m) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if m[i] < '0' || m[i] > '7' {
			return false
		}
	}
	return true
}

func cmpOr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
