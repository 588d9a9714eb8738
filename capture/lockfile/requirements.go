package lockfile

import (
	"bytes"
	"regexp"
	"strings"
)

// reqFile is one parsed requirements file before includes are followed.
type reqFile struct {
	pkgs     []Package
	includes []reqInclude
}

// reqInclude is a "-r" or "-c" line.
type reqInclude struct {
	line       int
	target     string
	constraint bool
}

// reqLine is one logical line: continuation lines joined, comment removed.
type reqLine struct {
	num     int    // first physical line, 1-based
	text    string // without comment, trimmed
	comment string // the raw comment line when the whole line is a comment
}

// stripComment removes a comment the way pip's `(^|\s+)#.*$` does: a "#"
// at the start or after whitespace, with that whitespace.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] != '#' {
			continue
		}
		if i == 0 {
			return ""
		}
		if s[i-1] == ' ' || s[i-1] == '\t' {
			return strings.TrimRight(s[:i], " \t")
		}
	}
	return s
}

// logicalLines joins "\" continuations and strips comments the way pip's
// req_file.py does (comments are removed after joining).
func logicalLines(data []byte) []reqLine {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	raw := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var (
		out     []reqLine
		joined  []string
		joinNum int
	)
	emit := func(num int, s string) {
		l := reqLine{num: num}
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "#") {
			l.comment = t
		}
		l.text = strings.TrimSpace(stripComment(s))
		out = append(out, l)
	}
	for i, line := range raw {
		num := i + 1
		isComment := strings.HasPrefix(strings.TrimSpace(line), "#")
		if !strings.HasSuffix(line, `\`) || isComment {
			if isComment {
				line = " " + line
			}
			if joined != nil {
				joined = append(joined, line)
				emit(joinNum, strings.Join(joined, ""))
				joined = nil
			} else {
				emit(num, line)
			}
			continue
		}
		if joined == nil {
			joinNum = num
		}
		joined = append(joined, strings.TrimSuffix(line, `\`))
	}
	if joined != nil {
		emit(joinNum, strings.Join(joined, ""))
	}
	return out
}

// Options of a requirements file that take a value; the others are flags.
var (
	reqValueOptions = map[string]string{
		"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c",
		"-e": "-e", "--editable": "-e", "-i": "-i", "--index-url": "-i",
		"--extra-index-url": "--extra-index-url", "-f": "-f", "--find-links": "-f",
		"--no-binary": "", "--only-binary": "", "--trusted-host": "", "--use-feature": "",
		"--config-settings": "", "--global-option": "", "--install-option": "",
	}
	reqFlagOptions = map[string]bool{
		"--no-index": true, "--pre": true, "--prefer-binary": true, "--require-hashes": true,
		"--no-require-hashes": true, "--all-releases": true, "--only-final": true,
	}
	freezeEditableRE = regexp.MustCompile(`^#+ Editable .*?\(\s*(?:Requirement\()?['"]?([A-Za-z0-9][A-Za-z0-9._-]*)\s*===?\s*([^)'"\s]+)`)
)

// splitOption splits "--opt=value", "-ovalue" or "--opt value..." into the
// canonical option, its value and whether the option is known.
func splitOption(s string) (opt, value string, known bool) {
	name, rest, hasEq := strings.Cut(s, "=")
	if i := strings.IndexAny(name, " \t"); i >= 0 {
		name, rest, hasEq = s[:i], strings.TrimSpace(s[i:]), true
	}
	if canon, ok := reqValueOptions[name]; ok {
		if canon == "" {
			canon = name
		}
		if !hasEq {
			rest = ""
		}
		return canon, strings.TrimSpace(rest), true
	}
	if reqFlagOptions[name] && !hasEq {
		return name, "", true
	}
	// short option with the value attached: -rfile, -ihttps://...
	if len(s) > 2 && s[0] == '-' && s[1] != '-' {
		if canon, ok := reqValueOptions[s[:2]]; ok {
			return canon, strings.TrimSpace(s[2:]), true
		}
	}
	return name, "", false
}

// parseRequirements parses one requirements or pip freeze file (the same
// syntax; freeze's "# Editable ... (name==version)" comments name the "-e"
// line after them) without following includes.
func parseRequirements(path string, data []byte) (*reqFile, error) {
	rf := &reqFile{}
	index := ""
	var pendingName, pendingVersion string
	for _, l := range logicalLines(data) {
		if l.comment != "" {
			if m := freezeEditableRE.FindStringSubmatch(l.comment); m != nil {
				pendingName, pendingVersion = m[1], m[2]
			}
			continue
		}
		if l.text == "" {
			continue
		}
		if strings.HasPrefix(l.text, "-") {
			opt, val, known := splitOption(l.text)
			if !known {
				return nil, errAt(path, l.num, "unknown option %q", opt)
			}
			switch opt {
			case "-r", "-c":
				if val == "" {
					return nil, errAt(path, l.num, "option %s needs a file", opt)
				}
				rf.includes = append(rf.includes, reqInclude{line: l.num, target: val, constraint: opt == "-c"})
			case "-i":
				if val == "" {
					return nil, errAt(path, l.num, "option --index-url needs a URL")
				}
				index = val
			case "-e":
				if val == "" {
					return nil, errAt(path, l.num, "option --editable needs a path or URL")
				}
				p, err := parseRequirementLine(val, true)
				if err != nil {
					return nil, errAt(path, l.num, "%v", err)
				}
				if p.Name == "" && pendingName != "" {
					p.Name, p.Version = NormalizeName(pendingName), pendingVersion
				}
				rf.pkgs = append(rf.pkgs, p)
			}
			pendingName, pendingVersion = "", ""
			continue
		}
		pendingName, pendingVersion = "", ""
		p, err := parseRequirementLine(l.text, false)
		if err != nil {
			return nil, errAt(path, l.num, "%v", err)
		}
		if p.Source == "" {
			p.Source = index
		}
		rf.pkgs = append(rf.pkgs, p)
	}
	return rf, nil
}
