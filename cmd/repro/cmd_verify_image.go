package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/lockfmt"
	"github.com/repro-ml/repro/replay"
)

// openImageRef opens ref as a file (OCI layout directory or image tar) or,
// when no such file exists, as an image of the Docker Engine. The returned
// close function releases the engine connection.
func openImageRef(ctx context.Context, ref string) (v1.Image, func(), error) {
	if _, err := os.Stat(ref); err == nil {
		img, err := replay.OpenImage(ctx, ref, nil)
		return img, func() {}, err
	}
	eng, err := engine.Connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	img, err := replay.OpenImage(ctx, ref, eng)
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	return img, func() { eng.Close() }, nil
}

// verifyImage checks every file of the image ref (a Docker image, an OCI
// layout directory or an image tar) against the manifest at manifestPath.
// Owned by the "repro build" work; called by "repro verify --image".
func verifyImage(ctx context.Context, a *app, ref, manifestPath string) error {
	m, mb, err := lockfmt.ReadFile(manifestPath)
	if err != nil {
		return err
	}
	img, done, err := openImageRef(ctx, ref)
	if err != nil {
		return err
	}
	defer done()
	if err := replay.VerifyImage(ctx, img, m, mb); err != nil {
		var mm *replay.ImageMismatchError
		if errors.As(err, &mm) {
			a.errorf("%v", err)
			a.hintf("rebuild the image with \"repro build %s\"", manifestPath)
			return &exitError{code: exitDiffer}
		}
		return err
	}
	a.printf("image %s matches %s: every file checked\n", ref, manifestPath)
	return nil
}

// imageLayerRow is one row of "repro inspect --image".
type imageLayerRow struct {
	Role           string `json:"role"`
	Files          int    `json:"files"`
	Size           int64  `json:"size"`
	CompressedSize int64  `json:"compressed_size"`
	DiffID         string `json:"diff_id"`
	Digest         string `json:"digest"`
}

// imageInspectOutput is the --json document of "repro inspect --image".
type imageInspectOutput struct {
	Ref            string          `json:"ref"`
	Digest         string          `json:"digest"`
	ConfigDigest   string          `json:"config_digest"`
	ManifestDigest string          `json:"manifest_digest,omitempty"`
	Created        string          `json:"created"`
	Cmd            []string        `json:"cmd"`
	Layers         []imageLayerRow `json:"layers"`
}

// inspectImage prints the layers (count, sizes, digests) of the image ref.
// Called by "repro inspect --image".
func inspectImage(ctx context.Context, a *app, ref string, asJSON bool) error {
	img, done, err := openImageRef(ctx, ref)
	if err != nil {
		return err
	}
	defer done()
	out, err := describeImage(img, ref)
	if err != nil {
		return err
	}
	if asJSON {
		return a.writeJSON(out)
	}
	a.printf("image    %s\n", out.Ref)
	a.printf("digest   %s\n", out.Digest)
	a.printf("config   %s\n", out.ConfigDigest)
	if out.ManifestDigest != "" {
		a.printf("manifest %s\n", out.ManifestDigest)
	}
	a.printf("created  %s\n", out.Created)
	a.printf("cmd      %s\n", strings.Join(out.Cmd, " "))
	rows := make([]replay.LayerInfo, len(out.Layers))
	for i, l := range out.Layers {
		rows[i] = replay.LayerInfo{Role: l.Role, Files: l.Files, Size: l.Size, CompressedSize: l.CompressedSize, DiffID: l.DiffID}
	}
	a.printf("layers   %d\n", len(rows))
	a.printLayers(rows)
	return nil
}

func describeImage(img v1.Image, ref string) (*imageInspectOutput, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	mf, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	out := &imageInspectOutput{
		Ref: ref, Digest: d.String(), ConfigDigest: cd.String(),
		ManifestDigest: cf.Config.Labels[replay.LabelManifestDigest],
		Created:        cf.Created.UTC().Format("2006-01-02T15:04:05Z"),
		Cmd:            cf.Config.Cmd,
	}
	for i, l := range layers {
		row := imageLayerRow{Role: "?"}
		if i < len(cf.History) {
			row.Role = strings.TrimSuffix(strings.TrimPrefix(cf.History[i].CreatedBy, "repro build: "), " layer")
		}
		if dd, err := l.DiffID(); err == nil {
			row.DiffID = dd.String()
		}
		if dd, err := l.Digest(); err == nil {
			row.Digest = dd.String()
		}
		row.CompressedSize, _ = l.Size()
		if i < len(mf.Layers) {
			ann := mf.Layers[i].Annotations
			if r := ann[ociimage.AnnotationLayerRole]; r != "" {
				row.Role = r
			}
			row.Files, _ = strconv.Atoi(ann[ociimage.AnnotationLayerFiles])
			row.Size, _ = strconv.ParseInt(ann[ociimage.AnnotationLayerSize], 10, 64)
		}
		if row.Size == 0 {
			if row.Files, row.Size, err = ociimage.CountLayer(l); err != nil {
				return nil, err
			}
		}
		out.Layers = append(out.Layers, row)
	}
	return out, nil
}
