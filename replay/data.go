package replay

import (
	"fmt"
	"os"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/lockfmt"
)

// dataBinds returns the read-only bind mounts that put the data inputs of
// an image built with --data-external back at their recorded paths. Files
// are checked against their recorded digests first; directories are
// mounted as they are, with a warning.
func dataBinds(m *lockfmt.Manifest) ([]engine.Bind, []string, error) {
	var binds []engine.Bind
	var warns []string
	for _, d := range m.Data {
		if d.Path == "" || d.Kind != "file" && d.Kind != "dir" {
			continue
		}
		fi, err := os.Stat(d.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("the image was built without its data, and %s is not on this host (%v): copy it there, or replay an image built with the data inside", d.Path, err)
		}
		if d.Kind == "file" {
			f, err := os.Open(d.Path)
			if err != nil {
				return nil, nil, fmt.Errorf("reading data %s: %w", d.Path, err)
			}
			got, _, err := lockfmt.DigestReader(f)
			f.Close()
			if err != nil {
				return nil, nil, fmt.Errorf("reading data %s: %w", d.Path, err)
			}
			if got != d.Digest {
				return nil, nil, fmt.Errorf("%w: data %s on this host has digest %s, the manifest records %s", ErrImageMismatch, d.Path, got, d.Digest)
			}
		} else if fi.IsDir() {
			warns = append(warns, fmt.Sprintf("data directory %s is mounted from this host without checking its digest", d.Path))
		}
		binds = append(binds, engine.Bind{Source: d.Path, Target: d.Path})
	}
	return binds, warns, nil
}
