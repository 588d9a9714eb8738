package replay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/repro-ml/repro/internal/compare"
	"github.com/repro-ml/repro/lockfmt"
)

// maxDiffBytes bounds the size of outputs read into memory for a typed diff.
const maxDiffBytes = 512 << 20

// compareOutputs compares each recorded output with the replayed one in
// outDir (or the captured streams).
func compareOutputs(m *lockfmt.Manifest, o *Options, outDir string, stdout, stderr []byte) []OutputDiff {
	var res []OutputDiff
	for _, out := range m.Outputs {
		od := OutputDiff{Path: out.Path, Recorded: out.Digest, Size: out.Size}
		var got []byte
		var err error
		switch out.Path {
		case lockfmt.StdoutPath:
			got = stdout
		case lockfmt.StderrPath:
			got = stderr
		default:
			got, od.Replayed, od.Size, err = readOutput(filepath.Join(outDir, filepath.FromSlash(out.Path)))
		}
		if err != nil {
			od.Status = StatusMissing
			if !errors.Is(err, os.ErrNotExist) {
				od.NoDetail = err.Error()
			}
			res = append(res, od)
			continue
		}
		if od.Replayed == "" {
			od.Replayed, od.Size = lockfmt.DigestBytes(got), int64(len(got))
		}
		if od.Replayed == out.Digest {
			od.Status = StatusIdentical
			res = append(res, od)
			continue
		}
		od.Status = StatusDifferent
		if want, where := reference(m, o, out); want != nil && got != nil {
			od.Diff = compare.Compare(out.Path, want, got, o.Tolerance)
			if od.Diff != nil && od.Diff.WithinTolerance {
				od.Status = StatusWithinTolerance
			}
		} else {
			od.Diff = &compare.Diff{Kind: compare.KindBinary, Summary: fmt.Sprintf("%d bytes, recorded %d", len(got), out.Size)}
			od.NoDetail = where
		}
		if out.Nondeterministic && od.Status == StatusDifferent {
			od.Status = StatusNondeterministic
		}
		res = append(res, od)
	}
	return res
}

// reference finds the recorded content of an output: a file with the
// recorded digest in the reference directories. It returns nil and a note
// saying where it looked when there is none.
func reference(m *lockfmt.Manifest, o *Options, out lockfmt.Output) ([]byte, string) {
	if out.Path == lockfmt.StdoutPath || out.Path == lockfmt.StderrPath {
		return nil, "the recorded stream is known by digest only"
	}
	var dirs []string
	if o.ReferenceDir != "" {
		dirs = append(dirs, o.ReferenceDir)
	} else {
		if o.ManifestPath != "" {
			dirs = append(dirs, filepath.Dir(o.ManifestPath))
		}
		dirs = append(dirs, m.Run.WorkDir)
	}
	if o.RecordedDir != "" {
		dirs = append(dirs, o.RecordedDir)
	}
	for _, d := range dirs {
		b, err := readBounded(filepath.Join(d, filepath.FromSlash(out.Path)))
		if err == nil && lockfmt.DigestBytes(b) == out.Digest {
			return b, ""
		}
	}
	return nil, fmt.Sprintf("the recorded %s is not at hand (looked in %v): only digests compared", out.Path, dirs)
}

// readOutput digests the file at p and returns its content too when it is
// small enough for a typed diff.
func readOutput(p string) (content []byte, digest string, size int64, err error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, "", 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", 0, fmt.Errorf("%s is not a regular file", p)
	}
	if fi.Size() <= maxDiffBytes {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, "", 0, err
		}
		return b, lockfmt.DigestBytes(b), int64(len(b)), nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, "", 0, err
	}
	defer f.Close()
	digest, size, err = lockfmt.DigestReader(f)
	return nil, digest, size, err
}

func readBounded(p string) ([]byte, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	if fi.Size() > maxDiffBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB", p, maxDiffBytes>>20)
	}
	return os.ReadFile(p)
}
