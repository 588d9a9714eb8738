package lockfile

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

var tomlLineRE = regexp.MustCompile(`^toml: line (\d+)(?: \(last key ("[^"]*"|[^)]*)\))?: `)

// tomlErr maps a BurntSushi/toml error to a *ParseError with its line.
func tomlErr(path string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return errAt(path, pe.Position.Line, "invalid TOML: %s", pe.Message)
	}
	msg := err.Error()
	if m := tomlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return errAt(path, n, "invalid TOML: %s", strings.TrimPrefix(msg, "toml: "))
	}
	return errAt(path, 0, "invalid TOML: %s", strings.TrimPrefix(msg, "toml: "))
}

// decodeTOML decodes data into v, mapping errors to file and line.
func decodeTOML(path string, data []byte, v any) error {
	if _, err := toml.Decode(string(data), v); err != nil {
		return tomlErr(path, err)
	}
	return nil
}

// tableLine returns the line of the n-th (0-based) "[[header]]" line in
// data, or 0 when the file uses another layout (inline arrays).
func tableLine(data []byte, header string, n int) int {
	want := "[[" + header + "]]"
	seen := 0
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == want || strings.HasPrefix(t, want+" ") || strings.HasPrefix(t, want+"#") {
			if seen == n {
				return i + 1
			}
			seen++
		}
	}
	return 0
}

// scpToSSH rewrites an scp-style git address ("git@host:org/repo.git")
// into the ssh URL pip accepts; other URLs are returned unchanged.
var scpRE = regexp.MustCompile(`^([A-Za-z0-9._-]+@[A-Za-z0-9._-]+):([^/].*)$`)

func scpToSSH(u string) string {
	if strings.Contains(u, "://") {
		return u
	}
	if m := scpRE.FindStringSubmatch(u); m != nil {
		return "ssh://" + m[1] + "/" + m[2]
	}
	return u
}

// orMarkers joins several markers into one expression.
func orMarkers(ms []string) string {
	var out []string
	for _, m := range ms {
		if m = strings.TrimSpace(m); m != "" {
			out = appendUnique(out, m)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	for i, m := range out {
		out[i] = "(" + m + ")"
	}
	return strings.Join(out, " or ")
}
