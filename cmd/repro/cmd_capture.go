package main

import (
	"context"
	"flag"
)

func captureCmd() *command {
	return &command{
		name:    "capture",
		summary: "run an experiment and record everything that decides its result",
		usage: `Usage: repro capture [flags] -- CMD [ARGS...]
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
