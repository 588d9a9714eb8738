package replay

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pycBytes(flags, mtime, size uint32) []byte {
	b := []byte{0xa7, 0x0d, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[4:], flags)
	binary.LittleEndian.PutUint32(b[8:], mtime)
	binary.LittleEndian.PutUint32(b[12:], size)
	return append(b, "code object"...)
}

func TestReadPycHeader(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	mt, size, ok := readPycHeader(write("ts.pyc", pycBytes(0, 1700000000, 42)))
	require.True(t, ok)
	assert.EqualValues(t, 1700000000, mt)
	assert.EqualValues(t, 42, size)

	_, _, ok = readPycHeader(write("hash.pyc", pycBytes(1, 0, 0)))
	assert.False(t, ok, "hash-based .pyc (PEP 552) has no timestamp")
	_, _, ok = readPycHeader(write("short.pyc", []byte{0xa7, 0x0d, '\r'}))
	assert.False(t, ok)
	_, _, ok = readPycHeader(write("text.pyc", []byte("print('not a pyc at all')\n")))
	assert.False(t, ok)
	_, _, ok = readPycHeader(filepath.Join(dir, "missing.pyc"))
	assert.False(t, ok)
}
