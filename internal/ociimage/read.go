package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxJSON bounds the index, manifests and configs read from untrusted input.
const maxJSON = 16 << 20

// Open reads the image at p: an OCI image layout directory, or a tar holding
// an OCI layout (repro's combined archive, an OCI archive) or a docker-save
// archive. An index naming several images is refused: pass a layout with one.
// Manifest and config bytes are checked against their digests.
func Open(p string) (v1.Image, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	if fi.IsDir() {
		lp, err := layout.FromPath(p)
		if err != nil {
			return nil, fmt.Errorf("opening OCI layout %s: %w", p, err)
		}
		idx, err := lp.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("opening OCI layout %s: %w", p, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("opening OCI layout %s: %w", p, err)
		}
		d, err := oneImage(im)
		if err != nil {
			return nil, fmt.Errorf("opening OCI layout %s: %w", p, err)
		}
		img, err := lp.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("opening OCI layout %s: %w", p, err)
		}
		return img, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	img, err := OpenArchive(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening image archive %s: %w", p, err)
	}
	return img, nil
}

// OpenArchive reads the image in the tar f (see Open). The image reads f
// with ReadAt for as long as it is used; f must stay open (the file may
// already be unlinked).
func OpenArchive(f *os.File) (v1.Image, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return openArchiveAt(f, fi.Size())
}

// openArchiveAt reads the image in the tar of size bytes at r.
func openArchiveAt(f io.ReaderAt, size int64) (v1.Image, error) {
	ti, err := indexTar(f, size)
	if err != nil {
		return nil, err
	}
	if _, ok := ti.members["index.json"]; ok {
		return ti.image()
	}
	if _, ok := ti.members["manifest.json"]; ok {
		opener := func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(f, 0, size)), nil
		}
		img, err := tarball.Image(opener, nil)
		if err != nil {
			return nil, fmt.Errorf("docker archive: %w", err)
		}
		return img, nil
	}
	return nil, errors.New("neither index.json nor manifest.json in it (not an image tar)")
}

func oneImage(im *v1.IndexManifest) (*v1.Descriptor, error) {
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		if d.MediaType == types.OCIManifestSchema1 || d.MediaType == types.DockerManifestSchema2 {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return nil, errors.New("index.json lists no image manifest")
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("index.json lists %d images; repro reads layouts holding one", len(found))
}

// member locates one regular file inside a tar.
type member struct{ off, size int64 }

// tarIndex is a random-access view of an image tar.
type tarIndex struct {
	f       io.ReaderAt
	members map[string]member
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func indexTar(f io.ReaderAt, size int64) (*tarIndex, error) {
	cr := &countReader{r: io.NewSectionReader(f, 0, size)}
	tr := tar.NewReader(cr)
	ti := &tarIndex{f: f, members: map[string]member{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		// Data starts where the reader stands after the header; the tar
		// reader has consumed exactly the header blocks at this point.
		ti.members[name] = member{off: cr.n, size: h.Size}
	}
	return ti, nil
}

func (ti *tarIndex) open(name string) (io.ReadCloser, int64, error) {
	m, ok := ti.members[name]
	if !ok {
		return nil, 0, fmt.Errorf("%s not in the archive", name)
	}
	return io.NopCloser(io.NewSectionReader(ti.f, m.off, m.size)), m.size, nil
}

func (ti *tarIndex) readSmall(name string) ([]byte, error) {
	r, size, err := ti.open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if size > maxJSON {
		return nil, fmt.Errorf("%s is %d bytes, too large", name, size)
	}
	return io.ReadAll(r)
}

func (ti *tarIndex) readBlob(h v1.Hash) ([]byte, error) {
	if h.Algorithm != "sha256" {
		return nil, fmt.Errorf("unsupported digest %s", h)
	}
	b, err := ti.readSmall("blobs/sha256/" + h.Hex)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != h.Hex {
		return nil, fmt.Errorf("blob %s does not match its digest", h)
	}
	return b, nil
}

func (ti *tarIndex) image() (v1.Image, error) {
	ib, err := ti.readSmall("index.json")
	if err != nil {
		return nil, err
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(ib, &im); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	d, err := oneImage(&im)
	if err != nil {
		return nil, err
	}
	raw, err := ti.readBlob(d.Digest)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("image manifest: %w", err)
	}
	cfg, err := ti.readBlob(m.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return partial.CompressedToImage(&tarImage{ti: ti, raw: raw, mt: d.MediaType, cfg: cfg, m: m})
}

// tarImage is an image whose blobs live in an OCI-layout tar.
type tarImage struct {
	ti  *tarIndex
	raw []byte
	mt  types.MediaType
	cfg []byte
	m   *v1.Manifest
}

func (t *tarImage) RawConfigFile() ([]byte, error)      { return t.cfg, nil }
func (t *tarImage) MediaType() (types.MediaType, error) { return t.mt, nil }
func (t *tarImage) RawManifest() ([]byte, error)        { return t.raw, nil }

func (t *tarImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range t.m.Layers {
		if l.Digest == h {
			return &tarLayer{ti: t.ti, d: l}, nil
		}
	}
	if t.m.Config.Digest == h {
		return &tarLayer{ti: t.ti, d: t.m.Config}, nil
	}
	return nil, fmt.Errorf("blob %s not in the image", h)
}

type tarLayer struct {
	ti *tarIndex
	d  v1.Descriptor
}

func (l *tarLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l *tarLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l *tarLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }
func (l *tarLayer) Compressed() (io.ReadCloser, error) {
	r, _, err := l.ti.open("blobs/" + l.d.Digest.Algorithm + "/" + l.d.Digest.Hex)
	return r, err
}

// CountLayer reads layer l and returns its number of non-directory entries
// and its uncompressed size, for images without repro's layer annotations
// (for example one exported by Docker's classic store).
func CountLayer(l v1.Layer) (files int, size int64, err error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	cr := &countReader{r: rc}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("reading layer: %w", err)
		}
		if h.Typeflag != tar.TypeDir {
			files++
		}
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return 0, 0, fmt.Errorf("reading layer: %w", err)
	}
	return files, cr.n, nil
}
