package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Refusals a caller can tell apart with errors.Is.
var (
	// ErrNoManifest: no repro manifest artifact refers to the image.
	ErrNoManifest = errors.New("no repro manifest refers to this image")
	// ErrUnsigned: the manifest artifact carries no manifest.toml.sig.
	ErrUnsigned = errors.New("the manifest is not signed (no manifest.toml.sig)")
	// ErrSignatureRejected: the verifier rejected every signature found.
	ErrSignatureRejected = errors.New("the manifest signature was rejected")
)

// Size limits for the small blobs of a manifest artifact.
const (
	maxManifestBlob = 256 << 20
	maxSmallBlob    = 1 << 20
	// maxCandidates bounds how many referrers are fetched and examined, so
	// that a hostile referrers list cannot cause unbounded requests.
	maxCandidates = 32
)

// Verifier checks a detached signature over the exact manifest bytes, for
// example with the author's public key or an allowed_signers file; it
// returns an error saying why it refuses.
type Verifier func(manifest, sig []byte) error

// PullOptions are Pull's settings beyond the connection.
type PullOptions struct {
	Options
	// Verify, when set, must accept the manifest's signature; nil leaves
	// verification to the caller (Pulled.Verified stays false).
	Verify Verifier
	// AllowUnsigned accepts an artifact without a signature (only when
	// Verify is nil).
	AllowUnsigned bool
}

// Pulled is an experiment fetched from a registry.
type Pulled struct {
	// Requested is the reference as given (maybe by tag).
	Requested string `json:"requested"`
	// Ref is the reference by digest it resolved to, registry/repo@sha256:...
	Ref string `json:"ref"`
	// Digest is the image manifest digest.
	Digest string `json:"digest"`
	// ArtifactDigest is the digest of the manifest artifact used.
	ArtifactDigest string `json:"artifact_digest"`
	// Manifest and Signature are the exact bytes of manifest.toml and
	// manifest.toml.sig (nil when unsigned and allowed).
	Manifest  []byte `json:"-"`
	Signature []byte `json:"-"`
	// Verified is true when PullOptions.Verify accepted the signature.
	Verified bool `json:"verified"`
	// Dir and Layout are where Pull wrote the files and the OCI layout.
	Dir    string `json:"dir,omitempty"`
	Layout string `json:"layout,omitempty"`
	// Outputs lists the recorded outputs Save wrote under OutputsDir.
	Outputs    []string `json:"outputs,omitempty"`
	OutputsDir string   `json:"outputs_dir,omitempty"`

	// outputLayers are the artifact's output layers, still untrusted.
	outputLayers []outputLayer
}

// outputLayer is an output layer as the artifact describes it.
type outputLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

// FetchManifest resolves ref to an image digest and fetches the manifest
// artifact referring to it, verifying its signature when o.Verify is set. It
// downloads no image layers and writes nothing.
func FetchManifest(ctx context.Context, ref string, o PullOptions) (*Pulled, error) {
	r, err := parseRef(ref, o.Options)
	if err != nil {
		return nil, err
	}
	c := newCounter(o.Options)
	ropts := c.remoteOptions(ctx, o.Options)
	desc, err := remote.Head(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	}
	if desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("%s is an image index (%s); repro publishes single images: give the image's digest", ref, desc.MediaType)
	}
	dref := r.Context().Digest(desc.Digest.String())
	if d, ok := r.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return nil, fmt.Errorf("registry answered %s for %s", desc.Digest, ref)
	}
	p := &Pulled{Requested: ref, Ref: dref.String(), Digest: desc.Digest.String()}
	cands, err := findArtifacts(dref, ropts)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoManifest, p.Ref)
	}
	var rejected error
	for _, a := range cands {
		if a.sig == nil {
			continue
		}
		if o.Verify != nil {
			if err := o.Verify(a.manifest, a.sig); err != nil {
				rejected = errors.Join(rejected, err)
				continue
			}
			p.Verified = true
		}
		p.ArtifactDigest, p.Manifest, p.Signature, p.outputLayers = a.digest, a.manifest, a.sig, a.outputs
		return p, nil
	}
	if rejected != nil {
		return nil, fmt.Errorf("%w for %s: %w", ErrSignatureRejected, p.Ref, rejected)
	}
	if o.AllowUnsigned && o.Verify == nil {
		p.ArtifactDigest, p.Manifest, p.outputLayers = cands[0].digest, cands[0].manifest, cands[0].outputs
		return p, nil
	}
	return nil, fmt.Errorf("%w: the manifest artifact %s of %s", ErrUnsigned, cands[0].digest, p.Ref)
}

