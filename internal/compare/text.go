package compare

import (
	"fmt"
	"strings"
)

func splitLines(b []byte) []string {
	s := string(b)
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func compareText(want, got []byte) *Diff {
	wl, gl := splitLines(want), splitLines(got)
	first := 0
	for first < len(wl) && first < len(gl) && wl[first] == gl[first] {
		first++
	}
	d := &Diff{Kind: KindText, Unified: unified(wl, gl, MaxUnifiedLines)}
	d.Summary = fmt.Sprintf("%d lines, recorded %d; first difference at line %d", len(gl), len(wl), first+1)
	return d
}

// maxLCSCells bounds the quadratic part of the line diff; beyond it the
// differing middle is shown as a removal followed by an addition.
const maxLCSCells = 4_000_000

// unified returns at most limit lines of a unified diff of want (---) and
// got (+++), with three lines of context.
func unified(want, got []string, limit int) []string {
	pre := 0
	for pre < len(want) && pre < len(got) && want[pre] == got[pre] {
		pre++
	}
	suf := 0
	for suf < len(want)-pre && suf < len(got)-pre && want[len(want)-1-suf] == got[len(got)-1-suf] {
		suf++
	}
	wm, gm := want[pre:len(want)-suf], got[pre:len(got)-suf]
	var ops []op
	if len(wm)*len(gm) <= maxLCSCells {
		ops = lcsOps(wm, gm)
	} else {
		for _, l := range wm {
			ops = append(ops, op{'-', l})
		}
		for _, l := range gm {
			ops = append(ops, op{'+', l})
		}
	}
	ctx := 3
	start := max(0, pre-ctx)
	out := []string{"--- recorded", "+++ replayed",
		fmt.Sprintf("@@ -%d +%d @@", start+1, start+1)}
	for _, l := range want[start:pre] {
		out = append(out, " "+trimNL(l))
	}
	for _, o := range ops {
		out = append(out, string(o.kind)+trimNL(o.line))
		if len(out) >= limit {
			return append(out[:limit], "...")
		}
	}
	tail := want[len(want)-suf:]
	for i := 0; i < len(tail) && i < ctx; i++ {
		out = append(out, " "+trimNL(tail[i]))
	}
	if len(out) > limit {
		out = append(out[:limit], "...")
	}
	return out
}

type op struct {
	kind byte // ' ', '-', '+'
	line string
}

func lcsOps(a, b []string) []op {
	n, m := len(a), len(b)
	// lcs[i][j] = LCS length of a[i:], b[j:], flattened.
	lcs := make([]int32, (n+1)*(m+1))
	at := func(i, j int) *int32 { return &lcs[i*(m+1)+j] }
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				*at(i, j) = *at(i+1, j+1) + 1
			} else {
				*at(i, j) = max(*at(i+1, j), *at(i, j+1))
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i++
			j++
		case *at(i+1, j) >= *at(i, j+1):
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, op{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, op{'+', b[j]})
	}
	return ops
}

func trimNL(s string) string {
	s = strings.TrimSuffix(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
