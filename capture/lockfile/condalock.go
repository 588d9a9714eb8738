package lockfile

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseCondaLock reads a conda-lock.yml (version 1): conda and pip
// packages, one entry per platform.
func parseCondaLock(path string, data []byte) ([]Package, error) {
	root, err := yamlDoc(path, data, "a conda-lock.yml")
	if err != nil {
		return nil, err
	}
	v := get(root, "version")
	if v == nil {
		return nil, errAt(path, root.Line, "no version key: not a conda-lock.yml")
	}
	if str(v) != "1" {
		return nil, errAt(path, v.Line, "unsupported conda-lock version %q (want 1)", str(v))
	}
	list := get(root, "package")
	if list != nil && list.Kind != yaml.SequenceNode {
		return nil, errAt(path, list.Line, "package is not a list")
	}
	var pkgs []Package
	for _, n := range items(list) {
		name, url := str(get(n, "name")), str(get(n, "url"))
		if n.Kind != yaml.MappingNode || name == "" {
			return nil, errAt(path, n.Line, "package entry without a name")
		}
		p := Package{Version: str(get(n, "version")), Platform: str(get(n, "platform")), Optional: str(get(n, "optional")) == "true"}
		if c := str(get(n, "category")); c != "" {
			p.Groups = []string{c}
		}
		p.Hashes = yamlHashes(get(n, "hash"), "md5", "sha256")
		switch manager := str(get(n, "manager")); manager {
		case "pip":
			if reqNameRE.FindString(name) != name {
				return nil, errAt(path, n.Line, "invalid package name %q", name)
			}
			p.Name, p.Kind = NormalizeName(name), "pypi"
			if url != "" {
				p.Source = "url:" + url
			}
		case "conda", "":
			p.Name, p.Kind = strings.ToLower(name), "conda"
			if cp, ok := condaURL(url); ok {
				p.Source, p.Build = cp.Source, cp.Build
			}
			if b := str(get(n, "build")); b != "" {
				p.Build = b
			}
		default:
			return nil, errAt(path, n.Line, "package %s: unknown manager %q", name, manager)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// parsePixi reads a pixi.lock (rattler_lock versions 4 to 7).
func parsePixi(path string, data []byte) ([]Package, error) {
	root, err := yamlDoc(path, data, "a pixi.lock")
	if err != nil {
		return nil, err
	}
	vn := get(root, "version")
	version, err := strconv.Atoi(str(vn))
	if vn == nil || err != nil {
		return nil, errAt(path, root.Line, "no numeric version key: not a pixi.lock")
	}
	if version < 4 || version > 7 {
		return nil, errAt(path, vn.Line, "unsupported pixi.lock version %d (want 4 to 7)", version)
	}
	// URL → platforms it is used on, from every environment.
	platforms := map[string][]string{}
	envs := get(root, "environments")
	if envs != nil && envs.Kind == yaml.MappingNode {
		for i := 1; i < len(envs.Content); i += 2 {
			byPlat := get(deref(envs.Content[i]), "packages")
			if byPlat == nil || byPlat.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(byPlat.Content); j += 2 {
				plat := byPlat.Content[j].Value
				if byPlat.Content[j+1].Kind == yaml.AliasNode {
					continue // pixi never writes aliases; expanding them could blow up
				}
				for _, e := range items(byPlat.Content[j+1]) {
					for _, k := range []string{"conda", "pypi"} {
						if u := str(get(e, k)); u != "" {
							platforms[u] = appendUnique(platforms[u], plat)
						}
					}
				}
			}
		}
	}
	list := get(root, "packages")
	if list != nil && list.Kind != yaml.SequenceNode {
		return nil, errAt(path, list.Line, "packages is not a list")
	}
	var pkgs []Package
	for _, n := range items(list) {
		if n.Kind != yaml.MappingNode {
			return nil, errAt(path, n.Line, "package entry is not a mapping")
		}
		kind, url := str(get(n, "kind")), str(get(n, "url"))
		for _, k := range []string{"conda", "pypi"} {
			if u := str(get(n, k)); u != "" {
				kind, url = k, u
			}
		}
		p := Package{Version: str(get(n, "version")), Build: str(get(n, "build")), Platform: str(get(n, "subdir"))}
		p.Hashes = yamlHashes(n, "md5", "sha256")
		name := str(get(n, "name"))
		switch kind {
		case "conda":
			cp, ok := condaURL(url)
			if !ok && name == "" {
				return nil, errAt(path, n.Line, "conda package without a name or a package URL")
			}
			if name == "" {
				name, p.Version, p.Build = cp.Name, cp.Version, cp.Build
			}
			p.Name, p.Kind, p.Source = strings.ToLower(name), "conda", cp.Source
			if p.Platform == "" {
				p.Platform = cp.Platform
			}
		case "pypi":
			fn := url[strings.LastIndexAny(url, `/\`)+1:]
			if name == "" {
				if n, v, ok := distFileName(fn); ok {
					name, p.Version = n, v
				}
			}
			if name == "" || reqNameRE.FindString(name) != name {
				return nil, errAt(path, n.Line, "pypi package without a valid name (%q)", name)
			}
			p.Name, p.Kind = NormalizeName(name), "pypi"
			switch {
			case str(get(n, "editable")) == "true":
				p.Source = "editable:" + url
			case schemeRE.MatchString(url):
				p.Source = "url:" + url
			case url != "":
				p.Source = "path:" + url
			}
			if plats := platforms[url]; len(plats) == 1 {
				p.Platform = plats[0]
			}
		default:
			return nil, errAt(path, n.Line, "package entry of unknown kind %q", kind)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
