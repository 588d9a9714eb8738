package lockfmt

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const modulePath = "github.com/repro-ml/repro"

// TestArchitecture: the manifest is the only contract between capture and
// replay. Code under capture/ must not depend on replay/ nor replay/ on
// capture/, directly or through other packages of the module, test files
// included (end-to-end test directories named e2e excepted); lockfmt
// depends on none of capture, replay or cmd. Imports are read with
// go/parser, so the guard works even while other packages do not compile.
func TestArchitecture(t *testing.T) {
	rules := map[string][]string{
		"capture": {"replay"},
		"replay":  {"capture"},
		"lockfmt": {"capture", "replay", "cmd"},
	}
	g := &importGraph{root: "..", cache: map[string][]string{}}
	for from, forbidden := range rules {
		for _, dir := range g.packageDirs(t, from) {
			direct := g.imports(t, dir, true)
			seen := map[string]string{} // dependency -> the direct import leading to it
			for _, imp := range direct {
				g.closure(t, imp, imp, seen)
			}
			for dep, via := range seen {
				for _, f := range forbidden {
					bad := modulePath + "/" + f
					assert.False(t, dep == bad || strings.HasPrefix(dep, bad+"/"),
						"%s depends on %s (via %s): the manifest (lockfmt) is the only contract between capture and replay", dir, dep, via)
				}
			}
		}
	}
}

// TestArchitectureDetects: the guard sees a forbidden import in a test file.
func TestArchitectureDetects(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "capture"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "capture", "x_test.go"),
		[]byte("package capture\nimport _ \""+modulePath+"/replay\"\n"), 0o644))
	g := &importGraph{root: dir, cache: map[string][]string{}}
	imps := g.imports(t, filepath.Join(dir, "capture"), true)
	assert.Equal(t, []string{modulePath + "/replay"}, imps)
}

type importGraph struct {
	root  string
	cache map[string][]string
}

// packageDirs lists the directories holding Go files under top.
func (g *importGraph) packageDirs(t *testing.T, top string) []string {
	var dirs []string
	base := filepath.Join(g.root, top)
	if _, err := os.Stat(base); err != nil {
		return nil // not created yet: nothing to guard
	}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "e2e" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			dir := filepath.Dir(p)
			if len(dirs) == 0 || dirs[len(dirs)-1] != dir {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return dirs
}

// imports returns the module-internal imports of the Go files in dir.
func (g *importGraph) imports(t *testing.T, dir string, withTests bool) []string {
	key := dir + "|" + strconv.FormatBool(withTests)
	if imps, ok := g.cache[key]; ok {
		return imps
	}
	var imps []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || !withTests && strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			continue // a file mid-edit elsewhere; the compiler reports it
		}
		for _, is := range f.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			if p == modulePath || strings.HasPrefix(p, modulePath+"/") {
				imps = append(imps, p)
			}
		}
	}
	g.cache[key] = imps
	return imps
}

// closure adds pkg and its module-internal dependencies (non-test files) to seen.
func (g *importGraph) closure(t *testing.T, pkg, via string, seen map[string]string) {
	if _, ok := seen[pkg]; ok {
		return
	}
	seen[pkg] = via
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, modulePath), "/")
	for _, imp := range g.imports(t, filepath.Join(g.root, filepath.FromSlash(rel)), false) {
		g.closure(t, imp, via, seen)
	}
}
