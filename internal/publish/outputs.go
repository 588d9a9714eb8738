package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/repro-ml/repro/lockfmt"
)

// Recorded outputs travel as extra layers of the manifest artifact.
const (
	// OutputMediaType is the media type of a recorded output layer.
	OutputMediaType = "application/vnd.repro.output.v1"
	// OutputPathAnnotation names the output's path relative to the
	// experiment's working directory, as in the manifest.
	OutputPathAnnotation = "dev.repro.output.path"
	// OutputsDir is the directory, inside a pull directory, holding the
	// recorded outputs.
	OutputsDir = "outputs"
	// DefaultOutputsMax is the default cap on the total size of the
	// outputs uploaded with a manifest.
	DefaultOutputsMax = 256 << 20
)

// ErrOutputRejected: an output layer of the manifest artifact does not
// match the signed manifest (unknown or unsafe path, other digest).
var ErrOutputRejected = errors.New("a recorded output in the registry does not match the manifest")

// OutputFile is a recorded output to upload: its manifest path and bytes.
type OutputFile struct {
	Path string
	Data []byte
}

// SkippedOutput is a manifest output CollectOutputs did not upload, and why.
type SkippedOutput struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// CollectOutputs reads the manifest's recorded output files from the first
// of dirs holding each as a regular file (never through a symlink, never
// outside the directory) whose sha256 is the manifest's digest. Outputs
// that would bring the total beyond maxTotal bytes, streams, missing and
// changed files are skipped with a reason.
func CollectOutputs(m *lockfmt.Manifest, dirs []string, maxTotal int64) ([]OutputFile, []SkippedOutput) {
	var files []OutputFile
	var skipped []SkippedOutput
	var total int64
	for _, out := range m.Outputs {
		if out.Path == lockfmt.StdoutPath || out.Path == lockfmt.StderrPath {
			continue
		}
		if !ValidOutputPath(out.Path) {
			skipped = append(skipped, SkippedOutput{out.Path, "not a safe relative path"})
			continue
		}
		if total+out.Size > maxTotal {
			skipped = append(skipped, SkippedOutput{out.Path, fmt.Sprintf("%s would exceed the outputs cap of %s", sizeString(out.Size), sizeString(maxTotal))})
			continue
		}
		data := findOutput(dirs, out)
		if data == nil {
			skipped = append(skipped, SkippedOutput{out.Path, fmt.Sprintf("no file with the recorded digest in %s", strings.Join(dirs, ", "))})
			continue
		}
		total += int64(len(data))
		files = append(files, OutputFile{Path: out.Path, Data: data})
	}
	return files, skipped
}

// findOutput returns out's bytes from the first dir holding a regular file
// at out.Path with the recorded size and digest, or nil.
func findOutput(dirs []string, out lockfmt.Output) []byte {
	for _, d := range dirs {
		if d == "" {
			continue
		}
		b, err := readInRoot(d, out.Path, out.Size)
		if err == nil && lockfmt.DigestBytes(b) == out.Digest {
			return b
		}
	}
	return nil
}

// readInRoot reads the regular file rel inside dir, refusing symlinks as
// the last component and any path leaving dir, and files not of size size.
func readInRoot(dir, rel string, size int64) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	name := filepath.FromSlash(rel)
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return nil, fmt.Errorf("%s is not a regular file of %d bytes", rel, size)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != size {
		return nil, fmt.Errorf("%s changed while reading", rel)
	}
	return b, nil
}

// ValidOutputPath reports whether p is a clean, relative, slash-separated
// path that stays inside its directory (no "..", no absolute path, no
// backslash, not a stream name).
func ValidOutputPath(p string) bool {
	if p == "" || p == lockfmt.StdoutPath || p == lockfmt.StderrPath || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	if path.IsAbs(p) || path.Clean(p) != p || p == "." {
		return false
	}
	for _, e := range strings.Split(p, "/") {
		if e == ".." || e == "." || e == "" {
			return false
		}
	}
	return filepath.IsLocal(filepath.FromSlash(p))
}

