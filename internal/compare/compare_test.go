package compare

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// makeNpy builds a version 1 .npy file of float64 values in C order.
func makeNpy(descr string, shape string, data []byte) []byte {
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	b = append(b, hdr...)
	return append(b, data...)
}

func f8(vals ...float64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func TestIdentical(t *testing.T) {
	assert.Nil(t, Compare("a.txt", []byte("x"), []byte("x"), Tolerance{}))
}

func TestTextDiff(t *testing.T) {
	d := Compare("log.txt", []byte("a\nb\nc\n"), []byte("a\nB\nc\n"), Tolerance{})
	require.NotNil(t, d)
	assert.Equal(t, KindText, d.Kind)
	assert.Contains(t, d.Summary, "first difference at line 2")
	assert.Equal(t, []string{"--- recorded", "+++ replayed", "@@ -1 +1 @@", " a", "-b", "+B", " c"}, d.Unified)
}

func TestNumbersCSV(t *testing.T) {
	want := []byte("x,y\n1,0.30000000000000004\n2,5e-3\n")
	got := []byte("x,y\n1,0.3\n2,5e-3\n")
	d := Compare("r.csv", want, got, Tolerance{})
	require.NotNil(t, d)
	assert.Equal(t, KindNumber, d.Kind)
	require.NotNil(t, d.Numbers)
	assert.Equal(t, 1, d.Numbers.Differing)
	assert.Equal(t, 4, d.Numbers.Count)
	assert.Equal(t, uint64(1), d.Numbers.MaxULP)
	assert.Equal(t, 2, d.Numbers.Line)
	assert.False(t, d.WithinTolerance)

	d = Compare("r.csv", want, got, Tolerance{RTol: 1e-12})
	assert.True(t, d.WithinTolerance)
}

func TestNumbersJSONAndStructure(t *testing.T) {
	want := []byte(`{"loss": -1.25e-3, "acc": [0.5, NaN]}`)
	got := []byte(`{"loss": -1.5e-3, "acc": [0.5, NaN]}`)
	d := Compare("m.json", want, got, Tolerance{})
	require.NotNil(t, d)
	assert.Equal(t, KindNumber, d.Kind)
	assert.Equal(t, 1, d.Numbers.Differing)
	assert.InDelta(t, 0.25e-3, d.Numbers.MaxAbs, 1e-15)

	// A different structure falls back to a text diff.
	d = Compare("m.json", want, []byte(`{"loss": -1.25e-3}`), Tolerance{})
	assert.Equal(t, KindText, d.Kind)
}

func TestScanNumbersWords(t *testing.T) {
	skel, nums, ok := scanNumbers([]byte("x1 = 2-3 abc12 1e5x 4.5e+2"))
	require.True(t, ok)
	var vals []float64
	for _, n := range nums {
		vals = append(vals, n.val)
	}
	assert.Equal(t, []float64{2, 3, 450}, vals)
	assert.Equal(t, "x1 = \x00-\x00 abc12 1e5x \x00", string(skel))
}

func TestULP(t *testing.T) {
	assert.Equal(t, uint64(1), ULP64(1, math.Nextafter(1, 2)))
	assert.Equal(t, uint64(0), ULP64(0, math.Copysign(0, -1)))
	assert.Equal(t, uint64(2), ULP64(math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64))
	assert.Equal(t, uint64(1), ULP32(1, math.Nextafter32(1, 2)))
}

func TestNpyElementwise(t *testing.T) {
	want := makeNpy("<f8", "(2, 3)", f8(1, 2, 3, 4, 5, 6))
	got := makeNpy("<f8", "(2, 3)", f8(1, 2, 3, 4, math.Nextafter(5, 6), 6))
	d := Compare("a.npy", want, got, Tolerance{})
	require.NotNil(t, d)
	assert.Equal(t, KindNpy, d.Kind)
	require.NotNil(t, d.Array)
	assert.Equal(t, 6, d.Array.Elements)
	assert.Equal(t, 1, d.Array.Differing)
	assert.Equal(t, []int{1, 1}, d.Array.Worst)
	assert.Equal(t, uint64(1), d.Array.MaxULP)
	assert.Equal(t, 5.0, d.Array.WorstWant)
	assert.Contains(t, d.Summary, "1 of 6 elements differ")
}

func TestNpyMismatch(t *testing.T) {
	a := makeNpy("<f8", "(6,)", f8(1, 2, 3, 4, 5, 6))
	b := makeNpy("<f8", "(2, 3)", f8(1, 2, 3, 4, 5, 6))
	d := Compare("a.npy", a, b, Tolerance{})
	assert.Equal(t, "shape", d.Array.Mismatch)
	c := makeNpy("<i8", "(6,)", f8(1, 2, 3, 4, 5, 6))
	d = Compare("a.npy", a, c, Tolerance{})
	assert.Equal(t, "dtype", d.Array.Mismatch)
}

func TestNpyFromNumPy(t *testing.T) {
	dir := t.TempDir()
	script := `import numpy as np, sys
np.save(sys.argv[1] + "/a.npy", np.arange(12, dtype="<f4").reshape(3, 4))
b = np.arange(12, dtype="<f4").reshape(3, 4); b[2, 1] += 1e-3
np.save(sys.argv[1] + "/b.npy", b)
np.save(sys.argv[1] + "/c.npy", np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3)))`
	out, err := exec.Command("/usr/bin/python3", "-c", script, dir).CombinedOutput()
	require.NoError(t, err, string(out))
	a, _ := os.ReadFile(filepath.Join(dir, "a.npy"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.npy"))
	c, _ := os.ReadFile(filepath.Join(dir, "c.npy"))
	h, err := ParseNpyHeader(c)
	require.NoError(t, err)
	assert.Equal(t, ">i4", h.Descr)
	assert.True(t, h.FortranOrder)
	assert.Equal(t, []int{2, 3}, h.Shape)
	d := Compare("b.npy", a, b, Tolerance{})
	require.NotNil(t, d.Array)
	assert.Equal(t, []int{2, 1}, d.Array.Worst)
	assert.Equal(t, 1, d.Array.Differing)
	assert.Greater(t, d.Array.MaxULP, uint64(0))
	assert.True(t, Compare("b.npy", a, b, Tolerance{ATol: 1e-2}).WithinTolerance)
}

func TestBinary(t *testing.T) {
	d := Compare("x.bin", []byte{0, 1, 2, 3}, []byte{0, 1, 9, 3, 4}, Tolerance{})
	require.NotNil(t, d.Binary)
	assert.Equal(t, int64(2), d.Binary.FirstOffset)
	assert.Equal(t, int64(5), d.Binary.GotSize)
	d = Compare("x.bin", []byte{0, 1}, []byte{0, 1, 0}, Tolerance{})
	assert.Equal(t, int64(2), d.Binary.FirstOffset)
}

func FuzzParseNpyHeader(f *testing.F) {
	f.Add(makeNpy("<f8", "(2, 3)", f8(1, 2, 3, 4, 5, 6)))
	f.Add(makeNpy("<f4", "()", []byte{0, 0, 0, 0}))
	f.Add(makeNpy("|b1", "(0,)", nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseNpyHeader(b)
		if err != nil {
			return
		}
		size, err := itemSize(h.Descr)
		require.NoError(t, err)
		require.Equal(t, len(b)-h.DataOffset, h.Elements()*size)
		Compare("a.npy", b, b, Tolerance{})
		_ = compareNpy(b, append([]byte(nil), b...), Tolerance{})
	})
}

func FuzzCompare(f *testing.F) {
	f.Add("r.csv", []byte("a,1.5\nb,2e-3\n"), []byte("a,1.25\nb,2e-3\n"))
	f.Add("m.json", []byte(`{"x": [1, -2.5e10, NaN]}`), []byte(`{"x": [1, -2.5e10, Infinity]}`))
	f.Add("a.npy", makeNpy("<f8", "(2,)", f8(1, 2)), makeNpy("<f8", "(2,)", f8(1, 3)))
	f.Add("x.bin", []byte{0, 1}, []byte{0})
	f.Fuzz(func(t *testing.T, name string, want, got []byte) {
		d := Compare(name, want, got, Tolerance{RTol: 1e-9})
		if string(want) == string(got) {
			require.Nil(t, d)
			return
		}
		require.NotNil(t, d)
		require.NotEmpty(t, d.Summary)
		require.LessOrEqual(t, len(d.Unified), MaxUnifiedLines+1)
	})
}
