package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/repro-ml/repro/internal/compare"
	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/publish"
	"github.com/repro-ml/repro/replay"
)

const replayUsage = `Usage: repro replay [flags] manifest.toml|REF

Reruns a captured experiment in Docker and compares every output with the
recorded one, bit for bit. In order: the manifest's signature is checked
(--key, or --allowed-signers with --identity); the image is found in the
Docker Engine by the manifest's digest, taken from --image, or built from
the captured files, and checked file by file against the manifest; the host
CPU is compared with the capture's and the capture's math kernels are pinned
(OPENBLAS_CORETYPE, MKL_CBWR, NPY_DISABLE_CPU_FEATURES); the experiment runs
with networking off, the recorded command, user, working directory and
environment, its output shown live; then its outputs are copied out and
compared, with a typed diff and the likely causes of each difference.

REF is an image reference in a registry (pushed with "repro push"): the
signed manifest and the image are fetched from it.

Exit status: 0 bit-identical (or every difference within --tolerance or
marked nondeterministic), 1 DIFFERENT, 2 could not replay (bad or missing
signature, image mismatch, no Docker, the experiment did not start).

Examples:
  repro replay --key alice.pub manifest.toml
  repro replay --insecure-unsigned --json manifest.toml > replay.json
  repro replay --no-pin-kernels --env OPENBLAS_CORETYPE=Haswell manifest.toml
  repro replay --allowed-signers allowed_signers --identity alice@lab.org registry.lab.org/paper@sha256:...
`

type replayFlags struct {
	key, allowed, identity string
	insecure               bool
	plainHTTP              bool
	image                  string
	noPin                  bool
	env                    captureList
	tolerance              string
	timeout                time.Duration
	cpus                   string
	memory                 string
	gpus                   string
	rmImage                bool
	json                   bool
	report                 string
	keep                   string
	emit                   string
}

func replayCmd() *command {
	f := &replayFlags{}
	return &command{
		name:    "replay",
		summary: "rerun an experiment in Docker and compare its outputs",
		usage:   replayUsage,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&f.key, "key", "", "OpenSSH public key `file` the manifest must be signed with")
			fs.StringVar(&f.allowed, "allowed-signers", "", "ssh allowed_signers `file` (with --identity)")
			fs.StringVar(&f.identity, "identity", "", "signer `identity` to look up in --allowed-signers")
			fs.BoolVar(&f.insecure, "insecure-unsigned", false, "replay an unsigned or unverifiable manifest anyway (the report says so)")
			fs.BoolVar(&f.plainHTTP, "insecure", false, "allow plain HTTP to a registry on this machine (localhost, 127.0.0.1, ::1)")
			fs.StringVar(&f.image, "image", "", "image to run: OCI layout `dir`, image tar, or an image in the Docker Engine")
			fs.BoolVar(&f.noPin, "no-pin-kernels", false, "let the host choose BLAS and numpy kernels instead of the capture's")
			fs.Var(&f.env, "env", "override one variable, `NAME=VALUE` (repeatable; recorded in the report)")
			fs.StringVar(&f.tolerance, "tolerance", "", "accept numeric differences within `rtol,atol` (numpy isclose rule)")
			fs.DurationVar(&f.timeout, "timeout", 0, "stop the experiment after this `duration` (e.g. 30m)")
			fs.StringVar(&f.cpus, "cpus", "", "limit the container to `N` CPUs (e.g. 1.5)")
			fs.StringVar(&f.memory, "memory", "", "limit the container's memory to `SIZE` (e.g. 4g, 512m)")
			fs.StringVar(&f.gpus, "gpus", "", "`all` or none (default: all when the capture used GPUs)")
			fs.BoolVar(&f.rmImage, "rm-image", false, "remove the image from the Docker Engine afterwards")
			fs.BoolVar(&f.json, "json", false, "print the report as JSON on stdout")
			fs.StringVar(&f.report, "report", "", "also write the JSON report to `file`")
			fs.StringVar(&f.keep, "keep", "", "keep the replayed outputs in `dir` (new or empty)")
			fs.StringVar(&f.emit, "emit", "", "instead of replaying, print a `k8s-job` manifest that replays REF on a cluster")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			return runReplay(ctx, a, fs, f)
		},
	}
}

