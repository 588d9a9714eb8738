package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/repro-ml/repro/replay"
)

// printReplayPlan shows, on stderr before the run, how the manifest was
// trusted, the hardware warnings and the variables replay pinned or the
// user overrode.
func (a *app) printReplayPlan(r *replay.Report) {
	if r.Trust.Verified {
		a.infof("signature verified (%s)", r.Trust.Method)
	} else if r.Trust.Insecure {
		a.warnf("the manifest's signature was NOT verified (%s): --insecure-unsigned", r.Trust.Note)
	}
	for _, w := range r.Warnings {
		a.warnf("%s", w)
	}
	for _, e := range r.Env {
		switch e.Source {
		case replay.SourceKernelPin:
			a.infof("pinned %s=%s (the capture's kernels)", e.Name, e.Value)
		case replay.SourceOverride:
			a.infof("--env %s=%s (recorded: %s)", e.Name, e.Value, orDash(e.Recorded))
		}
	}
	if !r.PinKernels {
		a.infof("--no-pin-kernels: BLAS and numpy choose their kernels for this CPU")
	}
}

// printReplayReport renders a replay report for a person on stdout: the
// verdict, the per-output table and each difference with its likely causes.
func (a *app) printReplayReport(r *replay.Report) {
	for _, w := range r.Warnings[r.PlanWarnings:] {
		a.warnf("%s", w)
	}
	a.printf("%s\n\n", r.Verdict)
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  OUTPUT\tSTATUS\tSIZE\tREPLAYED DIGEST")
	for _, o := range r.Outputs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", o.Path, o.Status, humanSize(o.Size), shortDigest(o.Replayed))
	}
	tw.Flush()
	if r.Failing == 0 && len(r.RuntimeDiffs) > 0 {
		// Observed, not guessed: results matched on a different kernel.
		a.printf("\nwarning: the outputs matched, but the replay ran with another runtime than the capture: %s\n",
			strings.Join(r.RuntimeDiffs, "; "))
	}
	for _, o := range r.Outputs {
		if o.Status == replay.StatusIdentical {
			continue
		}
		a.printf("\n%s: %s\n", o.Path, o.Status)
		if o.Diff != nil {
			a.printf("  %s\n", o.Diff.Summary)
			for _, l := range o.Diff.Unified {
				a.printf("    %s\n", l)
			}
		}
		if o.NoDetail != "" {
			a.printf("  (%s)\n", o.NoDetail)
		}
		if len(o.Causes) > 0 {
			a.printf("  likely causes:\n")
			for _, c := range o.Causes {
				a.printf("    - %s\n", c)
			}
		}
	}
	trust := "signature verified (" + r.Trust.Method + ")"
	if !r.Trust.Verified {
		trust = "signature NOT verified"
	}
	verified := "verified"
	if !r.Image.Verified {
		verified = "not verified"
	}
	a.printf("\n%s; image %s (%s, %s); exit status %d (recorded %d); %.1fs (recorded %.1fs)\n",
		trust, shortDigest(r.Image.Ref), r.Image.Source, verified, r.ExitCode, r.RecordedExit,
		float64(r.DurationMS)/1000, float64(r.RecordedMS)/1000)
}
