package lockfile

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Drift is one disagreement between a lock file and the installed
// environment.
type Drift struct {
	Package   string // normalised name
	Locked    string // version(s) the lock pins, " or "-joined; "" = listed without version
	Installed string // installed version; "" = not installed
	Message   string // "poetry.lock pins numpy 1.26.4; installed 1.24.2"
}

// Env holds PEP 508 marker variables ("sys_platform" → "linux").
// A variable it lacks makes a marker that uses it unknown.
type Env map[string]string

// DefaultEnv is the environment Compare assumes: Linux on this machine's
// architecture with CPython 3.11 (python_full_version is left out so that
// patch-level comparisons stay unknown).
func DefaultEnv() Env {
	machine := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "ppc64le": "ppc64le", "s390x": "s390x"}[runtime.GOARCH]
	env := Env{
		"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
		"python_version": "3.11", "implementation_name": "cpython",
		"platform_python_implementation": "CPython",
	}
	if machine != "" {
		env["platform_machine"] = machine
	}
	return env
}

// condaPlatform maps the environment to a conda subdir ("linux-64").
func condaPlatform(env Env) string {
	sys := map[string]string{"linux": "linux", "darwin": "osx", "win32": "win"}[env["sys_platform"]]
	arch := map[string]string{"x86_64": "64", "aarch64": "aarch64", "arm64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x", "i686": "32"}[env["platform_machine"]]
	if sys == "" || arch == "" {
		return ""
	}
	return sys + "-" + arch
}

// MarkerApplies reports whether PEP 508 markers may hold in env: false only
// when they certainly do not (unknown variables such as "extra" and
// unparsable markers count as applying).
func MarkerApplies(markers string, env Env) bool {
	if strings.TrimSpace(markers) == "" {
		return true
	}
	m, err := parseMarker(markers)
	if err != nil {
		return true
	}
	return m.eval(env) != 0
}

// Compare lists the disagreements between the pypi packages of l and the
// installed distributions (normalised name → version) under DefaultEnv.
// Messages name the lock by l.Path, or by its base name when l.Path is
// absolute (set l.Path to the path relative to the project first to get
// "requirements/dev.txt pins ...").
func Compare(l *Lock, installed map[string]string) []Drift {
	return CompareEnv(l, installed, DefaultEnv())
}

// CompareEnv is Compare under the given marker environment. Optional
// entries and entries only in non-main groups (poetry "dev", Pipfile.lock
// "develop") are reported only when installed at another version, never as
// missing. Entries whose
// markers certainly do not apply, entries locked for another conda
// platform, conda packages, nameless source trees and uv "virtual"
// projects are skipped. A name locked several times (uv forks, per-platform
// wheels) drifts only when the installed version matches none of them;
// versions compare as PEP 440 "==" does (a lock without a local label
// accepts any local label).
func CompareEnv(l *Lock, installed map[string]string, env Env) []Drift {
	inst := make(map[string]string, len(installed))
	for n, v := range installed {
		inst[NormalizeName(n)] = v
	}
	lockName := l.Path
	if filepath.IsAbs(lockName) {
		lockName = filepath.Base(lockName)
	}
	plat := condaPlatform(env)
	locked := map[string][]string{}
	unpinned := map[string]bool{}
	required := map[string]bool{}
	var names []string
	for _, p := range l.Packages {
		if p.Kind != "pypi" || p.Name == "" || strings.HasPrefix(p.Source, "virtual:") {
			continue
		}
		if p.Platform != "" && p.Platform != "noarch" && plat != "" && p.Platform != plat {
			continue
		}
		if !MarkerApplies(p.Markers, env) {
			continue
		}
		if _, seen := locked[p.Name]; !seen && !unpinned[p.Name] {
			names = append(names, p.Name)
		}
		if isRequired(p) {
			required[p.Name] = true
		}
		if p.Version == "" {
			unpinned[p.Name] = true
			continue
		}
		locked[p.Name] = appendUnique(locked[p.Name], p.Version)
	}
	sort.Strings(names)
	var out []Drift
	for _, name := range names {
		versions := locked[name]
		want := strings.Join(versions, " or ")
		have, ok := inst[name]
		switch {
		case !ok && !required[name]:
		case !ok && len(versions) == 0:
			out = append(out, Drift{Package: name, Message: fmt.Sprintf("%s lists %s; not installed", lockName, name)})
		case !ok:
			out = append(out, Drift{Package: name, Locked: want, Message: fmt.Sprintf("%s pins %s %s; not installed", lockName, name, want)})
		case unpinned[name] || len(versions) == 0:
		default:
			match := false
			for _, v := range versions {
				if VersionMatches(v, have) {
					match = true
					break
				}
			}
			if !match {
				out = append(out, Drift{Package: name, Locked: want, Installed: have,
					Message: fmt.Sprintf("%s pins %s %s; installed %s", lockName, name, want, have)})
			}
		}
	}
	return out
}

// isRequired reports whether an entry must be installed: not optional and
// in no group or in the main/default one.
func isRequired(p Package) bool {
	if p.Optional {
		return false
	}
	if len(p.Groups) == 0 {
		return true
	}
	for _, g := range p.Groups {
		if g == "main" || g == "default" {
			return true
		}
	}
	return false
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

var pep440RE = regexp.MustCompile(`^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

// normVersion returns the PEP 440 normal form of v split into public and
// local parts; a version that is not PEP 440 is returned lower-cased.
func normVersion(v string) (public, local string) {
	v = strings.ToLower(strings.TrimSpace(v))
	m := pep440RE.FindStringSubmatch(v)
	if m == nil {
		return v, ""
	}
	var b strings.Builder
	if m[1] != "" && m[1] != "0" {
		b.WriteString(trimInt(m[1]) + "!")
	}
	rel := strings.Split(m[2], ".")
	for len(rel) > 1 && trimInt(rel[len(rel)-1]) == "0" {
		rel = rel[:len(rel)-1]
	}
	for i, r := range rel {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(trimInt(r))
	}
	if m[3] != "" {
		b.WriteString(map[string]string{"alpha": "a", "a": "a", "beta": "b", "b": "b", "preview": "rc", "pre": "rc", "c": "rc", "rc": "rc"}[m[3]] + trimInt(m[4]))
	}
	if m[5] != "" {
		b.WriteString(".post" + trimInt(m[5]))
	} else if m[6] != "" {
		b.WriteString(".post" + trimInt(m[7]))
	}
	if m[8] != "" {
		b.WriteString(".dev" + trimInt(m[9]))
	}
	return b.String(), strings.NewReplacer("-", ".", "_", ".").Replace(m[10])
}

func trimInt(s string) string {
	if s == "" {
		return "0"
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return strings.TrimLeft(s, "0")
	}
	return strconv.FormatUint(n, 10)
}

// VersionMatches reports whether an installed version satisfies a locked
// one as PEP 440 "==" does: equal normal forms, where a locked version
// without a local label ("2.5.1") also accepts "2.5.1+cu121".
func VersionMatches(locked, installed string) bool {
	lp, ll := normVersion(locked)
	ip, il := normVersion(installed)
	return lp == ip && (ll == "" || ll == il)
}
