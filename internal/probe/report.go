package probe

// Report is what the Python probe writes, one JSON file per Python
// process, at capture and during a replay. It is the contract between the
// probe (sitecustomize.py) and the Go side: capture turns reports into a
// manifest, replay into what the replay actually ran with.
type Report struct {
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
	Modules []Module `json:"modules"`
	// Mapped are the shared objects in /proc/self/maps at exit (absolute paths).
	Mapped []string `json:"mapped"`
	// Runtimes are the BLAS/OpenMP runtimes loaded, threadpoolctl-style.
	Runtimes []Runtime `json:"runtimes"`
	// SIMD is numpy's baseline plus dispatched CPU features, when numpy is loaded.
	SIMD []string `json:"simd"`
	// Pins are the seeds and determinism switches and whether each took effect.
	Pins  []Pin  `json:"pins"`
	CUDA  string `json:"cuda"`  // torch.version.cuda, when torch is loaded
	CuDNN string `json:"cudnn"` // torch.backends.cudnn.version()
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

// Module is one imported module.
type Module struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// Runtime is one native runtime as the probe saw it.
type Runtime struct {
	API      string `json:"api"` // "blas" or "openmp"
	Library  string `json:"library"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	CoreType string `json:"core_type"`
	Threads  int    `json:"threads"`
}

// Pin is one seed or switch the probe applied or observed.
type Pin struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Applied bool   `json:"applied"`
	Note    string `json:"note"`
}