func runReplay(ctx context.Context, a *app, fs *flag.FlagSet, f *replayFlags) error {
	if fs.NArg() != 1 {
		return usagef("replay takes one manifest.toml or image reference, got %d arguments", fs.NArg())
	}
	arg := fs.Arg(0)
	opts, err := f.options()
	if err != nil {
		return err
	}
	if f.emit != "" {
		if f.emit != "k8s-job" {
			return usagef("--emit %q: the only format is k8s-job", f.emit)
		}
		return emitK8sJob(ctx, a, arg, f.plainHTTP)
	}
	if _, serr := os.Stat(arg); serr == nil {
		opts.ManifestPath, opts.Source = arg, arg
		// Outputs "repro pull" wrote beside the manifest.
		if fi, err := os.Stat(filepath.Join(filepath.Dir(arg), publish.OutputsDir)); err == nil && fi.IsDir() {
			opts.RecordedDir = filepath.Join(filepath.Dir(arg), publish.OutputsDir)
		}
	} else if looksLikeRef(arg) {
		dir, err := os.MkdirTemp("", "repro-remote-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		var checks []func(m, sig []byte) error
		if !f.insecure {
			checks = append(checks, func(m, sig []byte) error {
				_, err := (&replay.Options{PublicKeyFile: f.key, AllowedSignersFile: f.allowed, Identity: f.identity}).Trust(m, sig)
				return err
			})
		}
		rem, err := fetchRemote(ctx, a, arg, dir, f.plainHTTP, checks...)
		if err != nil {
			// The registry error's message and hint, but replay's exit
			// status: a refused or missing experiment could not be replayed.
			err = a.registryError(err)
			var ee *exitError
			if errors.As(err, &ee) {
				return &exitError{code: exitUsage, err: ee.err}
			}
			return &exitError{code: exitUsage, err: err}
		}
		opts.Manifest, opts.Signature, opts.Image, opts.Source = rem.Manifest, rem.Signature, rem.Layout, rem.Ref
		opts.RecordedDir = rem.OutputsDir
	} else {
		return usagef("%s: no such file, and not an image reference", arg)
	}
	return a.doReplay(ctx, opts, f)
}

func (f *replayFlags) options() (replay.Options, error) {
	o := replay.Options{
		PublicKeyFile: f.key, AllowedSignersFile: f.allowed, Identity: f.identity,
		InsecureUnsigned: f.insecure, Image: f.image, RemoveImage: f.rmImage,
		NoPinKernels: f.noPin, Timeout: f.timeout, GPUs: f.gpus, KeepDir: f.keep,
	}
	if f.key != "" && f.allowed != "" {
		return o, usagef("give --key or --allowed-signers, not both")
	}
	if (f.allowed == "") != (f.identity == "") {
		return o, usagef("--allowed-signers and --identity go together")
	}
	for _, e := range f.env {
		v, err := replay.ParseEnvOverride(e)
		if err != nil {
			return o, usagef("%v", err)
		}
		o.Env = append(o.Env, v)
	}
	if f.tolerance != "" {
		t, err := parseTolerance(f.tolerance)
		if err != nil {
			return o, err
		}
		o.Tolerance = t
	}
	if f.cpus != "" {
		c, err := strconv.ParseFloat(f.cpus, 64)
		if err != nil || c <= 0 || c > 4096 {
			return o, usagef("--cpus %q: want a positive number of CPUs such as 2 or 1.5", f.cpus)
		}
		o.NanoCPUs = int64(c * 1e9)
	}
	if f.memory != "" {
		m, err := parseSize(f.memory)
		if err != nil {
			return o, usagef("--memory %q: %v", f.memory, err)
		}
		o.Memory = m
	}
	switch f.gpus {
	case "", "all", "none":
	default:
		return o, usagef("--gpus %q: want all or none", f.gpus)
	}
	if f.timeout < 0 {
		return o, usagef("--timeout must be positive")
	}
	return o, nil
}

func parseTolerance(s string) (compare.Tolerance, error) {
	r, at, ok := strings.Cut(s, ",")
	rt, err1 := strconv.ParseFloat(strings.TrimSpace(r), 64)
	a, err2 := strconv.ParseFloat(strings.TrimSpace(at), 64)
	if !ok || err1 != nil || err2 != nil || rt < 0 || a < 0 {
		return compare.Tolerance{}, usagef("--tolerance %q: want rtol,atol such as 1e-9,0", s)
	}
	return compare.Tolerance{RTol: rt, ATol: a}, nil
}

// parseSize reads 512m, 4g, 1.5G, 1048576 (bytes).
func parseSize(s string) (int64, error) {
	ls := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for suf, m := range map[string]float64{"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40} {
		if t, ok := strings.CutSuffix(strings.TrimSuffix(ls, "b"), suf); ok {
			ls, mult = t, m
			break
		}
	}
	v, err := strconv.ParseFloat(ls, 64)
	if err != nil || v <= 0 || v*mult > 1<<50 {
		return 0, errors.New("want a size such as 512m or 4g")
	}
	if v*mult < 6<<20 {
		return 0, errors.New("the Docker Engine needs at least 6m")
	}
	return int64(v * mult), nil
}

// looksLikeRef reports whether s looks like a registry image reference
// (host/repo[:tag][@digest]) rather than a mistyped file name.
func looksLikeRef(s string) bool {
	if strings.HasSuffix(s, ".toml") || strings.ContainsAny(s, " \t") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") {
		return false
	}
	host, _, ok := strings.Cut(s, "/")
	return ok && (strings.ContainsAny(host, ".:") || host == "localhost")
}

