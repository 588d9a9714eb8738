package capture

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/repro-ml/repro/internal/probe"
)

// probeSource is the Python probe, installed as sitecustomize.py.
var probeSource = probe.Source

// maxReportSize bounds one probe report; a bigger file is not read.
const maxReportSize = 256 << 20

// probeDir is the private temporary directory of one capture: the probe's
// site directory (first on PYTHONPATH) and one report directory per run.
type probeDir struct {
	root string
	site string
}

func newProbeDir() (*probeDir, error) {
	root, err := os.MkdirTemp("", "repro-capture-")
	if err != nil {
		return nil, fmt.Errorf("creating the probe directory: %w", err)
	}
	p := &probeDir{root: root, site: filepath.Join(root, "site")}
	if err := os.Mkdir(p.site, 0o700); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("creating the probe directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(p.site, "sitecustomize.py"), probeSource, 0o600); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("installing the probe: %w", err)
	}
	return p, nil
}

// runDir creates and returns the directory for run i's reports and streams.
func (p *probeDir) runDir(i int) (string, error) {
	d := filepath.Join(p.root, fmt.Sprintf("run-%d", i))
	if err := os.Mkdir(d, 0o700); err != nil {
		return "", fmt.Errorf("creating the report directory: %w", err)
	}
	if err := os.Mkdir(filepath.Join(d, "reports"), 0o700); err != nil {
		return "", fmt.Errorf("creating the report directory: %w", err)
	}
	return d, nil
}

func (p *probeDir) remove() { os.RemoveAll(p.root) }

// readReports reads every probe report in dir. The experiment could write
// there too, so reports are untrusted: a file that does not parse is skipped
// with a warning. The report of process mainPID comes first, the others
// follow by PID. Partial reports (see openedStreams) are not included.
func readReports(dir string, mainPID int) ([]ProbeReport, []string) {
	var warnings []string
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, []string{fmt.Sprintf("reading probe reports: %v", err)}
	}
	var reps []ProbeReport
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil || fi.Size() > maxReportSize {
			warnings = append(warnings, fmt.Sprintf("probe report %s skipped: unreadable or too large", e.Name()))
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("reading probe report %s: %v", e.Name(), err))
			continue
		}
		var r ProbeReport
		if err := json.Unmarshal(b, &r); err != nil {
			warnings = append(warnings, fmt.Sprintf("probe report %s skipped: %v", e.Name(), err))
			continue
		}
		reps = append(reps, r)
	}
	sort.SliceStable(reps, func(i, j int) bool {
		if (reps[i].PID == mainPID) != (reps[j].PID == mainPID) {
			return reps[i].PID == mainPID
		}
		return reps[i].PID < reps[j].PID
	})
	return reps, warnings
}

// openedStreams turns the <pid>.opened streams of forked children that left
// no report (stopped by a signal) into reports holding only what they
// opened. Each line is "r PATH" or "w PATH"; other lines are ignored.
func openedStreams(dir string, have []ProbeReport) []ProbeReport {
	done := map[int]bool{}
	for _, r := range have {
		done[r.PID] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []ProbeReport
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".opened")
		pid, err := strconv.Atoi(name)
		if !ok || err != nil || done[pid] || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || len(b) > maxReportSize {
			continue
		}
		r := ProbeReport{PID: pid, Partial: true}
		seen := map[string]int{}
		for _, line := range strings.Split(string(b), "\n") {
			mode, p, ok := strings.Cut(line, " ")
			if !ok || (mode != "r" && mode != "w") || !filepath.IsAbs(p) {
				continue
			}
			p = filepath.Clean(p)
			if i, ok := seen[p]; ok {
				r.Opened[i].Write = r.Opened[i].Write || mode == "w"
				continue
			}
			seen[p] = len(r.Opened)
			r.Opened = append(r.Opened, OpenedPath{Path: p, Write: mode == "w"})
		}
		out = append(out, r)
	}
	return out
}
