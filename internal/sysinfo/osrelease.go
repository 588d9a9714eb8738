package sysinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// ParseOSRelease reads an os-release(5) file: KEY=value lines, values
// optionally in single or double quotes (backslash escapes inside double quotes),
// comments and blank lines ignored. A line that is not KEY=value is an
// error naming its number.
func ParseOSRelease(b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return nil, fmt.Errorf("line %d: not KEY=value", n)
		}
		val, err := unquote(v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out[k] = val
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func unquote(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	q := v[0]
	if q != '"' && q != '\'' {
		return v, nil
	}
	if len(v) < 2 || v[len(v)-1] != q {
		return "", fmt.Errorf("unterminated quote")
	}
	v = v[1 : len(v)-1]
	if q == '\'' {
		return v, nil
	}
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		sb.WriteByte(v[i])
	}
	return sb.String(), nil
}

// OSRelease reads /etc/os-release, or /usr/lib/os-release when the first is
// missing, under root ("/" for the host).
func OSRelease(root string) (map[string]string, error) {
	var lastErr error
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		b, err := os.ReadFile(root + p)
		if err != nil {
			lastErr = err
			continue
		}
		m, err := ParseOSRelease(b)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", root+p, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("reading os-release: %w", lastErr)
}

// KernelRelease returns the running kernel's release (uname -r).
func KernelRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	var sb strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}
