package pydist

import (
	"testing"

	"github.com/repro-ml/repro/internal/dpkg"
	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/stretchr/testify/require"
)

// BenchmarkScanCheckWarm scans and verifies Debian's dist-packages with a
// warm digest cache (the cost of a repeated capture).
func BenchmarkScanCheckWarm(b *testing.B) {
	db, err := dpkg.Open("/")
	require.NoError(b, err)
	cache := hashcache.New()
	sites := []string{"/usr/lib/python3/dist-packages"}
	ds, err := Scan(sites, Options{DPKG: db})
	require.NoError(b, err)
	_, err = Check(ds, cache)
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		ds, err := Scan(sites, Options{DPKG: db})
		require.NoError(b, err)
		_, err = Check(ds, cache)
		require.NoError(b, err)
	}
}
