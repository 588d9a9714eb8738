package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/repro-ml/repro/replay"
)

// TestReplayReportRuntimeWarning: outputs that matched on another kernel
// than the capture's get a warning line; differing outputs show the
// observed difference among their causes instead.
func TestReplayReportRuntimeWarning(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &bytes.Buffer{}, getenv: os.Getenv}
	diff := "BLAS kernel: captured Cooperlake, replay ran Sandybridge (openblas, as the probe reported)"
	r := &replay.Report{Verdict: "bit-identical: 1/1 outputs", Identical: 1, Total: 1,
		Outputs:      []replay.OutputDiff{{Path: "product.npy", Status: replay.StatusIdentical}},
		RuntimeDiffs: []string{diff}}
	a.printReplayReport(r)
	assert.Contains(t, out.String(), "\nwarning: the outputs matched, but the replay ran with another runtime than the capture: "+diff+"\n")

	out.Reset()
	r.RuntimeDiffs = nil
	a.printReplayReport(r)
	assert.NotContains(t, out.String(), "warning:")

	out.Reset()
	r.Verdict, r.Failing, r.Identical = "DIFFERENT: 1 of 1 outputs", 1, 0
	r.RuntimeDiffs = []string{diff}
	r.Outputs[0].Status, r.Outputs[0].Causes = replay.StatusDifferent, []string{diff}
	a.printReplayReport(r)
	assert.NotContains(t, out.String(), "warning:")
	assert.Contains(t, out.String(), "    - "+diff+"\n")
}
