package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/repro-ml/repro/lockfmt"
)

// LayoutDir is the name of the OCI layout Pull writes inside its directory.
const LayoutDir = "image"

// Pull fetches ref into dir: the manifest artifact first (see
// FetchManifest; nothing is written when it is refused), then Save.
func Pull(ctx context.Context, ref, dir string, o PullOptions) (*Pulled, error) {
	p, err := FetchManifest(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	if err := p.Save(ctx, dir, o.Options); err != nil {
		return nil, err
	}
	return p, nil
}

// Save writes dir/manifest.toml, dir/manifest.toml.sig, the recorded
// outputs the artifact carries under dir/outputs (each checked against the
// manifest's path and digest first: any mismatch wraps ErrOutputRejected
// and nothing is written) and the image p.Ref as an OCI layout in dir/image
// (index.json naming it by digest reference),
// and sets p.Dir and p.Layout. An existing dir/image is kept only when it
// holds this very image; an existing manifest.toml with other bytes is
// refused.
func (p *Pulled) Save(ctx context.Context, dir string, o Options) error {
	outs, err := p.fetchOutputs(ctx, o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := writeOutputs(dir, outs); err != nil {
		return err
	}
	for _, f := range outs {
		p.Outputs = append(p.Outputs, f.Path)
	}
	if len(outs) > 0 {
		p.OutputsDir = filepath.Join(dir, OutputsDir)
	}
	if err := writeOnce(filepath.Join(dir, ManifestTitle), p.Manifest); err != nil {
		return err
	}
	if p.Signature != nil {
		if err := writeOnce(filepath.Join(dir, SignatureTitle), p.Signature); err != nil {
			return err
		}
	}
	p.Dir = dir
	p.Layout = filepath.Join(dir, LayoutDir)
	return pullLayout(ctx, p, o)
}

// pullLayout writes the image p.Ref as an OCI layout at p.Layout, through a
// temporary directory renamed into place.
func pullLayout(ctx context.Context, p *Pulled, o Options) error {
	if existing, err := layout.ImageIndexFromPath(p.Layout); err == nil {
		if im, err := existing.IndexManifest(); err == nil && len(im.Manifests) == 1 && im.Manifests[0].Digest.String() == p.Digest {
			return nil
		}
		return fmt.Errorf("%s already holds another image: remove it or pull into another directory", p.Layout)
	}
	r, err := parseRef(p.Ref, o)
	if err != nil {
		return err
	}
	c := newCounter(o)
	img, err := remote.Image(r, c.remoteOptions(ctx, o)...)
	if err != nil {
		return fmt.Errorf("fetching image %s: %w", p.Ref, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(p.Layout), ".image-*")
	if err != nil {
		return fmt.Errorf("creating a temporary layout: %w", err)
	}
	defer os.RemoveAll(tmp)
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: p.Ref})); err != nil {
		return fmt.Errorf("fetching image %s: %w", p.Ref, err)
	}
	if err := os.Rename(tmp, p.Layout); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", p.Layout, err)
	}
	return nil
}

// writeOnce writes data to path atomically; an existing file with the same
// bytes is kept, one with other bytes is refused.
func writeOnce(path string, data []byte) error {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, data):
		return nil
	case err == nil:
		return fmt.Errorf("%s exists with other contents: move it away or pull into another directory (-o)", path)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return lockfmt.WriteFileAtomic(path, data, 0o644)
}
