package replay

import (
	"encoding/binary"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/repro-ml/repro/internal/ociimage"
)

// Python trusts a cached module (__pycache__/mod.cpython-311.pyc) only while
// the source's mtime and size equal those the .pyc header recorded; with
// every image file at the build's epoch, each import would compile its
// module again (and, PYTHONDONTWRITEBYTECODE or a read-only tree, never keep
// the result): seconds of extra start-up for a scikit-learn run. So a .py
// file whose timestamp-based .pyc is in the image gets the mtime that .pyc
// records. The time comes from the .pyc's bytes, which the manifest's
// digest pins, so the image stays a function of the manifest and the files'
// contents: another copy of the same files with other mtimes builds the
// same image.

// pycHeaderSize is the PEP 552 header: magic, flags, then mtime and size of
// the source for a timestamp-based .pyc.
const pycHeaderSize = 16

// sourceTimes returns, for every .py file of the plan that has a matching
// timestamp-based .pyc in the plan, the mtime that .pyc expects. Headers
// are read from the host (under root); a .pyc that cannot be read or whose
// recorded source size differs is ignored (the module is then recompiled
// at run time, as before).
func (p *imagePlan) sourceTimes(root string) map[string]int64 {
	pycs := map[string][]string{} // "dir/stem" -> .pyc paths
	for q, it := range p.items {
		if it.Type != ociimage.TypeFile || !strings.HasSuffix(q, ".pyc") {
			continue
		}
		dir, name := path.Split(q)
		if path.Base(dir) != "__pycache__" {
			continue
		}
		stem, _, ok := strings.Cut(name, ".")
		if !ok || strings.Contains(name, ".opt-") {
			continue
		}
		key := path.Join(path.Dir(path.Clean(dir)), stem)
		pycs[key] = append(pycs[key], q)
	}
	out := map[string]int64{}
	for q, it := range p.items {
		if it.Type != ociimage.TypeFile || !strings.HasSuffix(q, ".py") {
			continue
		}
		cands := pycs[strings.TrimSuffix(q, ".py")]
		sort.Strings(cands)
		for _, c := range cands {
			pyc := p.items[c]
			if pyc.Content != nil {
				continue
			}
			mtime, size, ok := readPycHeader(root + pyc.host)
			if ok && size == uint32(it.Size) && mtime != 0 {
				out[q] = int64(mtime)
				break
			}
		}
	}
	return out
}

// readPycHeader returns the source mtime and size a timestamp-based .pyc
// records; ok is false for hash-based or unreadable files.
func readPycHeader(file string) (mtime, size uint32, ok bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var h [pycHeaderSize]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, 0, false
	}
	if h[2] != '\r' || h[3] != '\n' || binary.LittleEndian.Uint32(h[4:8]) != 0 {
		return 0, 0, false // not a .pyc, or hash-based (PEP 552 flags)
	}
	return binary.LittleEndian.Uint32(h[8:12]), binary.LittleEndian.Uint32(h[12:16]), true
}
