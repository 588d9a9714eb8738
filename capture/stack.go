package capture

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/repro-ml/repro/internal/dpkg"
	"github.com/repro-ml/repro/internal/elfdeps"
	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/internal/pydist"
	"github.com/repro-ml/repro/internal/sysinfo"
	"github.com/repro-ml/repro/lockfmt"
)

// StackOptions tunes gatherStack.
type StackOptions struct {
	// WorkDir is the experiment's working directory (lock files are looked for there).
	WorkDir string
	// Executables are programs the run executed besides the Python
	// interpreters (see executables): each is recorded with its ELF closure.
	Executables []string
	// Hashes is the digest cache to use for every file hashed.
	Hashes *hashcache.Cache
	// Warn, when set, receives problems that do not stop the capture (an
	// unreadable lock file, nvidia-smi failing).
	Warn func(format string, args ...any)
	// GPUTimeout bounds the nvidia-smi query; 0 means 10 seconds.
	GPUTimeout time.Duration
}

// gatherStack fills the software-stack and hardware sections of m from the
// probe reports and the host: Python, Packages, LockFiles, Drift, Libraries,
// OS, CPU, GPUs, and the Files entries with roles system, interpreter and
// packages (interpreter and standard library, imported distributions,
// native libraries with their ELF closure, and other system files the run
// opened such as locale, zoneinfo and certificates).
//
// The first report is the main process. Files are described at their real
// location; every symlink met on the way (/lib -> usr/lib, Debian
// alternatives, python3 -> python3.11) is a symlink entry, so an image built
// from Files resolves the same names to the same bytes.
func gatherStack(ctx context.Context, reports []ProbeReport, m *lockfmt.Manifest, opts StackOptions) error {
	if opts.Hashes == nil {
		opts.Hashes = hashcache.New()
	}
	if opts.Warn == nil {
		opts.Warn = func(string, ...any) {}
	}
	if opts.GPUTimeout == 0 {
		opts.GPUTimeout = 10 * time.Second
	}
	var warnMu sync.Mutex // the steps below warn from three goroutines
	warn := opts.Warn
	opts.Warn = func(format string, args ...any) {
		warnMu.Lock()
		defer warnMu.Unlock()
		warn(format, args...)
	}
	gpuDone := make(chan struct{})
	go func() {
		defer close(gpuDone)
		gpus, err := sysinfo.QueryGPUs(ctx, opts.GPUTimeout)
		if err != nil {
			opts.Warn("GPUs not recorded: %v", err)
		}
		for _, g := range gpus {
			m.GPUs = append(m.GPUs, lockfmt.GPU{Vendor: "nvidia", Name: g.Name, UUID: g.UUID,
				Driver: g.Driver, ComputeCapability: g.ComputeCapability, MemoryMiB: g.MemoryMiB})
		}
	}()
	defer func() { <-gpuDone }()

	s := &stackState{opts: opts, m: m, reports: reports, files: map[string]string{}, interp: map[string]bool{}}
	if db, err := dpkg.Open("/"); err == nil {
		s.dpkg = db
	}
	s.python()
	// The ELF closure does not depend on the packages: walk it meanwhile.
	libFiles := map[string]string{}
	libsDone := make(chan struct{})
	go func() {
		defer close(libsDone)
		s.libraries(libFiles)
	}()
	err := s.packages()
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = s.lockFiles()
	}
	<-libsDone
	if err != nil {
		return err
	}
	for p, role := range libFiles {
		s.files[p] = role
	}
	s.system()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.interpreterFiles(); err != nil {
		return err
	}
	s.openedFiles()
	return s.writeFiles()
}

// stackState carries what the steps of gatherStack share.
type stackState struct {
	opts    StackOptions
	m       *lockfmt.Manifest
	reports []ProbeReport
	dpkg    *dpkg.DB // nil when the host has no dpkg database

	siteDirs []string        // site-packages/dist-packages on sys.path, in order
	stdlib   []string        // standard library directories
	pyRoots  []string        // interpreter prefixes other than system ones
	interp   map[string]bool // interpreter executables and the symlinks leading to them
	libcPath string          // real path of the C library, from the closure
	// installed maps normalised distribution names to the version first on sys.path.
	installed map[string]string
	// known is what hashing the distributions learned about their files.
	known map[string]pydist.FileHash

	files map[string]string // absolute path -> role, to become Files entries
}

