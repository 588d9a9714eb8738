package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/repro-ml/repro/lockfmt"
)

func inspectCmd() *command {
	var asJSON bool
	var image string
	return &command{
		name:    "inspect",
		summary: "summarise a manifest (or an image built from one)",
		usage: `Usage: repro inspect [--json] [--image REF] [manifest.toml]

Prints a readable summary of a manifest (default ./manifest.toml): the run,
Python, OS and C library, CPU and GPUs, determinism pins, code, data
inputs, outputs, packages, lock files and drift, native libraries and the
files of the bill of materials by role. The manifest is decoded strictly;
its signature is not checked (use repro verify).

--json prints the whole manifest as one JSON document with the TOML key
names. --image REF describes an image's layers instead (or as well, when a
manifest is named too).

Examples:
  repro inspect manifest.toml
  repro inspect --json manifest.toml | jq '.package[] | select(.imported)'
`,
		setFlags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print the manifest as JSON")
			fs.StringVar(&image, "image", "", "describe this image (Docker image, OCI layout or tar)")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			if fs.NArg() > 1 {
				return usagef("inspect takes one manifest, got %d arguments", fs.NArg())
			}
			if image != "" && fs.NArg() == 0 {
				return inspectImage(ctx, a, image, asJSON)
			}
			p := lockfmt.FileName
			if fs.NArg() == 1 {
				p = fs.Arg(0)
			}
			m, _, err := lockfmt.ReadFile(p)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if asJSON {
				b, err := lockfmt.EncodeJSON(m)
				if err != nil {
					return err
				}
				if err := a.writeJSON(json.RawMessage(b)); err != nil {
					return err
				}
			} else {
				a.printf("%s", inspSummarize(p, m))
			}
			if image != "" {
				return inspectImage(ctx, a, image, asJSON)
			}
			return nil
		},
	}
}

