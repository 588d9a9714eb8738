package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/repro-ml/repro/internal/engine"
	"github.com/repro-ml/repro/internal/probe"
	"github.com/repro-ml/repro/internal/safetar"
	"github.com/repro-ml/repro/lockfmt"
)

// Replay verifies the manifest's signature, finds (or builds) and verifies
// its image, checks the host's hardware, runs the experiment in Docker with
// the recorded and pinned environment, and compares every recorded output.
//
// A returned error means the replay could not be done (exit status 2): it
// wraps ErrUntrusted, ErrImageMismatch, ErrNoImage, ErrDidNotStart,
// ErrUnsafeArchive or an engine error. The Report is returned whenever the
// manifest could be read, also with an error, so the caller can show how
// far it got. A nil error leaves the outcome in Report.Status.
func Replay(ctx context.Context, opts Options) (*Report, error) {
	data, sig, err := opts.loadManifest()
	if err != nil {
		return nil, err
	}
	rep := &Report{Manifest: opts.Source, ManifestDigest: lockfmt.DigestBytes(data), PinKernels: !opts.NoPinKernels}
	if rep.Manifest == "" {
		rep.Manifest = opts.ManifestPath
	}
	// Trust first: nothing in an unverified manifest is acted upon.
	if rep.Trust, err = opts.checkTrust(data, sig); err != nil {
		return rep, err
	}
	m, err := lockfmt.Decode(data)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", rep.Manifest, err)
	}
	if err := m.Validate(); err != nil {
		return rep, fmt.Errorf("%s: %w", rep.Manifest, err)
	}
	rep.RecordedExit, rep.RecordedMS = m.Run.ExitCode, m.Run.DurationMS

	host := opts.Host
	if host == nil {
		if host, err = ReadHostCPU(); err != nil {
			return rep, err
		}
	}
	rep.Host = host
	gpus := opts.GPUs == "all" || opts.GPUs == "" && len(m.GPUs) > 0
	rep.Warnings = HardwareWarnings(m, host, gpus)
	var pins []EnvVar
	if !opts.NoPinKernels {
		var pw []string
		pins, pw = KernelPins(m, host)
		rep.Warnings = append(rep.Warnings, pw...)
	}
	rep.Env = BuildEnv(m, pins, opts.Env)
	rep.PlanWarnings = len(rep.Warnings)
	if opts.OnPlan != nil {
		opts.OnPlan(rep)
	}

	opts.progress("connecting to the Docker Engine")
	eng, err := engine.Connect(ctx)
	if err != nil {
		return rep, err
	}
	defer eng.Close()
	ref, err := findImage(ctx, eng, m, data, &opts, rep)
	if err != nil {
		return rep, err
	}
	if opts.RemoveImage {
		defer func() {
			rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if eng.RemoveImage(rctx, ref) == nil {
				rep.Image.Removed = true
			}
		}()
	}

	outDir := opts.KeepDir
	if outDir == "" {
		if outDir, err = os.MkdirTemp("", "repro-replay-"); err != nil {
			return rep, fmt.Errorf("creating a directory for the outputs: %w", err)
		}
		defer os.RemoveAll(outDir)
	} else if ents, err := os.ReadDir(outDir); err == nil && len(ents) > 0 {
		return rep, fmt.Errorf("the directory for the kept outputs, %s, is not empty: give a new or empty one", outDir)
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		return rep, fmt.Errorf("creating %s: %w", outDir, err)
	}
	var binds []engine.Bind
	if rep.Image.DataExternal {
		var warns []string
		if binds, warns, err = dataBinds(m); err != nil {
			return rep, err
		}
		rep.Warnings = append(rep.Warnings, warns...)
	}
	var reports replayReports
	res, err := runExperiment(ctx, eng, m, ref, rep.Env, gpus, binds, outDir, &reports, &opts)
	if err != nil {
		return rep, err
	}
	rep.Replayed = mergeReplayed(reports.reps, append(reports.notes, res.CopyNotes...))
	rep.RuntimeDiffs = RuntimeDifferences(m, rep.Replayed)
	if m.Python.Processes > 0 && rep.Replayed.Processes == 0 {
		rep.Warnings = append(rep.Warnings, "the replay's probe reported nothing, so the kernels it ran could not be checked against the capture: "+rep.Replayed.Note)
	}
	rep.ExitCode, rep.DurationMS = res.ExitCode, res.Duration.Milliseconds()
	if res.ExitCode != m.Run.ExitCode {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the experiment exited with status %d; at capture it exited with %d", res.ExitCode, m.Run.ExitCode))
	}
	opts.progress("comparing outputs")
	rep.Outputs = compareOutputs(m, &opts, outDir, res.Stdout, res.Stderr)
	explain(m, rep, host)
	rep.finish()
	return rep, nil
}

