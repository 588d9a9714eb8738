package replay

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/lockfmt"
)

// Labels (and manifest annotations) repro puts on every image.
const (
	// LabelManifestDigest is the manifest's digest ("sha256:<hex>" of its
	// exact bytes): it ties an image to a (possibly signed) manifest.
	LabelManifestDigest = "org.repro.manifest.sha256"
	// LabelSchema is the manifest schema version the image was built from.
	LabelSchema = "org.repro.schema"
	// LabelClosure is the closure mode: ClosureImported or ClosureFull.
	LabelClosure = "org.repro.closure"
	// LabelDataExternal is "true" when data inputs were left out of the
	// image and must be mounted at replay.
	LabelDataExternal = "org.repro.data-external"
)

// Closure modes.
const (
	// ClosureImported puts the manifest's files in the image: the imported
	// distributions, the libraries loaded and their ELF closure.
	ClosureImported = "imported"
	// ClosureFull adds every distribution of the manifest's packages, whole,
	// each checked against its tree digest.
	ClosureFull = "full"
)

// DefaultSourceDateEpoch is the timestamp of every image file, config and
// history entry when SOURCE_DATE_EPOCH is not set: 0, 1970-01-01T00:00:00Z,
// as ko and apko do. Build never reads the clock.
const DefaultSourceDateEpoch int64 = 0

// BuildProgress reports one layer starting (Done false) or finished.
type BuildProgress struct {
	Role   string
	Files  int   // files and symlinks in the layer
	Bytes  int64 // content bytes to read
	Done   bool
	Cached bool
}

// BuildOptions tunes Build. The zero value builds the imported closure with
// data inside, timestamps at DefaultSourceDateEpoch, reading files at their
// recorded paths, without a layer cache.
type BuildOptions struct {
	// Closure is ClosureImported ("" means that) or ClosureFull.
	Closure string
	// DataExternal leaves data files out of the image.
	DataExternal bool
	// SourceDateEpoch is the timestamp (seconds since 1970) of everything in
	// the image; callers pass SOURCE_DATE_EPOCH when set, else
	// DefaultSourceDateEpoch.
	SourceDateEpoch int64
	// Root is prepended to every path read from the host, so that a copy of
	// the captured files under another directory builds the same image.
	Root string
	// TempDir receives the layer files of an uncached build ("" = os.TempDir()).
	TempDir string
	// CacheDir, when set, keeps layers by content key and reuses them; a
	// reused layer's host files are then checked with Hashes (one stat for
	// an unchanged file) instead of being read.
	CacheDir string
	Hashes   *hashcache.Cache
	// Tag names the image in WriteTar and Load ("" = DefaultTag).
	Tag string
	// Progress, when set, is called as layers start and finish (from
	// several goroutines, one call at a time).
	Progress func(BuildProgress)
}

// LayerInfo describes one layer of a built image.
type LayerInfo struct {
	Role           string `json:"role"`
	DiffID         string `json:"diff_id"`
	Digest         string `json:"digest"`
	Size           int64  `json:"size"`
	CompressedSize int64  `json:"compressed_size"`
	Files          int    `json:"files"`
	Cached         bool   `json:"cached"`
}

// Image is a built image. Its layer files stay on disk until Close.
type Image struct {
	// Image is the OCI image.
	Image v1.Image
	// Digest is the image manifest digest, ConfigDigest the config's.
	Digest       string
	ConfigDigest string
	// ManifestDigest is the repro manifest's digest (LabelManifestDigest).
	ManifestDigest string
	Layers         []LayerInfo
	Tag            string
	layers         []*ociimage.Layer
}

// DefaultTag is the tag an image of manifestBytes gets when none is asked
// for: "repro:" and the first 12 hex digits of the manifest's sha256.
func DefaultTag(manifestBytes []byte) string {
	d := lockfmt.DigestBytes(manifestBytes)
	return "repro:" + d[len(lockfmt.DigestPrefix):len(lockfmt.DigestPrefix)+12]
}

// Build makes the image of m (whose exact bytes are manifestBytes) from the
// files on the host. Every file is read once, hashed while it streams into
// its layer and checked against the manifest; a file that changed since
// capture fails the build with a *ociimage.DigestMismatchError naming it and
// both digests, and no layer file is left behind. The same manifest, files,
// options and Go toolchain give the same image digest.
func Build(ctx context.Context, m *lockfmt.Manifest, manifestBytes []byte, opts BuildOptions) (*Image, error) {
	po, err := opts.planOptions()
	if err != nil {
		return nil, err
	}
	var extra []lockfmt.File
	var listing []byte
	if po.Closure == ClosureFull {
		if extra, listing, err = fullClosureFiles(m, opts.Root, opts.Hashes); err != nil {
			return nil, err
		}
	}
	plan, err := planImage(m, manifestBytes, po, extra)
	if err != nil {
		return nil, err
	}
	if listing != nil {
		plan.addGenerated(ClosureListPath, 0o444, listing)
	}
	byRole := plan.layers(opts.Root)
	sde := time.Unix(opts.SourceDateEpoch, 0).UTC()

	var roles []string
	for _, r := range LayerRoles {
		if len(byRole[r]) > 0 {
			roles = append(roles, r)
		}
	}
	built := make([]*ociimage.Layer, len(roles))
	errs := make([]error, len(roles))
	// The first failing layer stops the others.
	parent := ctx
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	report := func(p BuildProgress) {
		if opts.Progress != nil {
			mu.Lock()
			opts.Progress(p)
			mu.Unlock()
		}
	}
	sem := make(chan struct{}, max(runtime.NumCPU(), 2))
	var wg sync.WaitGroup
	for i, role := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				if parent.Err() != nil {
					errs[i] = parent.Err()
				}
				return
			}
			es := byRole[role]
			files, bytes := countLayerEntries(es)
			report(BuildProgress{Role: role, Files: files, Bytes: bytes})
			l, err := ociimage.BuildLayer(ctx, es, ociimage.LayerOptions{Role: role, MTime: sde, TempDir: opts.TempDir, CacheDir: opts.CacheDir})
			if err == nil && l.Cached {
				err = checkHostFiles(es, opts.Hashes)
			}
			if err != nil {
				if l != nil {
					l.Remove()
				}
				if errors.Is(err, context.Canceled) && parent.Err() == nil {
					return // stopped because another layer failed
				}
				errs[i] = fmt.Errorf("building the %s layer: %w", role, err)
				stop()
				return
			}
			built[i] = l
			report(BuildProgress{Role: role, Files: files, Bytes: bytes, Done: true, Cached: l.Cached})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, l := range built {
			if l != nil {
				l.Remove()
			}
		}
		return nil, err
	}
	img, err := assemble(m, manifestBytes, po, plan, built, sde)
	if err != nil {
		for _, l := range built {
			l.Remove()
		}
		return nil, err
	}
	img.Tag = opts.Tag
	if img.Tag == "" {
		img.Tag = DefaultTag(manifestBytes)
	}
	return img, nil
}

