package main

import (
	"context"
	"flag"
)

func inspectCmd() *command {
	return &command{
		name:    "inspect",
		summary: "summarise a manifest (or an image built from one)",
		usage: `Usage: repro inspect [--json] manifest.toml
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
