package replay

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/repro-ml/repro/internal/probe"
)

// Bounds on the probe reports copied out of a replay's container. The
// experiment can write there too, so the reports are untrusted input.
const (
	maxReplayReportSize  = 64 << 20  // one report
	maxReplayReportTotal = 256 << 20 // all reports together
	maxReplayReportFiles = 4096      // tar entries looked at
)

// ReplayedRuntime is what the replay actually ran with, as the probe in
// the image reported it: the native runtimes, numpy's CPU features and the
// seeds and switches applied. It is empty, with a Note, when no Python
// process reported.
type ReplayedRuntime struct {
	// Processes is how many Python processes reported.
	Processes int `json:"processes"`
	// Runtimes are the BLAS/OpenMP runtimes loaded, one per library.
	Runtimes []probe.Runtime `json:"runtimes,omitempty"`
	// SIMD is numpy's baseline plus dispatched CPU features, when numpy was loaded.
	SIMD []string `json:"simd,omitempty"`
	// Pins are the seeds and switches the probe applied or observed,
	// merged across processes (applied when any process applied it).
	Pins []probe.Pin `json:"pins,omitempty"`
	// Note says why reports are missing or were skipped, if any were.
	Note string `json:"note,omitempty"`
}

// readReplayReports reads the probe reports from a tar stream of the
// report directory ("docker cp" of ReportDirInImage). Only regular files
// named *.json within the size bounds are decoded; anything else is
// ignored, and a report that does not parse is skipped. It never fails:
// the returned notes say what was skipped.
func readReplayReports(r io.Reader) ([]probe.Report, []string) {
	tr := tar.NewReader(r)
	var (
		reps  []probe.Report
		notes []string
		total int64
	)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("reading the probe reports: %v", err))
			break
		}
		if n >= maxReplayReportFiles {
			notes = append(notes, fmt.Sprintf("more than %d files in the report directory: the rest were ignored", maxReplayReportFiles))
			break
		}
		name := path.Base(h.Name)
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(name, ".json") {
			continue
		}
		if h.Size > maxReplayReportSize || total+h.Size > maxReplayReportTotal {
			notes = append(notes, fmt.Sprintf("probe report %s skipped: too large (%d bytes)", name, h.Size))
			continue
		}
		total += h.Size
		var rep probe.Report
		if err := json.NewDecoder(io.LimitReader(tr, maxReplayReportSize)).Decode(&rep); err != nil {
			notes = append(notes, fmt.Sprintf("probe report %s skipped: %v", name, err))
			continue
		}
		reps = append(reps, rep)
	}
	sort.SliceStable(reps, func(i, j int) bool { return reps[i].PID < reps[j].PID })
	return reps, notes
}

// mergeReplayed sums reports up into what the replay ran with: runtimes
// deduplicated by library, the first SIMD list seen (processes run on one
// CPU), pins merged by name.
func mergeReplayed(reps []probe.Report, notes []string) *ReplayedRuntime {
	rr := &ReplayedRuntime{Processes: len(reps)}
	seen := map[string]bool{}
	pins := map[string]int{}
	for _, r := range reps {
		for _, rt := range r.Runtimes {
			key := rt.Library + "\x00" + rt.Name
			if seen[key] {
				continue
			}
			seen[key] = true
			rr.Runtimes = append(rr.Runtimes, rt)
		}
		if rr.SIMD == nil && len(r.SIMD) > 0 {
			rr.SIMD = r.SIMD
		}
		for _, p := range r.Pins {
			if p.Name == "" {
				continue
			}
			i, ok := pins[p.Name]
			switch {
			case !ok:
				pins[p.Name] = len(rr.Pins)
				rr.Pins = append(rr.Pins, p)
			case p.Applied && !rr.Pins[i].Applied:
				rr.Pins[i] = p
			}
		}
	}
	sort.Slice(rr.Pins, func(i, j int) bool { return rr.Pins[i].Name < rr.Pins[j].Name })
	if len(reps) == 0 && len(notes) == 0 {
		notes = append(notes, "no Python process reported (the experiment ran no Python, or the probe could not write to "+ReportDirInImage+")")
	}
	rr.Note = strings.Join(notes, "; ")
	return rr
}
