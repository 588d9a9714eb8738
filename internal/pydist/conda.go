package pydist

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// condaMeta is the part of a conda-meta/<name>-<version>-<build>.json record
// repro reads.
type condaMeta struct {
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	Build     string   `json:"build"`
	Channel   string   `json:"channel"`
	MD5       string   `json:"md5"`
	Files     []string `json:"files"`
	PathsData *struct {
		Paths []struct {
			Path   string `json:"_path"`
			Type   string `json:"path_type"`
			SHA256 string `json:"sha256"`
		} `json:"paths"`
	} `json:"paths_data"`
}

// IsCondaPrefix reports whether prefix holds a conda-meta directory.
func IsCondaPrefix(prefix string) bool {
	fi, err := os.Stat(filepath.Join(prefix, "conda-meta"))
	return err == nil && fi.IsDir()
}

// ScanConda lists the packages recorded in prefix/conda-meta/*.json, sorted
// by name. Files are relative to prefix; each file with a sha256 in
// paths_data is verified by Check. No conda binary is needed. A record that
// does not parse is skipped (and reported through opts.Warn).
func ScanConda(prefix string, opts Options) ([]*Dist, error) {
	jsons, err := filepath.Glob(filepath.Join(prefix, "conda-meta", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Dist
	for _, j := range jsons {
		b, err := os.ReadFile(j)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", j, err)
		}
		d, err := ParseCondaMeta(b, prefix)
		if err != nil {
			opts.warn("conda package record %s skipped: %v", j, err)
			continue
		}
		d.Location = j
		out = append(out, d)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, nil
}

// ParseCondaMeta reads one conda-meta JSON record of a package installed
// under prefix.
func ParseCondaMeta(b []byte, prefix string) (*Dist, error) {
	var m condaMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m.Name == "" || m.Version == "" {
		return nil, fmt.Errorf("no name or version")
	}
	d := &Dist{
		Name: Normalize(m.Name), RawName: m.Name, Version: m.Version, Build: m.Build, MD5: m.MD5,
		Installer: "conda", SiteDir: filepath.Clean(prefix), FileList: "conda-meta",
		expected: map[string]string{},
	}
	d.Source = "conda:" + CondaChannel(m.Channel)
	for _, f := range m.Files {
		if f == "" || strings.HasPrefix(filepath.Clean(f), "..") || filepath.IsAbs(f) {
			continue
		}
		d.Files = append(d.Files, filepath.Join(d.SiteDir, f))
	}
	if m.PathsData != nil {
		for _, p := range m.PathsData.Paths {
			if p.SHA256 != "" && p.Path != "" && !filepath.IsAbs(p.Path) {
				d.expected[filepath.Join(d.SiteDir, p.Path)] = "sha256:" + strings.ToLower(p.SHA256)
			}
		}
	}
	d.finish()
	return d, nil
}

var condaSubdir = regexp.MustCompile(`^(noarch|(linux|osx|win|emscripten|wasi|zos)-[a-z0-9_]+)$`)

// CondaChannel reduces a conda-meta channel (a URL or a name) to the
// channel's name: the URL path without the platform subdirectory
// (".../conda-forge/linux-64" -> "conda-forge", ".../pkgs/main/linux-64" ->
// "pkgs/main"). Credentials and tokens in the URL are dropped.
func CondaChannel(ch string) string {
	u, err := url.Parse(ch)
	if err != nil || u.Scheme == "" {
		return strings.TrimSuffix(ch, "/")
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if n := len(parts); n > 0 && condaSubdir.MatchString(parts[n-1]) {
		parts = parts[:n-1]
	}
	// Anaconda tokens live in the path as t/<token>/.
	if len(parts) >= 2 && parts[0] == "t" {
		parts = parts[2:]
	}
	return strings.Join(parts, "/")
}

// AttributeConda gives each distribution whose metadata a conda package
// installed (a .dist-info listed in its conda-meta files) the conda
// package's source, "conda:<channel>", instead of the "index" an
// INSTALLER file alone suggests.
func AttributeConda(dists, conda []*Dist) {
	owner := map[string]*Dist{}
	for _, c := range conda {
		for _, f := range c.Files {
			owner[f] = c
		}
	}
	for _, d := range dists {
		if d.FileList == "conda-meta" {
			continue
		}
		for _, name := range []string{"METADATA", "PKG-INFO", "INSTALLER", "RECORD"} {
			if c := owner[filepath.Join(d.Location, name)]; c != nil {
				d.Source = c.Source
				break
			}
		}
	}
}
