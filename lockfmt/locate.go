package lockfmt

import (
	"bytes"
	"strconv"
	"strings"
)

// locator maps dotted keys ("run.argv", "file[3].path") to the line of a TOML
// document that defines them, for error messages. It understands the forms
// people and Encode write (table headers, arrays of tables, dotted keys,
// arrays of inline tables with one element per line) and falls back to the
// closest enclosing key it found.
type locator struct {
	lines map[string]int
}

func newLocator(data []byte) *locator {
	l := &locator{lines: map[string]int{}}
	prefix := ""
	counts := map[string]int{} // array-of-tables and inline-array element counters
	var array string           // key of the open multi-line array, if any
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := strings.TrimSpace(string(raw))
		switch {
		case line == "" || line[0] == '#':
		case array != "" && line[0] == '{':
			k := array + "[" + strconv.Itoa(counts[array]) + "]"
			counts[array]++
			l.add(k, n)
			// Keys of the inline table on this line.
			for _, key := range inlineKeys(line) {
				l.add(k+"."+key, n)
			}
		case array != "" && line[0] == ']':
			array = ""
		case strings.HasPrefix(line, "[["):
			name := strings.Join(parseKey(strings.TrimPrefix(line, "[[")), ".")
			prefix = name + "[" + strconv.Itoa(counts[name]) + "]"
			counts[name]++
			array = ""
			l.add(name, n)
			l.add(prefix, n)
		case line[0] == '[' && array == "":
			prefix = strings.Join(parseKey(line[1:]), ".")
			l.add(prefix, n)
		default:
			parts := parseKey(line)
			if len(parts) == 0 {
				continue
			}
			full := strings.Join(parts, ".")
			if prefix != "" {
				full = prefix + "." + full
			}
			for j := range parts {
				k := strings.Join(parts[:j+1], ".")
				if prefix != "" {
					k = prefix + "." + k
				}
				l.add(k, n)
			}
			if eq := strings.IndexByte(line, '='); eq >= 0 {
				v := strings.TrimSpace(line[eq+1:])
				if v == "[" || strings.HasPrefix(v, "[") && !strings.HasSuffix(v, "]") {
					array = full
				}
			}
		}
	}
	return l
}

func (l *locator) add(key string, line int) {
	if _, ok := l.lines[key]; !ok {
		l.lines[key] = line
	}
}

// line returns the line of key or of its closest enclosing key, 0 if none.
func (l *locator) line(key string) int {
	for key != "" {
		if n, ok := l.lines[key]; ok {
			return n
		}
		cut := strings.LastIndexAny(key, ".[")
		if cut < 0 {
			return 0
		}
		key = key[:cut]
	}
	return 0
}

// parseKey reads a dotted key at the start of s (bare, "basic" or 'literal'
// pieces) up to "=" or "]"; it is lenient, for error positions only.
func parseKey(s string) []string {
	var parts []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return parts
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return parts
			}
			if u, err := strconv.Unquote(s[:end+1]); err == nil {
				parts = append(parts, u)
			} else {
				parts = append(parts, s[1:end])
			}
			s = s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return parts
			}
			parts = append(parts, s[1:end+1])
			s = s[end+2:]
		default:
			end := strings.IndexAny(s, " \t.=]")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return parts
			}
			parts = append(parts, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] != '.' {
			return parts
		}
		s = s[1:]
	}
}

// inlineKeys returns the top-level keys of a one-line inline table "{ a = 1, b = "x" }".
func inlineKeys(line string) []string {
	var keys []string
	depth, inStr := 0, byte(0)
	start := -1
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inStr != 0:
			if c == '\\' && inStr == '"' {
				i++
			} else if c == inStr {
				inStr = 0
			}
		case c == '"' || c == '\'':
			inStr = c
		case c == '{' || c == '[':
			depth++
			if depth == 1 && c == '{' {
				start = i + 1
			}
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 1:
			start = i + 1
		case c == '=' && depth == 1 && start >= 0:
			if k := parseKey(line[start:i]); len(k) > 0 {
				keys = append(keys, strings.Join(k, "."))
			}
			start = -1
		}
	}
	return keys
}
