package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func libByBase(c *Closure, base string) *Lib {
	for i := range c.Libs {
		if filepath.Base(c.Libs[i].Path) == base {
			return &c.Libs[i]
		}
	}
	return nil
}

func TestHostPythonClosure(t *testing.T) {
	r := NewResolver("")
	require.Contains(t, r.ConfDirs, "/usr/lib/x86_64-linux-gnu", "include globs of /etc/ld.so.conf")
	numpy := "/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
	c := r.Resolve([]string{"/usr/bin/python3.11", numpy, "/usr/lib/locale/C.utf8/LC_CTYPE"})
	assert.Equal(t, []string{"/usr/lib/locale/C.utf8/LC_CTYPE"}, c.NotELF)
	assert.Empty(t, c.Unreadable)
	for _, base := range []string{"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libblas.so.3", "libopenblas.so.0"} {
		l := libByBase(c, base)
		require.NotNil(t, l, base)
		assert.Empty(t, l.Missing, base)
	}
	ld := libByBase(c, "ld-linux-x86-64.so.2")
	assert.True(t, ld.Interp)
	assert.Equal(t, "/lib64/ld-linux-x86-64.so.2", ld.Path)
	// libblas.so.3 is found through the Debian alternatives link.
	blas := libByBase(c, "libblas.so.3")
	links, real, err := Chain(blas.Path)
	require.NoError(t, err)
	assert.Equal(t, blas.Real, real)
	var sawAlt bool
	for _, l := range links {
		if filepath.Dir(l.Path) == "/etc/alternatives" {
			sawAlt = true
		}
	}
	assert.True(t, sawAlt, "chain %v goes through /etc/alternatives", links)
	assert.Equal(t, "libopenblas.so.0", libByBase(c, "libopenblas.so.0").Soname)
}

func TestChainMergedUsr(t *testing.T) {
	links, real, err := Chain("/lib/x86_64-linux-gnu/libc.so.6")
	require.NoError(t, err)
	assert.Equal(t, "/usr/lib/x86_64-linux-gnu/libc.so.6", real)
	require.NotEmpty(t, links)
	assert.Equal(t, Link{Path: "/lib", Target: "usr/lib"}, links[0])
	_, _, err = Chain("relative")
	require.Error(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Symlink("loop", filepath.Join(dir, "loop")))
	_, _, err = Chain(filepath.Join(dir, "loop"))
	require.ErrorContains(t, err, "too many levels")
}

// buildLib compiles a tiny shared object without the C library headers.
func buildLib(t *testing.T, out, soname string, extra ...string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "x.c")
	require.NoError(t, os.WriteFile(src, []byte("int f_"+filepath.Base(t.Name())+"(void){return 1;}\n"), 0o644))
	args := append([]string{"-shared", "-fPIC", "-nostdlib", "-o", out, src, "-Wl,-soname," + soname, "-Wl,--no-as-needed"}, extra...)
	cmd := exec.Command("gcc", args...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
}

func TestOriginRunpathRpathAndMachine(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"app/bin", "app/lib", "app/rlib", "wrong", "ldpath"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	// libleaf in app/lib; libmid (RUNPATH $ORIGIN) needs it; libtop in
	// app/bin needs libmid via RUNPATH $ORIGIN/../lib.
	buildLib(t, filepath.Join(root, "app/lib/libleaf.so.1"), "libleaf.so.1", "/lib/x86_64-linux-gnu/libc.so.6")
	buildLib(t, filepath.Join(root, "app/lib/libmid.so"), "libmid.so", "-Wl,--enable-new-dtags,-rpath,$ORIGIN", "-L"+filepath.Join(root, "app/lib"), "-l:libleaf.so.1")
	buildLib(t, filepath.Join(root, "app/bin/libtop.so"), "libtop.so", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib", "-L"+filepath.Join(root, "app/lib"), "-lmid")
	// An RPATH (old tag) object: its RPATH applies to its dependencies' lookups too.
	buildLib(t, filepath.Join(root, "app/rlib/libr2.so"), "libr2.so")
	buildLib(t, filepath.Join(root, "app/rlib/libr1.so"), "libr1.so", "-L"+filepath.Join(root, "app/rlib"), "-lr2")
	buildLib(t, filepath.Join(root, "app/bin/librtop.so"), "librtop.so", "-Wl,--disable-new-dtags,-rpath,"+filepath.Join(root, "app/rlib"), "-L"+filepath.Join(root, "app/rlib"), "-lr1")

	// A wrong-machine libleaf.so.1 on LD_LIBRARY_PATH must be skipped.
	b, err := os.ReadFile(filepath.Join(root, "app/lib/libleaf.so.1"))
	require.NoError(t, err)
	binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_AARCH64))
	require.NoError(t, os.WriteFile(filepath.Join(root, "wrong/libleaf.so.1"), b, 0o644))

	r := NewResolver(filepath.Join(root, "wrong") + ":" + filepath.Join(root, "ldpath"))
	c := r.Resolve([]string{filepath.Join(root, "app/bin/libtop.so"), filepath.Join(root, "app/bin/librtop.so")})
	mid := libByBase(c, "libmid.so")
	require.NotNil(t, mid)
	assert.Equal(t, filepath.Join(root, "app/bin/../lib/libmid.so"), filepath.Join(filepath.Dir(mid.Path), "libmid.so"))
	leaf := libByBase(c, "libleaf.so.1")
	require.NotNil(t, leaf)
	assert.Equal(t, filepath.Join(root, "app/lib/libleaf.so.1"), filepath.Clean(leaf.Path))
	assert.NotNil(t, libByBase(c, "libc.so.6"))
	assert.NotNil(t, libByBase(c, "libr2.so"), "RPATH of the loading chain")
	for _, l := range c.Libs {
		assert.Empty(t, l.Missing, l.Path)
	}

	// The same libleaf on LD_LIBRARY_PATH wins over RUNPATH.
	require.NoError(t, os.WriteFile(filepath.Join(root, "ldpath/libleaf.so.1"), mustRead(t, filepath.Join(root, "app/lib/libleaf.so.1")), 0o644))
	c = r.Resolve([]string{filepath.Join(root, "app/bin/libtop.so")})
	assert.Equal(t, filepath.Join(root, "ldpath/libleaf.so.1"), libByBase(c, "libleaf.so.1").Path)
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func TestReadNotELFAndDamaged(t *testing.T) {
	_, err := Read(bytes.NewReader([]byte("#!/bin/sh\n")))
	require.ErrorIs(t, err, ErrNotELF)
	b := mustRead(t, "/usr/lib/x86_64-linux-gnu/libc.so.6")[:200]
	_, err = Read(bytes.NewReader(b))
	require.Error(t, err)
}

func TestExpand(t *testing.T) {
	assert.Equal(t, "/o/../lib64/x86_64", expand("${ORIGIN}/../$LIB/$PLATFORM", "/o", elf.ELFCLASS64, elf.EM_X86_64))
}

func FuzzRead(f *testing.F) {
	f.Add(mustReadF(f, "/usr/lib/x86_64-linux-gnu/libz.so.1")[:4096])
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Read(bytes.NewReader(b))
	})
}

func mustReadF(f *testing.F, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
