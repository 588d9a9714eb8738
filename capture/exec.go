package capture

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/repro-ml/repro/lockfmt"
)

// Escalation after an interrupt: SIGINT to the experiment's process group at
// once, SIGTERM after termGrace, SIGKILL after killGrace.
const (
	termGrace = 5 * time.Second
	killGrace = 10 * time.Second
)

// stream is one captured output stream: digested and saved while it is
// forwarded live.
type stream struct {
	file *os.File
	h    hash.Hash
	n    int64
	live io.Writer
}

func newStream(path string, live io.Writer) (*stream, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("saving the experiment's output: %w", err)
	}
	return &stream{file: f, h: sha256.New(), live: live}, nil
}

// Write never fails because of the live sink: a closed terminal must not
// change the experiment's fate.
func (s *stream) Write(p []byte) (int, error) {
	s.h.Write(p)
	s.n += int64(len(p))
	if _, err := s.file.Write(p); err != nil {
		return 0, fmt.Errorf("saving the experiment's output: %w", err)
	}
	if s.live != nil {
		s.live.Write(p) //nolint:errcheck // best effort, see above
	}
	return len(p), nil
}

func (s *stream) output(path string) lockfmt.Output {
	return lockfmt.Output{Path: path, Digest: lockfmt.FormatDigest(s.h.Sum(nil)), Size: s.n}
}

// runResult is the outcome of one run of the experiment.
type runResult struct {
	exitCode int
	duration time.Duration
	pid      int
	// stdout and stderr are the streams as outputs; stdoutFile and
	// stderrFile hold their saved bytes.
	stdout, stderr         lockfmt.Output
	stdoutFile, stderrFile string
	// executables are the programs the run's processes executed, as the
	// process watcher saw them (real paths).
	executables []string
}

// runOnce starts argv in dir with env, streams its output, and waits for it.
// Cancelling ctx forwards SIGINT (then SIGTERM, then SIGKILL) to the
// experiment's process group and returns an error wrapping ErrInterrupted.
func runOnce(ctx context.Context, argv []string, dir string, env []string, opts *Options, saveDir string) (*runResult, error) {
	out, err := newStream(filepath.Join(saveDir, "stdout"), opts.Stdout)
	if err != nil {
		return nil, err
	}
	defer out.file.Close()
	errS, err := newStream(filepath.Join(saveDir, "stderr"), opts.Stderr)
	if err != nil {
		return nil, err
	}
	defer errS.file.Close()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = opts.Stdin
	cmd.Stdout = out
	cmd.Stderr = errS
	// Own process group: a shell script's children get the forwarded
	// signals too, and a terminal's Ctrl-C reaches the experiment once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Background processes holding the pipes must not keep us waiting.
	cmd.WaitDelay = 2 * time.Second
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w before it started", ErrInterrupted)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("starting %s: %w (check the command name and PATH)", argv[0], ee.Err)
		}
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	pid := cmd.Process.Pid
	watch := watchProcesses(pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var waitErr error
	interrupted := false
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		interrupted = true
		waitErr = interrupt(pid, done)
	}
	dur := time.Since(start)
	executables := watch.finish()
	if interrupted {
		syscall.Kill(-pid, syscall.SIGKILL) // stragglers of the group
		return nil, fmt.Errorf("%w: %s stopped after %s", ErrInterrupted, argv[0], dur.Round(time.Millisecond))
	}
	if waitErr != nil && cmd.ProcessState == nil {
		return nil, fmt.Errorf("waiting for %s: %w", argv[0], waitErr)
	}
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	return &runResult{
		exitCode:    code,
		duration:    dur,
		pid:         pid,
		stdout:      out.output(lockfmt.StdoutPath),
		stderr:      errS.output(lockfmt.StderrPath),
		stdoutFile:  out.file.Name(),
		stderrFile:  errS.file.Name(),
		executables: executables,
	}, nil
}

// interrupt signals the process group pid and escalates until the
// experiment exits.
func interrupt(pid int, done <-chan error) error {
	syscall.Kill(-pid, syscall.SIGINT)
	term := time.NewTimer(termGrace)
	defer term.Stop()
	kill := time.NewTimer(killGrace)
	defer kill.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-term.C:
			syscall.Kill(-pid, syscall.SIGTERM)
		case <-kill.C:
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}
