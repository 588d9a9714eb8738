package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// This file owns every line repro prints. Rules:
//   - results and reports go to stdout; progress, warnings and errors to stderr;
//   - errors read "repro: error: <lower-case message>", followed by at most one
//     "repro: hint: <what to do next>";
//   - nothing is printed to stdout when a command fails before producing output;
//   - --json output is one JSON document on stdout, indented, with a trailing newline.

func (a *app) errorf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "repro: error: "+format+"\n", args...)
}

func (a *app) hintf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "repro: hint: "+format+"\n", args...)
}

func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "repro: warning: "+format+"\n", args...)
}

// infof prints a progress or status line on stderr.
func (a *app) infof(format string, args ...any) {
	fmt.Fprintf(a.stderr, "repro: "+format+"\n", args...)
}

// printf writes a result line to stdout.
func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}

// writeJSON writes v as the command's one JSON document on stdout.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a terminal, for progress display.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// promptf prints a question on stderr without a newline, for an
// interactive answer (a passphrase).
func (a *app) promptf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "repro: "+format, args...)
}

// humanSize renders a byte count for people: "512 B", "1.5 KiB", "2.0 GiB".
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGTP"[i])
}

// shortDigest abbreviates a digest to its algorithm and 12 hex digits
// ("sha256:0123456789ab"); "" becomes "-".
func shortDigest(d string) string {
	if d == "" {
		return "-"
	}
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// orDash shows an empty field as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
