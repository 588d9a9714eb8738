package main

import (
	"context"
	"flag"
	"runtime/debug"
)

// buildVersion returns the module version and VCS revision (with "-dirty"
// when the tree had changes) recorded in the binary's build info.
func buildVersion() (version, revision string) {
	version, revision = "(devel)", ""
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if revision != "" && dirty {
		revision += "-dirty"
	}
	return version, revision
}

func versionCmd() *command {
	return &command{
		name:    "version",
		summary: "print repro's version and VCS revision",
		usage: `Usage: repro version

Prints the module version and the VCS revision repro was built from, as the
Go build info records them.
`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			if fs.NArg() > 0 {
				return usagef("version takes no arguments")
			}
			v, rev := buildVersion()
			if rev == "" {
				rev = "unknown"
			}
			a.printf("repro %s (revision %s)\n", v, rev)
			return nil
		},
	}
}
