package lockfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// formatByName maps a well-known file name (lower case) to its format.
func formatByName(base string) (string, bool) {
	switch base {
	case "pipfile.lock":
		return FormatPipfileLock, true
	case "poetry.lock":
		return FormatPoetry, true
	case "uv.lock":
		return FormatUV, true
	case "pylock.toml":
		return FormatPylock, true
	case "pixi.lock":
		return FormatPixi, true
	case "conda-lock.yml", "conda-lock.yaml":
		return FormatCondaLock, true
	case "environment.yml", "environment.yaml":
		return FormatEnvironmentYML, true
	}
	switch {
	case strings.HasPrefix(base, "pylock.") && strings.HasSuffix(base, ".toml"):
		return FormatPylock, true
	case strings.HasSuffix(base, ".conda-lock.yml"), strings.HasSuffix(base, ".conda-lock.yaml"):
		return FormatCondaLock, true
	}
	return "", false
}

// hasExplicit reports whether data has an "@EXPLICIT" line (CEP 23).
func hasExplicit(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		if string(bytes.TrimSpace(line)) == "@EXPLICIT" {
			return true
		}
	}
	return false
}

// Detect names the format of a lock file: by its file name first
// (Pipfile.lock, poetry.lock, uv.lock, pylock[.*].toml, pixi.lock,
// [*.]conda-lock.yml, environment.yml, *requirements*.txt, *freeze*.txt),
// then by content (an "@EXPLICIT" line, the keys of a JSON, TOML or YAML
// document, requirement lines with at least one pin). ok is false for
// anything else.
func Detect(path string, data []byte) (format string, ok bool) {
	base := strings.ToLower(filepath.Base(path))
	if f, ok := formatByName(base); ok {
		return f, true
	}
	if hasExplicit(data) {
		return FormatCondaExplicit, true
	}
	if ext := filepath.Ext(base); ext == ".txt" || ext == ".in" {
		switch {
		case strings.Contains(base, "freeze"):
			return FormatPipFreeze, true
		case strings.Contains(base, "requirements"), strings.Contains(base, "constraints"):
			return FormatRequirements, true
		}
	}
	return sniff(data)
}

func sniff(data []byte) (string, bool) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "", false
	}
	if trimmed[0] == '{' {
		var doc map[string]json.RawMessage
		if json.Unmarshal(trimmed, &doc) != nil {
			return "", false
		}
		switch {
		case doc["_meta"] != nil && (doc["default"] != nil || doc["develop"] != nil):
			return FormatPipfileLock, true
		case doc["version"] != nil && doc["installed"] != nil:
			return FormatPipInspect, true
		case doc["version"] != nil && doc["install"] != nil:
			return FormatPipReport, true
		}
		return "", false
	}
	if bytes.Contains(data, []byte("[[package]]")) || bytes.Contains(data, []byte("lock-version")) || bytes.Contains(data, []byte("[[packages]]")) {
		var doc map[string]any
		if _, err := toml.Decode(string(data), &doc); err == nil {
			meta, _ := doc["metadata"].(map[string]any)
			_, isInt := doc["version"].(int64)
			switch {
			case meta != nil && (meta["lock-version"] != nil || meta["content-hash"] != nil):
				return FormatPoetry, true
			case doc["lock-version"] != nil && doc["packages"] != nil || doc["created-by"] != nil:
				return FormatPylock, true
			case isInt && doc["package"] != nil:
				return FormatUV, true
			}
			return "", false
		}
	}
	if f, ok := sniffYAML(data); ok {
		return f, true
	}
	rf, err := parseRequirements("", data)
	if err != nil || len(rf.pkgs)+len(rf.includes) == 0 {
		return "", false
	}
	pinned := len(rf.includes) > 0
	for _, p := range rf.pkgs {
		if p.Name == "" && !strings.HasPrefix(p.Source, "editable:") {
			return "", false
		}
		pinned = pinned || p.Version != ""
	}
	if !pinned {
		return "", false
	}
	if bytes.Contains(data, []byte("# Editable ")) || bytes.Contains(data, []byte("added by pip freeze")) {
		return FormatPipFreeze, true
	}
	return FormatRequirements, true
}

func sniffYAML(data []byte) (string, bool) {
	if !bytes.Contains(data, []byte("package")) && !bytes.Contains(data, []byte("dependencies:")) {
		return "", false
	}
	root, err := yamlDoc("", data, "")
	if err != nil {
		return "", false
	}
	switch {
	case get(root, "version") != nil && get(root, "metadata") != nil && get(root, "package") != nil:
		return FormatCondaLock, true
	case get(root, "version") != nil && (get(root, "environments") != nil || get(root, "packages") != nil):
		return FormatPixi, true
	case get(root, "dependencies") != nil && (get(root, "channels") != nil || get(root, "name") != nil):
		return FormatEnvironmentYML, true
	}
	return "", false
}

// maxLockSize bounds the files Find reads to look for "@EXPLICIT".
const maxLockSize = 64 << 20

// Find lists the lock and requirements files of a project directory:
// well-known names at its top level (see Detect; also *.txt and *.lock
// files that are conda explicit lists) and the *.txt files of a top-level
// requirements/ directory. It does not descend any further (so never into
// .git, virtual environments or node_modules). Paths are joined to dir and
// sorted.
func Find(dir string) ([]string, error) {
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing lock files in %s: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			continue
		}
		if isLockFile(p) {
			out = append(out, p)
		}
	}
	reqDir := filepath.Join(dir, "requirements")
	if st, err := os.Stat(reqDir); err == nil && st.IsDir() {
		sub, err := os.ReadDir(reqDir)
		if err != nil {
			return nil, fmt.Errorf("listing lock files in %s: %w", reqDir, err)
		}
		for _, e := range sub {
			p := filepath.Join(reqDir, e.Name())
			if !e.IsDir() && strings.HasSuffix(strings.ToLower(e.Name()), ".txt") && isRegular(p) {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func isRegular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isLockFile(p string) bool {
	if !isRegular(p) {
		return false
	}
	base := strings.ToLower(filepath.Base(p))
	if _, ok := formatByName(base); ok {
		return true
	}
	ext := filepath.Ext(base)
	if ext == ".txt" && (strings.Contains(base, "requirements") || strings.Contains(base, "constraints") || strings.Contains(base, "freeze")) {
		return true
	}
	if ext != ".txt" && ext != ".lock" {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLockSize))
	return err == nil && hasExplicit(data)
}
