package compare

import (
	"fmt"
	"math"
	"strconv"
)

// NumericDiff summarises a number-by-number comparison.
type NumericDiff struct {
	Count     int     `json:"count"`     // numbers compared
	Differing int     `json:"differing"` // numbers whose values differ
	MaxAbs    float64 `json:"max_abs_error"`
	MaxRel    float64 `json:"max_rel_error"`
	MaxULP    uint64  `json:"max_ulp"`
	// Worst is the index (0-based, in reading order) of the number with the
	// largest absolute error, with its recorded and replayed text.
	Worst     int    `json:"worst_index"`
	WorstWant string `json:"worst_want"`
	WorstGot  string `json:"worst_got"`
	// Line is the 1-based line of the worst number in the replayed output.
	Line int `json:"line"`
	// OutsideTolerance counts differing numbers outside the tolerance.
	OutsideTolerance int `json:"outside_tolerance"`
}

// numToken is one number found in a text.
type numToken struct {
	text string
	val  float64
	line int
}

// maxNumbers bounds the numbers scanned in one output.
const maxNumbers = 50_000_000

// scanNumbers splits b into its numbers and the text around them (the
// skeleton, with every number replaced by a NUL byte). Numbers are decimal
// literals with optional sign, fraction and exponent, plus nan and inf
// spellings; a sign is part of a number only at the start or after a
// delimiter, so "2-3" is two numbers and a minus.
func scanNumbers(b []byte) (skel []byte, nums []numToken, ok bool) {
	line := 1
	i := 0
	for i < len(b) {
		c := b[i]
		if c == '\n' {
			line++
		}
		if j := numberEnd(b, i); j > i {
			if len(nums) >= maxNumbers {
				return nil, nil, false
			}
			txt := string(b[i:j])
			v, err := strconv.ParseFloat(txt, 64)
			if err != nil {
				// Out of range still parses to ±Inf with an error; keep it.
				if ne, isNum := err.(*strconv.NumError); !isNum || ne.Err != strconv.ErrRange {
					skel = append(skel, b[i:j]...)
					i = j
					continue
				}
			}
			nums = append(nums, numToken{text: txt, val: v, line: line})
			skel = append(skel, 0)
			i = j
			continue
		}
		skel = append(skel, c)
		i++
	}
	return skel, nums, true
}

// numberEnd returns the end of a number starting at i, or i when none does.
func numberEnd(b []byte, i int) int {
	if i > 0 && isWordByte(b[i-1]) {
		return i // inside an identifier like "x1" or "1e5x"
	}
	j := i
	if j < len(b) && (b[j] == '-' || b[j] == '+') {
		j++
	}
	for _, w := range []string{"nan", "NaN", "inf", "Infinity", "Inf"} {
		if hasWord(b, j, w) {
			return j + len(w)
		}
	}
	digits := 0
	for j < len(b) && isDigit(b[j]) {
		j++
		digits++
	}
	if j < len(b) && b[j] == '.' {
		j++
		for j < len(b) && isDigit(b[j]) {
			j++
			digits++
		}
	}
	if digits == 0 {
		return i
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		k := j + 1
		if k < len(b) && (b[k] == '-' || b[k] == '+') {
			k++
		}
		if k < len(b) && isDigit(b[k]) {
			for k < len(b) && isDigit(b[k]) {
				k++
			}
			j = k
		}
	}
	if j < len(b) && isWordByte(b[j]) {
		return i // "12abc" is a word, not a number
	}
	return j
}

func hasWord(b []byte, i int, w string) bool {
	if i+len(w) > len(b) || string(b[i:i+len(w)]) != w {
		return false
	}
	return i+len(w) == len(b) || !isWordByte(b[i+len(w)])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c)
}

