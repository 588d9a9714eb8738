package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/repro-ml/repro/lockfmt"
)

// captureSummary is the --json document of repro capture.
type captureSummary struct {
	Manifest   string               `json:"manifest"`
	Signature  string               `json:"signature,omitempty"`
	ExitCode   int                  `json:"exit_code"`
	DurationMS int64                `json:"duration_ms"`
	Runs       int                  `json:"runs"`
	Outputs    []captureJSONOutput  `json:"outputs"`
	Data       []captureJSONData    `json:"data"`
	Packages   int                  `json:"packages"`
	Libraries  int                  `json:"libraries"`
	Files      int                  `json:"files"`
	Pins       []captureJSONPin     `json:"pins"`
	Scrubbed   []string             `json:"scrubbed,omitempty"`
	Code       captureSummaryCode   `json:"code"`
	Python     captureSummaryPython `json:"python"`
}

type captureJSONOutput struct {
	Path             string `json:"path"`
	Digest           string `json:"digest"`
	Size             int64  `json:"size"`
	Nondeterministic bool   `json:"nondeterministic,omitempty"`
	Reason           string `json:"reason,omitempty"`
}

type captureJSONData struct {
	Name   string `json:"name,omitempty"`
	Path   string `json:"path,omitempty"`
	URI    string `json:"uri,omitempty"`
	Kind   string `json:"kind"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Files  int    `json:"files,omitempty"`
	Source string `json:"source"`
}

type captureJSONPin struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Applied bool   `json:"applied"`
	Note    string `json:"note,omitempty"`
}

type captureJSONRuntime struct {
	API      string `json:"api"`
	Library  string `json:"library"`
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	CoreType string `json:"core_type,omitempty"`
	Threads  int    `json:"threads"`
}

type captureSummaryCode struct {
	Files  int    `json:"files"`
	Digest string `json:"digest,omitempty"`
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
}

type captureSummaryPython struct {
	Executable string               `json:"executable,omitempty"`
	Version    string               `json:"version,omitempty"`
	Runtimes   []captureJSONRuntime `json:"runtimes,omitempty"`
}

func captureSummaryJSON(m *lockfmt.Manifest, out, sig string) captureSummary {
	s := captureSummary{
		Manifest: out, Signature: sig, ExitCode: m.Run.ExitCode, DurationMS: m.Run.DurationMS,
		Runs: m.Run.Runs, Outputs: []captureJSONOutput{}, Data: []captureJSONData{}, Packages: len(m.Packages),
		Libraries: len(m.Libraries), Files: len(m.Files), Pins: []captureJSONPin{}, Scrubbed: m.Run.Scrubbed,
		Code:   captureSummaryCode{Files: len(m.Code.Files), Digest: m.Code.Digest},
		Python: captureSummaryPython{Executable: m.Python.Executable, Version: m.Python.Version},
	}
	for _, o := range m.Outputs {
		s.Outputs = append(s.Outputs, captureJSONOutput(o))
	}
	for _, d := range m.Data {
		s.Data = append(s.Data, captureJSONData(d))
	}
	for _, p := range m.Determinism.Pins {
		s.Pins = append(s.Pins, captureJSONPin(p))
	}
	for _, rt := range m.Python.Runtimes {
		s.Python.Runtimes = append(s.Python.Runtimes, captureJSONRuntime(rt))
	}
	if g := m.Code.Git; g != nil {
		s.Code.Commit, s.Code.Dirty = g.Commit, g.Dirty
	}
	return s
}

// printCaptureSummary prints what was recorded and how to replay it.
func (a *app) printCaptureSummary(m *lockfmt.Manifest, wd, out, sig string) {
	runs := ""
	if m.Run.Runs > 1 {
		runs = fmt.Sprintf(", %d runs", m.Run.Runs)
	}
	a.printf("captured  %s (exit %d, %.1f s%s)\n", strings.Join(m.Run.Argv, " "), m.Run.ExitCode, float64(m.Run.DurationMS)/1000, runs)
	a.printf("outputs   %d\n", len(m.Outputs))
	for _, o := range m.Outputs {
		flag := ""
		if o.Nondeterministic {
			flag = "  nondeterministic: " + o.Reason
		}
		a.printf("  %-30s %s  %s%s\n", o.Path, shortDigest(o.Digest), humanSize(o.Size), flag)
	}
	a.printf("data      %d\n", len(m.Data))
	for _, d := range m.Data {
		a.printf("  %-30s %s  %s  (%s, %s)\n", captureDataName(d, wd), shortDigest(d.Digest), humanSize(d.Size), d.Kind, d.Source)
	}
	code := fmt.Sprintf("%d source files read", len(m.Code.Files))
	if g := m.Code.Git; g != nil {
		c := g.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		code += ", git " + c
		if g.Dirty {
			code += " (dirty)"
		}
	}
	a.printf("code      %s\n", code)
	py := m.Python.Version
	if py != "" {
		py = "python " + py + ", "
	}
	a.printf("stack     %s%d packages, %d native libraries, %d files\n", py, len(m.Packages), len(m.Libraries), len(m.Files))
	for _, rt := range m.Python.Runtimes {
		desc := strings.Join(strings.Fields(strings.Join([]string{rt.Name, rt.Version, rt.CoreType}, " ")), " ")
		a.printf("  %s, %d threads (%s)\n", desc, rt.Threads, rt.Library)
	}
	a.printf("pins      PYTHONHASHSEED=%s (%s)", m.Determinism.HashSeed, m.Determinism.HashSeedSetBy)
	if m.Determinism.Seed >= 0 {
		a.printf(", seed %d", m.Determinism.Seed)
	}
	if m.Determinism.Deterministic {
		a.printf(", deterministic")
	}
	a.printf(", threads %s\n", m.Determinism.Threads["OMP_NUM_THREADS"])
	if len(m.Run.Scrubbed) > 0 {
		a.printf("scrubbed  %s\n", strings.Join(m.Run.Scrubbed, ", "))
	}
	rel := captureRel(wd, out)
	a.printf("manifest  %s\n", rel)
	if sig != "" {
		a.printf("signature %s\n", captureRel(wd, sig))
	}
	if sig != "" {
		a.printf("replay    repro replay --key KEY.pub %s\n", rel)
		return
	}
	a.printf("sign      repro sign -k KEY %s   (or capture with -k KEY)\n", rel)
	a.printf("replay    repro replay --insecure-unsigned %s\n", rel)
}

func captureDataName(d lockfmt.Data, wd string) string {
	if d.Path != "" && d.Kind != "dvc" && d.Kind != "git-lfs" {
		if r, err := filepath.Rel(wd, d.Path); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return d.Path
	}
	return captureFirst(d.Name, d.URI)
}

func captureFirst(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// captureRel shows p relative to wd when it is inside it.
func captureRel(wd, p string) string {
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
