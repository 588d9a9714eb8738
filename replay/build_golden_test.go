package replay

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/lockfmt"
)

var updateBuildGolden = flag.Bool("update-build", false, "rewrite replay/testdata/golden-image.json")

// goldenImage is what TestBuildGolden pins: any change to the tar headers,
// the config, the labels or the layer split changes these digests.
type goldenImage struct {
	Digest       string   `json:"digest"`
	ConfigDigest string   `json:"config_digest"`
	DiffIDs      []string `json:"diff_ids"`
	Listing      []string `json:"listing"`
}

// TestBuildGolden builds a fixed manifest from fixed files and compares the
// digests with testdata/golden-image.json (rewrite with -update-build after a
// deliberate change). On a mismatch the layer listings show what moved.
func TestBuildGolden(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"/usr/bin/tool":        "#!/bin/true\n",
		"/usr/lib/libx.so.1.2": "\x7fELF fake library\n",
		"/srv/data/in.csv":     "a,b\n1,2\n",
		"/work/exp/main.py":    "print('hi')\n",
		// A timestamp-based .pyc of main.py (source mtime 1234567890, size
		// 12): main.py is written with that mtime so Python trusts the .pyc.
		"/work/exp/__pycache__/main.cpython-311.pyc": "\xa7\x0d\r\n\x00\x00\x00\x00\xd2\x02\x96\x49\x0c\x00\x00\x00code",
	}
	m := &lockfmt.Manifest{
		Schema: 1,
		Tool:   lockfmt.Tool{Name: "repro", Version: "(devel)", Created: "2026-01-01T00:00:00Z"},
		Run: lockfmt.Run{Argv: []string{"/usr/bin/tool", "--flag"}, WorkDir: "/work/exp", UID: 1000, GID: 1000, User: "ana", Runs: 1,
			Env: map[string]string{"PYTHONHASHSEED": "0", "HOME": "/home/ana"}},
		OS:   lockfmt.OS{Arch: "amd64"},
		Code: lockfmt.Code{Git: &lockfmt.Git{Commit: "0123456789abcdef0123456789abcdef01234567", Remote: "https://example.org/exp.git"}},
		Files: []lockfmt.File{
			{Path: "/usr/lib/libx.so.1", Type: lockfmt.TypeSymlink, Mode: "0777", Target: "libx.so.1.2", Role: lockfmt.RoleSystem},
		},
	}
	roles := map[string]string{"/usr/bin/tool": "interpreter", "/usr/lib/libx.so.1.2": "system", "/srv/data/in.csv": "data",
		"/work/exp/main.py": "code", "/work/exp/__pycache__/main.cpython-311.pyc": "code"}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(root+p), 0o755))
		require.NoError(t, os.WriteFile(root+p, []byte(c), 0o644))
		mode := "0644"
		if p == "/usr/bin/tool" {
			mode = "0755"
		}
		m.Files = append(m.Files, lockfmt.File{Path: p, Type: lockfmt.TypeFile, Mode: mode, Size: int64(len(c)), Digest: lockfmt.DigestBytes([]byte(c)), Role: roles[p]})
	}
	mb, err := lockfmt.Encode(m)
	require.NoError(t, err)
	img, err := Build(context.Background(), m, mb, BuildOptions{Root: root, TempDir: t.TempDir(), SourceDateEpoch: 1700000000})
	require.NoError(t, err)
	defer img.Close()

	got := goldenImage{Digest: img.Digest, ConfigDigest: img.ConfigDigest}
	for i, l := range img.Layers {
		got.DiffIDs = append(got.DiffIDs, l.DiffID)
		listing, err := listLayer(img.layers[i].Uncompressed)
		require.NoError(t, err)
		for _, e := range listing {
			got.Listing = append(got.Listing, l.Role+" "+e)
		}
	}
	path := filepath.Join("testdata", "golden-image.json")
	if *updateBuildGolden {
		b, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./replay -run TestBuildGolden -update-build to create it")
	var want goldenImage
	require.NoError(t, json.Unmarshal(b, &want))
	require.Equal(t, want.Listing, got.Listing, "layer contents changed")
	require.Equal(t, want, got, "same contents, different bytes: tar headers, gzip or config changed")
}

// listLayer renders each member of a layer as "name type mode uid:gid size mtime [-> target]".
func listLayer(open func() (io.ReadCloser, error)) ([]string, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		s := fmt.Sprintf("%s %c %04o %d:%d %d %d", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size, h.ModTime.Unix())
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		out = append(out, strings.TrimSpace(s))
	}
}
