package sysinfo

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	glibcBanner = regexp.MustCompile(`GNU C Library \([^)\n]*\) (?:stable )?release version (\d+\.\d+(?:\.\d+)?)`)
	glibcName   = regexp.MustCompile(`^libc-(\d+\.\d+(?:\.\d+)?)\.so$`)
	muslVersion = regexp.MustCompile(`\b(1\.\d+\.\d+)\b`)
)

// Libc names the C library in the shared object at path (libc.so.6 or
// ld-musl-*.so.1) and its version: "glibc" with the version from the
// banner string in its read-only data ("GNU C Library (...) stable release
// version 2.36."), or from an old-style file name libc-2.31.so; "musl" with
// a best-effort version. An unreadable or unrecognised file gives an error.
func Libc(path string) (name, version string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("reading libc %s: %w", path, err)
	}
	defer f.Close()
	base := filepath.Base(path)
	isMusl := strings.Contains(base, "musl")
	if m := glibcName.FindStringSubmatch(base); m != nil {
		return "glibc", m[1], nil
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || (s.Name != ".rodata" && s.Name != ".rodata.str1.1") {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(s.Open(), 64<<20))
		if err != nil {
			continue
		}
		if m := glibcBanner.FindSubmatch(data); m != nil {
			return "glibc", string(m[1]), nil
		}
		if isMusl {
			if m := muslVersion.FindSubmatch(data); m != nil {
				return "musl", string(m[1]), nil
			}
		}
		if bytes.Contains(data, []byte("musl libc")) {
			isMusl = true
		}
	}
	if isMusl {
		return "musl", "", nil
	}
	return "", "", fmt.Errorf("reading libc %s: no GNU C Library or musl version string", path)
}
