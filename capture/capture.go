package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
)

// capturer carries one capture's state between its steps.
type capturer struct {
	opts     Options
	workdir  string
	manifest string // absolute manifest path
	cache    *hashcache.Cache
	probe    *probeDir
	decls    []dataDecl
	progress func(Event)
}

// Run runs the experiment opts.Argv in opts.WorkDir under the Python probe,
// opts.Runs times with the same pins, and returns the manifest of the run.
// It writes nothing to the working directory itself; the caller writes the
// manifest. An interrupted run (ctx cancelled) returns an error wrapping
// ErrInterrupted and no manifest; a nonzero exit returns *ExitError unless
// opts.AllowFailure.
func Run(ctx context.Context, opts Options) (*lockfmt.Manifest, error) {
	c, err := newCapturer(opts)
	if err != nil {
		return nil, err
	}
	defer c.probe.remove()
	m, err := c.run(ctx)
	if opts.Hashes == nil {
		if serr := c.cache.Save(); serr != nil && err == nil {
			c.warnf("%v", serr)
		}
	}
	return m, err
}

func newCapturer(opts Options) (*capturer, error) {
	if len(opts.Argv) == 0 || opts.Argv[0] == "" {
		return nil, errors.New("no command to capture")
	}
	if opts.Runs < 0 {
		return nil, fmt.Errorf("runs must be at least 1, not %d", opts.Runs)
	}
	if opts.Runs == 0 {
		opts.Runs = 1
	}
	wd := opts.WorkDir
	if wd == "" {
		wd = "."
	}
	abs, err := filepath.Abs(wd)
	if err != nil {
		return nil, fmt.Errorf("resolving working directory: %w", err)
	}
	// The probe sees the physical path (getcwd), so resolve symlinks.
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	} else {
		return nil, fmt.Errorf("working directory %s: %w", wd, err)
	}
	for _, g := range append(append([]string{}, opts.Outputs...), opts.Excludes...) {
		if err := validGlob(g); err != nil {
			return nil, err
		}
	}
	c := &capturer{opts: opts, workdir: abs, progress: opts.Progress}
	for _, d := range opts.Data {
		decl, err := parseDataDecl(d, abs)
		if err != nil {
			return nil, err
		}
		if decl.Path != "" {
			if _, err := os.Stat(decl.Path); err != nil {
				return nil, fmt.Errorf("--data %s: %w", d, err)
			}
		}
		c.decls = append(c.decls, decl)
	}
	c.manifest = opts.ManifestPath
	if c.manifest == "" {
		c.manifest = filepath.Join(abs, lockfmt.FileName)
	}
	if !filepath.IsAbs(c.manifest) {
		c.manifest = filepath.Join(abs, c.manifest)
	}
	c.cache = opts.Hashes
	if c.cache == nil {
		c.cache = hashcache.Open(hashcache.DefaultPath())
	}
	if c.probe, err = newProbeDir(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *capturer) warnf(format string, args ...any) {
	if c.progress != nil {
		c.progress(Event{Kind: EventWarning, Message: fmt.Sprintf(format, args...)})
	}
}

func (c *capturer) step(format string, args ...any) {
	if c.progress != nil {
		c.progress(Event{Kind: EventStep, Message: fmt.Sprintf(format, args...)})
	}
}

func (c *capturer) run(ctx context.Context) (*lockfmt.Manifest, error) {
	start := time.Now()
	environ := c.opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	envm := envMap(environ)
	pins := choosePins(envm, &c.opts)
	if c.opts.HashSeed != "" && pins.det.HashSeedSetBy == "user" && c.opts.HashSeed != pins.det.HashSeed {
		c.warnf("PYTHONHASHSEED=%s from the environment is kept; --hash-seed %s is ignored", pins.det.HashSeed, c.opts.HashSeed)
	}

	c.step("recording the project state")
	g, tracked, err := gitState(ctx, c.workdir)
	if err != nil {
		c.warnf("reading git state: %v", err)
	}
	before, err := takeSnapshot(c.workdir)
	if err != nil {
		return nil, err
	}

	var (
		res     *runResult
		reports []ProbeReport // full reports: the stack, pins and python sections
		partial []ProbeReport // killed forked children: only what they opened
		runs    []runOutputs
		watched []string // executables the process watcher saw, all runs
	)
	for i := 1; i <= c.opts.Runs; i++ {
		dir, err := c.probe.runDir(i)
		if err != nil {
			return nil, err
		}
		if c.opts.Runs > 1 {
			c.step("run %d of %d: %s", i, c.opts.Runs, strings.Join(c.opts.Argv, " "))
		} else {
			c.step("running %s", strings.Join(c.opts.Argv, " "))
		}
		env := c.childEnv(environ, pins, filepath.Join(dir, "reports"))
		res, err = runOnce(ctx, c.opts.Argv, c.workdir, env, &c.opts, dir)
		if err != nil {
			return nil, err
		}
		watched = append(watched, res.executables...)
		if res.exitCode != 0 && !c.opts.AllowFailure {
			return nil, &ExitError{Code: res.exitCode, Run: i}
		}
		var warns []string
		reports, warns = readReports(filepath.Join(dir, "reports"), res.pid)
		for _, w := range warns {
			c.warnf("%s", w)
		}
		partial = openedStreams(filepath.Join(dir, "reports"), reports)
		ro, err := c.outputs(before, append(reports[:len(reports):len(reports)], partial...), res)
		if err != nil {
			return nil, err
		}
		if c.opts.Runs > 1 {
			keepCopies(&ro, c.workdir, dir, map[string]string{
				lockfmt.StdoutPath: res.stdoutFile, lockfmt.StderrPath: res.stderrFile})
		}
		runs = append(runs, ro)
	}
	if len(reports) == 0 {
		c.warnf("no Python process reported to the probe: nothing about the interpreter, packages or files read is recorded (was Python started with -S, -E or -I, or not at all?)")
	}

	m := &lockfmt.Manifest{Schema: lockfmt.SchemaVersion, Tool: toolInfo(start, envm)}
	m.Run = lockfmt.Run{
		Argv: scrubArgv(c.opts.Argv), WorkDir: c.workdir, ExitCode: res.exitCode,
		DurationMS: res.duration.Milliseconds(), UID: os.Getuid(), GID: os.Getgid(),
		Runs: c.opts.Runs,
	}
	if u, err := user.Current(); err == nil {
		m.Run.User = u.Username
	}
	m.Run.Env, m.Run.Scrubbed = recordEnv(envm, c.opts.Env, pins.env)
	m.Determinism = pins.det
	m.Outputs = mergeRuns(runs, c.opts.Seed != nil)

	c.step("gathering the software stack")
	if err := gatherStack(ctx, reports, m, StackOptions{WorkDir: c.workdir, Hashes: c.cache, Warn: c.warnf,
		Executables: executables(c.opts.Argv, c.workdir, envm["PATH"], watched, reports)}); err != nil {
		return nil, fmt.Errorf("gathering the software stack: %w", err)
	}
	fillPython(m, reports)
	m.Determinism.Pins = finishPins(pins, reports)

	c.step("hashing code and data")
	if err := c.classify(ctx, m, append(reports[:len(reports):len(reports)], partial...), g, tracked, before); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w while recording", ErrInterrupted)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("the captured manifest is not valid (a bug in repro, please report it): %w", err)
	}
	return m, nil
}

