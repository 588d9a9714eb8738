package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes, documented in the README.
const (
	exitOK       = 0 // success, bit-identical
	exitDiffer   = 1 // a difference or a failed check
	exitUsage    = 2 // usage or input error, could not run
	exitInternal = 2
)

// command is one subcommand of repro. Each lives in its own cmd_<name>.go
// file and registers itself in commands().
type command struct {
	name    string
	summary string // one line for "repro help"
	usage   string // full --help text: synopsis, description, examples
	// setFlags defines the command's flags on fs; it may be nil.
	setFlags func(fs *flag.FlagSet)
	run      func(ctx context.Context, a *app, fs *flag.FlagSet) error
}

// app carries the streams of one invocation; everything a person reads goes
// through its methods (see ui.go).
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv is os.Getenv, replaceable in tests.
	getenv func(string) string
}

// usageError is a mistake on the command line: exit status 2, with a hint to
// read --help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError carries an explicit exit status (for example 1 for "outputs
// differ") together with the message to print, which may be empty.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// errNotImplemented is returned by commands whose issue has not landed yet.
var errNotImplemented = errors.New("not implemented yet")

func commands() []*command {
	cmds := []*command{
		captureCmd(), buildCmd(), replayCmd(), pushCmd(), pullCmd(),
		verifyCmd(), signCmd(), keygenCmd(), inspectCmd(), versionCmd(),
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds
}

const topUsage = `repro makes machine-learning experiments reproducible bit for bit.

Usage:
  repro <command> [flags] [arguments]

Commands:
%s
Exit status: 0 success (bit-identical), 1 a difference or a failed check,
2 a usage or input error, or a replay that could not run.

Run "repro <command> --help" for a command's flags and examples.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		a.printTopUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			name = args[1]
			args = []string{name, "--help"}
			break
		}
		a.printTopUsage(stdout)
		return exitOK
	case "-version", "--version":
		name, args = "version", []string{"version"}
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == name {
			cmd = c
		}
	}
	if cmd == nil {
		a.errorf("unknown command %q", name)
		a.hintf(`run "repro help" for the list of commands`)
		return exitUsage
	}
	fs := flag.NewFlagSet("repro "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if cmd.setFlags != nil {
		cmd.setFlags(fs)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printCommandUsage(stdout, cmd, fs)
			return exitOK
		}
		a.errorf("%v", err)
		a.hintf(`run "repro %s --help" for usage`, cmd.name)
		return exitUsage
	}
	return a.exit(cmd, cmd.run(ctx, a, fs))
}

// exit maps a command's error to an exit status, printing it once.
func (a *app) exit(cmd *command, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ee *exitError
	switch {
	case errors.As(err, &ue):
		a.errorf("%s", ue.msg)
		a.hintf(`run "repro %s --help" for usage`, cmd.name)
		return exitUsage
	case errors.As(err, &ee):
		if ee.err != nil {
			a.errorf("%v", ee.err)
		}
		return ee.code
	case errors.Is(err, errNotImplemented):
		a.errorf("repro %s: %v", cmd.name, err)
		return exitUsage
	case errors.Is(err, context.Canceled):
		a.errorf("interrupted")
		return exitUsage
	default:
		a.errorf("%v", err)
		return exitUsage
	}
}

func (a *app) printTopUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, topUsage, b.String())
}

func (a *app) printCommandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintln(w, strings.TrimSpace(cmd.usage))
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}
