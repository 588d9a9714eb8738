package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/lockfmt"
)

// findImage returns the engine reference of a verified image of m: the
// --image given (a file, loaded; or an engine reference), else the engine's
// image labelled with the manifest's digest, else one built from the
// captured files.
func findImage(ctx context.Context, eng *engine.Engine, m *lockfmt.Manifest, data []byte, o *Options, rep *Report) (string, error) {
	digest := lockfmt.DigestBytes(data)
	if o.Image != "" {
		if fi, err := os.Stat(o.Image); err == nil {
			rep.Image.Source = "tar"
			if fi.IsDir() {
				rep.Image.Source = "layout"
			}
			o.progress("verifying the image in %s against the manifest", o.Image)
			img, err := OpenImage(ctx, o.Image, nil)
			if err != nil {
				return "", fmt.Errorf("%w: %v", ErrNoImage, err)
			}
			if err := VerifyImage(ctx, img, m, data); err != nil {
				return "", imageMismatch(err)
			}
			rep.Image.Verified = true
			if cf, err := img.ConfigFile(); err == nil {
				rep.Image.DataExternal = cf.Config.Labels[LabelDataExternal] == "true"
			}
			o.progress("loading the image into the Docker Engine")
			id, err := loadImage(ctx, eng, img, DefaultTag(data))
			if err != nil {
				return "", err
			}
			rep.Image.Ref = id
			markVerified(id, digest)
			return id, nil
		}
		rep.Image.Source = "given"
		return verifyEngineImage(ctx, eng, o.Image, m, data, o, rep)
	}
	ref, found, err := eng.FindImageByLabel(ctx, LabelManifestDigest, digest)
	if err != nil {
		return "", err
	}
	if found {
		rep.Image.Source = "engine"
		return verifyEngineImage(ctx, eng, ref, m, data, o, rep)
	}
	o.progress("no image for this manifest in the Docker Engine: building it from the captured files")
	img, err := Build(ctx, m, data, BuildOptions{SourceDateEpoch: sourceDateEpoch()})
	if err != nil {
		return "", fmt.Errorf("%w: building it from the captured files failed: %v (give the image with --image, or replay on the capture machine)", ErrNoImage, err)
	}
	defer img.Close()
	id, err := img.Load(ctx, eng)
	if err != nil {
		return "", err
	}
	// Build checked every file against the manifest while reading it.
	rep.Image = ImageUsed{Ref: id, Source: "built", Verified: true}
	markVerified(id, digest)
	return id, nil
}

// verifyEngineImage checks an image already in the engine. An image ID
// verified before for this manifest is trusted again: the ID is the config
// digest (or manifest digest), which fixes every layer's content.
func verifyEngineImage(ctx context.Context, eng *engine.Engine, ref string, m *lockfmt.Manifest, data []byte, o *Options, rep *Report) (string, error) {
	digest := lockfmt.DigestBytes(data)
	info, err := eng.Inspect(ctx, ref)
	if err != nil {
		if errors.Is(err, engine.ErrImageNotFound) {
			return "", fmt.Errorf("%w: %v", ErrNoImage, err)
		}
		return "", err
	}
	if got := info.Labels[LabelManifestDigest]; got != digest {
		return "", imageMismatch(&ImageMismatchError{Problem: "built from another manifest (label " + LabelManifestDigest + ")", Want: digest, Got: noneIfEmpty(got)})
	}
	rep.Image.Ref = info.ID
	rep.Image.DataExternal = info.Labels[LabelDataExternal] == "true"
	if wasVerified(info.ID, digest) {
		rep.Image.Verified = true
		return info.ID, nil
	}
	o.progress("verifying image %s against the manifest (once per image)", shortID(info.ID))
	img, err := OpenImage(ctx, info.ID, eng)
	if err != nil {
		return "", err
	}
	if err := VerifyImage(ctx, img, m, data); err != nil {
		return "", imageMismatch(err)
	}
	rep.Image.Verified = true
	markVerified(info.ID, digest)
	return info.ID, nil
}

func imageMismatch(err error) error {
	var me *ImageMismatchError
	if errors.As(err, &me) {
		return fmt.Errorf("%w: %v", ErrImageMismatch, err)
	}
	return err
}

func loadImage(ctx context.Context, eng *engine.Engine, img v1.Image, tag string) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(ociimage.WriteArchive(pw, img, tag)) }()
	_, err := eng.Load(ctx, pr)
	pr.CloseWithError(err)
	if err != nil {
		return "", err
	}
	info, err := eng.Inspect(ctx, tag)
	if err != nil {
		return "", fmt.Errorf("checking the loaded image: %w", err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("reading the image config digest: %w", err)
	}
	man, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("reading the image digest: %w", err)
	}
	if info.ID != cfg.String() && info.ID != man.String() {
		return "", fmt.Errorf("the Docker Engine holds %s as %s, not the verified image %s", tag, info.ID, cfg)
	}
	return info.ID, nil
}

func sourceDateEpoch() int64 {
	if v, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		return v
	}
	return DefaultSourceDateEpoch
}

// verifiedPath is the marker file recording that image id was verified
// against the manifest with the given digest.
func verifiedPath(id, manifestDigest string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	name := strings.TrimPrefix(id, "sha256:") + "-" + strings.TrimPrefix(manifestDigest, lockfmt.DigestPrefix)
	return filepath.Join(dir, "repro", "verified", name)
}

func wasVerified(id, manifestDigest string) bool {
	p := verifiedPath(id, manifestDigest)
	if p == "" || !strings.HasPrefix(id, "sha256:") {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

func markVerified(id, manifestDigest string) {
	p := verifiedPath(id, manifestDigest)
	if p == "" || !strings.HasPrefix(id, "sha256:") {
		return
	}
	if os.MkdirAll(filepath.Dir(p), 0o755) == nil {
		_ = os.WriteFile(p, nil, 0o644)
	}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
