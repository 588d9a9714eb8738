package lockfile

import (
	"fmt"
	"strconv"
	"strings"
)

// marker is a parsed PEP 508 environment marker.
type marker interface {
	// eval returns 1 (true), 0 (false) or -1 (unknown: a variable the
	// environment does not define, or a comparison it cannot decide).
	eval(env map[string]string) int
}

type markerOr []marker
type markerAnd []marker
type markerCmp struct {
	lhs, op, rhs string
	lvar, rvar   bool
}

func (m markerOr) eval(env map[string]string) int {
	r := 0
	for _, c := range m {
		switch c.eval(env) {
		case 1:
			return 1
		case -1:
			r = -1
		}
	}
	return r
}

func (m markerAnd) eval(env map[string]string) int {
	r := 1
	for _, c := range m {
		switch c.eval(env) {
		case 0:
			return 0
		case -1:
			r = -1
		}
	}
	return r
}

var markerVars = map[string]string{
	"python_version": "python_version", "python_full_version": "python_full_version",
	"os_name": "os_name", "os.name": "os_name", "sys_platform": "sys_platform", "sys.platform": "sys_platform",
	"platform_release": "platform_release", "platform_system": "platform_system",
	"platform_version": "platform_version", "platform.version": "platform_version",
	"platform_machine": "platform_machine", "platform.machine": "platform_machine",
	"platform_python_implementation": "platform_python_implementation",
	"platform.python_implementation": "platform_python_implementation",
	"python_implementation":          "platform_python_implementation",
	"implementation_name":            "implementation_name", "implementation_version": "implementation_version",
	"extra": "extra", "extras": "extras", "dependency_groups": "dependency_groups",
}

var versionVars = map[string]bool{"python_version": true, "python_full_version": true, "implementation_version": true}

func (m markerCmp) eval(env map[string]string) int {
	l, r := m.lhs, m.rhs
	varName := ""
	if m.lvar {
		varName = l
	} else if m.rvar {
		varName = r
	}
	resolve := func(s string, isVar bool) (string, bool) {
		if !isVar {
			return s, true
		}
		v, ok := env[s]
		if !ok && s == "python_full_version" {
			// Decide from python_version when the other side names no
			// patch level; otherwise it is unknown.
			other := r
			if m.rvar {
				other = l
			}
			if pv, ok := env["python_version"]; ok && strings.Count(strings.TrimSuffix(other, ".*"), ".") <= 1 {
				return pv, true
			}
		}
		return v, ok
	}
	lv, ok1 := resolve(l, m.lvar)
	rv, ok2 := resolve(r, m.rvar)
	if !ok1 || !ok2 {
		return -1
	}
	switch m.op {
	case "in":
		return b2i(strings.Contains(rv, lv))
	case "not in":
		return b2i(!strings.Contains(rv, lv))
	}
	if versionVars[varName] {
		if c := compareVersionOp(lv, m.op, rv); c != -1 {
			return c
		}
	}
	switch m.op {
	case "==", "===":
		return b2i(lv == rv)
	case "!=":
		return b2i(lv != rv)
	}
	return -1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// release parses "3.11.7" into [3 11 7]; ok is false for anything else.
func release(s string) ([]int, bool) {
	var out []int
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

func cmpRelease(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// compareVersionOp evaluates "lv op rv" on release versions (with "=="
// and "!=" prefix wildcards); -1 when either is not a plain release.
func compareVersionOp(lv, op, rv string) int {
	a, ok := release(lv)
	if !ok {
		return -1
	}
	if strings.HasSuffix(rv, ".*") && (op == "==" || op == "!=") {
		b, ok := release(strings.TrimSuffix(rv, ".*"))
		if !ok {
			return -1
		}
		match := len(a) >= len(b) && cmpRelease(a[:len(b)], b) == 0
		if len(a) < len(b) {
			match = cmpRelease(a, b) == 0
		}
		return b2i(match == (op == "=="))
	}
	b, ok := release(rv)
	if !ok {
		return -1
	}
	c := cmpRelease(a, b)
	switch op {
	case "==", "===":
		return b2i(c == 0)
	case "!=":
		return b2i(c != 0)
	case "<":
		return b2i(c < 0)
	case "<=":
		return b2i(c <= 0)
	case ">":
		return b2i(c > 0)
	case ">=":
		return b2i(c >= 0)
	case "~=":
		if len(b) < 2 {
			return -1
		}
		return b2i(c >= 0 && cmpRelease(a[:min(len(a), len(b)-1)], b[:len(b)-1]) == 0)
	}
	return -1
}

// markerParser is a recursive-descent parser over PEP 508 marker tokens.
type markerParser struct {
	toks  []markerTok
	pos   int
	depth int
}

// maxMarkerDepth bounds parenthesis nesting.
const maxMarkerDepth = 64

type markerTok struct {
	kind string // "(", ")", "op", "str", "var", "and", "or", "not", "in"
	val  string
}

func tokenizeMarker(s string) ([]markerTok, error) {
	var toks []markerTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, markerTok{kind: string(c)})
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string in %q", s)
			}
			toks = append(toks, markerTok{kind: "str", val: s[i+1 : i+1+j]})
			i += j + 2
		case strings.ContainsRune("<>=!~", rune(c)):
			j := i
			for j < len(s) && strings.ContainsRune("<>=!~", rune(s[j])) {
				j++
			}
			op := s[i:j]
			switch op {
			case "<", "<=", "!=", "==", ">=", ">", "~=", "===":
			default:
				return nil, fmt.Errorf("bad operator %q", op)
			}
			toks = append(toks, markerTok{kind: "op", val: op})
			i = j
		case c == '_' || c == '.' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			w := s[i:j]
			switch w {
			case "and", "or", "not", "in":
				toks = append(toks, markerTok{kind: w})
			default:
				v, ok := markerVars[w]
				if !ok {
					return nil, fmt.Errorf("unknown marker variable %q", w)
				}
				toks = append(toks, markerTok{kind: "var", val: v})
			}
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q", string(c))
		}
	}
	return toks, nil
}

