package replay

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/repro-ml/repro/internal/compare"
	"github.com/repro-ml/repro/internal/safetar"
)

// Options says what to replay and how. Either ManifestPath or Manifest
// (exact bytes) is set.
type Options struct {
	// ManifestPath is a manifest.toml on disk; its signature is read from
	// ManifestPath+".sig" unless Signature is set.
	ManifestPath string
	// Manifest and Signature are the exact bytes of a manifest and its
	// armored signature (nil when unsigned), e.g. fetched from a registry.
	Manifest  []byte
	Signature []byte
	// Source names the manifest in the report ("manifest.toml" or a reference).
	Source string

	// Trust: PublicKeyFile (an OpenSSH public key), or AllowedSignersFile
	// with Identity. InsecureUnsigned replays an unsigned or badly signed
	// manifest anyway, and the report says so.
	PublicKeyFile      string
	AllowedSignersFile string
	Identity           string
	InsecureUnsigned   bool

	// Image is an image to use: an OCI layout directory or an image tar,
	// loaded into Docker, or a reference already in the engine. Empty: find
	// the image by label, else build it from the captured files.
	Image string
	// RemoveImage removes the image from the engine after the replay.
	RemoveImage bool

	// NoPinKernels lets the host choose BLAS and numpy kernels.
	NoPinKernels bool
	// Env overrides variables of the replay environment (NAME=VALUE).
	Env []EnvVar
	// Tolerance classifies numeric differences within it as acceptable.
	Tolerance compare.Tolerance

	Timeout  time.Duration
	NanoCPUs int64
	Memory   int64
	// GPUs is "all", "none", or "" (all when the manifest recorded GPUs).
	GPUs string

	// ReferenceDir holds the recorded outputs for detailed diffs (the
	// capture's working directory). Default: the manifest's directory, then
	// Run.WorkDir.
	ReferenceDir string
	// RecordedDir, when set, is one more place holding the recorded
	// outputs, looked in after the others: the outputs pulled with a
	// manifest from a registry (publish.OutputsDir).
	RecordedDir string
	// KeepDir, when set, receives the replayed outputs.
	KeepDir string

	// Stdout and Stderr receive the experiment's streams live (nil: not shown).
	Stdout, Stderr io.Writer
	// OnPlan, when set, is called once the replay's environment and
	// hardware warnings are known, before the image is looked up and run.
	OnPlan func(*Report)
	// Progress receives status lines ("verifying the image"); nil: silent.
	Progress func(msg string)
	// Host overrides the host CPU facts (tests); nil reads /proc/cpuinfo.
	Host *HostCPU
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// Failure kinds: a Replay error wraps one of these, so the CLI can say
// what to do. All of them mean "could not replay" (exit status 2).
var (
	// ErrUntrusted: the manifest is unsigned or its signature does not verify.
	ErrUntrusted = errors.New("manifest not trusted")
	// ErrImageMismatch: the image's contents differ from the manifest.
	ErrImageMismatch = errors.New("image does not match the manifest")
	// ErrNoImage: no image was found and none could be built.
	ErrNoImage = errors.New("no image for the manifest")
	// ErrDidNotStart: the experiment could not start in the container.
	ErrDidNotStart = errors.New("the experiment did not start")
	// ErrUnsafeArchive: the outputs copied out of the container tried to
	// write outside the output directory (a tar entry with "..", an
	// absolute path, a link leaving it, a device) or were too large.
	ErrUnsafeArchive = safetar.ErrUnsafe
)
