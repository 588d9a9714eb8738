// Package publish puts an experiment on an OCI registry and gets it back.
//
// Push uploads the image, then the manifest and its detached SSH signature
// as an OCI artifact (artifactType [ArtifactType]) whose subject is the
// image, so that any registry holds both under one citable reference
// registry/repo@sha256:<image digest>. Registries with the OCI referrers API
// list the artifact there; for the others the "sha256-<hex>" referrers tag
// is kept up to date (the distribution-spec fallback), so Pull finds the
// artifact either way. With an ECDSA P-256 key Push also signs the image in
// both of cosign's layouts, the legacy "sha256-<hex>.sig" tag and a Sigstore
// bundle referrer, which "cosign verify --key" accepts without repro.
//
// Pull resolves a reference by tag or digest, records the digest, fetches the
// image into a local OCI layout and the manifest artifact beside it, and
// refuses, with a distinct error, an image without a manifest artifact
// ([ErrNoManifest]), an artifact without a signature ([ErrUnsigned]) and,
// when given a verifier, a signature the verifier rejects
// ([ErrSignatureRejected]).
//
// Plain-HTTP registries are accepted only on loopback hosts and only when
// asked for (Options.Insecure); credentials come from the Docker config and
// its credential helpers, as for docker, podman, crane and cosign.
package publish
