package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/lockfmt"
	"github.com/repro-ml/repro/replay"
)

const buildUsage = `Usage: repro build [flags] [manifest.toml]

Builds a deterministic OCI image from the manifest, without a base image and
without network: every file the manifest lists (interpreter, imported
packages, native libraries, code, data) at its original path, plus /tmp, a
minimal /etc/passwd and /etc/group, and the manifest itself at
/.repro/manifest.toml. Each file is read from this machine and checked
against its manifest digest as it streams into its layer: a file that changed
since capture stops the build and names it.

The same manifest and files give the same image digest on any machine.
Timestamps come from SOURCE_DATE_EPOCH when set, else 0 (1970-01-01).
Layers are cached in ~/.cache/repro/layers, so a rebuild after a code change
rebuilds only the code layer.

By default the image is loaded into the local Docker Engine (DOCKER_HOST and
docker contexts are honoured) and its ID and digest are printed.

Examples:
  repro build                              # manifest.toml, load into Docker
  repro build --tar exp.tar --no-load      # docker load / skopeo / podman read exp.tar
  repro build --oci ./exp-oci manifest.toml
  SOURCE_DATE_EPOCH=1700000000 repro build --tag exp:v1
`

type buildFlags struct {
	oci, tar, closure, tag string
	noLoad, dataExternal   bool
	json, noCache          bool
}

// buildOutput is the --json document of repro build.
type buildOutput struct {
	Tag            string             `json:"tag"`
	Digest         string             `json:"digest"`
	ConfigDigest   string             `json:"config_digest"`
	ManifestDigest string             `json:"manifest_digest"`
	ImageID        string             `json:"image_id,omitempty"`
	OCI            string             `json:"oci,omitempty"`
	Tar            string             `json:"tar,omitempty"`
	Layers         []replay.LayerInfo `json:"layers"`
}

func buildCmd() *command {
	f := &buildFlags{}
	return &command{
		name:    "build",
		summary: "build a deterministic OCI image from a manifest",
		usage:   buildUsage,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&f.oci, "oci", "", "also write an OCI image layout to `DIR` (absent or empty)")
			fs.StringVar(&f.tar, "tar", "", "also write one image tar to `FILE` (docker load, oci-archive)")
			fs.BoolVar(&f.noLoad, "no-load", false, "do not load the image into the Docker Engine")
			fs.StringVar(&f.closure, "closure", replay.ClosureImported, "`imported` distributions only, or full (every RECORD-listed distribution)")
			fs.BoolVar(&f.dataExternal, "data-external", false, "leave data inputs out of the image (replay mounts them, verified by digest)")
			fs.StringVar(&f.tag, "tag", "", "image `NAME[:TAG]` (default repro:<manifest sha256 prefix>)")
			fs.BoolVar(&f.json, "json", false, "print the result as JSON")
			fs.BoolVar(&f.noCache, "no-cache", false, "do not reuse cached layers (every file is read again)")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return a.runBuild(ctx, f, fs.Args())
		},
	}
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH, or returns the documented default.
func (a *app) sourceDateEpoch() (int64, error) {
	v := a.getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return replay.DefaultSourceDateEpoch, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970", v)
	}
	return n, nil
}

