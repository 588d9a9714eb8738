package ociimage

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

func pgz(t *testing.T, in []byte, writes int) []byte {
	var out bytes.Buffer
	z := newParallelGzip(&out, GzipLevel)
	step := max(len(in)/writes, 1)
	for p := in; len(p) > 0; {
		k := min(step, len(p))
		_, err := z.Write(p[:k])
		require.NoError(t, err)
		p = p[k:]
	}
	require.NoError(t, z.Close())
	return out.Bytes()
}

func TestParallelGzip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 100000)
	noise := make([]byte, 3*gzipChunk+12345)
	r.Read(noise)
	for name, in := range map[string][]byte{"empty": {}, "small": []byte("hi\n"), "text": text, "noise": noise, "exact": text[:2*gzipChunk]} {
		t.Run(name, func(t *testing.T) {
			a := pgz(t, in, 1)
			b := pgz(t, in, 977)
			require.Equal(t, a, b, "output independent of write sizes and timing")
			require.Equal(t, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, a[:8], "no name, no time")
			zr, err := gzip.NewReader(bytes.NewReader(a))
			require.NoError(t, err)
			zr.Multistream(false)
			got, err := io.ReadAll(zr)
			require.NoError(t, err)
			require.Equal(t, len(in), len(got))
			require.True(t, bytes.Equal(in, got))
			// One member: nothing after it.
			rest, _ := io.ReadAll(zr)
			require.Empty(t, rest)
		})
	}
	require.Less(t, len(pgz(t, text, 1)), len(text)/20)
}
