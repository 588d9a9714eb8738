package replay

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/repro-ml/repro/internal/sysinfo"
	"github.com/repro-ml/repro/lockfmt"
)

// HostCPU is what replay needs to know about the replay host's processor.
type HostCPU struct {
	Arch  string   `json:"arch"` // "x86_64", "aarch64"
	Model string   `json:"model,omitempty"`
	Cores int      `json:"cores"`
	Level string   `json:"level,omitempty"`
	Flags []string `json:"-"`
	flags map[string]bool
}

// Has reports whether the host CPU has every flag given.
func (h *HostCPU) Has(flags ...string) bool {
	for _, f := range flags {
		if !h.flags[f] {
			return false
		}
	}
	return true
}

// ReadHostCPU reads /proc/cpuinfo.
func ReadHostCPU() (*HostCPU, error) {
	c, err := sysinfo.HostCPU(archName(runtime.GOARCH))
	if err != nil {
		return nil, fmt.Errorf("reading the host CPU facts: %w", err)
	}
	return newHostCPU(c), nil
}

// ParseCPUInfo extracts model, logical CPU count, flags and x86-64 level
// from /proc/cpuinfo text (see sysinfo.ParseCPUInfo).
func ParseCPUInfo(b []byte) (*HostCPU, error) {
	c, err := sysinfo.ParseCPUInfo(b)
	if err != nil {
		return nil, err
	}
	if c.Arch == "" {
		c.Arch = archName(runtime.GOARCH)
	}
	return newHostCPU(c), nil
}

func newHostCPU(c sysinfo.CPU) *HostCPU {
	h := &HostCPU{Arch: c.Arch, Model: c.Model, Cores: c.Cores, Level: c.Level, Flags: c.Flags, flags: map[string]bool{}}
	for _, f := range c.Flags {
		h.flags[f] = true
	}
	return h
}

func archName(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return goarch
}

// fpFlags are the CPU flags that select floating-point kernels.
var fpFlags = []string{"sse2", "pni", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
	"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
	"avx512_fp16", "avx512ifma", "avx512vbmi", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "fma4", "xop"}

// HardwareWarnings compares the capture's CPU and GPUs with the host's and
// says, in plain words, what can change results.
func HardwareWarnings(m *lockfmt.Manifest, h *HostCPU, gpus bool) []string {
	var w []string
	if m.CPU.Arch != "" && h.Arch != "" && m.CPU.Arch != h.Arch {
		w = append(w, fmt.Sprintf("the experiment was captured on %s, this host is %s: it may not run, and results will differ", m.CPU.Arch, h.Arch))
		return w
	}
	if m.CPU.Level != "" && h.Level != "" && m.CPU.Level != h.Level {
		w = append(w, fmt.Sprintf("CPU level differs: captured on %s (%s), this host is %s (%s); math kernels may take other code paths",
			m.CPU.Level, orUnknown(m.CPU.Model), h.Level, orUnknown(h.Model)))
	}
	missing, extra := flagDiff(m.CPU.Flags, h)
	if len(missing) > 0 {
		w = append(w, fmt.Sprintf("this CPU lacks instructions the capture machine had (%s): kernels using them cannot be reproduced here", strings.Join(missing, ", ")))
	}
	if len(extra) > 0 && len(m.CPU.Flags) > 0 {
		w = append(w, fmt.Sprintf("this CPU has instructions the capture machine lacked (%s): unpinned libraries may pick faster kernels with other rounding", strings.Join(extra, ", ")))
	}
	if m.CPU.Cores > 0 && h.Cores > 0 && m.CPU.Cores != h.Cores && len(m.Determinism.Threads) == 0 {
		w = append(w, fmt.Sprintf("captured with %d CPUs, this host has %d, and thread counts were not pinned: parallel reductions may add in another order", m.CPU.Cores, h.Cores))
	}
	if len(m.GPUs) > 0 && !gpus {
		w = append(w, fmt.Sprintf("the capture used %d GPU(s) (%s) and this replay runs without GPUs", len(m.GPUs), m.GPUs[0].Name))
	}
	return w
}

// flagDiff lists the FP-relevant flags the capture had and the host lacks,
// and the other way round.
func flagDiff(captured []string, h *HostCPU) (missing, extra []string) {
	had := map[string]bool{}
	for _, f := range captured {
		had[f] = true
	}
	if len(captured) == 0 {
		return nil, nil
	}
	for _, f := range fpFlags {
		switch {
		case had[f] && !h.flags[f]:
			missing = append(missing, f)
		case !had[f] && h.flags[f]:
			extra = append(extra, f)
		}
	}
	return missing, extra
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown model"
	}
	return s
}
