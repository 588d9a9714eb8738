package lockfile

import (
	"fmt"
	"sort"
	"strings"
)

type poetryFile struct {
	File string `toml:"file"`
	Hash string `toml:"hash"`
}

type poetryPackage struct {
	Name     string       `toml:"name"`
	Version  string       `toml:"version"`
	Markers  any          `toml:"markers"`
	Category string       `toml:"category"`
	Groups   []string     `toml:"groups"`
	Optional bool         `toml:"optional"`
	Develop  bool         `toml:"develop"`
	Files    []poetryFile `toml:"files"`
	Source   *struct {
		Type              string `toml:"type"`
		URL               string `toml:"url"`
		Reference         string `toml:"reference"`
		ResolvedReference string `toml:"resolved_reference"`
		Subdirectory      string `toml:"subdirectory"`
	} `toml:"source"`
}

// parsePoetry reads poetry.lock, lock-version 1.x ([metadata.files]
// hashes) and 2.x (per-package files, 2.1 markers).
func parsePoetry(path string, data []byte) ([]Package, error) {
	var doc struct {
		Package  []poetryPackage `toml:"package"`
		Metadata *struct {
			LockVersion string                  `toml:"lock-version"`
			Files       map[string][]poetryFile `toml:"files"`
		} `toml:"metadata"`
	}
	if err := decodeTOML(path, data, &doc); err != nil {
		return nil, err
	}
	files := map[string][]poetryFile{}
	if doc.Metadata != nil {
		major, _, _ := strings.Cut(doc.Metadata.LockVersion, ".")
		if major != "1" && major != "2" {
			return nil, errAt(path, 0, "unsupported poetry lock-version %q (want 1.x or 2.x)", doc.Metadata.LockVersion)
		}
		for k, v := range doc.Metadata.Files {
			files[NormalizeName(k)] = append(files[NormalizeName(k)], v...)
		}
	}
	var pkgs []Package
	for i, pp := range doc.Package {
		line := func() int { return tableLine(data, "package", i) }
		if pp.Name == "" || reqNameRE.FindString(pp.Name) != pp.Name {
			return nil, errAt(path, line(), "package without a valid name (%q)", pp.Name)
		}
		p := Package{Name: NormalizeName(pp.Name), Version: pp.Version, Kind: "pypi", Groups: pp.Groups, Optional: pp.Optional}
		if pp.Category != "" {
			p.Groups = append(p.Groups, pp.Category)
		}
		fs := pp.Files
		if len(fs) == 0 {
			fs = files[p.Name]
		}
		for _, f := range fs {
			if f.Hash == "" {
				continue
			}
			if err := addHash(&p, pp.Name, f.Hash, path, line()); err != nil {
				return nil, err
			}
		}
		m, err := poetryMarkers(pp.Markers)
		if err != nil {
			return nil, errAt(path, line(), "package %s: %v", pp.Name, err)
		}
		p.Markers = m
		if s := pp.Source; s != nil {
			sub := ""
			if s.Subdirectory != "" {
				sub = "#subdirectory=" + s.Subdirectory
			}
			switch s.Type {
			case "git":
				rev := s.ResolvedReference
				if rev == "" {
					rev = s.Reference
				}
				p.Source = "vcs:git+" + scpToSSH(s.URL)
				if rev != "" {
					p.Source += "@" + rev
				}
				p.Source += sub
			case "url":
				p.Source = "url:" + s.URL + sub
			case "file":
				p.Source = "path:" + s.URL + sub
			case "directory":
				if pp.Develop {
					p.Source = "editable:" + s.URL + sub
				} else {
					p.Source = "path:" + s.URL + sub
				}
			default: // legacy, explicit, primary, supplemental: an index
				p.Source = s.URL
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// poetryMarkers reads "markers": a string, or (lock 2.1) a table of
// group → marker, joined with "or".
func poetryMarkers(v any) (string, error) {
	var ms []string
	switch m := v.(type) {
	case nil:
		return "", nil
	case string:
		ms = []string{m}
	case map[string]any:
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s, ok := m[k].(string)
			if !ok {
				return "", fmt.Errorf("markers.%s is not a string", k)
			}
			ms = append(ms, s)
		}
	default:
		return "", fmt.Errorf("markers is neither a string nor a table")
	}
	for _, s := range ms {
		if _, err := parseMarker(s); err != nil {
			return "", fmt.Errorf("invalid markers %q: %v", s, err)
		}
	}
	return orMarkers(ms), nil
}