func (o BuildOptions) planOptions() (planOptions, error) {
	switch o.Closure {
	case "", ClosureImported:
		return planOptions{Closure: ClosureImported, DataExternal: o.DataExternal}, nil
	case ClosureFull:
		return planOptions{Closure: ClosureFull, DataExternal: o.DataExternal}, nil
	}
	return planOptions{}, fmt.Errorf("unknown closure %q (want %q or %q)", o.Closure, ClosureImported, ClosureFull)
}

func countLayerEntries(es []ociimage.Entry) (files int, bytes int64) {
	for _, e := range es {
		if e.Type != ociimage.TypeDir {
			files++
			bytes += e.Size
		}
	}
	return files, bytes
}

// checkHostFiles checks the host files of a cached layer against their
// digests through the hash cache. Without a cache there is nothing to check
// against cheaply: the layer's content is the manifest's by construction.
func checkHostFiles(es []ociimage.Entry, hashes *hashcache.Cache) error {
	if hashes == nil {
		return nil
	}
	var paths []string
	var idx []int
	for i, e := range es {
		if e.Type == ociimage.TypeFile && e.Content == nil {
			paths = append(paths, e.Source)
			idx = append(idx, i)
		}
	}
	for j, r := range hashes.Files(paths) {
		e := es[idx[j]]
		if r.Err != nil {
			return fmt.Errorf("reading %s: %w", e.Source, r.Err)
		}
		if r.Digest != e.Digest {
			return &ociimage.DigestMismatchError{Path: e.Path, Source: e.Source, Want: e.Digest, Got: r.Digest}
		}
	}
	return nil
}

// imageLabels are the labels and manifest annotations of an image of m.
func imageLabels(m *lockfmt.Manifest, manifestBytes []byte, po planOptions, sde time.Time) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.created": sde.Format(time.RFC3339),
		"org.opencontainers.image.title":   path.Base(m.Run.WorkDir),
		LabelManifestDigest:                lockfmt.DigestBytes(manifestBytes),
		LabelSchema:                        strconv.Itoa(m.Schema),
		LabelClosure:                       po.Closure,
		LabelDataExternal:                  strconv.FormatBool(po.DataExternal),
	}
	desc := "repro replay image of: " + strings.Join(m.Run.Argv, " ")
	if len(desc) > 200 {
		desc = desc[:200]
	}
	l["org.opencontainers.image.description"] = desc
	if g := m.Code.Git; g != nil {
		if g.Remote != "" {
			l["org.opencontainers.image.source"] = g.Remote
		}
		if g.Commit != "" {
			l["org.opencontainers.image.revision"] = g.Commit
		}
	}
	return l
}

func assemble(m *lockfmt.Manifest, manifestBytes []byte, po planOptions, plan *imagePlan, layers []*ociimage.Layer, sde time.Time) (*Image, error) {
	arch := m.OS.Arch
	if arch == "" {
		arch = runtime.GOARCH
	}
	labels := imageLabels(m, manifestBytes, po, sde)
	spec := ociimage.Spec{
		Created:      sde,
		Architecture: arch,
		Config: v1.Config{
			Cmd:        imageCmd(m),
			Env:        imageEnv(m, plan.home),
			WorkingDir: m.Run.WorkDir,
			User:       fmt.Sprintf("%d:%d", plan.uid, plan.gid),
			Labels:     labels,
		},
		Annotations: labels,
	}
	img, err := ociimage.Assemble(layers, spec)
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	c, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	out := &Image{Image: img, Digest: d.String(), ConfigDigest: c.String(), ManifestDigest: labels[LabelManifestDigest], layers: layers}
	for _, l := range layers {
		out.Layers = append(out.Layers, LayerInfo{
			Role: l.Role, DiffID: l.DiffIDHash.String(), Digest: l.DigestHash.String(),
			Size: l.TarSize, CompressedSize: l.GzipSize, Files: l.Files, Cached: l.Cached,
		})
	}
	return out, nil
}

// Close removes the image's temporary layer files (cached layers stay).
func (img *Image) Close() error {
	for _, l := range img.layers {
		l.Remove()
	}
	return nil
}
