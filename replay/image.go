package replay

import (
	"context"
	"fmt"
	"io"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/ociimage"
)

// WriteOCILayout writes the image as an OCI image layout in dir (absent or
// empty), named img.Tag in its index.json.
func (img *Image) WriteOCILayout(dir string) error {
	return ociimage.WriteLayout(dir, img.Image, img.Tag)
}

// WriteTar writes the image as one tar holding an OCI layout (oci-layout,
// index.json naming img.Tag for containerd) and Docker's manifest.json, so
// that "docker load" on the classic and the containerd image stores, skopeo
// and podman ("oci-archive:") all read it.
func (img *Image) WriteTar(w io.Writer) error {
	return ociimage.WriteArchive(w, img.Image, img.Tag)
}

// Load streams the image into the Docker Engine and returns the engine's
// image ID, after checking that the engine holds this very image (its ID is
// the config digest on the classic store, the manifest digest on the
// containerd store, and its layers' diffIDs are ours on both).
func (img *Image) Load(ctx context.Context, eng *engine.Engine) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(img.WriteTar(pw)) }()
	_, err := eng.Load(ctx, pr)
	pr.CloseWithError(err)
	if err != nil {
		return "", err
	}
	info, err := eng.Inspect(ctx, img.Tag)
	if err != nil {
		return "", fmt.Errorf("checking the loaded image: %w", err)
	}
	if info.ID != img.ConfigDigest && info.ID != img.Digest {
		return "", fmt.Errorf("the Docker Engine holds %s as %s, which is neither the image's config digest %s nor its manifest digest %s", img.Tag, info.ID, img.ConfigDigest, img.Digest)
	}
	if len(info.DiffIDs) != len(img.Layers) {
		return "", fmt.Errorf("the Docker Engine reports %d layers for %s, the image has %d", len(info.DiffIDs), img.Tag, len(img.Layers))
	}
	for i, d := range info.DiffIDs {
		if d != img.Layers[i].DiffID {
			return "", fmt.Errorf("the Docker Engine reports layer %d of %s as %s, the image has %s", i+1, img.Tag, d, img.Layers[i].DiffID)
		}
	}
	return info.ID, nil
}
