package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/repro-ml/repro/capture"
	"github.com/repro-ml/repro/lockfmt"
)

// captureList is a repeatable string flag.
type captureList []string

func (l *captureList) String() string     { return strings.Join(*l, ",") }
func (l *captureList) Set(v string) error { *l = append(*l, v); return nil }

// captureSeed is --seed: an int64 that remembers whether it was given.
type captureSeed struct{ v *int64 }

func (s *captureSeed) String() string {
	if s == nil || s.v == nil {
		return ""
	}
	return strconv.FormatInt(*s.v, 10)
}

func (s *captureSeed) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<32-1 {
		return fmt.Errorf("%q is not a seed (an integer from 0 to 4294967295)", v)
	}
	s.v = &n
	return nil
}

type captureFlags struct {
	hashSeed      string
	seed          captureSeed
	deterministic bool
	runs          int
	outputs       captureList
	excludes      captureList
	data          captureList
	env           captureList
	allowFailure  bool
	out           string
	key           string
	json          bool
}

const captureUsage = `Usage: repro capture [flags] -- CMD [ARGS...]

Runs CMD in the current directory under the repro Python probe and writes
manifest.toml: the command and its exit status, the pins (PYTHONHASHSEED,
thread counts, seeds), the interpreter, packages and native libraries, the
BLAS kernel and SIMD features in use, OS, CPU and GPUs, the data it read, the
code (git state and source digests) and the digests of its outputs, stdout
and stderr included. CMD runs exactly once per --runs; its output is shown
live. An interrupted or failing run writes no manifest.

Examples:
  repro capture -- python3 train.py --epochs 3
  repro capture --seed 42 --runs 2 -- python3 train.py
  repro capture --data data/ --data imagenet=s3://bucket/imagenet.tar#sha256=HEX -- ./run.sh
  repro capture -k ~/.ssh/id_ed25519 -- python3 train.py
`

func captureCmd() *command {
	f := &captureFlags{}
	return &command{
		name:    "capture",
		summary: "run an experiment and record everything that decides its result",
		usage:   captureUsage,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&f.hashSeed, "hash-seed", capture.DefaultHashSeed, "PYTHONHASHSEED to pin when the environment sets none")
			fs.Var(&f.seed, "seed", "seed random, numpy, torch and tensorflow with `N` as each is imported")
			fs.BoolVar(&f.deterministic, "deterministic", false, "turn on torch/tensorflow deterministic modes and CUBLAS_WORKSPACE_CONFIG")
			fs.IntVar(&f.runs, "runs", 1, "run `N` times and mark outputs that differ as nondeterministic")
			fs.Var(&f.outputs, "output", "also record files matching `GLOB` as outputs (repeatable)")
			fs.Var(&f.excludes, "exclude", "do not record outputs matching `GLOB` (repeatable)")
			fs.Var(&f.data, "data", "declare a data input: `PATH` (file or directory) or NAME=URI#sha256=HEX (repeatable)")
			fs.Var(&f.env, "env", "also record environment variable `NAME` (repeatable; secrets are still scrubbed)")
			fs.BoolVar(&f.allowFailure, "allow-failure", false, "write the manifest even when CMD exits nonzero")
			fs.StringVar(&f.out, "o", lockfmt.FileName, "write the manifest to `FILE`")
			fs.StringVar(&f.key, "k", "", "sign the manifest with SSH `KEY` (a private key file, KEY.pub or agent:) right after writing it")
			fs.BoolVar(&f.json, "json", false, "print the summary as JSON")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return runCapture(ctx, a, fs, f)
		},
	}
}

