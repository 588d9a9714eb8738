package lockfile

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// parseRequirementLine parses a requirement with its per-requirement
// options (--hash); editable is true for the value of "-e".
func parseRequirementLine(s string, editable bool) (Package, error) {
	fields := strings.Fields(s)
	var args, opts []string
	for i, f := range fields {
		if strings.HasPrefix(f, "-") {
			opts = fields[i:]
			break
		}
		args = append(args, f)
	}
	var hashes []string
	for i := 0; i < len(opts); i++ {
		opt, val, hasEq := strings.Cut(opts[i], "=")
		switch opt {
		case "--hash", "--config-settings", "--global-option", "--install-option":
		default:
			return Package{}, fmt.Errorf("unknown option %q after requirement", opt)
		}
		if !hasEq {
			if i+1 >= len(opts) {
				return Package{}, fmt.Errorf("option %s needs a value", opt)
			}
			i++
			val = opts[i]
		}
		if opt == "--hash" {
			h, ok := normHash(val)
			if !ok {
				return Package{}, fmt.Errorf("invalid hash %q (want algorithm:hex)", val)
			}
			hashes = append(hashes, h)
		}
	}
	req := strings.Join(args, " ")
	if req == "" {
		return Package{}, fmt.Errorf("missing requirement before %q", strings.Join(opts, " "))
	}
	p, err := parseRequirement(req, editable)
	if err != nil {
		return Package{}, err
	}
	p.Hashes = append(p.Hashes, hashes...)
	return p, nil
}

var (
	reqNameRE   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`)
	specRE      = regexp.MustCompile(`^(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9_.*+!-]+)$`)
	vcsSchemeRE = regexp.MustCompile(`^(git|hg|svn|bzr)\+`)
	schemeRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)
)

var pep508URLRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@`)

