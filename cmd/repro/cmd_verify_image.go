package main

import "context"

// verifyImage checks every file of the image ref (a Docker image, an OCI
// layout directory or an image tar) against the manifest at manifestPath.
// Owned by the "repro build" work; called by "repro verify --image".
func verifyImage(ctx context.Context, a *app, ref, manifestPath string) error {
	return errNotImplemented
}

// inspectImage prints the layers (count, sizes, digests) of the image ref.
// Called by "repro inspect --image".
func inspectImage(ctx context.Context, a *app, ref string, asJSON bool) error {
	return errNotImplemented
}
