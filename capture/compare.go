package capture

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/repro-ml/repro/lockfmt"
)

// maxDiffCopy is the largest output kept between runs to explain a
// difference; bigger outputs are compared by digest only.
const maxDiffCopy = 4 << 20

// runOutputs are one run's outputs and, for explaining differences, where a
// copy of each small one was kept.
type runOutputs struct {
	outs   map[string]lockfmt.Output
	copies map[string]string
}

// keepCopies copies the small outputs of a run into dir so that a later run
// overwriting them does not lose the bytes.
func keepCopies(ro *runOutputs, workdir, dir string, streams map[string]string) {
	ro.copies = map[string]string{}
	for p, f := range streams {
		ro.copies[p] = f
	}
	i := 0
	for p, o := range ro.outs {
		if _, ok := streams[p]; ok || o.Size > maxDiffCopy {
			continue
		}
		b, err := os.ReadFile(filepath.Join(workdir, filepath.FromSlash(p)))
		if err != nil {
			continue
		}
		i++
		dst := filepath.Join(dir, fmt.Sprintf("copy-%d", i))
		if os.WriteFile(dst, b, 0o600) == nil {
			ro.copies[p] = dst
		}
	}
}

// mergeRuns returns the last run's outputs, each marked nondeterministic
// when its digest differed between runs, with a guess at why.
func mergeRuns(runs []runOutputs, seeded bool) []lockfmt.Output {
	last := runs[len(runs)-1]
	paths := make([]string, 0, len(last.outs))
	for p := range last.outs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []lockfmt.Output
	for _, p := range paths {
		o := last.outs[p]
		for i := 0; i < len(runs)-1; i++ {
			prev, ok := runs[i].outs[p]
			if !ok || prev.Digest == o.Digest {
				continue
			}
			o.Nondeterministic = true
			o.Reason = explainDiff(runs[i].copies[p], last.copies[p], seeded)
			break
		}
		out = append(out, o)
	}
	return out
}

// dateLikeRe matches what a timestamp leaves in text: ISO dates, clock
// times, epoch seconds, ctime-style day and month names.
var dateLikeRe = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}:\d{2}|\b1[5-9]\d{8}(\.\d+)?\b|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b`)

// explainDiff guesses why two versions of an output differ: timestamps when
// the first differing lines look like dates or times, unseeded randomness
// when no --seed was given, thread scheduling or a nondeterministic
// algorithm otherwise.
func explainDiff(a, b string, seeded bool) string {
	line, la, lb, ok := firstDiff(a, b)
	where := ""
	if ok {
		where = fmt.Sprintf(" (first difference on line %d)", line)
		if dateLikeRe.Match(la) || dateLikeRe.Match(lb) {
			return "timestamps?" + where
		}
	}
	if !seeded {
		return "unseeded random numbers? try --seed N; or thread scheduling" + where
	}
	return "thread scheduling or a nondeterministic algorithm? try --deterministic or fewer threads" + where
}

// firstDiff finds the first line where the files a and b differ.
func firstDiff(a, b string) (line int, la, lb []byte, ok bool) {
	if a == "" || b == "" {
		return 0, nil, nil, false
	}
	fa, err := os.Open(a)
	if err != nil {
		return 0, nil, nil, false
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return 0, nil, nil, false
	}
	defer fb.Close()
	ra, rb := bufio.NewReader(fa), bufio.NewReader(fb)
	for n := 1; ; n++ {
		x, errA := ra.ReadBytes('\n')
		y, errB := rb.ReadBytes('\n')
		if !bytes.Equal(x, y) {
			return n, x, y, true
		}
		if errA == io.EOF || errB == io.EOF || errA != nil || errB != nil {
			return 0, nil, nil, false
		}
	}
}
