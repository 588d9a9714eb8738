package sysinfo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "testdata"}, parts...)...))
	require.NoError(t, err)
	return b
}

func TestParseCPUInfoSamples(t *testing.T) {
	cases := []struct {
		file                                  string
		arch, vendor, model, family, id, step string
		cores                                 int
		level                                 string
		hasFlag                               string
	}{
		{"amd-epyc-kvm-2cpu.txt", "x86_64", "AuthenticAMD", "AMD EPYC", "25", "17", "1", 2, "x86-64-v4", "avx512f"},
		{"intel-xeon-8375c-aws-4cpu.txt", "x86_64", "GenuineIntel", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "6", "106", "6", 4, "x86-64-v4", "avx512_vnni"},
		{"intel-core-i7-4770-8cpu.txt", "x86_64", "GenuineIntel", "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz", "6", "60", "3", 8, "x86-64-v3", "avx2"},
		{"intel-core2-e6550-2cpu.txt", "x86_64", "GenuineIntel", "Intel(R) Core(TM)2 Duo CPU     E6550  @ 2.33GHz", "6", "15", "11", 2, "x86-64-v1", "ssse3"},
		{"arm64-graviton2-neoverse-n1-4cpu.txt", "aarch64", "ARM", "", "8", "0xd0c", "r3p1", 4, "", "asimddp"},
		{"arm64-raspberrypi4-cortex-a72-4cpu.txt", "aarch64", "ARM", "", "8", "0xd08", "r0p3", 4, "", "crc32"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			cpu, err := ParseCPUInfo(readTestdata(t, "cpuinfo", c.file))
			require.NoError(t, err)
			assert.Equal(t, c.arch, cpu.Arch)
			assert.Equal(t, c.vendor, cpu.Vendor)
			assert.Equal(t, c.model, cpu.Model)
			assert.Equal(t, c.family, cpu.Family)
			assert.Equal(t, c.id, cpu.ModelID)
			assert.Equal(t, c.step, cpu.Stepping)
			assert.Equal(t, c.cores, cpu.Cores)
			assert.Equal(t, c.level, cpu.Level)
			assert.Contains(t, cpu.Flags, c.hasFlag)
			assert.IsIncreasing(t, cpu.Flags)
		})
	}
}

func TestParseCPUInfoBadLine(t *testing.T) {
	_, err := ParseCPUInfo([]byte("processor\t: 0\nthis line has no colon\n"))
	require.ErrorContains(t, err, "line 2")
}

func TestX86LevelNeedsWholeTokens(t *testing.T) {
	v1 := strings.Fields("lm cmov cx8 fpu fxsr mmx syscall sse sse2")
	assert.Equal(t, "x86-64-v1", X86Level(v1))
	v2 := append(v1, strings.Fields("cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3")...)
	assert.Equal(t, "x86-64-v2", X86Level(v2))
	// avx2 alone must not count as avx.
	assert.Equal(t, "x86-64-v2", X86Level(append(v2, strings.Fields("avx2 bmi1 bmi2 f16c fma abm movbe xsave")...)))
	assert.Equal(t, "", X86Level([]string{"fp", "asimd"}))
}

func TestHostCPU(t *testing.T) {
	cpu, err := HostCPU("x86_64")
	require.NoError(t, err)
	assert.Equal(t, runtime.NumCPU(), cpu.Cores)
	if runtime.GOARCH == "amd64" {
		assert.NotEmpty(t, cpu.Level)
	}
	assert.NotEmpty(t, cpu.Flags)
}

