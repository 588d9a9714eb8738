package replay

import (
	"strconv"
	"strings"

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
// directory, and the recorded seed and determinism switches; and PATH
// without version-manager shims (see withoutShims).
func probeEnv(m *lockfmt.Manifest) map[string]string {
	pp := ProbeDirInImage
	if rec := m.Run.Env["PYTHONPATH"]; rec != "" {
		pp += ":" + rec
	}
	env := map[string]string{
		"PYTHONPATH": pp,
		probe.EnvDir: ReportDirInImage,
	}
	if path, ok := m.Run.Env["PATH"]; ok {
		if fixed := withoutShims(path, m.Python.Executable); fixed != path {
			env["PATH"] = fixed
		}
	}
	if m.Determinism.Seed >= 0 {
		env[probe.EnvSeed] = strconv.FormatInt(m.Determinism.Seed, 10)
	}
	if m.Determinism.Deterministic {
		env[probe.EnvDeterministic] = "1"
	}
	return env
}

// withoutShims replaces version-manager shim directories on PATH (pyenv's
// ~/.pyenv/shims, asdf's ~/.asdf/shims) by the directory of the interpreter
// the capture saw run. A shim is a shell script that asks the version
// manager which interpreter to start; the image holds that interpreter, not
// the manager, so "python3" must find it directly, as the shim did.
func withoutShims(path, interpreter string) string {
	if !strings.HasPrefix(interpreter, "/") {
		return path
	}
	dir := interpreter[:strings.LastIndexByte(interpreter, '/')]
	if dir == "" {
		return path
	}
	parts := strings.Split(path, ":")
	out := parts[:0]
	seen := false
	for _, p := range parts {
		if strings.HasSuffix(p, "/.pyenv/shims") || strings.HasSuffix(p, "/.asdf/shims") {
			p = dir
		}
		if p == dir {
			if seen {
				continue
			}
			seen = true
		}
		out = append(out, p)
	}
	return strings.Join(out, ":")
}
