package lockfile

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Package is one entry of a lock file, normalised.
type Package struct {
	// Name is the PEP 503 normalised name for PyPI packages (lower case,
	// runs of "-", "_", "." become "-"); conda names are kept as written,
	// lower case. It is "" only for a source tree whose name the file does
	// not state (an editable "-e ." line).
	Name string `json:"name"`
	// Version is the pinned version ("==" or "===" in requirements, the
	// locked version elsewhere) as written; "" when unpinned.
	Version string `json:"version,omitempty"`
	// Source says where the package comes from: an index URL, "url:<url>"
	// (an archive or the exact artifact the lock names), "vcs:<vcs>+<url>@<rev>",
	// "editable:<path>", "path:<path>", "virtual:<path>" (a uv project that
	// is not installed) or "conda:<channel>". "" means the default index.
	Source string `json:"source,omitempty"`
	// Hashes are "<algorithm>:<lowercase hex>" ("sha256:…", "md5:…"),
	// deduplicated and sorted; a lock lists one per artifact.
	Hashes []string `json:"hashes,omitempty"`
	// Markers are the PEP 508 environment markers, verbatim (several uv
	// resolution markers are joined with " or ").
	Markers string `json:"markers,omitempty"`
	// Extras are the requested extras, sorted.
	Extras []string `json:"extras,omitempty"`
	// Kind is "pypi" or "conda".
	Kind string `json:"kind"`
	// Build is the conda build string ("py39h06a4308_0"), when known.
	Build string `json:"build,omitempty"`
	// Groups are the lock's dependency groups the entry belongs to, sorted
	// ("main", "dev" from poetry's category/groups; "default", "develop"
	// from Pipfile.lock; conda-lock's category); nil when the format has
	// none.
	Groups []string `json:"groups,omitempty"`
	// Optional is true for an entry only installed on request (poetry and
	// conda-lock "optional", packages needed only by extras).
	Optional bool `json:"optional,omitempty"`
	// Platform is the conda subdir the entry is locked for ("linux-64",
	// "noarch"), for conda-lock and pixi entries of both kinds; "" when the
	// file is not per platform.
	Platform string `json:"platform,omitempty"`
}

// Lock is one parsed lock or environment file.
type Lock struct {
	Path     string    `json:"path"`
	Format   string    `json:"format"`   // one of Formats()
	Packages []Package `json:"packages"` // sorted by name, then version
}

// Format names returned by Detect and accepted by ParseFormat.
const (
	FormatRequirements   = "requirements"
	FormatPipFreeze      = "pip-freeze"
	FormatPipInspect     = "pip-inspect"
	FormatPipReport      = "pip-report"
	FormatPipfileLock    = "pipfile-lock"
	FormatPoetry         = "poetry"
	FormatUV             = "uv"
	FormatPylock         = "pylock"
	FormatEnvironmentYML = "environment-yml"
	FormatCondaExplicit  = "conda-explicit"
	FormatCondaLock      = "conda-lock"
	FormatPixi           = "pixi"
)

// Formats lists every format this package reads, in a fixed order.
func Formats() []string {
	return []string{
		FormatRequirements, FormatPipFreeze, FormatPipInspect, FormatPipReport,
		FormatPipfileLock, FormatPoetry, FormatUV, FormatPylock,
		FormatEnvironmentYML, FormatCondaExplicit, FormatCondaLock, FormatPixi,
	}
}

// ParseError is a malformed lock file: the file, the 1-based line (0 when
// the position is unknown) and what is wrong.
type ParseError struct {
	Path string
	Line int
	Msg  string
}

// Error formats the error as "path:line: msg".
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

