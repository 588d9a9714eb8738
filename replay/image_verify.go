package replay

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/lockfmt"
)

// ImageMismatchError reports the first way an image differs from what its
// manifest says it holds.
type ImageMismatchError struct {
	// Path is the file in the image ("" for image-level problems).
	Path string
	// Layer is the 1-based layer index (0 when not tied to a layer).
	Layer int
	// Problem says what is wrong: "content differs", "not in the manifest",
	// "missing from the image", ...
	Problem string
	// Want and Got are the expected and found values, when they apply.
	Want, Got string
}

func (e *ImageMismatchError) Error() string {
	var b strings.Builder
	b.WriteString("image does not match the manifest: ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Problem)
	if e.Layer > 0 {
		fmt.Fprintf(&b, " (layer %d)", e.Layer)
	}
	if e.Want != "" || e.Got != "" {
		fmt.Fprintf(&b, ": manifest has %s, image has %s", e.Want, e.Got)
	}
	return b.String()
}

// OpenImage opens ref: an OCI image layout directory, an image tar (repro's
// combined archive, an OCI archive or a docker-save archive), or, when ref
// is not a file and eng is not nil, an image of the Docker Engine (name or
// ID), exported through the engine into an unlinked temporary file that
// lives as long as the process.
func OpenImage(ctx context.Context, ref string, eng *engine.Engine) (v1.Image, error) {
	_, statErr := os.Stat(ref)
	if statErr == nil {
		return ociimage.Open(ref)
	}
	if eng == nil {
		return nil, fmt.Errorf("image %s: %w, and no Docker Engine to look it up in", ref, statErr)
	}
	rc, err := eng.Save(ctx, ref)
	if err != nil {
		if strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, ".") || strings.HasSuffix(ref, ".tar") {
			return nil, fmt.Errorf("image %s: %w", ref, statErr)
		}
		return nil, fmt.Errorf("image %s is neither a file nor an image of the Docker Engine: %w", ref, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "repro-image-*.tar")
	if err != nil {
		return nil, fmt.Errorf("exporting image %s: %w", ref, err)
	}
	os.Remove(f.Name())
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return nil, fmt.Errorf("exporting image %s: %w", ref, err)
	}
	img, err := ociimage.OpenArchive(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading image %s exported by the Docker Engine: %w", ref, err)
	}
	return img, nil
}

// VerifyImage checks that img holds exactly what an image built from m
// (whose bytes are manifestBytes) holds: every regular file's content
// matches its manifest digest (the generated runtime files are recomputed and
// compared byte for byte), modes match, symlink targets are equal, nothing
// is left out and nothing else is there; layer diffIDs match the config.
// It reads the layers as untrusted input and never writes to disk. The first
// difference is returned as an *ImageMismatchError.
func VerifyImage(ctx context.Context, img v1.Image, m *lockfmt.Manifest, manifestBytes []byte) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading image config: %w", err)
	}
	labels := cf.Config.Labels
	if got, want := labels[LabelManifestDigest], lockfmt.DigestBytes(manifestBytes); got != want {
		return &ImageMismatchError{Problem: "built from another manifest (label " + LabelManifestDigest + ")", Want: want, Got: labelOrNone(got)}
	}
	po := planOptions{Closure: labels[LabelClosure], DataExternal: labels[LabelDataExternal] == "true"}
	if po.Closure != ClosureImported && po.Closure != ClosureFull {
		return &ImageMismatchError{Problem: "unknown closure label " + LabelClosure, Got: labelOrNone(po.Closure)}
	}
	plan, err := planImage(m, manifestBytes, po, nil)
	if err != nil {
		return err
	}
	if err := checkConfig(m, plan, cf.Config); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("reading image layers: %w", err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return &ImageMismatchError{Problem: fmt.Sprintf("%d layers but %d diffIDs in the config", len(layers), len(cf.RootFS.DiffIDs))}
	}
	w := &imageWalker{plan: plan, seen: map[string]bool{}, full: po.Closure == ClosureFull, extra: map[string]string{}}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.layer(i+1, l, cf.RootFS.DiffIDs[i]); err != nil {
			return err
		}
	}
	for _, p := range sortedKeysOf(plan.items) {
		if !w.seen[p] {
			return &ImageMismatchError{Path: p, Problem: "missing from the image"}
		}
	}
	if w.full {
		return verifyFullClosure(m, plan, w.extra, w.listing)
	}
	return nil
}