// replayReports are the probe reports copied out of the container, and
// notes on what was skipped.
type replayReports struct {
	reps  []probe.Report
	notes []string
}

func runExperiment(ctx context.Context, eng *engine.Engine, m *lockfmt.Manifest, ref string, env []EnvVar, gpus bool, binds []engine.Bind, outDir string, reports *replayReports, o *Options) (*engine.ContainerResult, error) {
	spec := engine.ContainerSpec{
		Image:    ref,
		Argv:     imageCmd(m),
		WorkDir:  m.Run.WorkDir,
		User:     fmt.Sprintf("%d:%d", m.Run.UID, m.Run.GID),
		NanoCPUs: o.NanoCPUs,
		Memory:   o.Memory,
		GPUs:     gpus,
		Timeout:  o.Timeout,
		Stdout:   o.Stdout,
		Stderr:   o.Stderr,
		Labels:   map[string]string{"org.repro.replay": "true"},
		Binds:    binds,
	}
	for _, e := range env {
		spec.Env = append(spec.Env, e.Name+"="+e.Value)
	}
	byPath := map[string]string{}
	for _, out := range m.Outputs {
		if out.Path == lockfmt.StdoutPath || out.Path == lockfmt.StderrPath {
			continue
		}
		p := path.Join(m.Run.WorkDir, out.Path)
		spec.CopyPaths = append(spec.CopyPaths, p)
		byPath[p] = out.Path
	}
	// The probe's reports: best effort, never failing the replay.
	spec.OptionalPaths = []string{ReportDirInImage}
	spec.CopyOut = func(p string, tar io.Reader) error {
		if p == ReportDirInImage {
			reports.reps, reports.notes = readReplayReports(tar)
			return nil
		}
		// "docker cp" names entries from the base name: extract into the
		// output's parent directory.
		rel := byPath[p]
		dir := filepath.Join(outDir, filepath.FromSlash(path.Dir(rel)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		if err := safetar.Extract(tar, dir, safetar.DefaultLimits); err != nil {
			return fmt.Errorf("output %s: %w", rel, err)
		}
		return nil
	}
	o.progress("running %s in %s", strings.Join(imageCmd(m), " "), ref)
	res, err := engine.RunContainer(ctx, eng.Client(), spec)
	if err != nil {
		if res == nil || errors.Is(err, ErrUnsafeArchive) || errors.Is(err, context.Canceled) || errors.Is(err, engine.ErrTimeout) {
			return res, startError(err, res)
		}
		return res, err
	}
	if res.ExitCode == 127 || res.ExitCode == 126 {
		return res, startError(nil, res)
	}
	return res, nil
}

var missingLib = regexp.MustCompile(`error while loading shared libraries: ([^:\s]+)`)

// startError explains an experiment that could not start: a missing
// shared library or interpreter.
func startError(err error, res *engine.ContainerResult) error {
	var stderr string
	if res != nil {
		stderr = string(res.Stderr)
	}
	if mm := missingLib.FindStringSubmatch(stderr); mm != nil {
		return fmt.Errorf("%w: the shared library %s is missing from the image (rebuild it with \"repro build --closure full\", or recapture)", ErrDidNotStart, mm[1])
	}
	if err == nil {
		return fmt.Errorf("%w: the command was not found or not executable in the image (exit status %d): %s", ErrDidNotStart, res.ExitCode, firstLine(stderr))
	}
	if strings.Contains(err.Error(), "no such file or directory") || strings.Contains(err.Error(), "executable file not found") {
		return fmt.Errorf("%w: %v", ErrDidNotStart, err)
	}
	if strings.Contains(err.Error(), "could not select device driver") {
		return fmt.Errorf("this Docker Engine cannot pass GPUs to containers (no NVIDIA container runtime): install the NVIDIA Container Toolkit, or replay with --gpus none (results may then differ): %w", err)
	}
	if strings.Contains(err.Error(), "no space left on device") {
		return fmt.Errorf("the Docker Engine ran out of disk space (free space with \"docker system prune\"): %w", err)
	}
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
