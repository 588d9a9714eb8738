package capture

import (
	"errors"
	"fmt"
	"io"

	"github.com/repro-ml/repro/internal/hashcache"
)

// DefaultHashSeed is the PYTHONHASHSEED repro pins when neither --hash-seed
// nor the environment gives one.
const DefaultHashSeed = "0"

// Options says what to run and how to capture it. Argv is the only required
// field; the zero value of every other field is a sensible default.
type Options struct {
	// Argv is the experiment's command line; Argv[0] is looked up in PATH.
	Argv []string
	// WorkDir is the directory the experiment runs in and where outputs are
	// looked for; "" means the current directory.
	WorkDir string
	// HashSeed is the PYTHONHASHSEED to pin when the environment has none;
	// "" means DefaultHashSeed. A PYTHONHASHSEED already in Environ is kept.
	HashSeed string
	// Seed, when non-nil, seeds random, numpy, torch and tensorflow as each
	// is imported (--seed).
	Seed *int64
	// Deterministic turns on the frameworks' deterministic modes and the
	// environment they need (--deterministic).
	Deterministic bool
	// Runs is how many times to run the experiment (--runs); outputs that
	// differ between runs are marked nondeterministic. 0 means 1.
	Runs int
	// Outputs are extra output globs (--output); Excludes remove outputs
	// (--exclude). Globs are matched against slash-separated paths relative
	// to WorkDir; "**" matches any number of directories and a pattern
	// without "/" matches a base name at any depth.
	Outputs  []string
	Excludes []string
	// Data are --data declarations: "PATH" (a file or directory, relative to
	// WorkDir or absolute) or "NAME=URI#sha256=HEX" (an external reference).
	Data []string
	// Env names extra environment variables to record (--env); secrets are
	// still scrubbed.
	Env []string
	// AllowFailure records a run that exited nonzero instead of failing.
	AllowFailure bool
	// ManifestPath is where the caller will write the manifest; it and its
	// signature are never outputs. "" means manifest.toml in WorkDir.
	ManifestPath string
	// Environ is the environment the experiment starts from; nil means
	// os.Environ().
	Environ []string
	// Stdin feeds the experiment; nil means no input (/dev/null).
	Stdin io.Reader
	// Stdout and Stderr receive the experiment's streams live; nil discards.
	Stdout io.Writer
	Stderr io.Writer
	// Progress, when set, receives status events (steps, hashing progress,
	// warnings). It may be called from several goroutines, never at once.
	Progress func(Event)
	// Hashes is the digest cache; nil opens hashcache.DefaultPath() and
	// saves it at the end.
	Hashes *hashcache.Cache
}

// Event is one progress report from Run.
type Event struct {
	// Kind is EventStep, EventHash or EventWarning.
	Kind string
	// Message describes the step or the warning.
	Message string
	// Done and Total count bytes for EventHash (Total 0 when unknown).
	Done, Total int64
}

// Event kinds.
const (
	EventStep    = "step"
	EventHash    = "hash"
	EventWarning = "warning"
)

// ErrInterrupted is returned (wrapped) when the run was interrupted by a
// signal or a cancelled context; no manifest is produced.
var ErrInterrupted = errors.New("experiment interrupted")

// ExitError reports an experiment that exited with a nonzero status (or was
// killed by a signal it did not get from repro) when AllowFailure is off.
type ExitError struct {
	// Code is the exit status, 128+N for a death by signal N.
	Code int
	// Run is which run failed, from 1, when Options.Runs > 1.
	Run int
}

func (e *ExitError) Error() string {
	if e.Run > 1 {
		return fmt.Sprintf("the experiment exited with status %d (run %d)", e.Code, e.Run)
	}
	return fmt.Sprintf("the experiment exited with status %d", e.Code)
}