// parseMarker parses a PEP 508 marker expression.
func parseMarker(s string) (marker, error) {
	toks, err := tokenizeMarker(s)
	if err != nil {
		return nil, err
	}
	p := &markerParser{toks: toks}
	m, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].kind)
	}
	return m, nil
}

func (p *markerParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos].kind
	}
	return ""
}

func (p *markerParser) or() (marker, error) {
	var out markerOr
	for {
		m, err := p.and()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if p.peek() != "or" {
			break
		}
		p.pos++
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *markerParser) and() (marker, error) {
	var out markerAnd
	for {
		m, err := p.atom()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if p.peek() != "and" {
			break
		}
		p.pos++
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *markerParser) atom() (marker, error) {
	if p.peek() == "(" {
		p.pos++
		if p.depth++; p.depth > maxMarkerDepth {
			return nil, fmt.Errorf("parentheses nested too deeply")
		}
		m, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return m, nil
	}
	l, lvar, err := p.value()
	if err != nil {
		return nil, err
	}
	var op string
	switch p.peek() {
	case "op":
		op = p.toks[p.pos].val
		p.pos++
	case "in":
		op = "in"
		p.pos++
	case "not":
		p.pos++
		if p.peek() != "in" {
			return nil, fmt.Errorf("expected 'in' after 'not'")
		}
		p.pos++
		op = "not in"
	default:
		return nil, fmt.Errorf("expected a comparison operator")
	}
	r, rvar, err := p.value()
	if err != nil {
		return nil, err
	}
	return markerCmp{lhs: l, op: op, rhs: r, lvar: lvar, rvar: rvar}, nil
}

func (p *markerParser) value() (string, bool, error) {
	switch p.peek() {
	case "str", "var":
		t := p.toks[p.pos]
		p.pos++
		return t.val, t.kind == "var", nil
	}
	return "", false, fmt.Errorf("expected a variable or a quoted string")
}
