package lockfile

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	condaNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]*$`)
)

// condaFile splits "<name>-<version>-<build>.conda|.tar.bz2".
func condaFile(fn string) (name, version, build string, ok bool) {
	stem := strings.TrimSuffix(strings.TrimSuffix(fn, ".conda"), ".tar.bz2")
	if stem == fn {
		return "", "", "", false
	}
	i := strings.LastIndex(stem, "-")
	if i <= 0 {
		return "", "", "", false
	}
	j := strings.LastIndex(stem[:i], "-")
	if j <= 0 || i == len(stem)-1 || j == i-1 {
		return "", "", "", false
	}
	return strings.ToLower(stem[:j]), stem[j+1 : i], stem[i+1:], true
}

// condaURL reads a package URL "<channel>/<subdir>/<file>" into a conda
// Package (Source "conda:<channel>", Platform = subdir).
func condaURL(u string) (Package, bool) {
	slash := strings.LastIndexAny(u, `/\`)
	name, version, build, ok := condaFile(u[slash+1:])
	if !ok {
		return Package{}, false
	}
	p := Package{Name: name, Version: version, Build: build, Kind: "conda"}
	if slash > 0 {
		dir := strings.TrimRight(u[:slash], `/\`)
		if k := strings.LastIndexAny(dir, `/\`); k >= 0 {
			p.Platform = dir[k+1:]
			p.Source = "conda:" + dir[:k]
		} else {
			p.Source = "conda:" + dir
		}
	}
	return p, true
}

// explicitLine reads one CEP 23 package line:
// `[<url>/]<name>-<version>-<build>.(conda|tar.bz2)[#<md5>|#[sha256:]<sha256>]`.
func explicitLine(line string) (Package, error) {
	loc, frag := line, ""
	slash := strings.LastIndexAny(line, `/\`)
	if i := strings.LastIndexByte(line, '#'); i > slash {
		loc, frag = line[:i], line[i+1:]
	}
	fn := loc[strings.LastIndexAny(loc, `/\`)+1:]
	if !strings.HasSuffix(fn, ".conda") && !strings.HasSuffix(fn, ".tar.bz2") {
		return Package{}, fmt.Errorf("invalid package line %q (want <url>/<name>-<version>-<build>.conda|.tar.bz2[#md5])", line)
	}
	p, ok := condaURL(loc)
	if !ok {
		return Package{}, fmt.Errorf("invalid package file name %q (want <name>-<version>-<build>)", fn)
	}
	sha := strings.TrimPrefix(frag, "sha256:")
	switch {
	case frag == "":
	case len(frag) == 32 && isLowerHex(frag):
		p.Hashes = []string{"md5:" + frag}
	case len(sha) == 64 && isLowerHex(sha):
		p.Hashes = []string{"sha256:" + sha}
	default:
		return Package{}, fmt.Errorf("invalid package line %q: bad hash %q (want 32 hex md5 or [sha256:]64 hex)", line, frag)
	}
	return p, nil
}

func isLowerHex(s string) bool {
	return isHex(s) && strings.ToLower(s) == s
}

// parseCondaExplicit reads `conda list --explicit` output (CEP 23).
func parseCondaExplicit(path string, data []byte) ([]Package, error) {
	var pkgs []Package
	for i, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || line == "@EXPLICIT" {
			continue
		}
		p, err := explicitLine(line)
		if err != nil {
			return nil, errAt(path, i+1, "%v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// parseEnvironmentYML reads a conda environment.yml (CEP 24): conda
// MatchSpecs and the nested pip: list.
func parseEnvironmentYML(path string, data []byte) ([]Package, error) {
	root, err := yamlDoc(path, data, "an environment.yml")
	if err != nil {
		return nil, err
	}
	var channels []string
	for _, c := range items(get(root, "channels")) {
		if s := str(c); s != "" && s != "nodefaults" {
			channels = append(channels, s)
		}
	}
	deps := get(root, "dependencies")
	if deps != nil && deps.Kind != yaml.SequenceNode && str(deps) != "" {
		return nil, errAt(path, deps.Line, "dependencies is not a list")
	}
	var pkgs []Package
	for _, d := range items(deps) {
		switch d.Kind {
		case yaml.ScalarNode:
			p, err := matchSpec(d.Value, channels)
			if err != nil {
				return nil, errAt(path, d.Line, "%v", err)
			}
			if sel := selectorRE.FindString(d.LineComment); sel != "" {
				p.Markers = sel
			}
			pkgs = append(pkgs, p)
		case yaml.MappingNode:
			for i := 0; i+1 < len(d.Content); i += 2 {
				key, val := d.Content[i].Value, deref(d.Content[i+1])
				switch {
				case key == "pip":
					pp, err := envPip(path, val)
					if err != nil {
						return nil, err
					}
					pkgs = append(pkgs, pp...)
				case strings.HasPrefix(key, "sel(") && val.Kind == yaml.ScalarNode:
					p, err := matchSpec(val.Value, channels)
					if err != nil {
						return nil, errAt(path, val.Line, "%v", err)
					}
					p.Markers = key
					pkgs = append(pkgs, p)
				default:
					return nil, errAt(path, d.Content[i].Line, "unexpected dependency entry %q", key)
				}
			}
		default:
			return nil, errAt(path, d.Line, "unexpected dependency entry")
		}
	}
	return pkgs, nil
}

// matchSpecRestRE is what may follow a MatchSpec name: a version
// (constraint) and optionally a build, "=" or space separated.
var matchSpecRestRE = regexp.MustCompile(`^(?:==|=|>=|<=|>|<|!=|~=)?\s*[A-Za-z0-9_.+!*,|<>=~-]+(?:\s+[A-Za-z0-9_.*+-]+)?$`)

var selectorRE = regexp.MustCompile(`\[[^\]]+\]`)

// envPip reads the pip: list of an environment.yml.
func envPip(path string, list *yaml.Node) ([]Package, error) {
	if list.Kind != yaml.SequenceNode {
		return nil, errAt(path, list.Line, "pip: is not a list")
	}
	var pkgs []Package
	index := ""
	for _, n := range items(list) {
		s := strings.TrimSpace(stripComment(str(n)))
		if n.Kind != yaml.ScalarNode || s == "" {
			return nil, errAt(path, n.Line, "pip: entry is not a requirement string")
		}
		if strings.HasPrefix(s, "-") {
			opt, val, known := splitOption(s)
			if !known {
				return nil, errAt(path, n.Line, "unknown pip option %q", opt)
			}
			switch opt {
			case "-i":
				index = val
			case "-e":
				p, err := parseRequirementLine(val, true)
				if err != nil {
					return nil, errAt(path, n.Line, "%v", err)
				}
				pkgs = append(pkgs, p)
			}
			continue
		}
		p, err := parseRequirementLine(s, false)
		if err != nil {
			return nil, errAt(path, n.Line, "%v", err)
		}
		if p.Source == "" {
			p.Source = index
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// matchSpec reads a conda MatchSpec such as "pytorch=1.11.0",
// "numpy=1.19.2=py38h54aff64_0", "python>=3.9" or "conda-forge::pyro-ppl".
func matchSpec(spec string, channels []string) (Package, error) {
	s := strings.TrimSpace(spec)
	channel := ""
	if i := strings.Index(s, "::"); i >= 0 {
		channel, s = s[:i], s[i+2:]
	}
	end := strings.IndexAny(s, " =<>!~[")
	if end < 0 {
		end = len(s)
	}
	name, rest := s[:end], strings.TrimSpace(s[end:])
	if !condaNameRE.MatchString(name) {
		return Package{}, fmt.Errorf("invalid conda package spec %q", spec)
	}
	if rest != "" && !strings.HasPrefix(rest, "[") && !matchSpecRestRE.MatchString(rest) {
		return Package{}, fmt.Errorf("invalid conda package spec %q", spec)
	}
	p := Package{Name: strings.ToLower(name), Kind: "conda"}
	var version, build string
	switch {
	case strings.HasPrefix(rest, "=="):
		version, build, _ = strings.Cut(rest[2:], "=")
	case strings.HasPrefix(rest, "="):
		version, build, _ = strings.Cut(rest[1:], "=")
	case rest != "" && !strings.ContainsAny(rest[:1], "<>!~["):
		f := strings.Fields(rest)
		version = f[0]
		if len(f) > 1 {
			build = f[1]
		}
	}
	if strings.ContainsAny(version, "*,|<>!~ ") {
		version, build = "", ""
	}
	p.Version, p.Build = strings.TrimSpace(version), strings.TrimSpace(build)
	switch {
	case channel != "":
		p.Source = "conda:" + channel
	case len(channels) > 0:
		p.Source = "conda:" + strings.Join(channels, ",")
	}
	return p, nil
}
