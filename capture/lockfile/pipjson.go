package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// jsonErr maps an encoding/json error to a *ParseError with the line of
// the offending byte; base is the offset of the decoded value in data.
func jsonErr(path string, data []byte, base int64, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errAt(path, lineOf(data, base+se.Offset), "invalid JSON: %v", se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return errAt(path, lineOf(data, base+te.Offset), "invalid JSON: %s is a JSON %s, want %s", field, te.Value, te.Type)
	}
	return errAt(path, lineOf(data, base), "invalid JSON: %v", err)
}

// rawOffset is the offset of raw (a json.RawMessage decoded from data) in data.
func rawOffset(data, raw []byte) int64 {
	i := bytes.Index(data, raw)
	if i < 0 {
		return 0
	}
	return int64(i)
}

// directURL is PEP 610 direct_url.json, also pip's download_info.
type directURL struct {
	URL     string `json:"url"`
	VCSInfo *struct {
		VCS               string `json:"vcs"`
		RequestedRevision string `json:"requested_revision"`
		CommitID          string `json:"commit_id"`
	} `json:"vcs_info"`
	ArchiveInfo *struct {
		Hash   string            `json:"hash"`
		Hashes map[string]string `json:"hashes"`
	} `json:"archive_info"`
	DirInfo *struct {
		Editable bool `json:"editable"`
	} `json:"dir_info"`
	Subdirectory string `json:"subdirectory"`
}

// source returns the Source and hashes a direct URL record stands for.
func (d *directURL) source() (string, []string) {
	if d == nil || d.URL == "" {
		return "", nil
	}
	loc := d.URL
	local := false
	if strings.HasPrefix(loc, "file:") {
		if u, err := url.Parse(loc); err == nil {
			loc, local = u.Path, true
		}
	}
	sub := ""
	if d.Subdirectory != "" {
		sub = "#subdirectory=" + d.Subdirectory
	}
	switch {
	case d.VCSInfo != nil:
		rev := d.VCSInfo.CommitID
		if rev == "" {
			rev = d.VCSInfo.RequestedRevision
		}
		s := "vcs:" + d.VCSInfo.VCS + "+" + d.URL
		if rev != "" {
			s += "@" + rev
		}
		return s + sub, nil
	case d.DirInfo != nil:
		kind := "path:"
		if d.DirInfo.Editable {
			kind = "editable:"
		}
		return kind + loc + sub, nil
	default:
		var hashes []string
		if d.ArchiveInfo != nil {
			hashes = hashMap(d.ArchiveInfo.Hashes)
			if h, ok := normHash(d.ArchiveInfo.Hash); ok {
				hashes = append(hashes, h)
			}
		}
		if local {
			return "path:" + loc + sub, hashes
		}
		return "url:" + d.URL + sub, hashes
	}
}

type pipMetadata struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type pipJSONDoc struct {
	Version   *string           `json:"version"`
	Installed []json.RawMessage `json:"installed"`
	Install   []json.RawMessage `json:"install"`
}

func decodePipJSON(path string, data []byte, what string) (*pipJSONDoc, error) {
	var doc pipJSONDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, jsonErr(path, data, 0, err)
	}
	if doc.Version == nil {
		return nil, errAt(path, 1, "no \"version\" key: not %s output", what)
	}
	if *doc.Version != "1" {
		return nil, errAt(path, lineOf(data, int64(bytes.Index(data, []byte(`"version"`)))), "unsupported %s version %q (want \"1\")", what, *doc.Version)
	}
	return &doc, nil
}

// parsePipInspect reads `pip inspect` JSON (version "1").
func parsePipInspect(path string, data []byte) ([]Package, error) {
	doc, err := decodePipJSON(path, data, "pip inspect")
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	for _, raw := range doc.Installed {
		var item struct {
			Metadata  pipMetadata `json:"metadata"`
			DirectURL *directURL  `json:"direct_url"`
		}
		off := rawOffset(data, raw)
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, jsonErr(path, data, off, err)
		}
		p, err := pipItem(path, data, off, item.Metadata, item.DirectURL)
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// parsePipReport reads `pip install --report` JSON (version "1").
func parsePipReport(path string, data []byte) ([]Package, error) {
	doc, err := decodePipJSON(path, data, "pip install --report")
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	for _, raw := range doc.Install {
		var item struct {
			Metadata        pipMetadata `json:"metadata"`
			DownloadInfo    *directURL  `json:"download_info"`
			RequestedExtras []string    `json:"requested_extras"`
		}
		off := rawOffset(data, raw)
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, jsonErr(path, data, off, err)
		}
		p, err := pipItem(path, data, off, item.Metadata, item.DownloadInfo)
		if err != nil {
			return nil, err
		}
		p.Extras = item.RequestedExtras
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func pipItem(path string, data []byte, off int64, md pipMetadata, du *directURL) (Package, error) {
	if md.Name == "" {
		return Package{}, errAt(path, lineOf(data, off), "package without metadata.name")
	}
	p := Package{Name: NormalizeName(md.Name), Version: md.Version, Kind: "pypi"}
	p.Source, p.Hashes = du.source()
	return p, nil
}