func looksLikeURLOrPath(s string) bool {
	if pep508URLRE.MatchString(s) {
		return false
	}
	return vcsSchemeRE.MatchString(s) || schemeRE.MatchString(s) ||
		strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") ||
		strings.HasPrefix(s, "file:") || strings.Contains(s, `\`) || strings.Contains(strings.SplitN(s, ";", 2)[0], "/")
}

// parseRequirement parses a PEP 508 requirement, a bare URL or path, or
// (editable) a path or VCS URL.
func parseRequirement(s string, editable bool) (Package, error) {
	s = strings.TrimSpace(s)
	if looksLikeURLOrPath(s) {
		u, marker := s, ""
		if i := strings.Index(s, " ;"); i >= 0 {
			u, marker = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:])
		} else if i := strings.Index(s, "; "); i >= 0 && !editable {
			u, marker = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:])
		}
		p, err := fromURL("", u, editable)
		if err != nil {
			return p, err
		}
		if err := checkMarker(marker, s); err != nil {
			return p, err
		}
		p.Markers = marker
		return p, nil
	}
	name := reqNameRE.FindString(s)
	if name == "" {
		return Package{}, fmt.Errorf("invalid requirement %q", s)
	}
	p := Package{Name: NormalizeName(name), Kind: "pypi"}
	rest := strings.TrimSpace(s[len(name):])
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return Package{}, fmt.Errorf("invalid requirement %q: unclosed extras", s)
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if reqNameRE.FindString(e) != e {
				return Package{}, fmt.Errorf("invalid requirement %q: bad extra %q", s, e)
			}
			p.Extras = append(p.Extras, e)
		}
		rest = strings.TrimSpace(rest[end+1:])
	}
	if strings.HasPrefix(rest, "@") {
		u, marker := strings.TrimSpace(rest[1:]), ""
		if i := strings.Index(u, ";"); i >= 0 && (i == 0 || u[i-1] == ' ' || u[i-1] == '\t') {
			u, marker = strings.TrimSpace(u[:i]), strings.TrimSpace(u[i+1:])
		}
		if u == "" || strings.ContainsAny(u, " \t") {
			return Package{}, fmt.Errorf("invalid requirement %q: bad URL", s)
		}
		up, err := fromURL(name, u, editable)
		if err != nil {
			return Package{}, err
		}
		if err := checkMarker(marker, s); err != nil {
			return Package{}, err
		}
		up.Extras, up.Markers = p.Extras, marker
		return up, nil
	}
	spec, marker, hasMarker := strings.Cut(rest, ";")
	if hasMarker {
		marker = strings.TrimSpace(marker)
		if err := checkMarker(marker, s); err != nil {
			return Package{}, err
		}
		if marker == "" {
			return Package{}, fmt.Errorf("invalid requirement %q: empty marker", s)
		}
	}
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "(") && strings.HasSuffix(spec, ")") {
		spec = strings.TrimSpace(spec[1 : len(spec)-1])
	}
	if spec != "" {
		clauses := strings.Split(spec, ",")
		for _, c := range clauses {
			m := specRE.FindStringSubmatch(strings.TrimSpace(c))
			if m == nil {
				return Package{}, fmt.Errorf("invalid requirement %q", s)
			}
			if len(clauses) == 1 && (m[1] == "==" || m[1] == "===") && !strings.Contains(m[2], "*") {
				p.Version = m[2]
			}
		}
	}
	if editable {
		return Package{}, fmt.Errorf("invalid editable requirement %q: want a path or a VCS URL", s)
	}
	p.Markers = marker
	return p, nil
}

func checkMarker(marker, req string) error {
	if marker == "" {
		return nil
	}
	if _, err := parseMarker(marker); err != nil {
		return fmt.Errorf("invalid requirement %q: marker: %v", req, err)
	}
	return nil
}

// fromURL makes a package from a URL or path requirement: VCS URLs become
// "vcs:", local paths "path:" (or "editable:"), other URLs "url:". The name
// comes from the requirement, "#egg=", or a wheel/sdist file name.
func fromURL(name, raw string, editable bool) (Package, error) {
	p := Package{Kind: "pypi"}
	base, frag, _ := strings.Cut(raw, "#")
	var subdir string
	if frag != "" {
		for _, kv := range strings.Split(frag, "&") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "egg":
				if name == "" {
					name = strings.SplitN(v, "[", 2)[0]
				}
			case "subdirectory":
				subdir = v
			default:
				if h, ok := hashOf(k, v); ok {
					p.Hashes = append(p.Hashes, h)
				}
			}
		}
	}
	if base == "" {
		return p, fmt.Errorf("invalid requirement %q: empty URL", raw)
	}
	fileName := base[strings.LastIndexAny(base, `/\`)+1:]
	if n, v, ok := distFileName(fileName); ok && (name == "" || NormalizeName(name) == NormalizeName(n)) {
		name, p.Version = n, v
	}
	src := base
	if subdir != "" {
		src += "#subdirectory=" + subdir
	}
	switch {
	case vcsSchemeRE.MatchString(base):
		p.Source = "vcs:" + src
	case strings.HasPrefix(base, "file:"):
		u, err := url.Parse(base)
		if err != nil {
			return p, fmt.Errorf("invalid requirement %q: %v", raw, err)
		}
		src = u.Path
		if editable {
			p.Source = "editable:" + src
		} else {
			p.Source = "path:" + src
		}
	case schemeRE.MatchString(base):
		if editable {
			return p, fmt.Errorf("invalid editable requirement %q: want a path or a VCS URL", raw)
		}
		p.Source = "url:" + src
	default:
		if editable {
			p.Source = "editable:" + src
		} else {
			p.Source = "path:" + src
		}
	}
	if name != "" {
		if reqNameRE.FindString(name) != name {
			return p, fmt.Errorf("invalid requirement %q: bad name %q", raw, name)
		}
		p.Name = NormalizeName(name)
	}
	return p, nil
}

var sdistExts = []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"}

// distFileName reads name and version from a wheel or sdist file name.
func distFileName(f string) (name, version string, ok bool) {
	if strings.HasSuffix(f, ".whl") {
		parts := strings.Split(strings.TrimSuffix(f, ".whl"), "-")
		if len(parts) < 5 || parts[0] == "" || parts[1] == "" {
			return "", "", false
		}
		v, err := url.PathUnescape(parts[1])
		if err != nil {
			return "", "", false
		}
		return parts[0], v, true
	}
	for _, ext := range sdistExts {
		if strings.HasSuffix(f, ext) {
			stem := strings.TrimSuffix(f, ext)
			i := strings.LastIndex(stem, "-")
			if i <= 0 || i == len(stem)-1 {
				return "", "", false
			}
			return stem[:i], stem[i+1:], true
		}
	}
	return "", "", false
}
