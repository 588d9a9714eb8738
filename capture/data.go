package capture

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/repro-ml/repro/lockfmt"
)

// dataDecl is one parsed --data declaration.
type dataDecl struct {
	// Path is set for a local file or directory (absolute).
	Path string
	// Name, URI and Digest are set for an external reference.
	Name, URI, Digest string
}

var dataNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// parseDataDecl parses "PATH" or "NAME=URI#sha256=HEX". A relative PATH is
// taken relative to workdir. The reference is recorded, never downloaded.
func parseDataDecl(s, workdir string) (dataDecl, error) {
	if s == "" {
		return dataDecl{}, fmt.Errorf("--data: empty value")
	}
	if name, rest, ok := strings.Cut(s, "="); ok && strings.Contains(rest, "://") {
		if !dataNameRe.MatchString(name) {
			return dataDecl{}, fmt.Errorf("--data %s: name %q must be letters, digits, '.', '_' or '-'", s, name)
		}
		uri, frag, ok := strings.Cut(rest, "#")
		hexd, isSHA := strings.CutPrefix(frag, "sha256=")
		if !ok || !isSHA {
			return dataDecl{}, fmt.Errorf("--data %s: an external reference needs its digest: NAME=URI#sha256=HEX", s)
		}
		hexd = strings.ToLower(hexd)
		if b, err := hex.DecodeString(hexd); err != nil || len(b) != 32 {
			return dataDecl{}, fmt.Errorf("--data %s: %q is not 64 hex digits", s, hexd)
		}
		if strings.ContainsAny(uri, " \t\n") || strings.HasPrefix(uri, "://") {
			return dataDecl{}, fmt.Errorf("--data %s: %q is not a URI", s, uri)
		}
		return dataDecl{Name: name, URI: scrubURL(uri), Digest: lockfmt.DigestPrefix + hexd}, nil
	}
	p := s
	if !filepath.IsAbs(p) {
		p = filepath.Join(workdir, p)
	}
	return dataDecl{Path: filepath.Clean(p)}, nil
}

// dvcFile is the part of a DVC .dvc file repro reads.
type dvcFile struct {
	Outs []struct {
		MD5  string `yaml:"md5"`
		Path string `yaml:"path"`
		Size int64  `yaml:"size"`
		// Hash is "md5" in DVC 3 files; the value stays in MD5.
		Hash string `yaml:"hash"`
	} `yaml:"outs"`
}

// dvcOut is one output a .dvc file tracks.
type dvcOut struct {
	Path string // relative to the .dvc file's directory, slash-separated
	MD5  string // lower-case hex; a directory's ends in ".dir"
	Size int64
}

var md5Re = regexp.MustCompile(`^[0-9a-f]{32}(\.dir)?$`)

// parseDVC reads the outs of a .dvc file. name is for messages.
func parseDVC(name string, b []byte) ([]dvcOut, error) {
	var f dvcFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	var outs []dvcOut
	for i, o := range f.Outs {
		md5 := strings.ToLower(o.MD5)
		if !md5Re.MatchString(md5) {
			return nil, fmt.Errorf("parsing %s: outs[%d]: md5 %q is not 32 hex digits", name, i, o.MD5)
		}
		p := filepath.ToSlash(filepath.Clean(o.Path))
		if o.Path == "" || strings.ContainsAny(o.Path, "\n#") || filepath.IsAbs(o.Path) || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("parsing %s: outs[%d]: path %q must be relative, inside the project", name, i, o.Path)
		}
		if o.Size < 0 {
			return nil, fmt.Errorf("parsing %s: outs[%d]: negative size", name, i)
		}
		outs = append(outs, dvcOut{Path: p, MD5: md5, Size: o.Size})
	}
	return outs, nil
}

// lfsPointerPrefix starts every git-lfs pointer file.
const lfsPointerPrefix = "version https://git-lfs.github.com/spec/v1\n"

// maxLFSPointer is the largest file considered as a git-lfs pointer (the
// spec says pointers are under 1024 bytes).
const maxLFSPointer = 1024

