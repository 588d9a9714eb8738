package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotation keys containerd and OCI tools read to name an image in an index.
const (
	AnnotationContainerdName = "io.containerd.image.name"
	AnnotationRefName        = "org.opencontainers.image.ref.name"
)

// blob is one file of an image layout.
type blob struct {
	name string
	size int64
	data []byte                        // small files
	open func() (io.ReadCloser, error) // layers
}

// TagNames returns the Docker short name ("repro:abc") and the fully
// qualified name containerd uses ("docker.io/library/repro:abc") of tag.
func TagNames(tag string) (short, full string, err error) {
	t, err := name.NewTag(tag, name.WeakValidation)
	if err != nil {
		return "", "", fmt.Errorf("image tag %q: %w", tag, err)
	}
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return tag, reg + "/" + t.RepositoryStr() + ":" + t.TagStr(), nil
}

// layoutFiles lists the files of the combined archive of img: oci-layout,
// index.json (one manifest, named tag), manifest.json (Docker's classic
// store) and the blobs, sorted by name.
func layoutFiles(img v1.Image, tag string) ([]blob, error) {
	short, full, err := TagNames(tag)
	if err != nil {
		return nil, err
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	mdigest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cdigest, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	files := []blob{
		{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{name: "blobs/sha256/" + mdigest.Hex, data: rawManifest},
		{name: "blobs/sha256/" + cdigest.Hex, data: rawConfig},
	}
	var layerNames []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		size, err := l.Size()
		if err != nil {
			return nil, err
		}
		n := "blobs/sha256/" + d.Hex
		layerNames = append(layerNames, n)
		files = append(files, blob{name: n, size: size, open: l.Compressed})
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType:   types.OCIManifestSchema1,
			Digest:      mdigest,
			Size:        int64(len(rawManifest)),
			Annotations: map[string]string{AnnotationContainerdName: full, AnnotationRefName: short},
			Platform:    &v1.Platform{Architecture: cf.Architecture, OS: cf.OS},
		}},
	}
	ib, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	docker := []map[string]any{{"Config": "blobs/sha256/" + cdigest.Hex, "RepoTags": []string{short}, "Layers": layerNames}}
	db, err := json.Marshal(docker)
	if err != nil {
		return nil, err
	}
	files = append(files, blob{name: "index.json", data: ib}, blob{name: "manifest.json", data: db})
	// Layers shared between roles would repeat a blob: keep one.
	sort.SliceStable(files, func(i, j int) bool { return files[i].name < files[j].name })
	out := files[:0]
	for i, f := range files {
		if i > 0 && files[i-1].name == f.name {
			continue
		}
		if f.data != nil {
			f.size = int64(len(f.data))
		}
		out = append(out, f)
	}
	return out, nil
}

func (b *blob) reader() (io.ReadCloser, error) {
	if b.data != nil {
		return io.NopCloser(bytes.NewReader(b.data)), nil
	}
	return b.open()
}

// WriteArchive writes img as one tar that Docker's classic image store (via
// manifest.json), the containerd store and OCI tools (via oci-layout and
// index.json) all load, naming it tag. Headers are fixed (mode 0644, uid 0,
// mtime = epoch), so the same image and tag give the same bytes.
func WriteArchive(w io.Writer, img v1.Image, tag string) error {
	files, err := layoutFiles(img, tag)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0).UTC()
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	for i := range files {
		f := &files[i]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: f.size, ModTime: epoch}); err != nil {
			return fmt.Errorf("writing image archive: %w", err)
		}
		r, err := f.reader()
		if err != nil {
			return fmt.Errorf("writing image archive: %w", err)
		}
		_, err = io.Copy(tw, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("writing image archive: %s: %w", f.name, err)
		}
	}
	return tw.Close()
}

// WriteLayout writes img as an OCI image layout in dir (which must not exist
// or be empty), naming it tag in index.json. The layout is written to a
// temporary sibling directory and renamed into place.
func WriteLayout(dir string, img v1.Image, tag string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("writing OCI layout: %s exists and is not empty (choose another directory or remove it)", dir)
	}
	files, err := layoutFiles(img, tag)
	if err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	tmp, err := os.MkdirTemp(parent, ".oci-layout-*")
	if err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.MkdirAll(filepath.Join(tmp, "blobs", "sha256"), 0o755); err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	for i := range files {
		if err := writeBlobFile(filepath.Join(tmp, files[i].name), &files[i]); err != nil {
			return fmt.Errorf("writing OCI layout: %w", err)
		}
	}
	os.Remove(dir) // an empty directory
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	ok = true
	return nil
}

func writeBlobFile(p string, b *blob) error {
	r, err := b.reader()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
