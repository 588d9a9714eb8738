package main

import (
	"context"
	"flag"
)

func buildCmd() *command {
	return &command{
		name:    "build",
		summary: "build a deterministic OCI image from a manifest",
		usage: `Usage: repro build [flags] [manifest.toml]
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
