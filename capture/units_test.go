package capture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/lockfmt"
)

func TestMatchGlob(t *testing.T) {
	for _, c := range []struct {
		pat, path string
		want      bool
	}{
		{"*.log", "a.log", true},
		{"*.log", "out/logs/a.log", true},
		{"out", "out/a.json", true},
		{"out/", "out/x/y", true},
		{"out/*.json", "out/a.json", true},
		{"out/*.json", "out/x/a.json", false},
		{"out/**/*.json", "out/x/y/a.json", true},
		{"out/**/*.json", "out/a.json", true},
		{"**/model.bin", "a/b/model.bin", true},
		{"./results/*", "results/r.csv", true},
		{"data/*.csv", "other/data/x.csv", false},
		{"*.csv", "a.json", false},
	} {
		assert.Equal(t, c.want, matchGlob(c.pat, c.path), "%s ~ %s", c.pat, c.path)
	}
	assert.Error(t, validGlob("out/[a"))
	assert.NoError(t, validGlob("out/**/x"))
}

func TestParseDataDecl(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	d, err := parseDataDecl("imagenet=s3://bucket/x.tar#sha256="+hex, "/w")
	require.NoError(t, err)
	assert.Equal(t, dataDecl{Name: "imagenet", URI: "s3://bucket/x.tar", Digest: "sha256:" + hex}, d)
	d, err = parseDataDecl("data/train", "/w")
	require.NoError(t, err)
	assert.Equal(t, "/w/data/train", d.Path)
	d, err = parseDataDecl("/abs/x=y.csv", "/w")
	require.NoError(t, err)
	assert.Equal(t, "/abs/x=y.csv", d.Path, "a path with '=' but no URI is a path")
	for _, bad := range []string{"", "n=s3://b/x", "n=s3://b/x#md5=abc", "n=s3://b/x#sha256=xyz", "bad name=https://x/y#sha256=" + hex} {
		_, err := parseDataDecl(bad, "/w")
		assert.Error(t, err, bad)
	}
}

func TestParseDVC(t *testing.T) {
	outs, err := parseDVC("x.dvc", []byte("outs:\n- md5: A0123456789abcdef0123456789abcde.dir\n  size: 5\n  nfiles: 2\n  path: images\n  hash: md5\n"))
	require.NoError(t, err)
	assert.Equal(t, []dvcOut{{Path: "images", MD5: "a0123456789abcdef0123456789abcde.dir", Size: 5}}, outs)
	for _, bad := range []string{"outs: 3", "outs:\n- md5: zz\n  path: a\n", "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: ../x\n", "\t- :"} {
		_, err := parseDVC("x.dvc", []byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestParseLFSPointer(t *testing.T) {
	oid := strings.Repeat("0a", 32)
	got, size, ok, err := parseLFSPointer([]byte(lfsPointerPrefix + "oid sha256:" + oid + "\nsize 42\n"))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, oid, got)
	assert.Equal(t, int64(42), size)
	_, _, ok, err = parseLFSPointer([]byte("hello"))
	assert.False(t, ok)
	assert.NoError(t, err)
	_, _, ok, err = parseLFSPointer([]byte(lfsPointerPrefix + "oid sha256:xyz\nsize 1\n"))
	assert.True(t, ok)
	assert.Error(t, err)
}

func FuzzParseDVC(f *testing.F) {
	f.Add([]byte("outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: a\n"))
	f.Add([]byte("outs: [{md5: x, path: y}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		outs, err := parseDVC("f.dvc", b)
		if err != nil {
			return
		}
		for _, o := range outs {
			if strings.HasPrefix(o.Path, "/") || strings.HasPrefix(o.Path, "../") || o.Path == ".." {
				t.Fatalf("escaping path accepted: %q", o.Path)
			}
		}
	})
}

func FuzzParseLFSPointer(f *testing.F) {
	f.Add([]byte(lfsPointerPrefix + "oid sha256:" + strings.Repeat("0a", 32) + "\nsize 42\n"))
	f.Add([]byte(lfsPointerPrefix + "size x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		oid, size, ok, err := parseLFSPointer(b)
		if err == nil && ok && (!lockfmt.ValidDigest(lockfmt.DigestPrefix+oid) || size < 0) {
			t.Fatalf("bad pointer accepted: %q %d", oid, size)
		}
	})
}

func FuzzParseDataDecl(f *testing.F) {
	f.Add("n=s3://b/x#sha256=" + strings.Repeat("ab", 32))
	f.Add("data/x.csv")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDataDecl(s, "/w")
		if err != nil {
			return
		}
		if d.Path == "" && !lockfmt.ValidDigest(d.Digest) {
			t.Fatalf("reference without a valid digest: %+v", d)
		}
	})
}

