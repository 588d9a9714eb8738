package replay

import (
	"encoding/json"
	"fmt"

	"github.com/repro-ml/repro/internal/compare"
	"github.com/repro-ml/repro/lockfmt"
)

// Output statuses in a Report.
const (
	StatusIdentical        = "identical"
	StatusDifferent        = "different"
	StatusWithinTolerance  = "within tolerance"
	StatusMissing          = "missing"
	StatusNondeterministic = "nondeterministic" // differs, but marked so at capture
)

// Report is the outcome of one replay, for people (the CLI renders it) and
// for CI (--json, --report).
type Report struct {
	Manifest       string    `json:"manifest"`
	ManifestDigest string    `json:"manifest_digest"`
	Trust          Trust     `json:"trust"`
	Image          ImageUsed `json:"image"`
	Host           *HostCPU  `json:"host"`
	Warnings       []string  `json:"warnings,omitempty"`
	// PlanWarnings is how many of Warnings were known before the run
	// (those OnPlan saw); later ones come from the run itself.
	PlanWarnings int          `json:"-"`
	PinKernels   bool         `json:"pin_kernels"`
	Env          []EnvVar     `json:"env"`
	ExitCode     int          `json:"exit_code"`
	RecordedExit int          `json:"recorded_exit_code"`
	DurationMS   int64        `json:"duration_ms"`
	RecordedMS   int64        `json:"recorded_duration_ms"`
	Outputs      []OutputDiff `json:"outputs"`
	// Replayed is what the replay actually ran with, as the probe in the
	// image reported it (nil when the experiment did not run to the end).
	Replayed *ReplayedRuntime `json:"replayed_runtime,omitempty"`
	// RuntimeDiffs are the differences between the runtime the capture
	// recorded and the one the replay ran with (see RuntimeDifferences);
	// they come first among an output's likely causes.
	RuntimeDiffs []string `json:"runtime_differences,omitempty"`
	// Identical counts outputs bit-identical to the capture; Total all outputs.
	Identical int `json:"identical"`
	Total     int `json:"total"`
	// Failing counts outputs that make the replay DIFFERENT.
	Failing int    `json:"failing"`
	Verdict string `json:"verdict"`
}

// Trust records how the manifest's origin was checked.
type Trust struct {
	// Verified is true when the signature checked out.
	Verified bool `json:"verified"`
	// Method is "key", "allowed-signers" or "none".
	Method   string `json:"method"`
	Identity string `json:"identity,omitempty"`
	// Insecure is true when --insecure-unsigned let an unverified manifest through.
	Insecure bool   `json:"insecure"`
	Note     string `json:"note,omitempty"`
}

// ImageUsed says which image ran and where it came from.
type ImageUsed struct {
	Ref string `json:"ref"`
	// Source is "engine" (found by label), "given" (--image reference),
	// "layout", "tar" or "built".
	Source   string `json:"source"`
	Verified bool   `json:"verified"`
	Removed  bool   `json:"removed,omitempty"`
	// DataExternal is true when the image was built without its data,
	// which replay then mounts read-only from this host.
	DataExternal bool `json:"data_external,omitempty"`
}

// OutputDiff is the comparison of one output.
type OutputDiff struct {
	Path     string        `json:"path"`
	Status   string        `json:"status"`
	Recorded string        `json:"recorded_digest"`
	Replayed string        `json:"replayed_digest,omitempty"`
	Size     int64         `json:"size"`
	Diff     *compare.Diff `json:"diff,omitempty"`
	// NoDetail says why no typed diff is shown (recorded output not at hand).
	NoDetail string `json:"no_detail,omitempty"`
	// Causes are the likely causes of the difference, most likely first.
	Causes []string `json:"likely_causes,omitempty"`
}

// Status is the exit status of the replay: 0 bit-identical (or within
// tolerance / nondeterministic only), 1 different.
func (r *Report) Status() int {
	if r.Failing > 0 {
		return 1
	}
	return 0
}

func (r *Report) finish() {
	r.Identical, r.Failing, r.Total = 0, 0, len(r.Outputs)
	for _, o := range r.Outputs {
		switch o.Status {
		case StatusIdentical:
			r.Identical++
		case StatusDifferent, StatusMissing:
			r.Failing++
		}
	}
	switch {
	case r.Failing > 0:
		r.Verdict = fmt.Sprintf("DIFFERENT: %d of %d outputs", r.Failing, r.Total)
	case r.Identical == r.Total:
		r.Verdict = fmt.Sprintf("bit-identical: %d/%d outputs", r.Identical, r.Total)
	default:
		r.Verdict = fmt.Sprintf("reproduced: %d/%d outputs bit-identical, the others within tolerance or nondeterministic", r.Identical, r.Total)
	}
}

// JSON renders the report as indented JSON with a trailing newline.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteFile writes the report as JSON to path, atomically.
func (r *Report) WriteFile(path string) error {
	b, err := r.JSON()
	if err != nil {
		return err
	}
	return lockfmt.WriteFileAtomic(path, b, 0o644)
}
