package main

import "context"

// remoteExperiment is an experiment fetched from a registry: the signed
// manifest and the image, stored in a local OCI layout.
type remoteExperiment struct {
	Manifest  []byte // exact bytes of manifest.toml
	Signature []byte // manifest.toml.sig, nil when the artifact has none
	Digest    string // the image manifest digest the reference resolved to
	Ref       string // the reference by digest, registry/repo@sha256:...
	Layout    string // local OCI layout directory holding the image
}

// fetchRemote resolves ref (by tag or digest) in its registry, discovers the
// signed manifest artifact that refers to the image, and pulls both into
// dir. Owned by the "repro push" work; called by "repro replay REF".
func fetchRemote(ctx context.Context, a *app, ref, dir string, insecure bool) (*remoteExperiment, error) {
	return nil, errNotImplemented
}

// emitK8sJob writes a Kubernetes Job manifest that replays ref on a cluster.
// Called by "repro replay --emit k8s-job REF".
func emitK8sJob(ctx context.Context, a *app, ref string) error {
	return errNotImplemented
}
