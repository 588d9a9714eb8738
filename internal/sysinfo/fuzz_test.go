package sysinfo

import (
	"os"
	"path/filepath"
	"testing"
)

func addDir(f *testing.F, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseCPUInfo(f *testing.F) {
	addDir(f, "../../testdata/cpuinfo")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCPUInfo(b)
		if err == nil && c.Cores < 0 {
			t.Fatal("negative cores")
		}
	})
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte("ID=debian\nVERSION_ID=\"12\"\n"))
	f.Add([]byte("NAME='x'\n#c\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseOSRelease(b) })
}

func FuzzParseNvidiaSMI(f *testing.F) {
	addDir(f, "../../testdata/nvidia-smi")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseNvidiaSMI(b, GPUFields)
		_ = InvalidField(b)
	})
}
