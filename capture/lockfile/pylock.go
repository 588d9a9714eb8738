package lockfile

import "strings"

type pylockFile struct {
	Name   string            `toml:"name"`
	URL    string            `toml:"url"`
	Path   string            `toml:"path"`
	Hashes map[string]string `toml:"hashes"`
}

// parsePylock reads a PEP 751 pylock.toml (lock-version 1.x), in both the
// table and the inline-table styles.
func parsePylock(path string, data []byte) ([]Package, error) {
	var doc struct {
		LockVersion string `toml:"lock-version"`
		Packages    []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
			Marker  string `toml:"marker"`
			Index   string `toml:"index"`
			VCS     *struct {
				Type              string `toml:"type"`
				URL               string `toml:"url"`
				Path              string `toml:"path"`
				RequestedRevision string `toml:"requested-revision"`
				CommitID          string `toml:"commit-id"`
				Subdirectory      string `toml:"subdirectory"`
			} `toml:"vcs"`
			Directory *struct {
				Path         string `toml:"path"`
				Editable     bool   `toml:"editable"`
				Subdirectory string `toml:"subdirectory"`
			} `toml:"directory"`
			Archive *struct {
				pylockFile
				Subdirectory string `toml:"subdirectory"`
			} `toml:"archive"`
			Sdist  *pylockFile  `toml:"sdist"`
			Wheels []pylockFile `toml:"wheels"`
		} `toml:"packages"`
	}
	if err := decodeTOML(path, data, &doc); err != nil {
		return nil, err
	}
	if doc.LockVersion == "" {
		return nil, errAt(path, 1, "no lock-version: not a pylock.toml")
	}
	if major, _, _ := strings.Cut(doc.LockVersion, "."); major != "1" {
		return nil, errAt(path, 1, "unsupported pylock lock-version %q (want 1.x)", doc.LockVersion)
	}
	var pkgs []Package
	for i, pp := range doc.Packages {
		line := func() int { return tableLine(data, "packages", i) }
		if pp.Name == "" || reqNameRE.FindString(pp.Name) != pp.Name {
			return nil, errAt(path, line(), "package without a valid name (%q)", pp.Name)
		}
		if pp.Marker != "" {
			if _, err := parseMarker(pp.Marker); err != nil {
				return nil, errAt(path, line(), "package %s: invalid marker %q: %v", pp.Name, pp.Marker, err)
			}
		}
		p := Package{Name: NormalizeName(pp.Name), Version: pp.Version, Markers: pp.Marker, Kind: "pypi", Source: pp.Index}
		var files []pylockFile
		switch {
		case pp.VCS != nil:
			loc := pp.VCS.URL
			if loc == "" {
				loc = pp.VCS.Path
			}
			rev := pp.VCS.CommitID
			if rev == "" {
				rev = pp.VCS.RequestedRevision
			}
			p.Source = "vcs:" + pp.VCS.Type + "+" + loc
			if rev != "" {
				p.Source += "@" + rev
			}
			if pp.VCS.Subdirectory != "" {
				p.Source += "#subdirectory=" + pp.VCS.Subdirectory
			}
		case pp.Directory != nil:
			kind := "path:"
			if pp.Directory.Editable {
				kind = "editable:"
			}
			p.Source = kind + pp.Directory.Path
			if pp.Directory.Subdirectory != "" {
				p.Source += "#subdirectory=" + pp.Directory.Subdirectory
			}
		case pp.Archive != nil:
			a := pp.Archive.pylockFile
			if a.URL != "" {
				p.Source = "url:" + a.URL
			} else {
				p.Source = "path:" + a.Path
			}
			if pp.Archive.Subdirectory != "" {
				p.Source += "#subdirectory=" + pp.Archive.Subdirectory
			}
			if p.Version == "" {
				loc := a.URL + a.Path
				if n, v, ok := distFileName(loc[strings.LastIndexAny(loc, `/\`)+1:]); ok && NormalizeName(n) == p.Name {
					p.Version = v
				}
			}
			files = append(files, a)
		}
		if pp.Sdist != nil {
			files = append(files, *pp.Sdist)
		}
		files = append(files, pp.Wheels...)
		for _, f := range files {
			p.Hashes = append(p.Hashes, hashMap(f.Hashes)...)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
