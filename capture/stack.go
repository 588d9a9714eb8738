package capture

import (
	"context"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/lockfmt"
)

// StackOptions tunes gatherStack.
type StackOptions struct {
	// WorkDir is the experiment's working directory (lock files are looked for there).
	WorkDir string
	// Hashes is the digest cache to use for every file hashed.
	Hashes *hashcache.Cache
}

// gatherStack fills the software-stack and hardware sections of m from the
// probe reports and the host: Python, Packages, LockFiles, Drift, Libraries,
// OS, CPU, GPUs, and the Files entries with roles system, interpreter and
// packages (interpreter and standard library, imported distributions,
// native libraries with their ELF closure, and other system files the run
// opened such as locale, zoneinfo and certificates).
//
// Owned by the capture-stack work; this stub records nothing yet.
func gatherStack(ctx context.Context, reports []ProbeReport, m *lockfmt.Manifest, opts StackOptions) error {
	return nil
}
