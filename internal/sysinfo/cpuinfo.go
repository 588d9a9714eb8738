package sysinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

// CPU is what /proc/cpuinfo says about the processor.
type CPU struct {
	Arch     string   // "x86_64", "aarch64", or "" when unknown
	Vendor   string   // vendor_id ("GenuineIntel") or the arm64 implementer's name
	Model    string   // model name
	Family   string   // cpu family (x86) or CPU architecture (arm64)
	ModelID  string   // model (x86) or CPU part (arm64)
	Stepping string   // stepping (x86) or rNpM from CPU variant/revision (arm64)
	Cores    int      // logical CPUs: the number of "processor" entries
	Level    string   // x86-64 level ("x86-64-v3"), x86 only
	Flags    []string // flags (x86) or Features (arm64), sorted, deduplicated
}

// armImplementers names the arm64 "CPU implementer" codes most often seen.
var armImplementers = map[string]string{
	"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu",
	"0x48": "HiSilicon", "0x4e": "NVIDIA", "0x50": "APM", "0x51": "Qualcomm",
	"0x61": "Apple", "0x6d": "Microsoft", "0xc0": "Ampere",
}

// ParseCPUInfo reads /proc/cpuinfo text as Linux prints it on x86 and arm64:
// "key<tabs>: value" lines in blank-line separated blocks, one per logical
// CPU (arm64 adds a trailing block with Hardware/Revision lines). Values are
// taken from the first processor block. A non-empty line without ':' is an
// error naming its number.
func ParseCPUInfo(b []byte) (CPU, error) {
	var c CPU
	first := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return CPU{}, fmt.Errorf("cpuinfo line %d: no ':'", n)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "processor" {
			c.Cores++
		}
		if _, dup := first[k]; !dup {
			first[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return CPU{}, fmt.Errorf("cpuinfo: %w", err)
	}
	switch {
	case first["vendor_id"] != "" || first["flags"] != "":
		c.Arch = "x86_64"
		c.Vendor = first["vendor_id"]
		c.Model = first["model name"]
		c.Family = first["cpu family"]
		c.ModelID = first["model"]
		c.Stepping = first["stepping"]
		c.Flags = splitFlags(first["flags"])
		c.Level = X86Level(c.Flags)
	case first["CPU implementer"] != "" || first["Features"] != "":
		c.Arch = "aarch64"
		impl := strings.ToLower(first["CPU implementer"])
		c.Vendor = armImplementers[impl]
		if c.Vendor == "" {
			c.Vendor = impl
		}
		c.Model = first["model name"] // rare on arm64
		c.Family = first["CPU architecture"]
		c.ModelID = first["CPU part"]
		if v, r := first["CPU variant"], first["CPU revision"]; v != "" || r != "" {
			c.Stepping = "r" + strings.TrimPrefix(v, "0x") + "p" + r
		}
		c.Flags = splitFlags(first["Features"])
	}
	return c, nil
}

func splitFlags(s string) []string {
	f := strings.Fields(s)
	sort.Strings(f)
	out := f[:0]
	for i, x := range f {
		if i == 0 || x != f[i-1] {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// x86Levels are the /proc/cpuinfo tokens each x86-64 psABI level adds
// (cumulative). OSXSAVE shows as "xsave" and LZCNT as "abm" in Linux.
var x86Levels = [][]string{
	{"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"},
	{"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"},
	{"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
	{"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}

// X86Level returns the highest x86-64 microarchitecture level ("x86-64-v1"
// to "x86-64-v4") whose flags are all in flags, or "" when not even v1's
// are (not an x86-64 CPU).
func X86Level(flags []string) string {
	have := make(map[string]bool, len(flags))
	for _, f := range flags {
		have[f] = true
	}
	level := 0
	for i, req := range x86Levels {
		for _, f := range req {
			if !have[f] {
				return levelName(level)
			}
		}
		level = i + 1
	}
	return levelName(level)
}

func levelName(l int) string {
	if l == 0 {
		return ""
	}
	return fmt.Sprintf("x86-64-v%d", l)
}

// HostCPU parses the host's /proc/cpuinfo. When the file gives no
// architecture, archFallback (uname machine spelling) is used.
func HostCPU(archFallback string) (CPU, error) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return CPU{Arch: archFallback}, fmt.Errorf("reading /proc/cpuinfo: %w", err)
	}
	c, err := ParseCPUInfo(b)
	if err != nil {
		return CPU{Arch: archFallback}, fmt.Errorf("reading /proc/cpuinfo: %w", err)
	}
	if c.Arch == "" {
		c.Arch = archFallback
	}
	return c, nil
}