// found is one manifest artifact referring to the image.
type found struct {
	digest   string
	created  string
	manifest []byte
	sig      []byte
	outputs  []outputLayer
}

// findArtifacts lists the repro manifest artifacts whose subject is dref,
// newest first (by their created annotation, then digest).
func findArtifacts(dref name.Digest, ropts []remote.Option) ([]found, error) {
	idx, err := remote.Referrers(dref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", dref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", dref, err)
	}
	var out []found
	examined := 0
	for _, d := range im.Manifests {
		// Registries report artifactType, or the config media type when
		// they fill it from the config (ggcr's in-memory registry does).
		switch d.ArtifactType {
		case ArtifactType, ocispec.MediaTypeEmptyJSON, "":
		default:
			continue
		}
		if d.MediaType != types.OCIManifestSchema1 {
			continue
		}
		if examined++; examined > maxCandidates {
			return nil, fmt.Errorf("more than %d referrers of %s could be repro manifests; refusing to examine them all", maxCandidates, dref)
		}
		f, err := fetchArtifact(dref, d.Digest, ropts)
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, *f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].created != out[j].created {
			return out[i].created > out[j].created
		}
		return out[i].digest < out[j].digest
	})
	return out, nil
}

// fetchArtifact reads one referrer; nil when it is not a repro manifest
// artifact for dref.
func fetchArtifact(dref name.Digest, h v1.Hash, ropts []remote.Option) (*found, error) {
	img, err := remote.Image(dref.Context().Digest(h.String()), ropts...)
	if err != nil {
		return nil, fmt.Errorf("fetching referrer %s: %w", h, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("fetching referrer %s: %w", h, err)
	}
	m, ok := parseArtifact(raw, dref.DigestStr())
	if !ok {
		return nil, nil
	}
	f := &found{digest: h.String(), created: m.Annotations[ocispec.AnnotationCreated]}
	for _, l := range m.Layers {
		var limit int64
		var dst *[]byte
		switch {
		case l.MediaType == ManifestMediaType && f.manifest == nil:
			limit, dst = maxManifestBlob, &f.manifest
		case l.MediaType == SignatureMediaType && f.sig == nil:
			limit, dst = maxSmallBlob, &f.sig
		case l.MediaType == OutputMediaType:
			hh, err := v1.NewHash(string(l.Digest))
			if err != nil {
				return nil, fmt.Errorf("referrer %s: %w", h, err)
			}
			p := l.Annotations[OutputPathAnnotation]
			if p == "" {
				p = l.Annotations[ocispec.AnnotationTitle]
			}
			f.outputs = append(f.outputs, outputLayer{path: p, digest: hh, size: l.Size})
			continue
		default:
			continue
		}
		hh, err := v1.NewHash(string(l.Digest))
		if err != nil {
			return nil, fmt.Errorf("referrer %s: %w", h, err)
		}
		layer, err := img.LayerByDigest(hh)
		if err != nil {
			return nil, fmt.Errorf("referrer %s: %w", h, err)
		}
		if *dst, err = readAllLimited(layer, limit); err != nil {
			return nil, fmt.Errorf("referrer %s: %w", h, err)
		}
	}
	if f.manifest == nil {
		return nil, nil
	}
	return f, nil
}

// parseArtifact decodes an artifact manifest and reports whether it is a
// repro manifest artifact whose subject is subjectDigest.
func parseArtifact(raw []byte, subjectDigest string) (*ocispec.Manifest, bool) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	if m.ArtifactType != ArtifactType || m.Subject == nil || string(m.Subject.Digest) != subjectDigest {
		return nil, false
	}
	return &m, true
}

// readAllLimited reads a layer's blob, failing beyond limit bytes.
func readAllLimited(l interface {
	Compressed() (io.ReadCloser, error)
}, limit int64) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("blob larger than %d bytes", limit)
	}
	return b, nil
}