// checkConfig compares what the image runs with what the manifest says:
// command, environment, user and working directory.
func checkConfig(m *lockfmt.Manifest, plan *imagePlan, c v1.Config) error {
	want := []struct{ field, want, got string }{
		{"Entrypoint", "[]", fmt.Sprintf("%q", c.Entrypoint)},
		{"Cmd", fmt.Sprintf("%q", imageCmd(m)), fmt.Sprintf("%q", c.Cmd)},
		{"Env", fmt.Sprintf("%q", imageEnv(m, plan.home)), fmt.Sprintf("%q", c.Env)},
		{"User", fmt.Sprintf("%d:%d", plan.uid, plan.gid), c.User},
		{"WorkingDir", m.Run.WorkDir, c.WorkingDir},
	}
	for _, f := range want {
		if f.want != f.got {
			return &ImageMismatchError{Problem: "config " + f.field + " differs", Want: f.want, Got: f.got}
		}
	}
	return nil
}

func labelOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

type imageWalker struct {
	plan *imagePlan
	seen map[string]bool
	full bool
	// extra holds files not in the plan of a full-closure image: path →
	// content digest (or SymlinkDigest of the target).
	extra map[string]string
	// listing is the content of ClosureListPath in a full-closure image.
	listing []byte
}

// cleanMemberName turns a tar member name into an absolute image path, refusing
// anything that could escape the root.
func cleanMemberName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	n = strings.TrimSuffix(n, "/")
	if n == "" || n == "." {
		return "/", nil
	}
	for _, part := range strings.Split(strings.TrimPrefix(n, "/"), "/") {
		if part == ".." || part == "." || part == "" {
			return "", fmt.Errorf("unsafe member name %q", name)
		}
	}
	return path.Clean("/" + strings.TrimPrefix(n, "/")), nil
}

