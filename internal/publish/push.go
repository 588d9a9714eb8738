package publish

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushOptions are Push's settings beyond the connection.
type PushOptions struct {
	Options
	// CosignKey, when set, signs the pushed image in cosign's legacy layout.
	CosignKey *ecdsa.PrivateKey
	// Created is the artifact's org.opencontainers.image.created annotation
	// (RFC 3339), normally the manifest's tool.created; empty leaves it out
	// so that the artifact digest depends only on the files.
	Created string
	// Cite describes the experiment for the citation snippets.
	Cite CiteInfo
	// AllowUnsigned pushes a manifest without a signature layer.
	AllowUnsigned bool
	// Outputs are recorded output files (see CollectOutputs) added to the
	// manifest artifact as layers, so that a replay from the registry can
	// show typed diffs.
	Outputs []OutputFile
}

// Result is what Push published.
type Result struct {
	// Ref is the reference to cite: registry/repo@sha256:<image digest>.
	Ref string `json:"ref"`
	// Tag is the tag pushed, registry/repo:tag, when the reference had one.
	Tag string `json:"tag,omitempty"`
	// ImageDigest is the image manifest digest.
	ImageDigest string `json:"image_digest"`
	// ArtifactDigest is the manifest artifact's digest.
	ArtifactDigest string `json:"artifact_digest"`
	// ManifestSHA256 is the sha256 of manifest.toml, "sha256:<hex>".
	ManifestSHA256 string `json:"manifest_sha256"`
	// CosignSignature is the cosign signature reference
	// (registry/repo:sha256-<hex>.sig), when an image key was given.
	CosignSignature string `json:"cosign_signature,omitempty"`
	// CosignBundle is the digest of the Sigstore bundle referrer carrying
	// the same signature, when an image key was given.
	CosignBundle string `json:"cosign_bundle,omitempty"`
	// BytesSent counts request body bytes sent to the registry, all
	// requests included; blobs the registry already had cost nothing.
	BytesSent int64 `json:"bytes_sent"`
	// Outputs lists the recorded outputs uploaded with the manifest.
	Outputs []string `json:"outputs,omitempty"`
	// Citation holds ready-made snippets citing Ref.
	Citation Citation `json:"citation"`
}

// Push uploads img to ref (a tag; a bare repository means its "latest" tag),
// then the manifest artifact (manifestBytes and sigBytes) with img as its
// subject, then, with a cosign key, the image signature in both of cosign's
// layouts: the legacy "sha256-<hex>.sig" tag and a Sigstore bundle referrer.
func Push(ctx context.Context, img v1.Image, manifestBytes, sigBytes []byte, ref string, o PushOptions) (*Result, error) {
	if len(manifestBytes) == 0 {
		return nil, errors.New("the manifest is empty")
	}
	if len(sigBytes) == 0 && !o.AllowUnsigned {
		return nil, ErrUnsigned
	}
	r, err := parseRef(ref, o.Options)
	if err != nil {
		return nil, err
	}
	if _, ok := r.(name.Digest); ok {
		return nil, fmt.Errorf("cannot push to a digest reference %s: give a tag (repo:tag)", ref)
	}
	c := newCounter(o.Options)
	ropts := c.remoteOptions(ctx, o.Options)

	desc, err := partialDescriptor(img)
	if err != nil {
		return nil, err
	}
	repo := r.Context()
	imgRef := repo.Digest(desc.Digest.String())
	target := r
	wopts, wait := withProgress(append(ropts[:len(ropts):len(ropts)], remote.WithJobs(4)), o.Options)
	err = remote.Write(target, img, wopts...)
	wait()
	if err != nil {
		return nil, fmt.Errorf("pushing image to %s: %w", target, err)
	}

	files := []file{{data: manifestBytes, mediaType: ManifestMediaType, title: ManifestTitle}}
	if len(sigBytes) > 0 {
		files = append(files, file{data: sigBytes, mediaType: SignatureMediaType, title: SignatureTitle})
	}
	for _, of := range o.Outputs {
		files = append(files, file{data: of.Data, mediaType: OutputMediaType, title: of.Path,
			annotations: map[string]string{OutputPathAnnotation: of.Path}})
	}
	ann := map[string]string{}
	if o.Created != "" {
		ann[ocispec.AnnotationCreated] = o.Created
	}
	art, err := newArtifact(ArtifactType, desc, ann, files...)
	if err != nil {
		return nil, err
	}
	artImg, err := art.image()
	if err != nil {
		return nil, err
	}
	artDigest, err := artImg.Digest()
	if err != nil {
		return nil, err
	}
	if err := remote.Write(repo.Digest(artDigest.String()), artImg, ropts...); err != nil {
		return nil, fmt.Errorf("pushing the manifest artifact to %s: %w", repo, err)
	}

	sum := sha256.Sum256(manifestBytes)
	res := &Result{
		Ref:            imgRef.String(),
		ImageDigest:    desc.Digest.String(),
		ArtifactDigest: artDigest.String(),
		ManifestSHA256: "sha256:" + hex.EncodeToString(sum[:]),
	}
	for _, of := range o.Outputs {
		res.Outputs = append(res.Outputs, of.Path)
	}
	if t, ok := target.(name.Tag); ok {
		res.Tag = t.String()
	}
	if o.CosignKey != nil {
		if res.CosignSignature, res.CosignBundle, err = signImage(repo, desc, hex.EncodeToString(sum[:]), o.CosignKey, ropts); err != nil {
			return nil, err
		}
	}
	res.BytesSent = c.sent.Load()
	res.Citation = Cite(res, o.Cite)
	return res, nil
}

// partialDescriptor describes img's manifest as a subject.
func partialDescriptor(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading image media type: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("computing image digest: %w", err)
	}
	n, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("computing image manifest size: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: n}, nil
}

// signImage pushes the image signature in both of cosign's layouts: the
// legacy "sha256-<hex>.sig" tag, and the same signature as a Sigstore
// bundle referrer, the format cosign v3 writes and prefers (once any bundle
// refers to an image, cosign verifies only bundles). It returns the
// signature tag and the bundle artifact's digest.
func signImage(repo name.Repository, desc v1.Descriptor, manifestHex string, key *ecdsa.PrivateKey, ropts []remote.Option) (string, string, error) {
	payload, err := SimpleSigningPayload(repo.String(), desc.Digest.String(), manifestHex)
	if err != nil {
		return "", "", err
	}
	sigImg, err := cosignSignatureImage(payload, key)
	if err != nil {
		return "", "", err
	}
	sigTag := repo.Tag(SignatureTag(desc.Digest))
	if err := remote.Write(sigTag, sigImg, ropts...); err != nil {
		return "", "", fmt.Errorf("pushing the image signature %s: %w", sigTag, err)
	}
	bundle, err := newBundle(desc.Digest, manifestHex, key)
	if err != nil {
		return "", "", err
	}
	bart, err := newArtifact(BundleMediaType, desc, map[string]string{
		"dev.sigstore.bundle.content":       "dsse-envelope",
		"dev.sigstore.bundle.predicateType": CosignSignPredicate,
	}, file{data: bundle, mediaType: BundleMediaType})
	if err != nil {
		return "", "", err
	}
	bimg, err := bart.image()
	if err != nil {
		return "", "", err
	}
	bd, err := bimg.Digest()
	if err != nil {
		return "", "", err
	}
	if err := remote.Write(repo.Digest(bd.String()), bimg, ropts...); err != nil {
		return "", "", fmt.Errorf("pushing the image signature bundle: %w", err)
	}
	return sigTag.String(), bd.String(), nil
}
