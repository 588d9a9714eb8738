// Package compare explains how two versions of an output differ: text as a
// unified diff, numbers in CSV, JSON or any text number by number (absolute,
// relative and ULP error), NumPy .npy arrays element-wise, and other bytes by
// size and first differing offset.
//
// Every function treats both inputs as untrusted: malformed input yields a
// coarser diff (text or binary), never a panic.
package compare

import (
	"bytes"
	"path"
	"strings"
	"unicode/utf8"
)

// Kinds of diff.
const (
	KindText   = "text"
	KindNumber = "numbers" // CSV, JSON or text whose non-numeric parts agree
	KindNpy    = "npy"
	KindBinary = "binary"
)

// Tolerance classifies numeric differences as acceptable when
// |got-want| <= ATol + RTol*|want| for every differing number (NumPy's
// isclose rule). The zero Tolerance accepts nothing.
type Tolerance struct {
	RTol, ATol float64
}

// Enabled reports whether the tolerance accepts any difference.
func (t Tolerance) Enabled() bool { return t.RTol > 0 || t.ATol > 0 }

// Diff is the explanation of one differing output.
type Diff struct {
	Kind string `json:"kind"`
	// Summary is one line for a person, e.g. "3 of 90000 numbers differ, max abs error 1.8e-15".
	Summary string `json:"summary"`
	// Unified holds the first lines of a unified diff (text outputs).
	Unified []string     `json:"unified,omitempty"`
	Numbers *NumericDiff `json:"numbers,omitempty"`
	Array   *ArrayDiff   `json:"array,omitempty"`
	Binary  *BinaryDiff  `json:"binary,omitempty"`
	// WithinTolerance is true when every difference is numeric and within
	// the Tolerance given.
	WithinTolerance bool `json:"within_tolerance"`
}

// BinaryDiff locates the first difference between two byte strings.
type BinaryDiff struct {
	WantSize    int64 `json:"want_size"`
	GotSize     int64 `json:"got_size"`
	FirstOffset int64 `json:"first_offset"` // -1 when equal
}

// maxTextBytes bounds the outputs diffed as text or numbers; larger ones
// are compared as bytes.
const maxTextBytes = 64 << 20

// MaxUnifiedLines bounds the unified diff kept in a Diff.
const MaxUnifiedLines = 40

// Compare explains how got differs from want for the output named name (a
// relative path, or "<stdout>"/"<stderr>"); it returns nil when they are
// byte-identical.
func Compare(name string, want, got []byte, tol Tolerance) *Diff {
	if bytes.Equal(want, got) {
		return nil
	}
	switch kindOf(name, want, got) {
	case KindNpy:
		if d := compareNpy(want, got, tol); d != nil {
			return d
		}
		return compareBinary(want, got)
	case KindText:
		if len(want) > maxTextBytes || len(got) > maxTextBytes {
			return compareBinary(want, got)
		}
		if d := compareNumbers(want, got, tol); d != nil {
			return d
		}
		return compareText(want, got)
	default:
		return compareBinary(want, got)
	}
}

func kindOf(name string, want, got []byte) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".npy":
		return KindNpy
	case ".csv", ".tsv", ".json", ".jsonl", ".txt", ".log", ".md", ".out", ".toml", ".yaml", ".yml":
		if isText(want) && isText(got) {
			return KindText
		}
		return KindBinary
	}
	if isText(want) && isText(got) {
		return KindText
	}
	return KindBinary
}

func isText(b []byte) bool {
	if len(b) > 1<<20 {
		b = b[:1<<20]
		// A cut may split a rune: trim the partial tail.
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
			b = b[:len(b)-1]
		}
	}
	return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

func compareBinary(want, got []byte) *Diff {
	off := int64(-1)
	n := min(len(want), len(got))
	for i := 0; i < n; i++ {
		if want[i] != got[i] {
			off = int64(i)
			break
		}
	}
	if off < 0 && len(want) != len(got) {
		off = int64(n)
	}
	return &Diff{
		Kind:    KindBinary,
		Summary: binarySummary(int64(len(want)), int64(len(got)), off),
		Binary:  &BinaryDiff{WantSize: int64(len(want)), GotSize: int64(len(got)), FirstOffset: off},
	}
}

func binarySummary(ws, gs, off int64) string {
	if ws != gs {
		return sprintf("size %d bytes, recorded %d; first difference at byte %d", gs, ws, off)
	}
	return sprintf("same size (%d bytes); first difference at byte %d", gs, off)
}