func runCapture(ctx context.Context, a *app, fs *flag.FlagSet, f *captureFlags) error {
	argv := fs.Args()
	if len(argv) == 0 {
		return usagef("no command given: repro capture [flags] -- CMD [ARGS...]")
	}
	if f.runs < 1 {
		return usagef("--runs must be at least 1, not %d", f.runs)
	}
	if f.hashSeed != "random" {
		if n, err := strconv.ParseUint(f.hashSeed, 10, 32); err != nil || n > 4294967295 {
			return usagef("--hash-seed %q: want an integer from 0 to 4294967295 or \"random\"", f.hashSeed)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the working directory: %w", err)
	}
	out := f.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(wd, out)
	}
	if f.key != "" && !strings.HasPrefix(f.key, lockfmt.AgentPrefix) && !strings.HasSuffix(f.key, ".pub") {
		if _, err := os.Stat(f.key); err != nil {
			return usagef("-k %s: %v", f.key, err)
		}
	}
	opts := capture.Options{
		Argv: argv, WorkDir: wd, HashSeed: f.hashSeed, Seed: f.seed.v,
		Deterministic: f.deterministic, Runs: f.runs, Outputs: f.outputs, Excludes: f.excludes,
		Data: f.data, Env: f.env, AllowFailure: f.allowFailure, ManifestPath: out,
		Stdout: a.stdout, Stderr: a.stderr,
		Progress: a.captureProgress(isTerminal(a.stderr)),
	}
	// A terminal stays with repro: the experiment runs in its own process
	// group, where reading the terminal would stop it. Piped input is passed on.
	if in, ok := a.stdin.(*os.File); !ok || !term.IsTerminal(int(in.Fd())) {
		opts.Stdin = a.stdin
	}
	if f.json {
		opts.Stdout = a.stderr // stdout carries the one JSON document
	}
	m, err := capture.Run(ctx, opts)
	if err != nil {
		var ee *capture.ExitError
		switch {
		case errors.As(err, &ee):
			a.errorf("%v; no manifest written", ee)
			a.hintf("fix the experiment, or pass --allow-failure to record the failed run")
			return &exitError{code: exitDiffer}
		case errors.Is(err, capture.ErrInterrupted):
			a.errorf("%v; no manifest written", err)
			return &exitError{code: exitUsage}
		}
		return err
	}
	if err := lockfmt.WriteFile(out, m); err != nil {
		return fmt.Errorf("writing the manifest: %w", err)
	}
	sigPath := ""
	if f.key != "" {
		if sigPath, err = captureSign(a, out, f.key); err != nil {
			return err
		}
	}
	for _, o := range m.Outputs {
		if o.Nondeterministic {
			a.warnf("%s differs between runs: %s", o.Path, o.Reason)
		}
	}
	if f.json {
		return a.writeJSON(captureSummaryJSON(m, out, sigPath))
	}
	a.printCaptureSummary(m, wd, out, sigPath)
	return nil
}

// captureSign signs the manifest file just written and writes FILE.sig.
func captureSign(a *app, manifestPath, key string) (string, error) {
	signer, err := lockfmt.LoadSigner(key, a.passphrase(key))
	if err != nil {
		return "", fmt.Errorf("loading signing key (the manifest %s is written, unsigned): %w", manifestPath, err)
	}
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		return "", fmt.Errorf("reading %s to sign it: %w", manifestPath, err)
	}
	sig, err := lockfmt.Sign(data, signer)
	if err != nil {
		return "", fmt.Errorf("signing %s: %w", manifestPath, err)
	}
	sigPath := manifestPath + ".sig"
	if err := lockfmt.WriteFileAtomic(sigPath, sig, 0o644); err != nil {
		return "", err
	}
	return sigPath, nil
}

// captureProgress renders capture events: warnings always, steps and
// hashing progress only on a terminal.
func (a *app) captureProgress(tty bool) func(capture.Event) {
	var last time.Time
	return func(e capture.Event) {
		switch e.Kind {
		case capture.EventWarning:
			a.warnf("%s", e.Message)
		case capture.EventStep:
			if tty {
				fmt.Fprintf(a.stderr, "\r\033[K")
				a.infof("%s", e.Message)
			}
		case capture.EventHash:
			if !tty || (time.Since(last) < 200*time.Millisecond && e.Done < e.Total) {
				return
			}
			last = time.Now()
			pct := 100.0
			if e.Total > 0 {
				pct = 100 * float64(e.Done) / float64(e.Total)
			}
			fmt.Fprintf(a.stderr, "\r\033[Krepro: %s %s / %s (%.0f%%)", e.Message, humanSize(e.Done), humanSize(e.Total), pct)
			if e.Done >= e.Total {
				fmt.Fprintln(a.stderr)
			}
		}
	}
}