func errAt(path string, line int, format string, args ...any) error {
	return &ParseError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Parse detects the format of data (see Detect) and parses it.
func Parse(path string, data []byte) (*Lock, error) {
	format, ok := Detect(path, data)
	if !ok {
		return nil, errAt(path, 0, "not a recognised lock or requirements file (formats: %s)", strings.Join(Formats(), ", "))
	}
	return ParseFormat(format, path, data)
}

// ParseFormat parses data as the given format. It never panics on bad
// input: a malformed file gives a *ParseError naming path and line.
// Includes ("-r", "-c") of requirements files are not followed; see ParseFile.
func ParseFormat(format, path string, data []byte) (*Lock, error) {
	var (
		pkgs []Package
		err  error
	)
	switch format {
	case FormatRequirements, FormatPipFreeze:
		var r *reqFile
		r, err = parseRequirements(path, data)
		if r != nil {
			pkgs = r.pkgs
		}
	case FormatPipInspect:
		pkgs, err = parsePipInspect(path, data)
	case FormatPipReport:
		pkgs, err = parsePipReport(path, data)
	case FormatPipfileLock:
		pkgs, err = parsePipfileLock(path, data)
	case FormatPoetry:
		pkgs, err = parsePoetry(path, data)
	case FormatUV:
		pkgs, err = parseUV(path, data)
	case FormatPylock:
		pkgs, err = parsePylock(path, data)
	case FormatEnvironmentYML:
		pkgs, err = parseEnvironmentYML(path, data)
	case FormatCondaExplicit:
		pkgs, err = parseCondaExplicit(path, data)
	case FormatCondaLock:
		pkgs, err = parseCondaLock(path, data)
	case FormatPixi:
		pkgs, err = parsePixi(path, data)
	default:
		return nil, fmt.Errorf("parsing %s: unknown lock format %q (formats: %s)", path, format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return newLock(path, format, pkgs), nil
}

// ParseFile reads and parses the file at path. For requirements and
// pip-freeze files it follows "-r" includes (their packages are added) and
// "-c" constraints (their pins fill in versions of listed packages that
// have none), relative to the including file, and refuses include cycles.
func ParseFile(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	format, ok := Detect(path, data)
	if !ok {
		return nil, errAt(path, 0, "not a recognised lock or requirements file (formats: %s)", strings.Join(Formats(), ", "))
	}
	if format != FormatRequirements && format != FormatPipFreeze {
		return ParseFormat(format, path, data)
	}
	pkgs, err := parseRequirementsTree(path, data, nil)
	if err != nil {
		return nil, err
	}
	return newLock(path, format, pkgs), nil
}

func newLock(path, format string, pkgs []Package) *Lock {
	for i := range pkgs {
		p := &pkgs[i]
		if p.Kind == "" {
			p.Kind = "pypi"
		}
		p.Hashes = sortedUnique(p.Hashes)
		p.Extras = sortedUnique(p.Extras)
		p.Groups = sortedUnique(p.Groups)
		p.Source = redactCredentials(p.Source)
	}
	sort.SliceStable(pkgs, func(i, j int) bool {
		a, b := pkgs[i], pkgs[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Markers < b.Markers
	})
	// Drop exact duplicates (a package listed by two included files, or
	// in both sections of a Pipfile.lock).
	// An entry listed in two groups (both sections of a Pipfile.lock) is
	// kept once with both groups.
	out := pkgs[:0]
	for _, p := range pkgs {
		if n := len(out); n > 0 && sameButGroups(out[n-1], p) {
			out[n-1].Groups = sortedUnique(append(out[n-1].Groups, p.Groups...))
			continue
		}
		out = append(out, p)
	}
	pkgs = out
	if pkgs == nil {
		pkgs = []Package{}
	}
	return &Lock{Path: path, Format: format, Packages: pkgs}
}

// sameButGroups reports whether a and b are equal apart from Groups.
func sameButGroups(a, b Package) bool {
	a.Groups, b.Groups = nil, nil
	return reflect.DeepEqual(a, b)
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

var nameSeparators = regexp.MustCompile(`[-_.]+`)

// NormalizeName returns the PEP 503 form of a Python distribution name:
// lower case, every run of "-", "_" and "." replaced by one "-".
func NormalizeName(name string) string {
	return nameSeparators.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-")
}

// isHex reports whether s is non-empty and all hexadecimal digits.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// normHash turns "sha256:HEX", "sha256=HEX" or (algo, HEX) into
// "sha256:hex"; ok is false for anything else.
// addHash normalises hash into p.Hashes; a malformed hash is an error at
// path:line naming the package as the file spells it.
func addHash(p *Package, name, hash, path string, line int) error {
	h, ok := normHash(hash)
	if !ok {
		return errAt(path, line, "package %s: invalid hash %q", name, hash)
	}
	p.Hashes = append(p.Hashes, h)
	return nil
}

func normHash(s string) (string, bool) {
	i := strings.IndexAny(s, ":=")
	if i <= 0 {
		return "", false
	}
	return hashOf(s[:i], s[i+1:])
}

func hashOf(algo, hex string) (string, bool) {
	algo = strings.ToLower(strings.TrimSpace(algo))
	hex = strings.TrimSpace(hex)
	if algo == "" || hex == "" || !isHex(hex) {
		return "", false
	}
	return algo + ":" + strings.ToLower(hex), true
}

// hashMap turns {"sha256": "HEX"} into sorted "sha256:hex" strings,
// skipping malformed entries.
func hashMap(m map[string]string) []string {
	var out []string
	for algo, hex := range m {
		if h, ok := hashOf(algo, hex); ok {
			out = append(out, h)
		}
	}
	return out
}

// lineOf returns the 1-based line of byte offset off in data.
func lineOf(data []byte, off int64) int {
	if off < 0 {
		return 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	n := 1
	for _, c := range data[:off] {
		if c == '\n' {
			n++
		}
	}
	return n
}

// redactCredentials replaces the user information of an http(s) URL inside
// s ("https://user:token@host/simple", also after "url:" or "vcs:git+")
// with "***", so tokens in index URLs never reach a manifest or a log.
// Environment references ("${TOKEN}") and ssh users ("git@") are kept.
func redactCredentials(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	scheme := strings.ToLower(s[:i])
	if !strings.HasSuffix(scheme, "http") && !strings.HasSuffix(scheme, "https") {
		return s
	}
	rest := s[i+3:]
	hostEnd := strings.IndexAny(rest, "/?#")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	at := strings.LastIndex(rest[:hostEnd], "@")
	if at < 0 {
		return s
	}
	user := rest[:at]
	if envRefRE.MatchString(user) {
		return s
	}
	return s[:i+3] + "***" + rest[at:]
}

var envRefRE = regexp.MustCompile(`^(\$\{[A-Za-z0-9_]+\}(:\$\{[A-Za-z0-9_]+\})?)$`)
