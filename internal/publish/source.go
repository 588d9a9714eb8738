package publish

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxArchiveEntry bounds one file of an OCI archive (a layer blob).
const maxArchiveEntry = 64 << 30

// LoadImage opens the image to push from an OCI image layout directory or
// an OCI archive (a tar of such a layout, as "repro build --tar" writes; a
// Docker-style manifest.json in it is ignored). The layout's index.json must
// list exactly one image manifest. An archive is unpacked into scratch, a
// directory the caller removes after pushing.
func LoadImage(src, scratch string) (v1.Image, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", src, err)
	}
	dir := src
	if !st.IsDir() {
		dir = filepath.Join(scratch, "layout")
		if err := extractLayout(src, dir); err != nil {
			return nil, err
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", src, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", src, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading %s index.json: %w", src, err)
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		if d.MediaType == types.OCIManifestSchema1 || d.MediaType == types.DockerManifestSchema2 {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("OCI layout %s lists %d image manifests in index.json, want exactly 1", src, len(found))
	}
	img, err := idx.Image(found[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("reading image %s from %s: %w", found[0].Digest, src, err)
	}
	return img, nil
}

// extractLayout unpacks the OCI layout members of an archive (oci-layout,
// index.json, blobs/<alg>/<hex>) into dir, refusing anything that could
// escape it. Other members are skipped.
func extractLayout(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("reading image archive %s: %w", archive, err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	n := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading image archive %s: %w", archive, err)
		}
		rel, ok := layoutMember(h.Name)
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > maxArchiveEntry {
			return fmt.Errorf("image archive %s: %s is too large (%d bytes)", archive, h.Name, h.Size)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("unpacking %s: %w", archive, err)
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("unpacking %s: %w", archive, err)
		}
		_, cerr := io.Copy(out, io.LimitReader(tr, h.Size))
		if err := errors.Join(cerr, out.Close()); err != nil {
			return fmt.Errorf("unpacking %s: %w", archive, err)
		}
		n++
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return fmt.Errorf("%s is not an OCI archive: no index.json (use \"repro build --tar\" or an OCI layout directory)", archive)
	}
	return nil
}

// layoutMember maps an archive member name to its place in the layout, or
// false when it is not a layout file.
func layoutMember(name string) (string, bool) {
	n := path.Clean(strings.TrimPrefix(name, "./"))
	switch n {
	case "oci-layout", "index.json":
		return n, true
	}
	parts := strings.Split(n, "/")
	if len(parts) != 3 || parts[0] != "blobs" || !lowerAlnum(parts[1], 1, 32) || !lowerAlnum(parts[2], 32, 128) {
		return "", false
	}
	return n, true
}

func lowerAlnum(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
