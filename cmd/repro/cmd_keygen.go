package main

import (
	"context"
	"flag"
)

func keygenCmd() *command {
	return &command{
		name:    "keygen",
		summary: "create an SSH key pair for signing manifests",
		usage: `Usage: repro keygen [-t ed25519|ecdsa] -f FILE
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return errNotImplemented
		},
	}
}
