package main

import (
	"context"
	"flag"
)

func pushCmd() *command {
	return &command{
		name:    "push",
		summary: "publish the image and the signed manifest to an OCI registry",
		usage: `Usage: repro push [flags] manifest.toml REF
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}

func pullCmd() *command {
	return &command{
		name:    "pull",
		summary: "fetch an image and its signed manifest from a registry",
		usage: `Usage: repro pull [flags] REF
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