func (a *app) doReplay(ctx context.Context, opts replay.Options, f *replayFlags) error {
	opts.Stdout, opts.Stderr = a.stderr, a.stderr
	opts.Progress = func(msg string) { a.infof("%s", msg) }
	opts.OnPlan = a.printReplayPlan
	rep, err := replay.Replay(ctx, opts)
	if err != nil {
		return a.replayError(err)
	}
	if f.report != "" {
		if werr := rep.WriteFile(f.report); werr != nil {
			return &exitError{code: exitUsage, err: werr}
		}
	}
	if f.json {
		if jerr := a.writeJSON(rep); jerr != nil {
			return jerr
		}
	} else {
		a.printReplayReport(rep)
	}
	if rep.Status() != 0 {
		return &exitError{code: exitDiffer}
	}
	return nil
}

// replayError maps a failed replay to exit status 2 with a hint.
func (a *app) replayError(err error) error {
	switch {
	case errors.Is(err, replay.ErrUntrusted):
		a.errorf("refusing to replay: %v", err)
		a.hintf("check it with the author's key (--key FILE, or --allowed-signers FILE --identity ID); --insecure-unsigned replays it anyway")
	case errors.Is(err, replay.ErrImageMismatch):
		a.errorf("refusing to replay: %v", err)
		a.hintf("rebuild the image from the captured files with \"repro build\", or fetch the published one")
	case errors.Is(err, replay.ErrUnsafeArchive):
		a.errorf("refusing the experiment's outputs: %v", err)
	case errors.Is(err, replay.ErrNoImage):
		a.errorf("%v", err)
	case errors.Is(err, engine.ErrTimeout):
		a.errorf("%v: the container was stopped and removed", err)
		a.hintf("raise --timeout")
	case errors.Is(err, context.Canceled):
		a.errorf("interrupted: the container was stopped and removed")
	default:
		a.errorf("%v", err)
	}
	return &exitError{code: exitUsage}
}
