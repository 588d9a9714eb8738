package lockfmt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// AllowedSigner is one line of an OpenSSH allowed_signers file (see
// ssh-keygen(1), ALLOWED SIGNERS): who may sign, in which namespaces and
// when, with which key.
type AllowedSigner struct {
	Line          int
	Principals    string // comma-separated pattern-list ("alice@example.org,*@lab.org")
	Namespaces    string // pattern-list, "" = any namespace
	CertAuthority bool
	ValidAfter    time.Time // zero = no bound
	ValidBefore   time.Time
	Key           ssh.PublicKey
}

// ParseAllowedSigners parses an allowed_signers file: blank lines and
// "#" comments ignored; each line "principals [options] keytype base64
// [comment]", options "cert-authority", namespaces="...", valid-after="...",
// valid-before="..." (names case-insensitive; times YYYYMMDD[Z] or
// YYYYMMDDHHMM[SS][Z], local time unless Z). Errors name the line.
func ParseAllowedSigners(data []byte) ([]AllowedSigner, error) {
	var out []AllowedSigner
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(strings.TrimSuffix(string(raw), "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseAllowedLine(line)
		if err != nil {
			return nil, fmt.Errorf("allowed_signers line %d: %w", i+1, err)
		}
		s.Line = i + 1
		out = append(out, s)
	}
	return out, nil
}

func parseAllowedLine(line string) (AllowedSigner, error) {
	var s AllowedSigner
	principals, rest, err := nextField(line)
	if err != nil {
		return s, err
	}
	if principals == "" {
		return s, errors.New("missing principals")
	}
	s.Principals = principals
	k, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return s, fmt.Errorf("bad options or public key: %v", err)
	}
	if err := s.parseOptions(opts); err != nil {
		return s, err
	}
	s.Key = k
	return s, nil
}

// nextField returns the first whitespace-delimited field of s (double quotes
// protect whitespace and are kept inside options, removed around a whole
// field) and the rest.
func nextField(s string) (field, rest string, err error) {
	s = strings.TrimLeft(s, " \t")
	inQuote := false
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			inQuote = !inQuote
		} else if (c == ' ' || c == '\t') && !inQuote {
			break
		}
	}
	if inQuote {
		return "", "", errors.New("unterminated quote")
	}
	field = s[:i]
	if len(field) >= 2 && field[0] == '"' && field[len(field)-1] == '"' && strings.Count(field, `"`) == 2 {
		field = field[1 : len(field)-1]
	}
	return field, strings.TrimLeft(s[i:], " \t"), nil
}

func (s *AllowedSigner) parseOptions(opts []string) error {
	for _, opt := range opts {
		name, val, hasVal := strings.Cut(opt, "=")
		name = strings.ToLower(name)
		if hasVal {
			if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
				return fmt.Errorf("option %s: value must be double-quoted", name)
			}
			val = val[1 : len(val)-1]
		}
		var err error
		switch {
		case name == "cert-authority" && !hasVal:
			s.CertAuthority = true
		case name == "namespaces" && hasVal:
			s.Namespaces = val
		case name == "valid-after" && hasVal:
			s.ValidAfter, err = parseSSHTime(val)
		case name == "valid-before" && hasVal:
			s.ValidBefore, err = parseSSHTime(val)
		default:
			return fmt.Errorf("unsupported option %q", opt)
		}
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
	}
	return nil
}

// parseSSHTime parses YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z].
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		loc, v = time.UTC, v[:len(v)-1]
	}
	layout := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}[len(v)]
	if layout == "" {
		return time.Time{}, fmt.Errorf("time %q: want YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]", v)
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %v", v, err)
	}
	return t, nil
}

// matchPatternList reports whether s matches the ssh_config(5) pattern-list
// pats: comma-separated patterns with * and ?, a "!" prefix negating (a
// negated match refuses outright).
func matchPatternList(s, pats string) bool {
	matched := false
	for _, p := range strings.Split(pats, ",") {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if matchPattern(s, p) {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

// matchPattern matches s against a glob with * and ? (iterative, no
// exponential backtracking).
func matchPattern(s, p string) bool {
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// VerifyAllowedSigners checks armoredSig over data like "ssh-keygen -Y
// verify -f allowed_signers -I identity -n repro-manifest": some line of
// allowedSigners must name identity among its principals, hold the
// signature's key, allow the namespace and be valid now. Errors wrap
// ErrBadSignature, ErrUntrustedKey or ErrUnsigned; cert-authority lines are
// refused as unsupported.
func VerifyAllowedSigners(data, armoredSig, allowedSigners []byte, identity string) error {
	return verifyAllowedAt(data, armoredSig, allowedSigners, identity, time.Now())
}

func verifyAllowedAt(data, armoredSig, allowedSigners []byte, identity string, now time.Time) error {
	sig, err := ParseSignature(armoredSig)
	if err != nil {
		return err
	}
	signers, err := ParseAllowedSigners(allowedSigners)
	if err != nil {
		return err
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	found := false
	var reasons []string
	for _, a := range signers {
		if !matchPatternList(identity, a.Principals) {
			continue
		}
		found = true
		if a.CertAuthority {
			reasons = append(reasons, fmt.Sprintf("line %d: cert-authority keys are not supported", a.Line))
			continue
		}
		if !bytes.Equal(a.Key.Marshal(), sig.PublicKey.Marshal()) {
			continue
		}
		switch {
		case a.Namespaces != "" && !matchPatternList(Namespace, a.Namespaces):
			reasons = append(reasons, fmt.Sprintf("line %d: key not allowed for namespace %q", a.Line, Namespace))
		case !a.ValidAfter.IsZero() && now.Before(a.ValidAfter):
			reasons = append(reasons, fmt.Sprintf("line %d: key not valid before %s", a.Line, a.ValidAfter.Format(time.RFC3339)))
		case !a.ValidBefore.IsZero() && now.After(a.ValidBefore):
			reasons = append(reasons, fmt.Sprintf("line %d: key expired at %s", a.Line, a.ValidBefore.Format(time.RFC3339)))
		default:
			return sig.verify(data, a.Key)
		}
	}
	if !found {
		return fmt.Errorf("%w: no allowed_signers line names %q", ErrUntrustedKey, identity)
	}
	if len(reasons) > 0 {
		return fmt.Errorf("%w: signing key %s for %q: %s", ErrUntrustedKey, fp, identity, strings.Join(reasons, "; "))
	}
	return fmt.Errorf("%w: signed by key %s, which allowed_signers does not list for %q", ErrUntrustedKey, fp, identity)
}
