package replay

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/lockfmt"
)

const helloC = `#include <stdio.h>
int main(int argc, char **argv) {
	FILE *f = fopen("out.txt", "w");
	if (!f) { perror("out.txt"); return 1; }
	fputs("result\n", f);
	fclose(f);
	FILE *t = fopen("/tmp/scratch", "w");
	if (!t) { perror("/tmp/scratch"); return 1; }
	fclose(t);
	FILE *m = fopen("/.repro/manifest.toml", "r");
	if (!m) { perror("manifest"); return 1; }
	fclose(m);
	printf("hello from %s\n", argc > 1 ? argv[1] : "repro");
	return 0;
}
`

// helloFixture is a static binary, its data file and a manifest describing
// them, built once per test binary.
type helloFixture struct {
	root     string // host root holding /opt/hello/...
	manifest *lockfmt.Manifest
	bytes    []byte
}

var (
	helloOnce sync.Once
	hello     *helloFixture
	helloErr  error
)

func fileEntry(t testing.TB, root, p, mode, role string) lockfmt.File {
	t.Helper()
	b, err := os.ReadFile(root + p)
	require.NoError(t, err)
	return lockfmt.File{Path: p, Type: lockfmt.TypeFile, Mode: mode, Size: int64(len(b)), Digest: lockfmt.DigestBytes(b), Role: role}
}

// writeTree creates the fixture's files under root, creating them in the
// order given with mtime.
func writeTree(t testing.TB, root string, bin []byte, reverse bool, mtime time.Time) {
	t.Helper()
	files := []struct {
		p    string
		b    []byte
		mode os.FileMode
	}{
		{"/opt/hello/bin/hello", bin, 0o755},
		{"/opt/hello/share/greeting.txt", []byte("hi\n"), 0o644},
		{"/srv/data/input.csv", []byte("a,b\n1,2\n"), 0o644},
		{"/work/exp/run.sh", []byte("#!/bin/sh\n"), 0o755},
	}
	if reverse {
		for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
			files[i], files[j] = files[j], files[i]
		}
	}
	for _, f := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(root+f.p), 0o755))
		require.NoError(t, os.WriteFile(root+f.p, f.b, f.mode))
		require.NoError(t, os.Chmod(root+f.p, f.mode))
		require.NoError(t, os.Chtimes(root+f.p, mtime, mtime))
	}
	require.NoError(t, os.Symlink("hello", root+"/opt/hello/bin/hi"))
	require.NoError(t, os.Symlink("hello/share", root+"/opt/greet"))
}

func helloManifest(t testing.TB, root string) *lockfmt.Manifest {
	return &lockfmt.Manifest{
		Schema: lockfmt.SchemaVersion,
		Tool:   lockfmt.Tool{Name: "repro", Version: "(devel)", Created: "2026-01-01T00:00:00Z"},
		Run: lockfmt.Run{
			Argv: []string{"/opt/hello/bin/hello", "image"}, WorkDir: "/work/exp", UID: 0, GID: 0, Runs: 1,
			Env: map[string]string{"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"},
		},
		OS:   lockfmt.OS{ID: "debian", Kernel: "6", Libc: "glibc", Arch: "amd64"},
		CPU:  lockfmt.CPU{Arch: "x86_64", Cores: 2, Flags: []string{}},
		Data: []lockfmt.Data{{Path: "/srv/data/input.csv", Kind: "file", Digest: lockfmt.DigestBytes([]byte("a,b\n1,2\n")), Size: 8, Source: "opened"}},
		Files: []lockfmt.File{
			fileEntry(t, root, "/opt/hello/bin/hello", "0755", lockfmt.RoleSystem),
			{Path: "/opt/hello/bin/hi", Type: lockfmt.TypeSymlink, Mode: "0777", Target: "hello", Role: lockfmt.RoleSystem},
			{Path: "/opt/greet", Type: lockfmt.TypeSymlink, Mode: "0777", Target: "hello/share", Role: lockfmt.RoleSystem},
			// Recorded through the /opt/greet symlink: lands in /opt/hello/share.
			fileEntry(t, root, "/opt/greet/greeting.txt", "0644", lockfmt.RoleInterpreter),
			fileEntry(t, root, "/srv/data/input.csv", "0644", lockfmt.RoleData),
			fileEntry(t, root, "/work/exp/run.sh", "0755", lockfmt.RoleCode),
		},
	}
}