// writeOutputs writes each verified output under dir/outputs through an
// os.Root, atomically (temporary file and rename); an existing file with the
// same bytes is kept, one with other bytes is refused.
func writeOutputs(dir string, files []OutputFile) error {
	if len(files) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, OutputsDir), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Join(dir, OutputsDir), err)
	}
	root, err := os.OpenRoot(filepath.Join(dir, OutputsDir))
	if err != nil {
		return fmt.Errorf("opening %s: %w", filepath.Join(dir, OutputsDir), err)
	}
	defer root.Close()
	for _, f := range files {
		if err := writeInRoot(root, f.Path, f.Data); err != nil {
			return fmt.Errorf("writing %s: %w", filepath.Join(dir, OutputsDir, filepath.FromSlash(f.Path)), err)
		}
	}
	return nil
}

func writeInRoot(root *os.Root, rel string, data []byte) error {
	name := filepath.FromSlash(rel)
	if old, err := root.ReadFile(name); err == nil {
		if string(old) == string(data) {
			return nil
		}
		return errors.New("exists with other contents: move it away or pull into another directory (-o)")
	}
	if d := path.Dir(rel); d != "." {
		if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
			return err
		}
	}
	tmp := name + ".tmp-repro"
	_ = root.Remove(tmp)
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = root.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	return nil
}

// sizeString renders a byte count in MiB or bytes.
func sizeString(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// fetchOutputs downloads the artifact's output layers and checks each
// against the signed manifest: a safe relative path naming one of its
// outputs, the layer digest and the downloaded bytes both its digest.
func (p *Pulled) fetchOutputs(ctx context.Context, o Options) ([]OutputFile, error) {
	if len(p.outputLayers) == 0 {
		return nil, nil
	}
	m, err := lockfmt.Decode(p.Manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", p.Ref, err)
	}
	want := map[string]lockfmt.Output{}
	for _, out := range m.Outputs {
		want[out.Path] = out
	}
	if len(p.outputLayers) > len(want) {
		return nil, fmt.Errorf("%w: %d output layers for %d outputs", ErrOutputRejected, len(p.outputLayers), len(want))
	}
	r, err := parseRef(p.Ref, o)
	if err != nil {
		return nil, err
	}
	ropts := newCounter(o).remoteOptions(ctx, o)
	seen := map[string]bool{}
	var files []OutputFile
	for _, l := range p.outputLayers {
		out, ok := want[l.path]
		switch {
		case !ValidOutputPath(l.path):
			return nil, fmt.Errorf("%w: unsafe path %q", ErrOutputRejected, l.path)
		case !ok:
			return nil, fmt.Errorf("%w: %q is not an output of the manifest", ErrOutputRejected, l.path)
		case seen[l.path]:
			return nil, fmt.Errorf("%w: %q appears twice", ErrOutputRejected, l.path)
		case l.digest.String() != out.Digest || l.size != out.Size:
			return nil, fmt.Errorf("%w: %s is %s (%d bytes), the manifest records %s (%d bytes)", ErrOutputRejected, l.path, l.digest, l.size, out.Digest, out.Size)
		}
		seen[l.path] = true
		layer, err := remote.Layer(r.Context().Digest(l.digest.String()), ropts...)
		if err != nil {
			return nil, fmt.Errorf("fetching output %s: %w", l.path, err)
		}
		data, err := readAllLimited(layer, out.Size)
		if err != nil {
			return nil, fmt.Errorf("fetching output %s: %w", l.path, err)
		}
		if lockfmt.DigestBytes(data) != out.Digest {
			return nil, fmt.Errorf("%w: the bytes of %s do not have the recorded digest %s", ErrOutputRejected, l.path, out.Digest)
		}
		files = append(files, OutputFile{Path: l.path, Data: data})
	}
	return files, nil
}
