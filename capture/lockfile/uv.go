package lockfile

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

type uvFile struct {
	URL  string `toml:"url"`
	Path string `toml:"path"`
	Hash string `toml:"hash"`
}

// parseUV reads uv.lock (version 1).
func parseUV(path string, data []byte) ([]Package, error) {
	var doc struct {
		Version *int64 `toml:"version"`
		Package []struct {
			Name              string         `toml:"name"`
			Version           string         `toml:"version"`
			Source            map[string]any `toml:"source"`
			ResolutionMarkers []string       `toml:"resolution-markers"`
			Sdist             *uvFile        `toml:"sdist"`
			Wheels            []uvFile       `toml:"wheels"`
		} `toml:"package"`
	}
	if err := decodeTOML(path, data, &doc); err != nil {
		return nil, err
	}
	if doc.Version == nil {
		return nil, errAt(path, 1, "no top-level version: not a uv.lock")
	}
	if *doc.Version != 1 {
		return nil, errAt(path, 1, "unsupported uv.lock version %d (want 1)", *doc.Version)
	}
	var pkgs []Package
	for i, up := range doc.Package {
		line := func() int { return tableLine(data, "package", i) }
		if up.Name == "" || reqNameRE.FindString(up.Name) != up.Name {
			return nil, errAt(path, line(), "package without a valid name (%q)", up.Name)
		}
		p := Package{Name: NormalizeName(up.Name), Version: up.Version, Kind: "pypi"}
		src, err := uvSource(up.Source)
		if err != nil {
			return nil, errAt(path, line(), "package %s: %v", up.Name, err)
		}
		p.Source = src
		files := up.Wheels
		if up.Sdist != nil {
			files = append(files, *up.Sdist)
		}
		for _, f := range files {
			if f.Hash == "" {
				continue
			}
			if err := addHash(&p, up.Name, f.Hash, path, line()); err != nil {
				return nil, err
			}
		}
		for _, m := range up.ResolutionMarkers {
			if _, err := parseMarker(m); err != nil {
				return nil, errAt(path, line(), "package %s: invalid resolution marker %q: %v", up.Name, m, err)
			}
		}
		p.Markers = orMarkers(up.ResolutionMarkers)
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// uvSource maps a uv source table to Source.
func uvSource(src map[string]any) (string, error) {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := src[k].(string)
		if !ok {
			continue
		}
		switch k {
		case "registry":
			return v, nil
		case "git":
			return uvGit(v), nil
		case "url":
			return "url:" + v, nil
		case "path", "directory":
			return "path:" + v, nil
		case "editable":
			return "editable:" + v, nil
		case "virtual":
			return "virtual:" + v, nil
		}
	}
	if len(src) == 0 {
		return "", nil
	}
	return "", fmt.Errorf("unknown source %v", keys)
}

// uvGit turns "https://host/repo?rev=main#<commit>" into
// "vcs:git+https://host/repo@<commit>".
func uvGit(v string) string {
	base, commit, _ := strings.Cut(v, "#")
	sub := ""
	if u, err := url.Parse(base); err == nil {
		q := u.Query()
		if commit == "" {
			for _, k := range []string{"rev", "tag", "branch"} {
				if q.Get(k) != "" {
					commit = q.Get(k)
					break
				}
			}
		}
		if s := q.Get("subdirectory"); s != "" {
			sub = "#subdirectory=" + s
		}
		u.RawQuery = ""
		base = u.String()
	}
	s := "vcs:git+" + strings.TrimPrefix(base, "git+")
	if commit != "" {
		s += "@" + commit
	}
	return s + sub
}
