package replay

import (
	"strconv"

	"github.com/repro-ml/repro/internal/probe"
	"github.com/repro-ml/repro/lockfmt"
)

// ProbeDirInImage holds repro's Python probe in every image; it is first on
// the image's PYTHONPATH so that a replay runs under the same probe as the
// capture: the same seeds (--seed) and determinism switches
// (--deterministic), applied the same way, and the same reports.
const ProbeDirInImage = "/.repro/probe"

// ReportDirInImage is where the probe writes its reports during a replay.
const ReportDirInImage = "/tmp/.repro-probe"

// SourceRuntime marks environment variables that run repro's probe.
const SourceRuntime = "repro-runtime"

// probeEnv returns the variables that run the probe in the image: PYTHONPATH
// with the probe first (then the recorded PYTHONPATH), the report
// directory, and the recorded seed and determinism switches.
func probeEnv(m *lockfmt.Manifest) map[string]string {
	pp := ProbeDirInImage
	if rec := m.Run.Env["PYTHONPATH"]; rec != "" {
		pp += ":" + rec
	}
	env := map[string]string{
		"PYTHONPATH": pp,
		probe.EnvDir: ReportDirInImage,
	}
	if m.Determinism.Seed >= 0 {
		env[probe.EnvSeed] = strconv.FormatInt(m.Determinism.Seed, 10)
	}
	if m.Determinism.Deterministic {
		env[probe.EnvDeterministic] = "1"
	}
	return env
}
