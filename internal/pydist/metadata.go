package pydist

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
)

var nameRun = regexp.MustCompile(`[-_.]+`)

// Normalize returns the PEP 503 form of a distribution name.
func Normalize(name string) string {
	return strings.ToLower(nameRun.ReplaceAllString(strings.TrimSpace(name), "-"))
}

// ParseMetadata reads the Name and Version headers of a METADATA or
// PKG-INFO file (RFC 822 style headers up to the first blank line).
func ParseMetadata(b []byte) (name, version string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			if name == "" {
				name = strings.TrimSpace(v)
			}
		case "version":
			if version == "" {
				version = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	if name == "" || version == "" {
		return name, version, errors.New("no Name or Version header")
	}
	return name, version, nil
}

// RecordEntry is one row of a RECORD file.
type RecordEntry struct {
	Path string // as written: relative to the site directory (may start with ..) or absolute
	Hash string // "sha256=<urlsafe base64, no padding>", or ""
	Size string
}

// ParseRecord reads a RECORD file: CSV rows path,hash,size (more columns
// are tolerated, as pip does). An unreadable row or an empty path is an
// error naming its line.
func ParseRecord(b []byte) ([]RecordEntry, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	var out []RecordEntry
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("RECORD: %w", err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 0 || rec[0] == "" {
			if len(rec) == 1 { // blank line
				continue
			}
			return nil, fmt.Errorf("RECORD line %d: empty path", line)
		}
		e := RecordEntry{Path: rec[0]}
		if len(rec) > 1 {
			e.Hash = rec[1]
		}
		if len(rec) > 2 {
			e.Size = rec[2]
		}
		out = append(out, e)
	}
}

// RecordHash converts a RECORD hash ("sha256=<urlsafe b64>") to its
// algorithm and lower-case hex digest. ok is false for an empty or
// malformed value.
func RecordHash(h string) (algo, hexDigest string, ok bool) {
	algo, v, found := strings.Cut(h, "=")
	if !found || algo == "" || v == "" {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return "", "", false
	}
	return strings.ToLower(algo), hex.EncodeToString(raw), true
}

// directURL is the PEP 610 direct_url.json structure.
type directURL struct {
	URL     string `json:"url"`
	VCSInfo *struct {
		VCS      string `json:"vcs"`
		CommitID string `json:"commit_id"`
	} `json:"vcs_info"`
	ArchiveInfo *json.RawMessage `json:"archive_info"`
	DirInfo     *struct {
		Editable bool `json:"editable"`
	} `json:"dir_info"`
}

// ParseDirectURL turns a direct_url.json into a manifest source string:
// "vcs:<vcs>+<url>@<commit>", "url:<url>", "editable:<path>" or
// "local:<path>". Credentials in the URL are removed (a "git" user and
// ${ENV} references are kept, as PEP 610 allows).
func ParseDirectURL(b []byte) (string, error) {
	var d directURL
	if err := json.Unmarshal(b, &d); err != nil {
		return "", fmt.Errorf("direct_url.json: %w", err)
	}
	if d.URL == "" {
		return "", errors.New("direct_url.json: no url")
	}
	u := stripCredentials(d.URL)
	switch {
	case d.VCSInfo != nil:
		vcs := d.VCSInfo.VCS
		if vcs == "" {
			vcs = "git"
		}
		return "vcs:" + vcs + "+" + u + "@" + d.VCSInfo.CommitID, nil
	case d.DirInfo != nil:
		p := u
		if pu, err := url.Parse(u); err == nil && pu.Scheme == "file" {
			p = pu.Path
		}
		if d.DirInfo.Editable {
			return "editable:" + p, nil
		}
		return "local:" + p, nil
	default:
		return "url:" + u, nil
	}
}

func stripCredentials(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	name := u.User.Username()
	if _, hasPass := u.User.Password(); !hasPass && (name == "git" || strings.HasPrefix(name, "${")) {
		return raw
	}
	u.User = nil
	return u.String()
}