// summarize renders the human summary of m.
func inspSummarize(p string, m *lockfmt.Manifest) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	line := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	section := func(name string) { w.Flush(); fmt.Fprintf(&b, "\n%s\n", name) }

	fmt.Fprintf(&b, "Manifest %s (schema %d, written by %s %s", p, m.Schema, m.Tool.Name, m.Tool.Version)
	if m.Tool.Revision != "" {
		fmt.Fprintf(&b, " rev %s", inspShort(m.Tool.Revision, 12))
	}
	fmt.Fprintf(&b, ", %s)\n", m.Tool.Created)

	section("Run")
	line("  argv\t%s", inspShellJoin(m.Run.Argv))
	line("  workdir\t%s", m.Run.WorkDir)
	line("  exit\t%d", m.Run.ExitCode)
	line("  duration\t%s (captured %d run(s))", time.Duration(m.Run.DurationMS)*time.Millisecond, m.Run.Runs)
	line("  user\t%s (uid %d, gid %d)", orDash(m.Run.User), m.Run.UID, m.Run.GID)
	line("  env\t%d variable(s) set for replay", len(m.Run.Env))
	if len(m.Run.Scrubbed) > 0 {
		line("  scrubbed\t%s (secret-looking, values not recorded)", strings.Join(m.Run.Scrubbed, ", "))
	}

	section("Python")
	py := m.Python
	line("  version\t%s %s", orDash(py.Implementation), orDash(py.Version))
	line("  executable\t%s (%s)", orDash(py.Executable), orDash(py.RealExecutable))
	line("  prefix\t%s (base %s)", orDash(py.Prefix), orDash(py.BasePrefix))
	line("  imported\t%d module(s) in %d process(es)", py.Modules, py.Processes)
	for _, r := range py.Runtimes {
		desc := strings.Join(strings.Fields(r.Name+" "+r.Version+" "+r.CoreType), " ")
		line("  %s\t%s, %d thread(s) (%s)", r.API, desc, r.Threads, r.Library)
	}
	if len(py.SIMD) > 0 {
		line("  numpy SIMD\t%s", strings.Join(py.SIMD, " "))
	}
	if py.CUDA != "" || py.CuDNN != "" {
		line("  CUDA\t%s, cuDNN %s", orDash(py.CUDA), orDash(py.CuDNN))
	}

	section("System")
	os := m.OS
	line("  OS\t%s (%s %s), kernel %s, %s", orDash(os.Pretty), os.ID, os.VersionID, os.Kernel, os.Arch)
	line("  libc\t%s %s", orDash(os.Libc), os.LibcVer)
	cpu := m.CPU
	line("  CPU\t%s, %s, %d logical CPU(s)", orDash(cpu.Model), cpu.Arch, cpu.Cores)
	line("  CPU level\t%s; notable flags: %s", orDash(cpu.Level), orDash(strings.Join(inspNotableFlags(cpu.Flags), " ")))
	if len(m.GPUs) == 0 {
		line("  GPUs\tnone")
	}
	for i, g := range m.GPUs {
		line("  GPU %d\t%s %s, driver %s, compute %s, %d MiB", i, g.Vendor, g.Name, orDash(g.Driver), orDash(g.ComputeCapability), g.MemoryMiB)
	}

	section("Determinism")
	d := m.Determinism
	line("  PYTHONHASHSEED\t%s (set by %s)", d.HashSeed, orDash(d.HashSeedSetBy))
	seed := "none"
	if d.Seed >= 0 {
		seed = fmt.Sprint(d.Seed)
	}
	line("  seed\t%s; deterministic mode %s", seed, inspOnOff(d.Deterministic))
	for _, k := range inspSortedMapKeys(d.Threads) {
		line("  %s\t%s", k, d.Threads[k])
	}
	for _, pin := range d.Pins {
		state := "applied"
		if !pin.Applied {
			state = "NOT applied"
			if pin.Note != "" {
				state += ": " + pin.Note
			}
		}
		line("  %s = %s\t%s", pin.Name, pin.Value, state)
	}

	section("Code")
	if g := m.Code.Git; g != nil {
		dirty := "clean"
		if g.Dirty {
			dirty = "DIRTY (diff " + shortDigest(g.DiffDigest) + ")"
		}
		line("  git\t%s on %s, %s", inspShort(g.Commit, 12), orDash(g.Branch), dirty)
		if g.Remote != "" {
			line("  remote\t%s", g.Remote)
		}
	} else {
		line("  git\tnone")
	}
	line("  sources\t%d file(s) read, tree %s", len(m.Code.Files), shortDigest(m.Code.Digest))

	section(fmt.Sprintf("Data (%d)", len(m.Data)))
	for _, x := range m.Data {
		line("  %s\t%s\t%s\t%s\t%s", orDash(x.Name), inspCmpOr(x.Path, x.URI), x.Kind, humanSize(x.Size), shortDigest(x.Digest))
	}

	section(fmt.Sprintf("Outputs (%d)", len(m.Outputs)))
	for _, o := range m.Outputs {
		flag := ""
		if o.Nondeterministic {
			flag = "NONDETERMINISTIC"
			if o.Reason != "" {
				flag += ": " + o.Reason
			}
		}
		line("  %s\t%s\t%s\t%s", o.Path, humanSize(o.Size), shortDigest(o.Digest), flag)
	}

	imported := 0
	for _, p := range m.Packages {
		if p.Imported {
			imported++
		}
	}
	section(fmt.Sprintf("Packages (%d, %d imported)", len(m.Packages), imported))
	if len(m.Packages) > 0 {
		line("  NAME\tVERSION\tINSTALLER\tIMPORTED\t")
	}
	for _, p := range m.Packages {
		mod := ""
		if len(p.Modified) > 0 {
			mod = fmt.Sprintf("MODIFIED (%d file(s): %s)", len(p.Modified), strings.Join(p.Modified, ", "))
		}
		line("  %s\t%s\t%s\t%s\t%s", p.Name, p.Version, orDash(p.Installer), inspYesNo(p.Imported), mod)
	}

	section(fmt.Sprintf("Lock files (%d)", len(m.LockFiles)))
	for _, l := range m.LockFiles {
		line("  %s\t%s, %d package(s)\t%s", l.Path, l.Format, l.Packages, shortDigest(l.Digest))
	}
	for _, dr := range m.Drift {
		line("  drift\t%s", dr.Message)
	}

	loaded := 0
	for _, l := range m.Libraries {
		if l.Loaded {
			loaded++
		}
	}
	section(fmt.Sprintf("Libraries (%d, %d loaded by the run)", len(m.Libraries), loaded))
	for _, l := range m.Libraries {
		if kind := inspNotableLibrary(l); kind != "" {
			how := "loaded"
			if !l.Loaded {
				how = "closure"
			}
			line("  %s\t%s\t%s\t%s\t%s", kind, l.Path, l.Package, how, shortDigest(l.Digest))
		}
	}

	section(fmt.Sprintf("Files (%d)", len(m.Files)))
	var total int64
	for _, role := range lockfmt.Roles {
		n, size := 0, int64(0)
		for _, f := range m.Files {
			if f.Role == role {
				n++
				size += f.Size
			}
		}
		total += size
		line("  %s\t%d\t%s", role, n, humanSize(size))
	}
	line("  total\t%d\t%s", len(m.Files), humanSize(total))
	w.Flush()
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// notableFlags are the CPU features that change numerical kernels.
func inspNotableFlags(flags []string) []string {
	var out []string
	for _, f := range []string{"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "asimd", "sve"} {
		if slices.Contains(flags, f) {
			out = append(out, f)
		}
	}
	return out
}

// notableLibrary classifies the libraries that decide numerical results.
func inspNotableLibrary(l lockfmt.Library) string {
	name := l.Soname
	if name == "" {
		name = path.Base(l.Path)
	}
	for _, c := range []struct{ prefix, kind string }{
		{"libc.so", "libc"}, {"libm.so", "libm"}, {"ld-linux", "loader"},
		{"libopenblas", "BLAS"}, {"libblas", "BLAS"}, {"libcblas", "BLAS"}, {"libmkl", "BLAS"}, {"libblis", "BLAS"},
		{"liblapack", "LAPACK"}, {"libgomp", "OpenMP"}, {"libiomp", "OpenMP"}, {"libomp", "OpenMP"},
		{"libpython", "libpython"}, {"libcudart", "CUDA"}, {"libcublas", "CUDA"}, {"libcudnn", "cuDNN"},
		{"libgfortran", "Fortran"}, {"libstdc++", "C++"},
	} {
		if strings.HasPrefix(name, c.prefix) {
			return c.kind
		}
	}
	return ""
}

func inspShellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, s := range argv {
		if s == "" || strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			s = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
		out[i] = s
	}
	return strings.Join(out, " ")
}

func inspShort(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func inspCmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func inspYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func inspOnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func inspSortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