func getHello(t testing.TB) *helloFixture {
	t.Helper()
	helloOnce.Do(func() {
		dir, err := os.MkdirTemp("", "repro-hello-")
		if err != nil {
			helloErr = err
			return
		}
		src := filepath.Join(dir, "hello.c")
		if err := os.WriteFile(src, []byte(helloC), 0o644); err != nil {
			helloErr = err
			return
		}
		bin := filepath.Join(dir, "hello")
		if out, err := exec.Command("gcc", "-static", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
			helloErr = errors.New("gcc -static failed (install gcc and libc6-dev): " + string(out))
			return
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			helloErr = err
			return
		}
		root := filepath.Join(dir, "root")
		writeTree(t, root, b, false, time.Now())
		m := helloManifest(t, root)
		mb, err := lockfmt.Encode(m)
		if err != nil {
			helloErr = err
			return
		}
		hello = &helloFixture{root: root, manifest: m, bytes: mb}
	})
	require.NoError(t, helloErr)
	return hello
}

func TestBuildDeterministic(t *testing.T) {
	h := getHello(t)
	ctx := context.Background()
	a, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, validate.Image(a.Image))
	b, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer b.Close()
	require.Equal(t, a.Digest, b.Digest)
	require.Equal(t, a.ConfigDigest, b.ConfigDigest)

	// A second copy of the files, created in the opposite order with other
	// mtimes, builds the same image.
	bin, err := os.ReadFile(h.root + "/opt/hello/bin/hello")
	require.NoError(t, err)
	root2 := t.TempDir()
	writeTree(t, root2, bin, true, time.Unix(1234567890, 0))
	c, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: root2, TempDir: t.TempDir()})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, a.Digest, c.Digest)

	// Layers by role, slow-changing first, the runtime layer last.
	var roles []string
	for _, l := range a.Layers {
		roles = append(roles, l.Role)
	}
	require.Equal(t, []string{"system", "interpreter", "data", "code", "repro-runtime"}, roles)

	// SOURCE_DATE_EPOCH changes timestamps, so the digest.
	d, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir(), SourceDateEpoch: 1700000000})
	require.NoError(t, err)
	defer d.Close()
	require.NotEqual(t, a.Digest, d.Digest)
	cf, err := d.Image.ConfigFile()
	require.NoError(t, err)
	require.Equal(t, "2023-11-14T22:13:20Z", cf.Config.Labels["org.opencontainers.image.created"])
	require.Equal(t, []string{"/opt/hello/bin/hello", "image"}, cf.Config.Cmd)
	require.Equal(t, "/work/exp", cf.Config.WorkingDir)
	require.Equal(t, "0:0", cf.Config.User)
	require.Equal(t, []string{"HOME=/root", "OMP_NUM_THREADS=1", "PATH=" + DefaultPath, "PYTHONHASHSEED=0",
		"PYTHONPATH=" + ProbeDirInImage, "REPRO_PROBE_DIR=" + ReportDirInImage, "REPRO_SEED=0"}, cf.Config.Env)
	require.Equal(t, lockfmt.DigestBytes(h.bytes), cf.Config.Labels[LabelManifestDigest])
}

func TestBuildChangedFileFails(t *testing.T) {
	h := getHello(t)
	bin, err := os.ReadFile(h.root + "/opt/hello/bin/hello")
	require.NoError(t, err)
	root := t.TempDir()
	writeTree(t, root, bin, false, time.Now())
	require.NoError(t, os.WriteFile(root+"/work/exp/run.sh", []byte("#!/bin/sh\necho changed\n"), 0o755))
	tmp := t.TempDir()
	_, err = Build(context.Background(), h.manifest, h.bytes, BuildOptions{Root: root, TempDir: tmp})
	var dm *ociimage.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	require.Equal(t, "/work/exp/run.sh", dm.Path)
	require.Contains(t, err.Error(), "/work/exp/run.sh")
	require.Contains(t, err.Error(), lockfmt.DigestBytes([]byte("#!/bin/sh\n")))
	require.Contains(t, err.Error(), lockfmt.DigestBytes([]byte("#!/bin/sh\necho changed\n")))
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "no layer file may be left behind")

	// Same size, different bytes: caught by the digest.
	require.NoError(t, os.WriteFile(root+"/work/exp/run.sh", []byte("#!/bin/XX\n"), 0o755))
	_, err = Build(context.Background(), h.manifest, h.bytes, BuildOptions{Root: root, TempDir: tmp})
	require.ErrorAs(t, err, &dm)
	require.Equal(t, lockfmt.DigestBytes([]byte("#!/bin/XX\n")), dm.Got)
}

