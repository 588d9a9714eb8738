package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignScriptFixtures: the manifest.toml in the sign_* scripts is a copy
// of lockfmt's golden manifest, so format changes reach the CLI tests. After
// "go test ./lockfmt -update", copy the golden file into the scripts.
func TestSignScriptFixtures(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "..", "lockfmt", "testdata", "golden.toml"))
	require.NoError(t, err)
	scripts, err := filepath.Glob(filepath.Join("testdata", "script", "sign_*.txtar"))
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	for _, s := range scripts {
		ar, err := txtar.ParseFile(s)
		require.NoError(t, err)
		for _, f := range ar.Files {
			if f.Name == "manifest.toml" {
				assert.Equal(t, string(golden), string(f.Data), "%s: manifest.toml differs from lockfmt/testdata/golden.toml", s)
			}
		}
	}
}