// python fills the Python section and works out the directory roles.
func (s *stackState) python() {
	if len(s.reports) == 0 {
		return
	}
	r := s.reports[0]
	py := &s.m.Python
	py.Executable, py.RealExecutable, py.Version = r.Executable, r.RealExecutable, r.Version
	py.Implementation, py.Prefix, py.BasePrefix = r.Implementation, r.Prefix, r.BasePrefix
	py.Path, py.Sysconfig = r.Path, r.Sysconfig
	py.Processes = len(s.reports)
	names := map[string]bool{}
	rts := map[string]bool{}
	for _, rep := range s.reports {
		for _, mod := range rep.Modules {
			names[mod.Name] = true
		}
		for _, rt := range rep.Runtimes {
			k := rt.API + "\x00" + rt.Library
			if rts[k] {
				continue
			}
			rts[k] = true
			py.Runtimes = append(py.Runtimes, lockfmt.Runtime{API: rt.API, Library: rt.Library, Name: rt.Name,
				Version: rt.Version, CoreType: rt.CoreType, Threads: rt.Threads})
		}
		if py.SIMD == nil && len(rep.SIMD) > 0 {
			py.SIMD = append([]string(nil), rep.SIMD...)
		}
		py.CUDA = cmpOr(py.CUDA, rep.CUDA)
		py.CuDNN = cmpOr(py.CuDNN, rep.CuDNN)
	}
	py.Modules = len(names)

	seen := map[string]bool{}
	addSite := func(d string) {
		d = filepath.Clean(d)
		b := filepath.Base(d)
		if filepath.IsAbs(d) && (b == "site-packages" || b == "dist-packages") && !seen[d] {
			seen[d] = true
			s.siteDirs = append(s.siteDirs, d)
		}
	}
	for _, rep := range s.reports {
		for _, p := range rep.Path {
			addSite(p)
		}
		addSite(rep.Sysconfig["path.purelib"])
		addSite(rep.Sysconfig["path.platlib"])
		for _, k := range []string{"path.stdlib", "path.platstdlib"} {
			if d := rep.Sysconfig[k]; filepath.IsAbs(d) {
				s.stdlib = stkAppendNew(s.stdlib, filepath.Clean(d))
			}
		}
		for _, p := range rep.Path { // fallback without sysconfig: .../lib/pythonX.Y
			if b := filepath.Base(p); strings.HasPrefix(b, "python3") && filepath.Base(filepath.Dir(p)) == "lib" && !strings.HasSuffix(b, ".zip") {
				s.stdlib = stkAppendNew(s.stdlib, filepath.Clean(p))
			}
		}
		for _, exe := range []string{rep.Executable, rep.RealExecutable} {
			if !filepath.IsAbs(exe) {
				continue
			}
			s.interp[filepath.Clean(exe)] = true
			links, real, _ := elfdeps.Chain(exe)
			for _, l := range links {
				s.interp[l.Path] = true
			}
			if real != "" {
				s.interp[real] = true
			}
		}
		for _, pre := range []string{rep.Prefix, rep.BasePrefix} {
			if filepath.IsAbs(pre) && !stkSystemPrefix(filepath.Clean(pre)) {
				s.pyRoots = stkAppendNew(s.pyRoots, filepath.Clean(pre))
			}
		}
	}
}

// stkSystemPrefix reports whether an interpreter prefix is a shared system
// tree (whose files are not all the interpreter's).
func stkSystemPrefix(p string) bool {
	return p == "/" || p == "/usr" || p == "/usr/local"
}

// system fills the OS and CPU sections.
func (s *stackState) system() {
	osr, err := sysinfo.OSRelease("/")
	if err != nil {
		s.opts.Warn("OS release not recorded: %v", err)
	}
	s.m.OS = lockfmt.OS{ID: cmpOr(osr["ID"], "linux"), VersionID: osr["VERSION_ID"], Pretty: osr["PRETTY_NAME"],
		Kernel: sysinfo.KernelRelease(), Arch: runtime.GOARCH}
	libc := s.libcPath
	if libc == "" {
		libc = stkFindLibc()
	}
	if libc != "" {
		name, ver, err := sysinfo.Libc(libc)
		if err != nil {
			s.opts.Warn("C library version not recorded: %v", err)
		}
		s.m.OS.Libc, s.m.OS.LibcVer = name, ver
	}
	if s.m.OS.Libc == "" {
		s.m.OS.Libc = "unknown"
	}
	cpu, err := sysinfo.HostCPU(stkMachine())
	if err != nil {
		s.opts.Warn("CPU not fully recorded: %v", err)
	}
	s.m.CPU = lockfmt.CPU{Arch: cpu.Arch, Vendor: cpu.Vendor, Model: cpu.Model, Family: cpu.Family,
		ModelID: cpu.ModelID, Stepping: cpu.Stepping, Cores: cpu.Cores, Level: cpu.Level, Flags: cpu.Flags}
	if s.m.CPU.Flags == nil {
		s.m.CPU.Flags = []string{}
	}
}

func stkMachine() string {
	return map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686"}[runtime.GOARCH]
}

func stkAppendNew(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// stkUnder reports whether p is dir or inside it.
func stkUnder(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func stkMode(m os.FileMode) string { return fmt.Sprintf("%04o", m.Perm()) }
