package publish

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types and annotations of the manifest artifact.
const (
	// ArtifactType identifies a repro manifest artifact in a referrers list.
	ArtifactType = "application/vnd.repro.manifest.v1+toml"
	// ManifestMediaType is the layer holding manifest.toml's exact bytes.
	ManifestMediaType = "application/vnd.repro.manifest.v1+toml"
	// SignatureMediaType is the layer holding manifest.toml.sig, an armored
	// SSH signature (SSHSIG).
	SignatureMediaType = "application/vnd.repro.manifest.signature.v1+sshsig"
	// emptyJSON is the OCI empty config "{}".
	emptyJSON = "{}"
)

// Layer titles, the file names a puller writes.
const (
	ManifestTitle  = "manifest.toml"
	SignatureTitle = "manifest.toml.sig"
)

// artifact is an OCI image manifest with an empty config, a subject and
// small in-memory layers: the shape image-spec v1.1 gives file artifacts.
type artifact struct {
	raw   []byte
	blobs map[v1.Hash]blob
}

type blob struct {
	data      []byte
	mediaType types.MediaType
}

// file is one layer of an artifact.
type file struct {
	data      []byte
	mediaType string
	title     string
	// annotations are added to the layer's title annotation.
	annotations map[string]string
}

// newArtifact builds the artifact manifest for files, referring to subject.
func newArtifact(artifactType string, subject v1.Descriptor, annotations map[string]string, files ...file) (*artifact, error) {
	a := &artifact{blobs: map[v1.Hash]blob{}}
	cfgHash, _, err := v1.SHA256(bytes.NewReader([]byte(emptyJSON)))
	if err != nil {
		return nil, err
	}
	a.blobs[cfgHash] = blob{data: []byte(emptyJSON), mediaType: ocispec.MediaTypeEmptyJSON}
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       ocispec.DescriptorEmptyJSON,
		Subject: &ocispec.Descriptor{
			MediaType: string(subject.MediaType),
			Digest:    ocidigest(subject.Digest),
			Size:      subject.Size,
		},
		Annotations: annotations,
	}
	m.SchemaVersion = 2
	for _, f := range files {
		h, n, err := v1.SHA256(bytes.NewReader(f.data))
		if err != nil {
			return nil, err
		}
		a.blobs[h] = blob{data: f.data, mediaType: types.MediaType(f.mediaType)}
		m.Layers = append(m.Layers, ocispec.Descriptor{
			MediaType:   f.mediaType,
			Digest:      ocidigest(h),
			Size:        n,
			Annotations: layerAnnotations(f.title, f.annotations),
		})
	}
	a.raw, err = json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding artifact manifest: %w", err)
	}
	return a, nil
}

// image returns the artifact as a v1.Image that remote.Write can push.
func (a *artifact) image() (v1.Image, error) { return partial.CompressedToImage(a) }

// RawConfigFile implements partial.CompressedImageCore.
func (a *artifact) RawConfigFile() ([]byte, error) { return []byte(emptyJSON), nil }

// MediaType implements partial.CompressedImageCore.
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// RawManifest implements partial.CompressedImageCore.
func (a *artifact) RawManifest() ([]byte, error) { return a.raw, nil }

// LayerByDigest implements partial.CompressedImageCore.
func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	b, ok := a.blobs[h]
	if !ok {
		return nil, fmt.Errorf("artifact has no blob %s", h)
	}
	return &blobLayer{h: h, b: b}, nil
}

type blobLayer struct {
	h v1.Hash
	b blob
}

func (l *blobLayer) Digest() (v1.Hash, error) { return l.h, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.b.data)), nil
}
func (l *blobLayer) Size() (int64, error)                { return int64(len(l.b.data)), nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.b.mediaType, nil }

func ocidigest(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }

func layerAnnotations(title string, extra map[string]string) map[string]string {
	if title == "" && len(extra) == 0 {
		return nil
	}
	m := map[string]string{}
	for k, v := range extra {
		m[k] = v
	}
	if title != "" {
		m[ocispec.AnnotationTitle] = title
	}
	return m
}
