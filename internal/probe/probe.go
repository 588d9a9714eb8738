// Package probe holds repro's Python probe, the sitecustomize.py that
// capture runs the experiment under and that replay puts in the image, so
// that a replay runs under exactly the conditions of the capture: the same
// seeds and determinism switches applied the same way.
//
// The probe reads its settings from the environment: REPRO_PROBE_DIR (the
// directory for its reports, created if missing; without it the probe does
// nothing), REPRO_SEED and REPRO_DETERMINISTIC. See the file's header.
package probe

import _ "embed"

// Source is the probe, to be installed as sitecustomize.py in a directory
// placed first on PYTHONPATH.
//
//go:embed sitecustomize.py
var Source []byte

// Environment variables the probe reads.
const (
	EnvDir           = "REPRO_PROBE_DIR"
	EnvSeed          = "REPRO_SEED"
	EnvDeterministic = "REPRO_DETERMINISTIC"
)
