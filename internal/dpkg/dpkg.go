// Package dpkg answers "which Debian package owns this file, at which
// version" by reading the dpkg database directly (/var/lib/dpkg/info/*.list
// and /var/lib/dpkg/status), without running dpkg. On merged-/usr systems a
// file is found whether the database lists it as /lib/... or /usr/lib/....
package dpkg

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Unowned is the owner reported for a path no package lists.
const Unowned = "unowned"

// Package is one installed package.
type Package struct {
	Name    string // as dpkg spells it in info file names: "libc6:amd64" or "python3-numpy"
	Version string
}

// String renders "name version", or just the name when the version is unknown.
func (p Package) String() string {
	if p.Version == "" {
		return p.Name
	}
	return p.Name + " " + p.Version
}

// DB is a read-only view of a dpkg database. The zero value is not usable;
// call Open. Methods are safe for concurrent use; the file index is built
// once, on first use.
type DB struct {
	root  string // filesystem root the paths are relative to, "" for the host
	admin string // <root>/var/lib/dpkg

	once     sync.Once
	err      error
	owners   map[string]string // canonical path -> package name
	versions map[string]string // package name (with and without :arch) -> version
	aliases  [][2]string       // top-level dir aliases: {"/lib/", "/usr/lib/"}
}

// Open returns the dpkg database under root ("/" for the host). It fails
// when root has no /var/lib/dpkg/info directory (not a dpkg system).
func Open(root string) (*DB, error) {
	root = strings.TrimSuffix(root, "/")
	admin := root + "/var/lib/dpkg"
	if fi, err := os.Stat(admin + "/info"); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("no dpkg database at %s", admin)
	}
	return &DB{root: root, admin: admin}, nil
}

// mergedDirs are the top-level directories that merged-/usr systems make
// symlinks into /usr.
var mergedDirs = []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"}

func (db *DB) load() {
	db.once.Do(func() {
		for _, d := range mergedDirs {
			if t, err := os.Readlink(db.root + "/" + d); err == nil && strings.TrimPrefix(strings.TrimSuffix(t, "/"), "/") == "usr/"+d {
				db.aliases = append(db.aliases, [2]string{"/" + d + "/", "/usr/" + d + "/"})
			}
		}
		db.versions, db.err = readStatus(db.admin + "/status")
		if db.err != nil {
			return
		}
		db.owners = make(map[string]string, 1<<17)
		lists, err := filepath.Glob(db.admin + "/info/*.list")
		if err != nil {
			db.err = err
			return
		}
		// In reverse, overwriting: the alphabetically first package listing
		// a path (a shared directory) wins, with one map operation per line.
		for i := len(lists) - 1; i >= 0; i-- {
			l := lists[i]
			pkg := strings.TrimSuffix(filepath.Base(l), ".list")
			b, err := os.ReadFile(l)
			if err != nil {
				db.err = fmt.Errorf("reading %s: %w", l, err)
				return
			}
			text := string(b) // one allocation; the keys below are substrings of it
			for len(text) > 0 {
				line, rest, _ := strings.Cut(text, "\n")
				text = rest
				if line == "" {
					continue
				}
				db.owners[db.canon(line)] = pkg
			}
		}
	})
}

// canon maps a path to the form the index uses: on merged-/usr systems,
// /lib/x becomes /usr/lib/x.
func (db *DB) canon(p string) string {
	for _, a := range db.aliases {
		if strings.HasPrefix(p, a[0]) {
			return a[1] + p[len(a[0]):]
		}
	}
	return p
}

// Owner returns the package listing the absolute path p (as given, without
// resolving symlinks except the merged-/usr aliases), and whether one does.
func (db *DB) Owner(p string) (Package, bool, error) {
	db.load()
	if db.err != nil {
		return Package{}, false, db.err
	}
	name, ok := db.owners[db.canon(filepath.Clean(p))]
	if !ok {
		return Package{}, false, nil
	}
	return Package{Name: name, Version: db.versions[name]}, true, nil
}

// Files returns the paths package name lists (directories included, as in
// its .list file), in the listed order.
func (db *DB) Files(name string) ([]string, error) {
	p := filepath.Join(db.admin, "info", name+".list")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			out = append(out, line)
		}
	}
	return out, nil
}

// MD5Sums returns the file checksums package name shipped: absolute path
// -> lower-case md5 hex, and the md5sums file's change time (Unix
// nanoseconds; files changed after it were changed after installation). A
// package without an md5sums file gives an empty map.
func (db *DB) MD5Sums(name string) (map[string]string, int64, error) {
	p := filepath.Join(db.admin, "info", name+".md5sums")
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return map[string]string{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", p, err)
	}
	sums, err := ParseMD5Sums(b)
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", p, err)
	}
	return sums, ctime(p), nil
}

// ParseMD5Sums reads a dpkg md5sums file: "<32 hex>  <path without leading
// slash>" lines. The result maps absolute paths to the hex digest. A
// malformed line is an error naming its number.
func ParseMD5Sums(b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		sum, path, ok := strings.Cut(line, " ")
		path = strings.TrimLeft(path, " *")
		if !ok || len(sum) != 32 || path == "" || strings.Trim(strings.ToLower(sum), "0123456789abcdef") != "" {
			return nil, fmt.Errorf("line %d: not \"<md5>  <path>\"", n)
		}
		out["/"+strings.TrimPrefix(path, "/")] = strings.ToLower(sum)
	}
	return out, sc.Err()
}

// readStatus maps installed package names to versions. Multi-Arch: same
// packages appear under both "name" and "name:arch".
func readStatus(p string) (map[string]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	out := map[string]string{}
	for _, stanza := range bytes.Split(b, []byte("\n\n")) {
		f := map[string]string{}
		for _, line := range bytes.Split(stanza, []byte{'\n'}) {
			if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
				continue
			}
			k, v, ok := bytes.Cut(line, []byte(":"))
			if ok {
				f[string(k)] = string(bytes.TrimSpace(v))
			}
		}
		name, ver := f["Package"], f["Version"]
		if name == "" || !strings.HasSuffix(f["Status"], " installed") {
			continue
		}
		out[name] = ver
		if a := f["Architecture"]; a != "" {
			out[name+":"+a] = ver
		}
	}
	return out, nil
}