// compareNumbers compares want and got number by number when their text
// around the numbers is identical; it returns nil otherwise.
func compareNumbers(want, got []byte, tol Tolerance) *Diff {
	ws, wn, ok1 := scanNumbers(want)
	gs, gn, ok2 := scanNumbers(got)
	if !ok1 || !ok2 || len(wn) == 0 || len(wn) != len(gn) || string(ws) != string(gs) {
		return nil
	}
	nd := &NumericDiff{Count: len(wn), Worst: -1}
	worst := -1.0
	for i := range wn {
		w, g := wn[i], gn[i]
		if w.text == g.text {
			continue
		}
		abs, rel, ulp := errors64(w.val, g.val)
		if abs == 0 && ulp == 0 {
			continue // same value, other spelling ("1.0" vs "1.00")
		}
		nd.Differing++
		nd.MaxAbs = math.Max(nd.MaxAbs, abs)
		nd.MaxRel = math.Max(nd.MaxRel, rel)
		nd.MaxULP = max(nd.MaxULP, ulp)
		if abs > worst || math.IsNaN(abs) && worst >= 0 {
			worst = abs
			nd.Worst, nd.WorstWant, nd.WorstGot, nd.Line = i, w.text, g.text, g.line
		}
		if !within(w.val, g.val, tol) {
			nd.OutsideTolerance++
		}
	}
	if nd.Differing == 0 {
		return nil // only spellings differ: a text diff says more
	}
	d := &Diff{Kind: KindNumber, Numbers: nd}
	d.WithinTolerance = tol.Enabled() && nd.OutsideTolerance == 0
	d.Summary = fmt.Sprintf("%d of %d numbers differ; max abs error %.3g, max rel error %.3g, max %d ULP; worst at line %d: %s, recorded %s",
		nd.Differing, nd.Count, nd.MaxAbs, nd.MaxRel, nd.MaxULP, nd.Line, nd.WorstGot, nd.WorstWant)
	d.Unified = unified(splitLines(want), splitLines(got), MaxUnifiedLines/2)
	return d
}

// errors64 returns the absolute, relative and ULP distance between two
// float64 values. NaN against a number gives NaN errors and the maximum ULP.
func errors64(want, got float64) (abs, rel float64, ulp uint64) {
	if math.IsNaN(want) || math.IsNaN(got) {
		if math.IsNaN(want) && math.IsNaN(got) {
			return 0, 0, 0
		}
		return math.NaN(), math.NaN(), math.MaxUint64
	}
	abs = math.Abs(got - want)
	if want != 0 {
		rel = abs / math.Abs(want)
	} else if abs != 0 {
		rel = math.Inf(1)
	}
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		if want == got {
			return 0, 0, 0
		}
		abs, rel = math.Inf(1), math.Inf(1)
	}
	return abs, rel, ULP64(want, got)
}

// ULP64 is the number of representable float64 values between a and b
// (0 when equal, counting +0 and -0 as equal).
func ULP64(a, b float64) uint64 {
	ia, ib := ordered64(math.Float64bits(a)), ordered64(math.Float64bits(b))
	if ia > ib {
		return uint64(ia) - uint64(ib)
	}
	return uint64(ib) - uint64(ia)
}

// ordered64 maps float bits to integers ordered like the floats.
func ordered64(u uint64) int64 {
	if u>>63 == 1 {
		return -int64(u &^ (1 << 63))
	}
	return int64(u)
}

// ULP32 is ULP64 for float32 values.
func ULP32(a, b float32) uint64 {
	ia, ib := ordered32(math.Float32bits(a)), ordered32(math.Float32bits(b))
	if ia > ib {
		return uint64(ia - ib)
	}
	return uint64(ib - ia)
}

func ordered32(u uint32) int64 {
	if u>>31 == 1 {
		return -int64(u &^ (1 << 31))
	}
	return int64(u)
}

func within(want, got float64, tol Tolerance) bool {
	if !tol.Enabled() {
		return false
	}
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if want == got {
		return true
	}
	return math.Abs(got-want) <= tol.ATol+tol.RTol*math.Abs(want)
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
