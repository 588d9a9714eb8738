package lockfile

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// notLocks are the sample files that are not lock files (project
// manifests, installed dist-info, provenance); Detect must refuse them.
func isNotLock(rel string) bool {
	base := filepath.Base(rel)
	switch base {
	case "SOURCES.md", "pyproject.toml", "Pipfile", "pixi.toml", "pyvenv.cfg", "list.json":
		return true
	}
	return strings.Contains(rel, ".dist-info/") || strings.Contains(rel, "site-packages/")
}

// sampleFiles walks testdata/locks and returns the relative paths.
func sampleFiles(t testing.TB) []string {
	var out []string
	err := filepath.WalkDir("testdata/locks", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel("testdata/locks", p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, out)
	return out
}

func TestGolden(t *testing.T) {
	parsed := 0
	for _, rel := range sampleFiles(t) {
		p := filepath.Join("testdata/locks", rel)
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		format, ok := Detect(p, data)
		if isNotLock(rel) {
			assert.False(t, ok, "%s is not a lock file but was detected as %s", rel, format)
			continue
		}
		t.Run(rel, func(t *testing.T) {
			require.True(t, ok, "format of %s not detected", rel)
			l, err := ParseFile(p)
			require.NoError(t, err)
			l.Path = rel
			require.NotEmpty(t, l.Packages, "no packages read")
			got, err := json.MarshalIndent(l, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			golden := filepath.Join("testdata/golden", rel+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file: run go test ./capture/lockfile -update")
			assert.Equal(t, string(want), string(got))
		})
		parsed++
	}
	assert.GreaterOrEqual(t, parsed, 30)
}