func (a *app) runBuild(ctx context.Context, f *buildFlags, args []string) error {
	if len(args) > 1 {
		return usagef("build takes at most one manifest, got %d arguments", len(args))
	}
	if f.closure != replay.ClosureImported && f.closure != replay.ClosureFull {
		return usagef("--closure must be %q or %q, not %q", replay.ClosureImported, replay.ClosureFull, f.closure)
	}
	if f.tag != "" {
		if _, _, err := ociimage.TagNames(f.tag); err != nil {
			return usagef("--tag: %v", err)
		}
	}
	manifestPath := lockfmt.FileName
	if len(args) == 1 {
		manifestPath = args[0]
	}
	sde, err := a.sourceDateEpoch()
	if err != nil {
		return err
	}
	m, mb, err := lockfmt.ReadFile(manifestPath)
	if err != nil {
		return err
	}
	var eng *engine.Engine
	if !f.noLoad {
		// Connect first: an unreachable engine should fail before a long build.
		if eng, err = engine.Connect(ctx); err != nil {
			a.errorf("%v", err)
			a.hintf("use --no-load with --tar or --oci to build without Docker")
			return &exitError{code: exitUsage}
		}
		defer eng.Close()
	}
	opts := replay.BuildOptions{
		Closure:         f.closure,
		DataExternal:    f.dataExternal,
		SourceDateEpoch: sde,
		Tag:             f.tag,
	}
	if cache, err := os.UserCacheDir(); err == nil && !f.noCache {
		opts.CacheDir = filepath.Join(cache, "repro", "layers")
		opts.Hashes = hashcache.Open(hashcache.DefaultPath())
	}
	if isTerminal(a.stderr) {
		opts.Progress = func(p replay.BuildProgress) {
			switch {
			case !p.Done:
				a.infof("layer %-13s %6d files %10s ...", p.Role, p.Files, humanSize(p.Bytes))
			case p.Cached:
				a.infof("layer %-13s cached", p.Role)
			default:
				a.infof("layer %-13s done", p.Role)
			}
		}
	}
	img, err := replay.Build(ctx, m, mb, opts)
	if err != nil {
		var dm *ociimage.DigestMismatchError
		if errors.As(err, &dm) {
			a.errorf("%v", err)
			a.hintf("restore the file as it was at capture, or capture the experiment again")
			return &exitError{code: exitDiffer}
		}
		return err
	}
	defer img.Close()
	if opts.Hashes != nil {
		if err := opts.Hashes.Save(); err != nil {
			a.warnf("%v", err)
		}
	}
	out := buildOutput{Tag: img.Tag, Digest: img.Digest, ConfigDigest: img.ConfigDigest, ManifestDigest: img.ManifestDigest, Layers: img.Layers}
	if f.oci != "" {
		if err := img.WriteOCILayout(f.oci); err != nil {
			return err
		}
		out.OCI = f.oci
	}
	if f.tar != "" {
		if err := writeImageTar(f.tar, img); err != nil {
			return err
		}
		out.Tar = f.tar
	}
	if eng != nil {
		if isTerminal(a.stderr) {
			a.infof("loading %s into the Docker Engine at %s", img.Tag, eng.Host)
		}
		id, err := img.Load(ctx, eng)
		if err != nil {
			return err
		}
		out.ImageID = id
	}
	if f.json {
		return a.writeJSON(out)
	}
	a.printBuild(&out)
	return nil
}

// writeImageTar writes the image archive atomically.
func writeImageTar(p string, img *replay.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".repro-image-*.tar.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	werr := img.WriteTar(tmp)
	if err := errors.Join(werr, tmp.Chmod(0o644), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

func (a *app) printBuild(o *buildOutput) {
	var size, csize int64
	for _, l := range o.Layers {
		size += l.Size
		csize += l.CompressedSize
	}
	a.printf("image    %s\n", o.Tag)
	a.printf("digest   %s\n", o.Digest)
	a.printf("config   %s\n", o.ConfigDigest)
	if o.ImageID != "" {
		a.printf("id       %s (loaded into Docker)\n", o.ImageID)
	}
	if o.OCI != "" {
		a.printf("oci      %s\n", o.OCI)
	}
	if o.Tar != "" {
		a.printf("tar      %s\n", o.Tar)
	}
	a.printf("layers   %d, %s (%s compressed)\n", len(o.Layers), humanSize(size), humanSize(csize))
	a.printLayers(o.Layers)
}

func (a *app) printLayers(ls []replay.LayerInfo) {
	a.printf("  %-14s %7s %10s %11s  %s\n", "ROLE", "FILES", "SIZE", "COMPRESSED", "DIFFID")
	for _, l := range ls {
		note := ""
		if l.Cached {
			note = "  (cached)"
		}
		a.printf("  %-14s %7d %10s %11s  %s%s\n", l.Role, l.Files, humanSize(l.Size), humanSize(l.CompressedSize), l.DiffID, note)
	}
}
