package main

import (
	"context"
	"flag"
)

func replayCmd() *command {
	return &command{
		name:    "replay",
		summary: "rerun an experiment in Docker and compare its outputs",
		usage: `Usage: repro replay [flags] manifest.toml|REF
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
