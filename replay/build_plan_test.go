package replay

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/probe"
	"github.com/repro-ml/repro/lockfmt"
)

func TestResolveParents(t *testing.T) {
	links := map[string]string{"/lib": "usr/lib", "/lib64": "/usr/lib64", "/a/b": "../c", "/loop": "loop2", "/loop2": "loop"}
	for in, want := range map[string]string{
		"/lib/x86_64-linux-gnu/libc.so.6": "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/lib64/ld-linux-x86-64.so.2":     "/usr/lib64/ld-linux-x86-64.so.2",
		"/lib":                            "/lib", // the link itself stays
		"/a/b/f":                          "/c/f",
		"/usr/bin/python3":                "/usr/bin/python3",
	} {
		got, err := resolveParents(in, links)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := resolveParents("/loop/x", links)
	require.ErrorContains(t, err, "too many levels of symbolic links")
}

func TestPlanRejects(t *testing.T) {
	file := func(p, role string) lockfmt.File {
		return lockfmt.File{Path: p, Type: lockfmt.TypeFile, Mode: "0644", Size: 1, Digest: lockfmt.DigestBytes([]byte("x")), Role: role}
	}
	cases := map[string]struct {
		files []lockfmt.File
		want  string
	}{
		"relative":  {[]lockfmt.File{file("etc/x", "system")}, "not an absolute clean path"},
		"dotdot":    {[]lockfmt.File{file("/etc/../x", "system")}, "not an absolute clean path"},
		"role":      {[]lockfmt.File{file("/etc/x", "weird")}, `unknown role "weird"`},
		"runtime":   {[]lockfmt.File{file("/etc/x", RoleRuntime)}, "unknown role"},
		"mode":      {[]lockfmt.File{{Path: "/x", Type: "file", Mode: "rwx", Digest: lockfmt.DigestBytes(nil), Role: "code"}}, "not octal"},
		"digest":    {[]lockfmt.File{{Path: "/x", Type: "file", Mode: "0644", Digest: "md5:1", Role: "code"}}, "invalid digest"},
		"type":      {[]lockfmt.File{{Path: "/x", Type: "fifo", Mode: "0644", Role: "code"}}, `unknown type "fifo"`},
		"no target": {[]lockfmt.File{{Path: "/x", Type: "symlink", Mode: "0777", Role: "code"}}, "symlink without a valid target"},
		"clash": {[]lockfmt.File{file("/usr/lib/a", "system"), {Path: "/lib", Type: "symlink", Mode: "0777", Target: "usr/lib", Role: "system"},
			{Path: "/lib/a", Type: "file", Mode: "0644", Size: 1, Digest: lockfmt.DigestBytes([]byte("y")), Role: "system"}}, "same path in the image"},
		"dir and file": {[]lockfmt.File{file("/a/b", "code"), {Path: "/a", Type: "file", Mode: "0644", Size: 1, Digest: lockfmt.DigestBytes([]byte("x")), Role: "code"}}, "is a directory in the image"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m := &lockfmt.Manifest{Schema: 1, Run: lockfmt.Run{Argv: []string{"/x"}, WorkDir: "/w"}, Files: c.files}
			_, err := planImage(m, []byte("m"), planOptions{Closure: ClosureImported}, nil)
			require.ErrorContains(t, err, c.want)
		})
	}
	m := &lockfmt.Manifest{Schema: 1, Run: lockfmt.Run{Argv: []string{"/x"}, WorkDir: "rel"}}
	_, err := planImage(m, nil, planOptions{}, nil)
	require.ErrorContains(t, err, "run.workdir")
}

func TestPlanRuntimeFiles(t *testing.T) {
	m := &lockfmt.Manifest{Schema: 1, Run: lockfmt.Run{Argv: []string{"python3", "t.py"}, WorkDir: "/home/ana/exp", UID: 1000, GID: 100, User: "ana",
		Env: map[string]string{"HOME": "/home/ana", "LANG": "C.UTF-8"}}, Python: lockfmt.Python{Executable: "/usr/bin/python3"}}
	p, err := planImage(m, []byte("manifest"), planOptions{Closure: ClosureImported}, nil)
	require.NoError(t, err)
	require.Equal(t, "root:x:0:0:root:/root:/bin/sh\nana:x:1000:100:ana:/home/ana:/bin/sh\n", string(p.items["/etc/passwd"].Content))
	require.Equal(t, "root:x:0:\nana:x:100:\n", string(p.items["/etc/group"].Content))
	require.Equal(t, []byte("manifest"), p.items[ManifestPathInImage].Content)
	require.Equal(t, int64(0o1777), p.dirs["/tmp"].Mode)
	require.Equal(t, 1000, p.dirs["/home/ana/exp"].UID)
	require.Equal(t, 100, p.dirs["/home/ana"].GID)
	require.Equal(t, 0, p.dirs["/home"].UID)
	require.Equal(t, []string{"/usr/bin/python3", "t.py"}, imageCmd(m))
	require.Equal(t, []string{"HOME=/home/ana", "LANG=C.UTF-8", "PATH=" + DefaultPath,
		"PYTHONPATH=" + ProbeDirInImage, "REPRO_PROBE_DIR=" + ReportDirInImage, "REPRO_SEED=0"}, imageEnv(m, p.home))
	require.Equal(t, probe.Source, p.items[ProbeDirInImage+"/sitecustomize.py"].Content)

	// No seed recorded: the probe runs without one; the recorded PYTHONPATH follows the probe's.
	m.Determinism.Seed, m.Run.Env["PYTHONPATH"] = -1, "/opt/lib"
	require.Equal(t, []string{"HOME=/home/ana", "LANG=C.UTF-8", "PATH=" + DefaultPath,
		"PYTHONPATH=" + ProbeDirInImage + ":/opt/lib", "REPRO_PROBE_DIR=" + ReportDirInImage}, imageEnv(m, p.home))

	// A user name that could break /etc/passwd is replaced.
	m.Run.User = "x:0:0:evil"
	pw, _ := passwdGroup(m, "/home/repro")
	require.Contains(t, string(pw), "repro:x:1000:100:repro:/home/repro:/bin/sh\n")
}
