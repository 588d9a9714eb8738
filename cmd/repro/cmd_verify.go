package main

import (
	"context"
	"flag"
)

func verifyCmd() *command {
	return &command{
		name:    "verify",
		summary: "check a manifest's signature (and an image against it)",
		usage: `Usage: repro verify [flags] manifest.toml
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
