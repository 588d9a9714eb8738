package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// ContainerSpec is one run of an experiment in a container.
type ContainerSpec struct {
	Image   string   // image reference or ID
	Argv    []string // the command, run as is (no entrypoint)
	WorkDir string   // absolute
	User    string   // "uid:gid", numeric
	Env     []string // NAME=VALUE, in the order given
	// NanoCPUs limits CPU time (1e9 = one CPU); 0 leaves it unlimited.
	NanoCPUs int64
	// Memory limits memory in bytes; 0 leaves it unlimited.
	Memory int64
	// GPUs requests all GPUs from the nvidia driver when true.
	GPUs bool
	// Binds are extra read-only bind mounts (host path → same container path).
	Binds []Bind
	// Timeout stops the container after this long; 0 means no limit.
	Timeout time.Duration
	// Stdout and Stderr receive the experiment's streams live; nil discards.
	Stdout, Stderr io.Writer
	// CopyPaths are copied out of the container after a normal exit: each
	// path that exists is passed to CopyOut as a tar stream (as "docker cp"
	// makes it: entries named from the path's base name). Paths that do not
	// exist are skipped.
	CopyPaths []string
	CopyOut   func(path string, tar io.Reader) error
	// OptionalPaths are copied out after CopyPaths, the same way, but best
	// effort: a failure to copy one, or an error CopyOut returns for it, does
	// not fail the run; it is noted in ContainerResult.CopyNotes.
	OptionalPaths []string
	// Labels are set on the container, to find leftovers.
	Labels map[string]string
}

// Bind is one read-only bind mount.
type Bind struct {
	Source string // host path, absolute
	Target string // container path, absolute
}

// ContainerResult is what a finished run produced.
type ContainerResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
	Duration time.Duration
	// TimedOut is true when the run was stopped by Timeout.
	TimedOut bool
	// CopyNotes say which of ContainerSpec.OptionalPaths could not be
	// copied out, and why.
	CopyNotes []string
}

// ErrTimeout is returned (wrapped) when a run exceeded ContainerSpec.Timeout.
var ErrTimeout = errors.New("the experiment did not finish within the timeout")

// RunContainer creates a container from spec with networking off, streams
// its stdout and stderr live while keeping them, waits for it to exit,
// copies spec.CopyPath out as a tar stream, and always removes the
// container, also when ctx is cancelled (the container is stopped first) or
// the timeout expires. The result is returned with the error for a timeout
// or cancellation, so the caller can still show the captured streams.
func RunContainer(ctx context.Context, cli *client.Client, spec ContainerSpec) (*ContainerResult, error) {
	cfg := &container.Config{
		Image:           spec.Image,
		Cmd:             spec.Argv,
		Entrypoint:      []string{},
		WorkingDir:      spec.WorkDir,
		User:            spec.User,
		Env:             spec.Env,
		NetworkDisabled: true,
		AttachStdout:    true,
		AttachStderr:    true,
		Labels:          spec.Labels,
	}
	host := &container.HostConfig{
		NetworkMode: "none",
		LogConfig:   container.LogConfig{Type: "json-file"},
		Resources: container.Resources{
			NanoCPUs: spec.NanoCPUs,
			Memory:   spec.Memory,
		},
	}
	if spec.GPUs {
		host.Resources.DeviceRequests = []container.DeviceRequest{{
			Driver: "nvidia", Count: -1, Capabilities: [][]string{{"gpu"}},
		}}
	}
	for _, b := range spec.Binds {
		host.Mounts = append(host.Mounts, mount.Mount{
			Type: mount.TypeBind, Source: b.Source, Target: b.Target, ReadOnly: true,
		})
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host})
	if err != nil {
		return nil, fmt.Errorf("creating the container from %s: %w", spec.Image, err)
	}
	id := created.ID
	defer func() {
		// A fresh context: the caller's may be cancelled already.
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = cli.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	return runCreated(ctx, cli, id, spec)
}

func runCreated(ctx context.Context, cli *client.Client, id string, spec ContainerSpec) (*ContainerResult, error) {
	att, err := cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, fmt.Errorf("attaching to the container: %w", err)
	}
	defer att.Close()
	waitCtx, cancelWait := context.WithCancel(context.Background())
	defer cancelWait()
	wait := cli.ContainerWait(waitCtx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})

	var outBuf, errBuf bytes.Buffer
	outW := io.Writer(&outBuf)
	errW := io.Writer(&errBuf)
	if spec.Stdout != nil {
		outW = io.MultiWriter(&outBuf, spec.Stdout)
	}
	if spec.Stderr != nil {
		errW = io.MultiWriter(&errBuf, spec.Stderr)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var copyErr error
	go func() {
		defer wg.Done()
		_, copyErr = stdcopy.StdCopy(outW, errW, att.Reader)
	}()

	start := time.Now()
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		att.Close()
		wg.Wait()
		return &ContainerResult{Stdout: outBuf.Bytes(), Stderr: errBuf.Bytes()}, fmt.Errorf("starting the container: %w", err)
	}
	var timeout <-chan time.Time
	if spec.Timeout > 0 {
		t := time.NewTimer(spec.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	res := &ContainerResult{}
	var runErr error
	select {
	case w := <-wait.Result:
		res.ExitCode = int(w.StatusCode)
		if w.Error != nil && w.Error.Message != "" {
			runErr = fmt.Errorf("waiting for the container: %s", w.Error.Message)
		}
	case err := <-wait.Error:
		runErr = fmt.Errorf("waiting for the container: %w", err)
	case <-ctx.Done():
		stop(cli, id)
		runErr = ctx.Err()
	case <-timeout:
		stop(cli, id)
		res.TimedOut = true
		runErr = fmt.Errorf("%w (%s)", ErrTimeout, spec.Timeout)
	}
	res.Duration = time.Since(start)
	// The attach stream ends when the container exits; bound the wait in
	// case the daemon keeps it open.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		att.Close()
		<-done
	}
	res.Stdout, res.Stderr = outBuf.Bytes(), errBuf.Bytes()
	if runErr != nil {
		return res, runErr
	}
	if copyErr != nil && !errors.Is(copyErr, io.EOF) {
		return res, fmt.Errorf("reading the experiment's output streams: %w", copyErr)
	}
	for _, p := range spec.CopyPaths {
		if err := copyOut(ctx, cli, id, p, spec.CopyOut); err != nil {
			return res, err
		}
	}
	for _, p := range spec.OptionalPaths {
		if err := copyOut(ctx, cli, id, p, spec.CopyOut); err != nil {
			res.CopyNotes = append(res.CopyNotes, fmt.Sprintf("%s: %v", p, err))
		}
	}
	return res, nil
}

// stop stops the container at once, with a fresh context.
func stop(cli *client.Client, id string) {
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zero := 0
	_, _ = cli.ContainerStop(sctx, id, client.ContainerStopOptions{Timeout: &zero})
}

func copyOut(ctx context.Context, cli *client.Client, id, path string, out func(string, io.Reader) error) error {
	cp, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("copying %s out of the container: %w", path, err)
	}
	defer cp.Content.Close()
	return out(path, cp.Content)
}
