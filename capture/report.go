package capture

import "github.com/repro-ml/repro/internal/probe"

// The probe's report types live in internal/probe, shared with replay;
// these aliases keep capture's names.
type (
	// ProbeReport is one Python process's report (see probe.Report).
	ProbeReport = probe.Report
	// OpenedPath is one path a process opened (see probe.OpenedPath).
	OpenedPath = probe.OpenedPath
	// ProbeModule is one imported module (see probe.Module).
	ProbeModule = probe.Module
	// ProbeRuntime is one native runtime (see probe.Runtime).
	ProbeRuntime = probe.Runtime
	// ProbePin is one seed or switch (see probe.Pin).
	ProbePin = probe.Pin
)