// childEnv is the experiment's environment: the starting one with the pins
// applied and the probe on PYTHONPATH.
func (c *capturer) childEnv(environ []string, ps pinSet, reportDir string) []string {
	m := envMap(environ)
	for k, v := range ps.env {
		m[k] = v
	}
	delete(m, "REPRO_SEED")
	delete(m, "REPRO_DETERMINISTIC")
	m["REPRO_PROBE_DIR"] = reportDir
	if pp := m["PYTHONPATH"]; pp != "" {
		m["PYTHONPATH"] = c.probe.site + string(os.PathListSeparator) + pp
	} else {
		m["PYTHONPATH"] = c.probe.site
	}
	if c.opts.Seed != nil {
		m["REPRO_SEED"] = strconv.FormatInt(*c.opts.Seed, 10)
	}
	if c.opts.Deterministic {
		m["REPRO_DETERMINISTIC"] = "1"
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// outputs finds and hashes the outputs of the run that just ended.
func (c *capturer) outputs(before snapshot, reports []ProbeReport, res *runResult) (runOutputs, error) {
	after, err := takeSnapshot(c.workdir)
	if err != nil {
		return runOutputs{}, err
	}
	set := map[string]bool{}
	for _, p := range changed(before, after) {
		set[p] = true
	}
	for _, r := range reports {
		for _, o := range r.Opened {
			if o.Write && underDir(filepath.Clean(o.Path), c.workdir) {
				if rel, err := filepath.Rel(c.workdir, filepath.Clean(o.Path)); err == nil {
					if _, ok := after[filepath.ToSlash(rel)]; ok {
						set[filepath.ToSlash(rel)] = true
					}
				}
			}
		}
	}
	for p := range after {
		for _, g := range c.opts.Outputs {
			if matchGlob(g, p) {
				set[p] = true
			}
		}
	}
	var paths []string
	for p := range set {
		if !c.excluded(p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	abs := make([]string, len(paths))
	for i, p := range paths {
		abs[i] = filepath.Join(c.workdir, filepath.FromSlash(p))
	}
	ro := runOutputs{outs: map[string]lockfmt.Output{
		lockfmt.StdoutPath: res.stdout, lockfmt.StderrPath: res.stderr,
	}}
	for i, r := range c.cache.Files(abs) {
		if r.Err != nil {
			if errors.Is(r.Err, os.ErrNotExist) {
				continue // removed since
			}
			return runOutputs{}, fmt.Errorf("hashing output %s: %w", paths[i], r.Err)
		}
		ro.outs[paths[i]] = lockfmt.Output{Path: paths[i], Digest: r.Digest, Size: r.Size}
	}
	return ro, nil
}

// excluded reports outputs never recorded: the manifest and its signature,
// repro's hash cache, and --exclude matches.
func (c *capturer) excluded(rel string) bool {
	abs := filepath.Join(c.workdir, filepath.FromSlash(rel))
	if abs == c.manifest || abs == c.manifest+".sig" || abs == filepath.Join(c.workdir, lockfmt.SignatureName) {
		return true
	}
	if hp := hashcache.DefaultPath(); hp != "" && underDir(abs, filepath.Dir(hp)) {
		return true
	}
	for _, g := range c.opts.Excludes {
		if matchGlob(g, rel) {
			return true
		}
	}
	return false
}

// toolInfo identifies this repro build; Created honours SOURCE_DATE_EPOCH.
func toolInfo(start time.Time, env map[string]string) lockfmt.Tool {
	t := lockfmt.Tool{Name: "repro", Version: "(devel)"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			t.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				t.Revision = s.Value
			}
		}
	}
	created := start.UTC()
	if s, ok := env["SOURCE_DATE_EPOCH"]; ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			created = time.Unix(n, 0).UTC()
		}
	}
	t.Created = created.Format(time.RFC3339)
	return t
}