func TestBuildLayerCache(t *testing.T) {
	h := getHello(t)
	ctx := context.Background()
	cache := t.TempDir()
	a, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, CacheDir: cache})
	require.NoError(t, err)
	for _, l := range a.Layers {
		require.False(t, l.Cached)
	}
	b, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, CacheDir: cache})
	require.NoError(t, err)
	require.Equal(t, a.Digest, b.Digest)
	for _, l := range b.Layers {
		require.True(t, l.Cached, l.Role)
	}
	// A code change rebuilds only the code layer and the runtime layer (which
	// carries the manifest); the others come from the cache.
	root2 := t.TempDir()
	bin, err := os.ReadFile(h.root + "/opt/hello/bin/hello")
	require.NoError(t, err)
	writeTree(t, root2, bin, false, time.Now())
	require.NoError(t, os.WriteFile(root2+"/work/exp/run.sh", []byte("#!/bin/sh\n# v2\n"), 0o755))
	m2 := *h.manifest
	m2.Files = append([]lockfmt.File(nil), h.manifest.Files...)
	for i, f := range m2.Files {
		if f.Path == "/work/exp/run.sh" {
			m2.Files[i] = fileEntry(t, root2, f.Path, f.Mode, f.Role)
		}
	}
	mb2, err := lockfmt.Encode(&m2)
	require.NoError(t, err)
	v2, err := Build(ctx, &m2, mb2, BuildOptions{Root: root2, CacheDir: cache})
	require.NoError(t, err)
	rebuilt := map[string]bool{}
	for i, l := range v2.Layers {
		rebuilt[l.Role] = !l.Cached
		if l.Role != lockfmt.RoleCode && l.Role != RoleRuntime {
			require.Equal(t, a.Layers[i].Digest, l.Digest, l.Role)
		}
	}
	require.Equal(t, map[string]bool{"system": false, "interpreter": false, "data": false, "code": true, "repro-runtime": true}, rebuilt)

	// A host file changed under a cached layer is still caught, through the
	// hash cache.
	require.NoError(t, os.WriteFile(root2+"/opt/hello/share/greeting.txt", []byte("HI\n"), 0o644))
	_, err = Build(ctx, &m2, mb2, BuildOptions{Root: root2, CacheDir: cache, Hashes: hashcache.New()})
	var dm *ociimage.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	require.Equal(t, "/opt/hello/share/greeting.txt", dm.Path)

	// A corrupted cache entry is not trusted.
	ents, err := filepath.Glob(filepath.Join(cache, "*.tar.gz"))
	require.NoError(t, err)
	require.NotEmpty(t, ents)
	require.NoError(t, os.WriteFile(ents[0], []byte("garbage"), 0o644))
	c, err := Build(ctx, h.manifest, h.bytes, BuildOptions{Root: h.root, CacheDir: cache})
	require.NoError(t, err)
	require.Equal(t, a.Digest, c.Digest)
}

func TestBuildDataExternal(t *testing.T) {
	h := getHello(t)
	img, err := Build(context.Background(), h.manifest, h.bytes, BuildOptions{Root: h.root, TempDir: t.TempDir(), DataExternal: true})
	require.NoError(t, err)
	defer img.Close()
	for _, l := range img.Layers {
		require.NotEqual(t, lockfmt.RoleData, l.Role)
	}
	require.NoError(t, VerifyImage(context.Background(), img.Image, h.manifest, h.bytes))
}

// TestBuildMemoryFlat builds a 512 MiB data layer and checks that the heap
// stays small: layers stream through a temp file, never through memory.
func TestBuildMemoryFlat(t *testing.T) {
	root := t.TempDir()
	p := "/srv/big.bin"
	require.NoError(t, os.MkdirAll(root+"/srv", 0o755))
	f, err := os.Create(root + p)
	require.NoError(t, err)
	const size = 512 << 20
	require.NoError(t, f.Truncate(size)) // sparse zeros: cheap to read
	require.NoError(t, f.Close())
	digest, _, err := hashcache.New().File(root + p)
	require.NoError(t, err)
	m := &lockfmt.Manifest{Schema: 1, Run: lockfmt.Run{Argv: []string{"/x"}, WorkDir: "/w"},
		Files: []lockfmt.File{{Path: p, Type: lockfmt.TypeFile, Mode: "0644", Size: size, Digest: digest, Role: lockfmt.RoleData}}}
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		for {
			select {
			case <-done:
				result <- peak
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	img, err := Build(context.Background(), m, []byte("m"), BuildOptions{Root: root, TempDir: t.TempDir()})
	close(done)
	peak := <-result
	require.NoError(t, err)
	defer img.Close()
	require.Less(t, peak, uint64(128<<20), "heap in use during a 512 MiB layer")

	// Interrupted inside the large file: the build stops, leaving nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	tmp := t.TempDir()
	_, err = Build(ctx, m, []byte("m"), BuildOptions{Root: root, TempDir: tmp})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left)
}
