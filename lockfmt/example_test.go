package lockfmt

import (
	"fmt"
	"strings"
)

// d returns a fake digest made from s, for test fixtures.
func d(s string) string { return DigestBytes([]byte(s)) }

// sampleManifest is a realistic, complete manifest with every section.
func sampleManifest() *Manifest {
	return &Manifest{
		Schema: SchemaVersion,
		Tool:   Tool{Name: "repro", Version: "v0.1.0", Revision: "5785529", Created: "2026-11-28T12:00:00Z"},
		Run: Run{
			Argv:       []string{"/usr/bin/python3", "train.py", "--epochs", "3"},
			WorkDir:    "/home/alice/exp",
			ExitCode:   0,
			DurationMS: 12345,
			UID:        1000,
			GID:        1000,
			User:       "alice",
			Runs:       2,
			Env: map[string]string{
				"PYTHONHASHSEED":  "0",
				"OMP_NUM_THREADS": "1",
				"LANG":            "C.UTF-8",
			},
			Scrubbed: []string{"WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY"},
		},
		Python: Python{
			Executable:     "/usr/bin/python3",
			RealExecutable: "/usr/bin/python3.11",
			Version:        "3.11.2",
			Implementation: "cpython",
			Prefix:         "/usr",
			BasePrefix:     "/usr",
			Path:           []string{"/home/alice/exp", "/usr/lib/python311.zip", "/usr/lib/python3.11", "/usr/lib/python3/dist-packages"},
			Sysconfig:      map[string]string{"SOABI": "cpython-311-x86_64-linux-gnu", "MULTIARCH": "x86_64-linux-gnu"},
			Modules:        412,
			Processes:      1,
			Runtimes: []Runtime{
				{API: "openmp", Library: "/usr/lib/x86_64-linux-gnu/libgomp.so.1", Name: "libgomp", Threads: 1},
				{API: "blas", Library: "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0", Name: "openblas", Version: "0.3.21", CoreType: "Haswell", Threads: 1},
			},
			SIMD: []string{"SSE", "SSE2", "SSE3", "AVX2", "FMA3"},
		},
		OS: OS{ID: "debian", VersionID: "12", Pretty: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0-18-amd64", Libc: "glibc", LibcVer: "2.36", Arch: "amd64"},
		CPU: CPU{
			Arch: "x86_64", Vendor: "GenuineIntel", Model: "Intel(R) Xeon(R) CPU @ 2.20GHz", Family: "6", ModelID: "79", Stepping: "0",
			Cores: 2, Level: "x86-64-v3", Flags: []string{"sse2", "avx", "avx2", "fma", "fpu", "sse4_2", "bmi2"},
		},
		GPUs: []GPU{{Vendor: "nvidia", Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-5a3c1f1e-0000-4000-8000-000000000001", Driver: "535.104.05", ComputeCapability: "8.0", MemoryMiB: 40960}},
		Determinism: Determinism{
			HashSeed: "0", HashSeedSetBy: "repro", Seed: 42, Deterministic: true,
			Threads: map[string]string{"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
			Pins: []Pin{
				{Name: "random.seed", Value: "42", Applied: true},
				{Name: "numpy.random.seed", Value: "42", Applied: true},
				{Name: "torch.manual_seed", Value: "42", Applied: false, Note: "torch not imported"},
			},
		},
		Code: Code{
			Git:    &Git{Commit: "3f2c9a1b0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a", Branch: "main", Remote: "https://github.com/alice/exp.git", Dirty: true, DiffDigest: d("diff")},
			Files:  []string{"train.py", "model/net.py"},
			Digest: d("code tree"),
		},
		Data: []Data{
			{Name: "mnist", Path: "/home/alice/exp/data/mnist.npz", Kind: "file", Digest: d("mnist"), Size: 11490434, Source: "opened"},
			{Name: "imagenet-val", URI: "s3://datasets/imagenet/val/", Kind: "uri", Digest: d("imagenet"), Size: 6744924160, Files: 50000, Source: "declared"},
		},
		Outputs: []Output{
			{Path: StdoutPath, Digest: d("stdout"), Size: 1523},
			{Path: StderrPath, Digest: d("stderr"), Size: 0},
			{Path: "out/model.safetensors", Digest: d("model"), Size: 3355443},
			{Path: "out/metrics.json", Digest: d("metrics"), Size: 211, Nondeterministic: true, Reason: "contains wall-clock timings"},
		},
		Packages: []Package{
			{Name: "numpy", Version: "1.24.2", Installer: "debian", Source: "os:python3-numpy", Location: "/usr/lib/python3/dist-packages/numpy-1.24.2.egg-info", Digest: d("numpy"), Files: 1337, Imported: true},
			{Name: "scikit-learn", Version: "1.2.1", Installer: "debian", Source: "os:python3-sklearn", Location: "/usr/lib/python3/dist-packages/scikit_learn-1.2.1.egg-info", Digest: d("sklearn"), Files: 900, Imported: true},
			{Name: "tqdm", Version: "4.66.1", Installer: "pip", Source: "index", Location: "/home/alice/.local/lib/python3.11/site-packages/tqdm-4.66.1.dist-info", Digest: d("tqdm"), Files: 70, Imported: false, Modified: []string{"tqdm/std.py"}},
		},
		LockFiles: []LockFile{{Path: "requirements.txt", Format: "requirements", Digest: d("reqs"), Packages: 3}},
		Drift:     []Drift{{LockFile: "requirements.txt", Package: "numpy", Locked: "1.26.4", Installed: "1.24.2", Message: "requirements.txt pins numpy 1.26.4; installed 1.24.2"}},
		Libraries: []Library{
			{Path: "/usr/lib/x86_64-linux-gnu/libc.so.6", Soname: "libc.so.6", Digest: d("libc"), Package: "libc6:amd64", Loaded: true},
			{Path: "/usr/lib/x86_64-linux-gnu/libm.so.6", Soname: "libm.so.6", Digest: d("libm"), Package: "libc6:amd64", Loaded: true},
			{Path: "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0", Soname: "libopenblas.so.0", Digest: d("openblas"), Package: "libopenblas0-pthread:amd64", Loaded: true},
			{Path: "/usr/lib/x86_64-linux-gnu/libgomp.so.1", Soname: "libgomp.so.1", Digest: d("gomp"), Package: "libgomp1:amd64", Loaded: true},
			{Path: "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", Soname: "libpython3.11.so.1.0", Digest: d("libpython"), Package: "libpython3.11:amd64", Loaded: false},
			{Path: "/usr/lib/x86_64-linux-gnu/libgfortran.so.5", Soname: "libgfortran.so.5", Digest: d("gfortran"), Package: "libgfortran5:amd64", Loaded: false},
		},
		Files: []File{
			{Path: "/usr/lib/x86_64-linux-gnu/libc.so.6", Type: TypeFile, Mode: "0755", Size: 1922136, Digest: d("libc"), Role: RoleSystem},
			{Path: "/usr/lib/x86_64-linux-gnu/libm.so.6", Type: TypeFile, Mode: "0644", Size: 907784, Digest: d("libm"), Role: RoleSystem},
			{Path: "/lib", Type: TypeSymlink, Mode: "0777", Target: "usr/lib", Role: RoleSystem},
			{Path: "/usr/lib/x86_64-linux-gnu", Type: TypeDir, Mode: "0755", Role: RoleSystem},
			{Path: "/usr/bin/python3", Type: TypeSymlink, Mode: "0777", Target: "python3.11", Role: RoleInterpreter},
			{Path: "/usr/bin/python3.11", Type: TypeFile, Mode: "0755", Size: 6831736, Digest: d("python"), Role: RoleInterpreter},
			{Path: "/usr/lib/python3/dist-packages/numpy/__init__.py", Type: TypeFile, Mode: "0644", Size: 8839, Digest: d("np init"), Role: RolePackages},
			{Path: "/home/alice/exp/data/mnist.npz", Type: TypeFile, Mode: "0644", Size: 11490434, Digest: d("mnist"), Role: RoleData},
			{Path: "/home/alice/exp/train.py", Type: TypeFile, Mode: "0644", Size: 2048, Digest: d("train"), Role: RoleCode},
			{Path: "/home/alice/exp/model/net.py", Type: TypeFile, Mode: "0644", Size: 1024, Digest: d("net"), Role: RoleCode},
			{Path: "/home/alice/exp/weird \"name\"\\é.txt", Type: TypeFile, Mode: "0600", Size: 1, Digest: d("weird"), Role: RoleCode},
		},
	}
}

// bigManifest is sampleManifest with n generated file entries.
func bigManifest(n int) *Manifest {
	m := sampleManifest()
	for i := 0; i < n; i++ {
		m.Files = append(m.Files, File{
			Path:   fmt.Sprintf("/usr/lib/python3/dist-packages/pkg%03d/mod_%05d.py", i%500, i),
			Type:   TypeFile,
			Mode:   "0644",
			Size:   int64(1000 + i),
			Digest: d(strings.Repeat("x", i%7) + fmt.Sprint(i)),
			Role:   RolePackages,
		})
	}
	return m
}
