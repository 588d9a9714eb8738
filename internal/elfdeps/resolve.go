package elfdeps

import (
	"bufio"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
)

// Resolver finds the file the dynamic loader would load for a DT_NEEDED name.
type Resolver struct {
	// LibraryPath is LD_LIBRARY_PATH split on ':' and ';'.
	LibraryPath []string
	// ConfDirs are the directories of /etc/ld.so.conf and its includes, in order.
	ConfDirs []string
	// Root prefixes every file access ("" for the host); paths reported stay
	// as seen from inside Root.
	Root string
}

// NewResolver returns a resolver for the host with the given LD_LIBRARY_PATH
// value and /etc/ld.so.conf (with include globs, recursively).
func NewResolver(ldLibraryPath string) *Resolver {
	r := &Resolver{}
	r.LibraryPath = strings.FieldsFunc(ldLibraryPath, func(c rune) bool { return c == ':' || c == ';' })
	r.ConfDirs = readLdSoConf("/etc/ld.so.conf", map[string]bool{})
	return r
}

// readLdSoConf returns the directories listed in an ld.so.conf file,
// following "include" lines (globs) at most once per file.
func readLdSoConf(p string, seen map[string]bool) []string {
	if seen[p] || len(seen) > 256 {
		return nil
	}
	seen[p] = true
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "include ") || strings.HasPrefix(line, "include\t"):
			pat := strings.TrimSpace(line[len("include"):])
			if !filepath.IsAbs(pat) {
				pat = filepath.Join(filepath.Dir(p), pat)
			}
			matches, _ := filepath.Glob(pat)
			for _, m := range matches {
				dirs = append(dirs, readLdSoConf(m, seen)...)
			}
		case strings.HasPrefix(line, "hwcap "):
		default:
			// "dir" or old "dir=TYPE"
			if i := strings.IndexByte(line, '='); i > 0 {
				line = line[:i]
			}
			dirs = append(dirs, line)
		}
	}
	return dirs
}

// triplet is the Debian multiarch directory name of an ELF machine.
func triplet(m elf.Machine, c elf.Class) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64-linux-gnu"
	case elf.EM_AARCH64:
		return "aarch64-linux-gnu"
	case elf.EM_386:
		return "i386-linux-gnu"
	case elf.EM_ARM:
		return "arm-linux-gnueabihf"
	case elf.EM_PPC64:
		return "powerpc64le-linux-gnu"
	case elf.EM_S390:
		return "s390x-linux-gnu"
	case elf.EM_RISCV:
		if c == elf.ELFCLASS64 {
			return "riscv64-linux-gnu"
		}
	}
	return ""
}

// defaultDirs are the loader's trusted directories for an ELF class and
// machine, multiarch first.
func defaultDirs(m elf.Machine, c elf.Class) []string {
	var dirs []string
	if t := triplet(m, c); t != "" {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	if c == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	return append(dirs, "/lib", "/usr/lib")
}

// expand substitutes $ORIGIN, $LIB and $PLATFORM (also in ${} form) in a
// run-path entry.
func expand(dir, origin string, c elf.Class, m elf.Machine) string {
	lib := "lib"
	if c == elf.ELFCLASS64 && m == elf.EM_X86_64 {
		lib = "lib64"
	}
	platform := map[elf.Machine]string{elf.EM_X86_64: "x86_64", elf.EM_AARCH64: "aarch64", elf.EM_386: "i686"}[m]
	r := strings.NewReplacer("${ORIGIN}", origin, "$ORIGIN", origin, "${LIB}", lib, "$LIB", lib,
		"${PLATFORM}", platform, "$PLATFORM", platform)
	return r.Replace(dir)
}

// matches reports whether path is an ELF file of class c and machine m.
func (r *Resolver) matches(path string, c elf.Class, m elf.Machine) (*Object, bool) {
	o, err := ReadFile(r.Root + path)
	if err != nil {
		return nil, false
	}
	return o, o.Class == c && o.Machine == m
}
