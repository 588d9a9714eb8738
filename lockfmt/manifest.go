package lockfmt

// SchemaVersion is the manifest schema this package reads and writes. Decode
// refuses any other value of the top-level "schema" key.
const SchemaVersion = 1

// FileName and SignatureName are the names repro gives a manifest and its
// detached SSH signature in the experiment's working directory.
const (
	FileName      = "manifest.toml"
	SignatureName = "manifest.toml.sig"
)

// Manifest is the complete record of one captured experiment: what ran, on
// what software and hardware, with which inputs, and what it produced.
//
// Sections appear in the encoded TOML in the order of the fields below. The
// Files list is the bill of materials of an image built from the manifest:
// every file such an image holds is a Files entry with its digest, apart from
// what repro build generates itself (its runtime files under /.repro, /tmp,
// and a minimal /etc/passwd and /etc/group), which replay checks separately. The other sections describe the same files by role
// (package, library, data, code) and their digests agree with Files.
type Manifest struct {
	Schema      int         `toml:"schema"`
	Tool        Tool        `toml:"tool"`
	Run         Run         `toml:"run"`
	Python      Python      `toml:"python"`
	OS          OS          `toml:"os"`
	CPU         CPU         `toml:"cpu"`
	GPUs        []GPU       `toml:"gpu,omitempty"`
	Determinism Determinism `toml:"determinism"`
	Code        Code        `toml:"code"`
	Data        []Data      `toml:"data,omitempty"`
	Outputs     []Output    `toml:"output,omitempty"`
	Packages    []Package   `toml:"package,omitempty"`
	LockFiles   []LockFile  `toml:"lockfile,omitempty"`
	Drift       []Drift     `toml:"drift,omitempty"`
	Libraries   []Library   `toml:"library,omitempty"`
	Files       []File      `toml:"file,omitempty"`
}

// Tool identifies the repro build that wrote the manifest and when.
type Tool struct {
	Name    string `toml:"name"`    // always "repro"
	Version string `toml:"version"` // module version, "(devel)" for a checkout build
	// Revision is the VCS revision of the repro build, when known.
	Revision string `toml:"revision,omitempty"`
	// Created is the capture's start time, RFC 3339 in UTC (or derived from
	// SOURCE_DATE_EPOCH when that is set).
	Created string `toml:"created"`
}

// Run is the experiment's command line and how it ended.
type Run struct {
	Argv       []string `toml:"argv"`
	WorkDir    string   `toml:"workdir"` // absolute
	ExitCode   int      `toml:"exit_code"`
	DurationMS int64    `toml:"duration_ms"`
	UID        int      `toml:"uid"`
	GID        int      `toml:"gid"`
	User       string   `toml:"user,omitempty"`
	// Runs is how many times the experiment ran at capture (--runs), 1 by default.
	Runs int `toml:"runs"`
	// Env is the environment a replay must set: the pins and the allowlisted
	// variables of the capture, secrets scrubbed. Keys sorted on encode.
	Env map[string]string `toml:"env"`
	// Scrubbed names variables that were present but left out because they
	// looked secret (names only, never values).
	Scrubbed []string `toml:"scrubbed,omitempty"`
}

// Python describes the interpreter(s) the run used, as the probe saw them.
type Python struct {
	Executable     string            `toml:"executable"`      // sys.executable as invoked
	RealExecutable string            `toml:"real_executable"` // symlinks resolved
	Version        string            `toml:"version"`         // e.g. "3.11.2"
	Implementation string            `toml:"implementation"`  // e.g. "cpython"
	Prefix         string            `toml:"prefix"`
	BasePrefix     string            `toml:"base_prefix"`
	Path           []string          `toml:"path"` // sys.path, in order
	Sysconfig      map[string]string `toml:"sysconfig,omitempty"`
	// Modules is the number of modules imported across all Python processes.
	Modules int `toml:"modules"`
	// Processes is the number of Python processes the probe reported.
	Processes int `toml:"processes"`
	// Runtimes are the BLAS/OpenMP runtimes loaded (threadpoolctl-style).
	Runtimes []Runtime `toml:"runtime,omitempty"`
	// SIMD lists numpy's dispatched CPU features (baseline and dispatched), when numpy was loaded.
	SIMD []string `toml:"simd,omitempty"`
	// CUDA and CuDNN are the versions torch reported, when torch was loaded.
	CUDA  string `toml:"cuda,omitempty"`
	CuDNN string `toml:"cudnn,omitempty"`
}

