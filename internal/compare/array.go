package compare

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ArrayDiff is an element-wise comparison of two .npy arrays.
type ArrayDiff struct {
	Want NpyHeader `json:"recorded"`
	Got  NpyHeader `json:"replayed"`
	// Mismatch names a header difference ("shape", "dtype", "order") that
	// prevents an element-wise comparison; empty when compared.
	Mismatch  string  `json:"mismatch,omitempty"`
	Elements  int     `json:"elements"`
	Differing int     `json:"differing"`
	MaxAbs    float64 `json:"max_abs_error"`
	MaxRel    float64 `json:"max_rel_error"`
	MaxULP    uint64  `json:"max_ulp"`
	// Worst is the index of the element with the largest absolute error.
	Worst     []int   `json:"worst_index,omitempty"`
	WorstWant float64 `json:"worst_recorded"`
	WorstGot  float64 `json:"worst_replayed"`
	// OutsideTolerance counts differing elements outside the tolerance.
	OutsideTolerance int `json:"outside_tolerance"`
}

// compareNpy compares two .npy files element-wise; nil when either header
// cannot be parsed (the caller falls back to a binary diff).
func compareNpy(want, got []byte, tol Tolerance) *Diff {
	wh, err1 := ParseNpyHeader(want)
	gh, err2 := ParseNpyHeader(got)
	if err1 != nil || err2 != nil {
		return nil
	}
	ad := &ArrayDiff{Want: *wh, Got: *gh}
	d := &Diff{Kind: KindNpy, Array: ad}
	switch {
	case !equalInts(wh.Shape, gh.Shape):
		ad.Mismatch = "shape"
		d.Summary = fmt.Sprintf("shape %s, recorded %s", shapeString(gh.Shape), shapeString(wh.Shape))
		return d
	case wh.Descr != gh.Descr:
		ad.Mismatch = "dtype"
		d.Summary = fmt.Sprintf("dtype %s, recorded %s", gh.Descr, wh.Descr)
		return d
	case wh.FortranOrder != gh.FortranOrder:
		ad.Mismatch = "order"
		d.Summary = fmt.Sprintf("fortran_order %v, recorded %v", gh.FortranOrder, wh.FortranOrder)
		return d
	}
	wd, gd := want[wh.DataOffset:], got[gh.DataOffset:]
	size, _ := itemSize(wh.Descr)
	ad.Elements = wh.Elements()
	worst, worstAt := -1.0, -1
	for i := 0; i < ad.Elements; i++ {
		if string(wd[i*size:(i+1)*size]) == string(gd[i*size:(i+1)*size]) {
			continue
		}
		w, g := element(wh, wd, i), element(gh, gd, i)
		abs, rel, ulp := errors64(w, g)
		if wh.Descr[1] == 'f' {
			ulp = ulpOf(size, w, g, ulp)
		} else {
			ulp = 0
		}
		ad.Differing++
		ad.MaxAbs, ad.MaxRel, ad.MaxULP = nanMax(ad.MaxAbs, abs), nanMax(ad.MaxRel, rel), max(ad.MaxULP, ulp)
		if abs > worst || math.IsNaN(abs) && worst >= 0 || worstAt < 0 {
			worst, worstAt = abs, i
			ad.WorstWant, ad.WorstGot = w, g
		}
		if !within(w, g, tol) {
			ad.OutsideTolerance++
		}
	}
	if worstAt >= 0 {
		ad.Worst = unravel(worstAt, wh.Shape, wh.FortranOrder)
	}
	d.WithinTolerance = tol.Enabled() && ad.OutsideTolerance == 0 && ad.Differing > 0
	d.Summary = fmt.Sprintf("%d of %d elements differ (%s %s); max abs error %.3g, max rel error %.3g, max %d ULP; worst at %s: %s, recorded %s",
		ad.Differing, ad.Elements, wh.Descr, shapeString(wh.Shape), ad.MaxAbs, ad.MaxRel, ad.MaxULP,
		shapeString(ad.Worst), fmtFloat(ad.WorstGot), fmtFloat(ad.WorstWant))
	return d
}

// ulpOf computes the ULP distance in the array's own precision.
func ulpOf(size int, w, g float64, wide uint64) uint64 {
	switch size {
	case 4:
		return ULP32(float32(w), float32(g))
	case 2:
		// float16 has 10 fraction bits: scale the float64 distance.
		return wide >> 42
	}
	return wide
}

func nanMax(a, b float64) float64 {
	if math.IsNaN(b) {
		return b
	}
	if math.IsNaN(a) {
		return a
	}
	return math.Max(a, b)
}

func unravel(i int, shape []int, fortran bool) []int {
	idx := make([]int, len(shape))
	if fortran {
		for k := 0; k < len(shape); k++ {
			if shape[k] > 0 {
				idx[k] = i % shape[k]
				i /= shape[k]
			}
		}
		return idx
	}
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] > 0 {
			idx[k] = i % shape[k]
			i /= shape[k]
		}
	}
	return idx
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	if len(s) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
