package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/ociimage"
)

// progC is a static test program: "write" prints to both streams and
// writes /work/result.txt, "exit" exits 3, "sleep" sleeps a minute, "net"
// prints the network interfaces it sees.
const progC = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
int main(int argc, char **argv) {
	const char *mode = argc > 1 ? argv[1] : "write";
	if (!strcmp(mode, "sleep")) { sleep(60); return 0; }
	if (!strcmp(mode, "exit")) return 3;
	if (!strcmp(mode, "net")) {
		DIR *d = opendir("/sys/class/net"); struct dirent *e;
		while (d && (e = readdir(d))) if (e->d_name[0] != '.') printf("%s\n", e->d_name);
		return 0;
	}
	printf("out %s\n", getenv("GREETING")); fflush(stdout);
	fprintf(stderr, "err line\n");
	FILE *f = fopen("result.txt", "w"); if (!f) return 9;
	fprintf(f, "42\n"); fclose(f);
	return 0;
}
`

var (
	testImageOnce sync.Once
	testImageRef  string
	testImageErr  error
)

// testImage builds the static program into a one-layer image and loads it.
func testImage(t *testing.T, e *Engine) string {
	t.Helper()
	testImageOnce.Do(func() { testImageRef, testImageErr = buildTestImage(e) })
	require.NoError(t, testImageErr)
	return testImageRef
}

func buildTestImage(e *Engine) (string, error) {
	dir, err := os.MkdirTemp("", "engine-test-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "prog.c")
	if err := os.WriteFile(src, []byte(progC), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "prog")
	if out, err := exec.Command("gcc", "-static", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc -static: %v: %s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, h := range []*tar.Header{
		{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "app/prog", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(prog))},
		{Name: "work/", Typeflag: tar.TypeDir, Mode: 0o777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return "", err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(prog); err != nil {
				return "", err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	raw := layer.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return "", err
	}
	if img, err = mutate.Config(img, v1.Config{Cmd: []string{"/app/prog"}, WorkingDir: "/work"}); err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(ociimage.WriteArchive(pw, img, "repro-engine-test:static")) }()
	if _, err := e.Load(context.Background(), pr); err != nil {
		return "", err
	}
	return "repro-engine-test:static", nil
}

func connect(t *testing.T) *Engine {
	t.Helper()
	e, err := Connect(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// leftovers counts containers (running or not) carrying the test label.
func leftovers(t *testing.T, e *Engine, label string) int {
	res, err := e.Client().ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", "repro.test="+label),
	})
	require.NoError(t, err)
	return len(res.Items)
}

func TestRunContainerStreamsAndCopies(t *testing.T) {
	e := connect(t)
	ref := testImage(t, e)
	var live bytes.Buffer
	copied := map[string][]byte{}
	res, err := RunContainer(context.Background(), e.Client(), ContainerSpec{
		Image: ref, Argv: []string{"/app/prog", "write"}, WorkDir: "/work", User: "65534:65534",
		Env: []string{"GREETING=hello"}, Stdout: &live, Labels: map[string]string{"repro.test": "copy"},
		NanoCPUs: 1e9, Memory: 64 << 20,
		CopyPaths:     []string{"/work/result.txt", "/work/missing.txt"},
		OptionalPaths: []string{"/app", "/work/missing-too"},
		CopyOut: func(p string, r io.Reader) error {
			if p == "/app" {
				return errors.New("refused by the caller")
			}
			tr := tar.NewReader(r)
			h, err := tr.Next()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(tr)
			copied[p+":"+h.Name] = b
			return err
		},
	})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Equal(t, "out hello\n", string(res.Stdout))
	assert.Equal(t, "err line\n", string(res.Stderr))
	assert.Equal(t, "out hello\n", live.String())
	assert.Equal(t, map[string][]byte{"/work/result.txt:result.txt": []byte("42\n")}, copied)
	// An optional path that fails is noted, one that is missing skipped.
	assert.Equal(t, []string{"/app: refused by the caller"}, res.CopyNotes)
	assert.Equal(t, 0, leftovers(t, e, "copy"))
}

func TestRunContainerExitAndNetwork(t *testing.T) {
	e := connect(t)
	ref := testImage(t, e)
	res, err := RunContainer(context.Background(), e.Client(), ContainerSpec{Image: ref, Argv: []string{"/app/prog", "exit"}, WorkDir: "/work"})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)

	res, err = RunContainer(context.Background(), e.Client(), ContainerSpec{Image: ref, Argv: []string{"/app/prog", "net"}, WorkDir: "/work"})
	require.NoError(t, err)
	assert.Equal(t, "lo", strings.TrimSpace(string(res.Stdout)), "networking must be off")
}

func TestRunContainerTimeoutAndCancel(t *testing.T) {
	e := connect(t)
	ref := testImage(t, e)
	start := time.Now()
	_, err := RunContainer(context.Background(), e.Client(), ContainerSpec{
		Image: ref, Argv: []string{"/app/prog", "sleep"}, WorkDir: "/work", Timeout: time.Second,
		Labels: map[string]string{"repro.test": "timeout"},
	})
	require.ErrorIs(t, err, ErrTimeout)
	assert.Less(t, time.Since(start), 30*time.Second)
	assert.Equal(t, 0, leftovers(t, e, "timeout"))

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	_, err = RunContainer(ctx, e.Client(), ContainerSpec{
		Image: ref, Argv: []string{"/app/prog", "sleep"}, WorkDir: "/work",
		Labels: map[string]string{"repro.test": "cancel"},
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, leftovers(t, e, "cancel"))
}

func TestRunContainerDoesNotStart(t *testing.T) {
	e := connect(t)
	ref := testImage(t, e)
	_, err := RunContainer(context.Background(), e.Client(), ContainerSpec{
		Image: ref, Argv: []string{"/usr/bin/python3", "x.py"}, WorkDir: "/work",
		Labels: map[string]string{"repro.test": "nostart"},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "starting the container")
	assert.Equal(t, 0, leftovers(t, e, "nostart"))
}