// Runtime is one native threading or BLAS runtime loaded by the run.
type Runtime struct {
	API      string `toml:"api"`     // "blas" or "openmp"
	Library  string `toml:"library"` // absolute path of the shared object
	Name     string `toml:"name"`    // "openblas", "mkl", "blis", "libgomp", ...
	Version  string `toml:"version,omitempty"`
	CoreType string `toml:"core_type,omitempty"` // e.g. OpenBLAS "Haswell"
	Threads  int    `toml:"threads"`
}

// OS is the operating system and C library.
type OS struct {
	ID        string `toml:"id"`                   // os-release ID, e.g. "debian"
	VersionID string `toml:"version_id,omitempty"` // e.g. "12"
	Pretty    string `toml:"pretty,omitempty"`     // PRETTY_NAME
	Kernel    string `toml:"kernel"`               // uname -r
	Libc      string `toml:"libc"`                 // "glibc" or "musl"
	LibcVer   string `toml:"libc_version,omitempty"`
	Arch      string `toml:"arch"` // GOARCH spelling: "amd64", "arm64"
}

// CPU is the processor the capture ran on.
type CPU struct {
	Arch     string   `toml:"arch"` // "x86_64", "aarch64"
	Vendor   string   `toml:"vendor,omitempty"`
	Model    string   `toml:"model,omitempty"` // model name
	Family   string   `toml:"family,omitempty"`
	ModelID  string   `toml:"model_id,omitempty"`
	Stepping string   `toml:"stepping,omitempty"`
	Cores    int      `toml:"cores"`           // logical CPUs
	Level    string   `toml:"level,omitempty"` // x86-64 level "x86-64-v3"
	Flags    []string `toml:"flags"`           // sorted
}

// GPU is one accelerator seen at capture.
type GPU struct {
	Vendor            string `toml:"vendor"` // "nvidia"
	Name              string `toml:"name"`
	UUID              string `toml:"uuid,omitempty"`
	Driver            string `toml:"driver,omitempty"`
	ComputeCapability string `toml:"compute_capability,omitempty"`
	MemoryMiB         int64  `toml:"memory_mib,omitempty"`
}

// Determinism records the seeds and switches a replay applies, and whether
// each took effect in the captured run.
type Determinism struct {
	HashSeed      string `toml:"hash_seed"`        // PYTHONHASHSEED value in effect
	HashSeedSetBy string `toml:"hash_seed_set_by"` // "user" or "repro"
	// Seed is the --seed value, or -1 when none was asked for.
	Seed          int64 `toml:"seed"`
	Deterministic bool  `toml:"deterministic"` // --deterministic given
	// Threads maps thread-count variables (OMP_NUM_THREADS, ...) to the pinned value.
	Threads map[string]string `toml:"threads,omitempty"`
	// Pins are the individual switches and whether each took effect.
	Pins []Pin `toml:"pin,omitempty"`
}

// Pin is one seed or determinism switch.
type Pin struct {
	Name    string `toml:"name"`  // e.g. "numpy.random.seed", "torch.use_deterministic_algorithms"
	Value   string `toml:"value"` // the value applied
	Applied bool   `toml:"applied"`
	// Note says why a pin did not take effect ("numpy not imported").
	Note string `toml:"note,omitempty"`
}

// Code is the experiment's source state.
type Code struct {
	Git *Git `toml:"git,omitempty"`
	// Files are the source files the run read under the working directory
	// (also listed in the manifest's Files).
	Files []string `toml:"files,omitempty"`
	// Digest is the tree digest (see TreeDigest) of the source files read.
	Digest string `toml:"digest,omitempty"`
}

// Git is the repository state of the working directory.
type Git struct {
	Commit     string `toml:"commit"`
	Branch     string `toml:"branch,omitempty"`
	Remote     string `toml:"remote,omitempty"` // credentials removed
	Dirty      bool   `toml:"dirty"`
	DiffDigest string `toml:"diff_digest,omitempty"` // sha256 of `git diff HEAD` when dirty
}

// Data is one data input: a local file or directory, or an external reference.
type Data struct {
	Name   string `toml:"name,omitempty"`
	Path   string `toml:"path,omitempty"` // absolute, for local data
	URI    string `toml:"uri,omitempty"`  // s3://, gs://, https://, for external references
	Kind   string `toml:"kind"`           // "file", "dir", "uri", "dvc", "git-lfs"
	Digest string `toml:"digest"`
	Size   int64  `toml:"size"`
	// Files is the number of files for a directory.
	Files int `toml:"files,omitempty"`
	// Source says how it was found: "opened", "declared", "dvc", "git-lfs".
	Source string `toml:"source"`
}

