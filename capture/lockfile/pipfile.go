package lockfile

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

type pipfileEntry struct {
	Version      string   `json:"version"`
	Hashes       []string `json:"hashes"`
	Index        string   `json:"index"`
	Markers      string   `json:"markers"`
	Extras       []string `json:"extras"`
	Git          string   `json:"git"`
	Hg           string   `json:"hg"`
	Svn          string   `json:"svn"`
	Bzr          string   `json:"bzr"`
	Ref          string   `json:"ref"`
	Editable     bool     `json:"editable"`
	Path         string   `json:"path"`
	File         string   `json:"file"`
	Subdirectory string   `json:"subdirectory"`
}

// parsePipfileLock reads a pipenv Pipfile.lock (pipfile-spec 6): the
// "default" and "develop" sections.
func parsePipfileLock(path string, data []byte) ([]Package, error) {
	var doc struct {
		Meta *struct {
			Sources []struct {
				Name string `json:"name"`
				URL  string `json:"url"`
			} `json:"sources"`
		} `json:"_meta"`
		Default map[string]json.RawMessage `json:"default"`
		Develop map[string]json.RawMessage `json:"develop"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, jsonErr(path, data, 0, err)
	}
	if doc.Meta == nil {
		return nil, errAt(path, 1, "no \"_meta\" section: not a Pipfile.lock")
	}
	indexes := map[string]string{}
	defaultIndex := ""
	for i, s := range doc.Meta.Sources {
		indexes[s.Name] = s.URL
		if i == 0 {
			defaultIndex = s.URL
		}
	}
	var pkgs []Package
	for si, section := range []map[string]json.RawMessage{doc.Default, doc.Develop} {
		group := []string{"default", "develop"}[si]
		names := make([]string, 0, len(section))
		for n := range section {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			raw := section[name]
			off := rawOffset(data, raw)
			var e pipfileEntry
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, jsonErr(path, data, off, err)
			}
			line := lineOf(data, off)
			if k := bytes.Index(data, []byte(`"`+name+`"`)); k >= 0 {
				line = lineOf(data, int64(k))
			}
			if reqNameRE.FindString(name) != name {
				return nil, errAt(path, line, "invalid package name %q", name)
			}
			p := Package{Name: NormalizeName(name), Kind: "pypi", Markers: e.Markers, Extras: e.Extras, Groups: []string{group}}
			if v, ok := strings.CutPrefix(e.Version, "=="); ok && !strings.ContainsAny(v, "*,<>=!~") {
				p.Version = strings.TrimPrefix(v, "=")
			}
			for _, h := range e.Hashes {
				if err := addHash(&p, name, h, path, line); err != nil {
					return nil, err
				}
			}
			if e.Markers != "" {
				if _, err := parseMarker(e.Markers); err != nil {
					return nil, errAt(path, line, "package %s: invalid markers %q: %v", name, e.Markers, err)
				}
			}
			p.Source = pipfileSource(e, indexes, defaultIndex)
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

func pipfileSource(e pipfileEntry, indexes map[string]string, defaultIndex string) string {
	sub := ""
	if e.Subdirectory != "" {
		sub = "#subdirectory=" + e.Subdirectory
	}
	for _, v := range []struct{ vcs, url string }{{"git", e.Git}, {"hg", e.Hg}, {"svn", e.Svn}, {"bzr", e.Bzr}} {
		if v.url == "" {
			continue
		}
		s := "vcs:" + v.vcs + "+" + strings.TrimPrefix(v.url, v.vcs+"+")
		if e.Ref != "" {
			s += "@" + e.Ref
		}
		return s + sub
	}
	switch {
	case e.Path != "" && e.Editable:
		return "editable:" + e.Path + sub
	case e.Path != "":
		return "path:" + e.Path + sub
	case e.File != "":
		return "url:" + e.File + sub
	case e.Index != "":
		if u, ok := indexes[e.Index]; ok {
			return u
		}
		return e.Index
	}
	return defaultIndex
}