func TestParseOSRelease(t *testing.T) {
	m, err := ParseOSRelease([]byte("# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='12'\nX=\"a \\\"q\\\"\"\n\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"NAME": "Debian GNU/Linux", "ID": "debian", "VERSION_ID": "12", "X": `a "q"`}, m)
	_, err = ParseOSRelease([]byte("ID=debian\nbroken\n"))
	require.ErrorContains(t, err, "line 2")
	_, err = ParseOSRelease([]byte("ID=\"debian\n"))
	require.ErrorContains(t, err, "line 1")
	host, err := OSRelease("/")
	require.NoError(t, err)
	assert.NotEmpty(t, host["ID"])
	assert.NotEmpty(t, KernelRelease())
}

func TestLibcHost(t *testing.T) {
	out, err := exec.Command("ldd", "--version").Output()
	require.NoError(t, err)
	name, ver, err := Libc("/lib/x86_64-linux-gnu/libc.so.6")
	require.NoError(t, err)
	assert.Equal(t, "glibc", name)
	assert.Contains(t, strings.SplitN(string(out), "\n", 2)[0], " "+ver)
	_, _, err = Libc("/etc/os-release")
	require.Error(t, err)
}

func TestParseNvidiaSMISamples(t *testing.T) {
	gpus, err := ParseNvidiaSMI(readTestdata(t, "nvidia-smi", "a100-single.csv"), GPUFields)
	require.NoError(t, err)
	require.Len(t, gpus, 1)
	assert.Equal(t, GPU{Name: "NVIDIA A100-SXM4-80GB", UUID: "GPU-fef8089b-4820-abfc-e83e-94318197576e", Driver: "535.104.05", ComputeCapability: "8.0", MemoryMiB: 81920}, gpus[0])

	gpus, err = ParseNvidiaSMI(readTestdata(t, "nvidia-smi", "h100-4gpu.csv"), GPUFields)
	require.NoError(t, err)
	require.Len(t, gpus, 4)
	assert.Equal(t, "9.0", gpus[3].ComputeCapability)
	assert.Equal(t, "GPU-5f90b2e6-7c1d-48a3-a2e4-d83b6f104c5e", gpus[3].UUID)

	gpus, err = ParseNvidiaSMI(readTestdata(t, "nvidia-smi", "rtx2080ti-na.csv"), GPUFields)
	require.NoError(t, err)
	assert.Equal(t, "", gpus[0].ComputeCapability)
	assert.Equal(t, "NVIDIA GeForce RTX 2080 Ti", gpus[0].Name)

	gpus, err = ParseNvidiaSMI(readTestdata(t, "nvidia-smi", "rtx4090-with-units.csv"), GPUFields)
	require.NoError(t, err)
	assert.Equal(t, int64(24564), gpus[0].MemoryMiB)

	assert.Equal(t, "compute_cap", InvalidField(readTestdata(t, "nvidia-smi", "driver-470-compute-cap-error.txt")))
	assert.Equal(t, "", InvalidField(readTestdata(t, "nvidia-smi", "no-driver-error.txt")))
	older := remove(GPUFields, "compute_cap")
	gpus, err = ParseNvidiaSMI(readTestdata(t, "nvidia-smi", "v100-2gpu-no-compute-cap.csv"), older)
	require.NoError(t, err)
	require.Len(t, gpus, 2)
	assert.Equal(t, int64(16160), gpus[1].MemoryMiB)

	_, err = ParseNvidiaSMI([]byte("a, b\n"), GPUFields)
	require.ErrorContains(t, err, "line 1")
}

func TestQueryGPUsAbsentIsQuick(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	start := time.Now()
	gpus, err := QueryGPUs(context.Background(), 10*time.Second)
	require.NoError(t, err)
	assert.Nil(t, gpus)
	assert.Less(t, time.Since(start), 100*time.Millisecond)
}

func TestQueryGPUsOlderDriverFallback(t *testing.T) {
	// A stand-in nvidia-smi that behaves like driver 470: it refuses compute_cap.
	dir := t.TempDir()
	script := "#!/bin/sh\ncase \"$1\" in *compute_cap*) echo 'Field \"compute_cap\" is not a valid field to query.'; exit 2;; esac\n" +
		"exec /bin/cat " + filepath.Join(mustAbs(t, "../../testdata/nvidia-smi"), "v100-2gpu-no-compute-cap.csv") + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755))
	t.Setenv("PATH", dir)
	gpus, err := QueryGPUs(context.Background(), 10*time.Second)
	require.NoError(t, err)
	require.Len(t, gpus, 2)
	assert.Equal(t, "Tesla V100-SXM2-16GB", gpus[0].Name)
	assert.Equal(t, "470.82.01", gpus[0].Driver)
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