// Output is one result of the run. Stdout and stderr are outputs with the
// paths "<stdout>" and "<stderr>".
type Output struct {
	Path   string `toml:"path"` // relative to Run.WorkDir, or "<stdout>"/"<stderr>"
	Digest string `toml:"digest"`
	Size   int64  `toml:"size"`
	// Nondeterministic marks outputs that differed between capture runs;
	// replay reports them but does not require bit-identity.
	Nondeterministic bool   `toml:"nondeterministic,omitempty"`
	Reason           string `toml:"reason,omitempty"`
}

// Stream output paths.
const (
	StdoutPath = "<stdout>"
	StderrPath = "<stderr>"
)

// Package is one installed Python distribution.
type Package struct {
	Name      string `toml:"name"` // PEP 503 normalised
	Version   string `toml:"version"`
	Installer string `toml:"installer,omitempty"` // INSTALLER: "pip", "uv", "debian", "conda"
	// Source is where it came from: "index", "url:<url>", "vcs:git+<url>@<commit>",
	// "editable:<path>", "local:<path>", "os:<dpkg package>", "conda:<channel>".
	Source string `toml:"source,omitempty"`
	// Location is the absolute path of its .dist-info (or conda-meta json).
	Location string `toml:"location"`
	// Digest is the tree digest (TreeDigest) of the distribution's files on disk.
	Digest string `toml:"digest"`
	Files  int    `toml:"files"`
	// Imported is true when the run imported a module of this distribution.
	Imported bool `toml:"imported"`
	// Modified lists files whose content differs from RECORD (patched installs).
	Modified []string `toml:"modified,omitempty"`
	// Build is the conda build string ("py311h64a7726_0"), conda packages only.
	Build string `toml:"build,omitempty"`
	// MD5 is the md5 of the conda package archive as conda-meta records it,
	// conda packages only.
	MD5 string `toml:"md5,omitempty"`
}

// LockFile is one lock or requirements file found in the project.
type LockFile struct {
	Path     string `toml:"path"`   // relative to Run.WorkDir
	Format   string `toml:"format"` // "requirements", "pip-freeze", "pipfile-lock", "poetry", "uv", "pylock", ...
	Digest   string `toml:"digest"`
	Packages int    `toml:"packages"`
}

// Drift is one disagreement between a lock file and the installed environment.
type Drift struct {
	LockFile  string `toml:"lockfile"`
	Package   string `toml:"package"`
	Locked    string `toml:"locked"`    // version the lock pins ("" = listed without version)
	Installed string `toml:"installed"` // "" = not installed
	Message   string `toml:"message"`   // "poetry.lock pins numpy 1.26.4; installed 1.24.2"
}

// Library is one native shared object: loaded by the run or in the ELF
// closure of one that was.
type Library struct {
	Path   string `toml:"path"` // absolute, as loaded (symlinks in Files)
	Soname string `toml:"soname,omitempty"`
	Digest string `toml:"digest"`
	// Package is the owning OS package and its version
	// ("libopenblas0-pthread:amd64 0.3.21+ds-4") or "unowned".
	Package string `toml:"package"`
	// Loaded is true when the run mapped it, false when only in the closure.
	Loaded bool `toml:"loaded"`
}

// File is one entry of the image's bill of materials.
type File struct {
	Path string `toml:"path"` // absolute
	// Type is "file", "dir" or "symlink".
	Type string `toml:"type"`
	// Mode is the permission bits, octal string "0755".
	Mode   string `toml:"mode"`
	Size   int64  `toml:"size,omitempty"`
	Digest string `toml:"digest,omitempty"` // files only
	Target string `toml:"target,omitempty"` // symlinks only, verbatim
	// Role groups files into image layers: "system", "interpreter",
	// "packages", "data", "code".
	Role string `toml:"role"`
}

// File types.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
)

// File roles, in layer order from slowest- to fastest-changing.
const (
	RoleSystem      = "system"
	RoleInterpreter = "interpreter"
	RolePackages    = "packages"
	RoleData        = "data"
	RoleCode        = "code"
)

// Roles lists the file roles in layer order.
var Roles = []string{RoleSystem, RoleInterpreter, RolePackages, RoleData, RoleCode}
