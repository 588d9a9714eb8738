package main

import (
	"context"
	"flag"
)

func signCmd() *command {
	return &command{
		name:    "sign",
		summary: "sign a manifest with an SSH key",
		usage: `Usage: repro sign -k KEY [flags] manifest.toml
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