func TestExplainDiff(t *testing.T) {
	dir := t.TempDir()
	w := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	a, b := w("a", "x\nat 2026-01-02T03:04:05\n"), w("b", "x\nat 2026-01-02T03:04:06\n")
	assert.Equal(t, "timestamps? (first difference on line 2)", explainDiff(a, b, false))
	c, d := w("c", "0.1234\n"), w("d", "0.1235\n")
	assert.Contains(t, explainDiff(c, d, false), "unseeded random numbers?")
	assert.Contains(t, explainDiff(c, d, true), "thread scheduling")
	assert.Contains(t, explainDiff("", "", true), "thread scheduling")
}

func TestChoosePins(t *testing.T) {
	ps := choosePins(map[string]string{"PYTHONHASHSEED": "123", "MKL_NUM_THREADS": "1"}, &Options{Deterministic: true})
	assert.Equal(t, "123", ps.det.HashSeed)
	assert.Equal(t, "user", ps.det.HashSeedSetBy)
	assert.Equal(t, "1", ps.env["MKL_NUM_THREADS"])
	assert.NotEmpty(t, ps.env["OMP_NUM_THREADS"])
	assert.Equal(t, ":4096:8", ps.env["CUBLAS_WORKSPACE_CONFIG"])
	assert.Equal(t, "1", ps.env["TF_DETERMINISTIC_OPS"])
	assert.Equal(t, int64(-1), ps.det.Seed)

	ps = choosePins(map[string]string{}, &Options{HashSeed: "7"})
	assert.Equal(t, "7", ps.env["PYTHONHASHSEED"])
	assert.Equal(t, "repro", ps.det.HashSeedSetBy)
	_, ok := ps.env["CUBLAS_WORKSPACE_CONFIG"]
	assert.False(t, ok)
}

func TestGitState(t *testing.T) {
	dir := t.TempDir()
	g := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@x"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	g("init", "-q", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "train.py"), []byte("print(1)\n"), 0o644))
	g("add", "train.py")
	g("commit", "-q", "-m", "init")
	g("remote", "add", "origin", "https://alice:ghp_secret@github.com/org/repo.git")

	st, tracked, err := gitState(context.Background(), dir)
	require.NoError(t, err)
	require.NotNil(t, st)
	assert.Len(t, st.Commit, 40)
	assert.Equal(t, "main", st.Branch)
	assert.Equal(t, "https://github.com/org/repo.git", st.Remote)
	assert.False(t, st.Dirty)
	assert.Empty(t, st.DiffDigest)
	assert.Equal(t, []string{"train.py"}, tracked)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "train.py"), []byte("print(2)\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "untracked.txt"), []byte("x"), 0o644))
	st, _, err = gitState(context.Background(), dir)
	require.NoError(t, err)
	assert.True(t, st.Dirty)
	diff, err := exec.Command("git", "-C", dir, "diff", "HEAD", "--no-ext-diff", "--no-color", "--binary").Output()
	require.NoError(t, err)
	assert.Equal(t, lockfmt.DigestBytes(diff), st.DiffDigest)

	none, tr, err := gitState(context.Background(), t.TempDir())
	require.NoError(t, err)
	assert.Nil(t, none)
	assert.Nil(t, tr)
}

// A project in git: tracked files are the code in the image, git state is
// recorded, and outputs are not code.
func TestCaptureGitProject(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	g := func(args ...string) {
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@x"}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	g("init", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.py"), []byte("import helper\nopen('result.txt','w').write(helper.X)\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "helper.py"), []byte("X = 'x'\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.md"), []byte("notes\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "untracked.py"), []byte("pass\n"), 0o644))
	g("add", "main.py", "helper.py", "notes.md")
	g("commit", "-q", "-m", "init")
	c := runCapture(t, dir, []string{python, "main.py"}, nil)
	m := c.m
	require.NotNil(t, m.Code.Git)
	assert.False(t, m.Code.Git.Dirty)
	assert.Equal(t, []string{filepath.Join(dir, "helper.py"), filepath.Join(dir, "main.py")}, m.Code.Files)
	_, ok := fileEntry(m, filepath.Join(dir, "notes.md"))
	assert.True(t, ok, "tracked files go into the image")
	_, ok = fileEntry(m, filepath.Join(dir, "untracked.py"))
	assert.False(t, ok, "with git, untracked files are not code")
	_, ok = fileEntry(m, filepath.Join(dir, "result.txt"))
	assert.False(t, ok, "outputs are not in the image")
	output(t, m, "result.txt")
}
