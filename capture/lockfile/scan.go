package lockfile

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/repro-ml/repro/lockfmt"
)

// Scan finds the lock files of workDir (see Find), parses each (see
// ParseFile) and compares it with the installed distributions (normalised
// name → version, see Compare). It returns the manifest records: one
// LockFile per file that parsed (path relative to workDir, format, digest
// of the file's bytes, package count) and the drift of all of them, with
// messages naming the relative path. A file that cannot be read or parsed
// is left out and reported in problems (each error names the file and
// line); Scan itself fails only when workDir cannot be listed.
func Scan(workDir string, installed map[string]string) (locks []lockfmt.LockFile, drift []lockfmt.Drift, problems []error, err error) {
	paths, err := Find(workDir)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, p := range paths {
		rel, err := filepath.Rel(workDir, p)
		if err != nil {
			rel = p
		}
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			problems = append(problems, fmt.Errorf("reading lock file %s: %w", rel, err))
			continue
		}
		l, err := ParseFile(p)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		l.Path = rel
		locks = append(locks, lockfmt.LockFile{Path: rel, Format: l.Format, Digest: lockfmt.DigestBytes(data), Packages: len(l.Packages)})
		for _, d := range Compare(l, installed) {
			drift = append(drift, lockfmt.Drift{LockFile: rel, Package: d.Package, Locked: d.Locked, Installed: d.Installed, Message: d.Message})
		}
	}
	return locks, drift, problems, nil
}