func (w *imageWalker) layer(idx int, l v1.Layer, diffID v1.Hash) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("reading layer %d: %w", idx, err)
	}
	defer rc.Close()
	h := sha256.New()
	tr := tar.NewReader(io.TeeReader(rc, h))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &ImageMismatchError{Layer: idx, Problem: "unreadable layer: " + err.Error()}
		}
		if err := w.member(idx, hdr, tr); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, io.TeeReader(rc, h)); err != nil {
		return fmt.Errorf("reading layer %d: %w", idx, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID.String() {
		return &ImageMismatchError{Layer: idx, Problem: "layer diffID differs from the config", Want: diffID.String(), Got: got}
	}
	return nil
}

func (w *imageWalker) member(idx int, hdr *tar.Header, r io.Reader) error {
	p, err := cleanMemberName(hdr.Name)
	if err != nil {
		return &ImageMismatchError{Layer: idx, Problem: err.Error()}
	}
	if strings.HasPrefix(path.Base(p), ".wh.") {
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "whiteout entry (repro images never delete files)"}
	}
	mode := hdr.Mode & 0o7777
	switch hdr.Typeflag {
	case tar.TypeDir:
		if p == "/" {
			return nil
		}
		d, ok := w.plan.dirs[p]
		if !ok {
			if w.full && w.underSite(p) {
				return nil
			}
			return &ImageMismatchError{Path: p, Layer: idx, Problem: "directory not accounted for by the manifest"}
		}
		if _, isItem := w.plan.items[p]; isItem {
			return &ImageMismatchError{Path: p, Layer: idx, Problem: "is a directory, the manifest lists a file"}
		}
		if d.Mode != mode {
			return &ImageMismatchError{Path: p, Layer: idx, Problem: "directory mode differs", Want: fmt.Sprintf("%04o", d.Mode), Got: fmt.Sprintf("%04o", mode)}
		}
		return checkOwner(p, idx, d.UID, d.GID, hdr)
	case tar.TypeReg, tar.TypeSymlink:
	default:
		return &ImageMismatchError{Path: p, Layer: idx, Problem: fmt.Sprintf("unexpected tar entry type %q", hdr.Typeflag)}
	}
	if w.full && p == ClosureListPath && hdr.Typeflag == tar.TypeReg && w.listing == nil {
		b, err := io.ReadAll(io.LimitReader(r, maxClosureList+1))
		if err != nil || int64(len(b)) != hdr.Size || hdr.Size > maxClosureList {
			return &ImageMismatchError{Path: p, Layer: idx, Problem: "unreadable or oversized closure list"}
		}
		w.listing = b
		return nil
	}
	if w.seen[p] || w.extra[p] != "" {
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "appears twice in the image"}
	}
	it, ok := w.plan.items[p]
	if !ok {
		if w.full && w.underSite(p) {
			d, err := memberDigest(hdr, r)
			if err != nil {
				return &ImageMismatchError{Path: p, Layer: idx, Problem: "unreadable: " + err.Error()}
			}
			w.extra[p] = d
			return nil
		}
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "not in the manifest"}
	}
	w.seen[p] = true
	if hdr.Typeflag == tar.TypeSymlink {
		if it.Type != ociimage.TypeSymlink {
			return &ImageMismatchError{Path: p, Layer: idx, Problem: "is a symlink, the manifest lists a file"}
		}
		if hdr.Linkname != it.Target {
			return &ImageMismatchError{Path: p, Layer: idx, Problem: "symlink target differs", Want: it.Target, Got: hdr.Linkname}
		}
		return checkOwner(p, idx, it.UID, it.GID, hdr)
	}
	if it.Type != ociimage.TypeFile {
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "is a regular file, the manifest lists a symlink"}
	}
	got, err := memberDigest(hdr, r)
	if err != nil {
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "unreadable: " + err.Error()}
	}
	if got != it.Digest {
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "content differs", Want: it.Digest, Got: got}
	}
	if mode != it.Mode {
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "mode differs", Want: fmt.Sprintf("%04o", it.Mode), Got: fmt.Sprintf("%04o", mode)}
	}
	return checkOwner(p, idx, it.UID, it.GID, hdr)
}

// checkOwner compares a member's numeric owner with the plan's.
func checkOwner(p string, idx, uid, gid int, hdr *tar.Header) error {
	if hdr.Uid != uid || hdr.Gid != gid {
		return &ImageMismatchError{Path: p, Layer: idx, Problem: "owner differs", Want: fmt.Sprintf("%d:%d", uid, gid), Got: fmt.Sprintf("%d:%d", hdr.Uid, hdr.Gid)}
	}
	return nil
}

func memberDigest(hdr *tar.Header, r io.Reader) (string, error) {
	if hdr.Typeflag == tar.TypeSymlink {
		return lockfmt.SymlinkDigest(hdr.Linkname), nil
	}
	d, n, err := lockfmt.DigestReader(r)
	if err != nil {
		return "", err
	}
	if n != hdr.Size {
		return "", fmt.Errorf("short member: %d of %d bytes", n, hdr.Size)
	}
	return d, nil
}

// underSite reports whether p lies in a site directory of the manifest's
// packages (the parent of a distribution's .dist-info).
func (w *imageWalker) underSite(p string) bool {
	for _, s := range w.plan.sites {
		if p == s || strings.HasPrefix(p, s+"/") {
			return true
		}
	}
	return false
}
