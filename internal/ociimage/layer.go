package ociimage

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// GzipLevel is the one compression level repro uses for layers, with the
// deflate of github.com/klauspost/compress at the version go.mod pins (its
// level 1 is about 1.7 times faster than the standard library's at the same
// ratio; its output is fixed for a given version, like the standard
// library's for a given toolchain), run on all CPUs (see gzipChunk). The
// gzip header carries no name and no time.
const GzipLevel = 1

// Layer is a built layer: a gzip file on disk with its digests. It
// implements v1.Layer without holding the layer in memory.
type Layer struct {
	// Role names what the layer holds ("system", "code", "repro-runtime"...).
	Role string
	// Path is the gzip-compressed tar on disk.
	Path string
	// DiffIDHash and DigestHash are the sha256 of the tar and of the gzip.
	DiffIDHash, DigestHash v1.Hash
	// TarSize and GzipSize are the uncompressed and compressed sizes.
	TarSize, GzipSize int64
	// Files is the number of regular files and symlinks in the layer.
	Files int
	// Cached is true when the layer came from the layer cache and its host
	// files were not read.
	Cached bool
	// temp is true when Path is a temporary file owned by this Layer.
	temp bool
}

var _ v1.Layer = (*Layer)(nil)

// Digest is the sha256 of the compressed layer.
func (l *Layer) Digest() (v1.Hash, error) { return l.DigestHash, nil }

// DiffID is the sha256 of the uncompressed layer tar.
func (l *Layer) DiffID() (v1.Hash, error) { return l.DiffIDHash, nil }

// Compressed opens the gzip file.
func (l *Layer) Compressed() (io.ReadCloser, error) { return os.Open(l.Path) }

// Uncompressed opens the layer tar.
func (l *Layer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.Path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading layer %s: %w", l.Path, err)
	}
	return &readCloser{Reader: zr, close: func() error { return errors.Join(zr.Close(), f.Close()) }}, nil
}

// Size is the compressed size.
func (l *Layer) Size() (int64, error) { return l.GzipSize, nil }

// MediaType is the OCI gzip layer type.
func (l *Layer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

// Remove deletes the layer file when it is a temporary one (not a cache entry).
func (l *Layer) Remove() {
	if l.temp {
		os.Remove(l.Path)
	}
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// LayerOptions says where BuildLayer writes.
type LayerOptions struct {
	// Role is recorded in the returned Layer.
	Role string
	// MTime is every entry's timestamp.
	MTime time.Time
	// TempDir receives the layer file when there is no cache ("" = os.TempDir()).
	TempDir string
	// CacheDir, when set, keeps built layers keyed by their entries (paths,
	// types, modes, owners, digests, targets), the epoch and the toolchain,
	// and reuses them without reading the host files.
	CacheDir string
}

// CacheKey is the layer cache key of entries: the sha256 of everything that
// decides the layer's bytes.
func CacheKey(entries []Entry, mtime time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "repro-layer-v4\n%s\n%s gzip %d chunk %d\nmtime %d\n", runtime.Version(), compressVersion, GzipLevel, gzipChunk, mtime.Unix())
	for i := range entries {
		e := &entries[i]
		d := e.Digest
		size := e.Size
		if e.Content != nil {
			s := sha256.Sum256(e.Content)
			d, size = "sha256:"+hex.EncodeToString(s[:]), int64(len(e.Content))
		}
		fmt.Fprintf(h, "%q %c %o %d %d %d %s %q %d\n", e.Path, e.Type, e.Mode, e.UID, e.GID, size, d, e.Target, e.ModTime)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type cacheMeta struct {
	DiffID   string `json:"diff_id"`
	Digest   string `json:"digest"`
	TarSize  int64  `json:"tar_size"`
	GzipSize int64  `json:"gzip_size"`
	Files    int    `json:"files"`
}

// BuildLayer writes entries (sorted) as one gzip-compressed layer in a single
// pass: the tar is hashed (diffID) and compressed, the gzip hashed (digest)
// and written to a file. Nothing is held in memory but buffers. On error no
// file is left behind.
func BuildLayer(ctx context.Context, entries []Entry, opts LayerOptions) (*Layer, error) {
	var key string
	if opts.CacheDir != "" {
		key = CacheKey(entries, opts.MTime)
		if l, ok := cachedLayer(opts.CacheDir, key); ok {
			l.Role = opts.Role
			return l, nil
		}
		if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating layer cache: %w", err)
		}
	}
	dir := opts.TempDir
	if opts.CacheDir != "" {
		dir = opts.CacheDir
	}
	f, err := os.CreateTemp(dir, ".layer-*.tar.gz.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating layer file: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	digest, gzCount := sha256.New(), &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, digest, gzCount), 1<<20)
	zw := newParallelGzip(bw, GzipLevel)
	diffID, tarCount := sha256.New(), &countWriter{}
	st, err := WriteTar(ctx, io.MultiWriter(zw, diffID, tarCount), entries, opts.MTime)
	if err != nil {
		zw.Close()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing layer: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("writing layer: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing layer: %w", err)
	}
	l := &Layer{
		Role:       opts.Role,
		Path:       f.Name(),
		DiffIDHash: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diffID.Sum(nil))},
		DigestHash: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digest.Sum(nil))},
		TarSize:    tarCount.n,
		GzipSize:   gzCount.n,
		Files:      st.Files,
		temp:       true,
	}
	if opts.CacheDir != "" {
		if err := storeCached(opts.CacheDir, key, l); err != nil {
			return nil, err
		}
	}
	ok = true
	return l, nil
}

func cachedLayer(dir, key string) (*Layer, bool) {
	b, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil {
		return nil, false
	}
	var m cacheMeta
	if json.Unmarshal(b, &m) != nil {
		return nil, false
	}
	diffID, err1 := v1.NewHash(m.DiffID)
	digest, err2 := v1.NewHash(m.Digest)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	p := filepath.Join(dir, key+".tar.gz")
	// A cache entry is trusted only if its bytes still hash to its digest.
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil || n != m.GzipSize || hex.EncodeToString(h.Sum(nil)) != digest.Hex {
		return nil, false
	}
	return &Layer{Path: p, DiffIDHash: diffID, DigestHash: digest, TarSize: m.TarSize, GzipSize: m.GzipSize, Files: m.Files, Cached: true}, true
}

func storeCached(dir, key string, l *Layer) error {
	dst := filepath.Join(dir, key+".tar.gz")
	if err := os.Rename(l.Path, dst); err != nil {
		return fmt.Errorf("storing layer in cache: %w", err)
	}
	l.Path, l.temp = dst, false
	b, _ := json.Marshal(cacheMeta{DiffID: l.DiffIDHash.String(), Digest: l.DigestHash.String(), TarSize: l.TarSize, GzipSize: l.GzipSize, Files: l.Files})
	tmp := filepath.Join(dir, "."+key+".json."+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("storing layer in cache: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, key+".json")); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("storing layer in cache: %w", err)
	}
	return nil
}

// compressVersion is the version of the compressor module, part of the
// layer cache key.
var compressVersion = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/klauspost/compress" {
				return d.Path + "@" + d.Version
			}
		}
	}
	return "github.com/klauspost/compress@unknown"
}()
