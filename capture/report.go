package capture

// ProbeReport is what the Python probe writes, one JSON file per Python
// process of the run. It is the contract between the probe (probe.py) and
// the Go side that turns reports into a manifest.
type ProbeReport struct {
	PID            int               `json:"pid"`
	PPID           int               `json:"ppid"`
	Argv           []string          `json:"argv"`
	Executable     string            `json:"executable"`      // sys.executable
	RealExecutable string            `json:"real_executable"` // os.path.realpath of it
	Version        string            `json:"version"`         // platform.python_version()
	Implementation string            `json:"implementation"`  // sys.implementation.name
	Prefix         string            `json:"prefix"`
	BasePrefix     string            `json:"base_prefix"`
	Path           []string          `json:"path"` // sys.path at exit
	Sysconfig      map[string]string `json:"sysconfig"`
	// Opened are the paths opened (audit event "open"), absolute, deduplicated.
	Opened []OpenedPath `json:"opened"`
	// Executed are the programs the process started (subprocess, os.exec*,
	// os.posix_spawn, os.spawn*, os.system), as named: absolute, or a bare
	// name looked up on PATH.
	Executed []string `json:"executed,omitempty"`
	// Modules are the imported modules with their files ("" for built-ins).
	Modules []ProbeModule `json:"modules"`
	// Mapped are the shared objects in /proc/self/maps at exit (absolute paths).
	Mapped []string `json:"mapped"`
	// Runtimes are the BLAS/OpenMP runtimes loaded, threadpoolctl-style.
	Runtimes []ProbeRuntime `json:"runtimes"`
	// SIMD is numpy's baseline plus dispatched CPU features, when numpy is loaded.
	SIMD []string `json:"simd"`
	// Pins are the seeds and determinism switches and whether each took effect.
	Pins  []ProbePin `json:"pins"`
	CUDA  string     `json:"cuda"`  // torch.version.cuda, when torch is loaded
	CuDNN string     `json:"cudnn"` // torch.backends.cudnn.version()
	// Partial marks a report rebuilt by repro from the paths a forked child
	// streamed before it was killed (it wrote no report): only PID and
	// Opened are set. The probe never writes this field.
	Partial bool `json:"partial,omitempty"`
}

// OpenedPath is one path the process opened and how.
type OpenedPath struct {
	Path  string `json:"path"`
	Write bool   `json:"write"` // opened for writing, appending or creating
}

// ProbeModule is one imported module.
type ProbeModule struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// ProbeRuntime is one native runtime as the probe saw it.
type ProbeRuntime struct {
	API      string `json:"api"` // "blas" or "openmp"
	Library  string `json:"library"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	CoreType string `json:"core_type"`
	Threads  int    `json:"threads"`
}

// ProbePin is one seed or switch the probe applied or observed.
type ProbePin struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Applied bool   `json:"applied"`
	Note    string `json:"note"`
}
