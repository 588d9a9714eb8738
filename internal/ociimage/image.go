package ociimage

import (
	"fmt"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer descriptor annotations repro sets, so that a layer's role and
// content can be shown without reading it.
const (
	AnnotationLayerRole  = "org.repro.layer.role"
	AnnotationLayerFiles = "org.repro.layer.files"
	AnnotationLayerSize  = "org.repro.layer.size" // uncompressed bytes
)

// Spec is everything besides the layers that decides an image's config and
// manifest.
type Spec struct {
	Created      time.Time // config Created, history times (UTC, seconds)
	Architecture string    // GOARCH spelling
	Config       v1.Config // Cmd, Env, WorkingDir, User, Labels...
	// Annotations go on the image manifest.
	Annotations map[string]string
}

// Assemble makes the OCI image of layers (in order) and spec. Media types are
// the OCI ones; no field depends on the host or the clock.
func Assemble(layers []*Layer, spec Spec) (v1.Image, error) {
	created := v1.Time{Time: spec.Created.UTC().Truncate(time.Second)}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{
			Layer:     l,
			MediaType: types.OCILayer,
			Annotations: map[string]string{
				AnnotationLayerRole:  l.Role,
				AnnotationLayerFiles: strconv.Itoa(l.Files),
				AnnotationLayerSize:  strconv.FormatInt(l.TarSize, 10),
			},
			History: v1.History{Created: created, CreatedBy: "repro build: " + l.Role + " layer"},
		}
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("assembling image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("assembling image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = spec.Architecture
	cf.OS = "linux"
	cf.Created = created
	cf.Config = spec.Config
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("assembling image: %w", err)
	}
	if len(spec.Annotations) > 0 {
		img = mutate.Annotations(img, spec.Annotations).(v1.Image)
	}
	return img, nil
}