// parseLFSPointer reads a git-lfs pointer: its sha256 object id and size.
// ok is false when b is not a pointer at all.
func parseLFSPointer(b []byte) (oid string, size int64, ok bool, err error) {
	if len(b) > maxLFSPointer || !bytes.HasPrefix(b, []byte(lfsPointerPrefix)) {
		return "", 0, false, nil
	}
	size = -1
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")[1:] {
		k, v, found := strings.Cut(line, " ")
		if !found {
			return "", 0, true, fmt.Errorf("line %d: %q is not \"key value\"", i+2, line)
		}
		switch k {
		case "oid":
			h, isSHA := strings.CutPrefix(v, "sha256:")
			if d, err := hex.DecodeString(h); !isSHA || err != nil || len(d) != 32 || strings.ToLower(h) != h {
				return "", 0, true, fmt.Errorf("line %d: oid %q is not sha256:<64 lower-case hex>", i+2, v)
			}
			oid = h
		case "size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return "", 0, true, fmt.Errorf("line %d: size %q is not a number", i+2, v)
			}
			size = n
		}
	}
	if oid == "" || size < 0 {
		return "", 0, true, fmt.Errorf("pointer without oid or size")
	}
	return oid, size, true, nil
}

// pointerData finds DVC files and git-lfs pointers among the project's files
// (from the snapshot taken before the run) and records them as references.
// Small files are read to spot pointers only when a .gitattributes of the
// project mentions "filter=lfs". A malformed one gives a warning, not a
// failure.
func pointerData(workdir string, snap snapshot) (data []lockfmt.Data, warnings []string) {
	lfs := false
	for rel := range snap {
		if rel == ".gitattributes" || strings.HasSuffix(rel, "/.gitattributes") {
			if b, err := os.ReadFile(filepath.Join(workdir, filepath.FromSlash(rel))); err == nil && bytes.Contains(b, []byte("filter=lfs")) {
				lfs = true
			}
		}
	}
	for rel, k := range snap {
		abs := filepath.Join(workdir, filepath.FromSlash(rel))
		switch {
		case strings.HasSuffix(rel, ".dvc") && k.size <= 1<<20:
			b, err := os.ReadFile(abs)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("reading %s: %v", rel, err))
				continue
			}
			outs, err := parseDVC(rel, b)
			if err != nil {
				warnings = append(warnings, err.Error())
				continue
			}
			dir := filepath.ToSlash(filepath.Dir(rel))
			for _, o := range outs {
				target := filepath.ToSlash(filepath.Join(dir, o.Path))
				data = append(data, lockfmt.Data{
					Name: target, Path: abs, URI: "dvc:" + target + "#md5=" + o.MD5,
					Kind: "dvc", Digest: lockfmt.DigestBytes(b), Size: o.Size, Source: "dvc",
				})
			}
		case lfs && k.size >= int64(len(lfsPointerPrefix)) && k.size <= maxLFSPointer:
			b, err := readPrefix(abs, maxLFSPointer+1)
			if err != nil || !bytes.HasPrefix(b, []byte(lfsPointerPrefix)) {
				continue
			}
			oid, size, _, err := parseLFSPointer(b)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("git-lfs pointer %s: %v", rel, err))
				continue
			}
			data = append(data, lockfmt.Data{
				Name: rel, Path: abs, URI: "git-lfs:" + rel + "#sha256=" + oid,
				Kind: "git-lfs", Digest: lockfmt.DigestPrefix + oid, Size: size, Source: "git-lfs",
			})
		}
	}
	return data, warnings
}

func readPrefix(p string, n int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := f.Read(b)
	if m > 0 {
		return b[:m], nil
	}
	return nil, err
}

// dirFiles lists the regular files and symlinks under dir, absolute, for a
// declared data directory.
func dirFiles(dir string) (files, links []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			files = append(files, p)
		case d.Type()&fs.ModeSymlink != 0:
			links = append(links, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing data directory %s: %w", dir, err)
	}
	return files, links, nil
}
