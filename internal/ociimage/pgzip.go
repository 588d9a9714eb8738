package ociimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// gzipChunk is the input size each worker compresses independently. The
// output is a single gzip member, as pigz writes it: each chunk a run of
// deflate blocks ending in a sync flush (the last one a final block), primed
// with the previous chunk's last 32 KiB, so any gzip reader reads it and the
// bytes depend only on the input, the chunk size and the compressor version,
// never on the number of workers or their timing.
const gzipChunk = 1 << 20

// gzipHeader is the fixed member header: no name, no time, XFL 4
// (fastest), OS 255 (unknown).
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xff}

type gzJob struct {
	in, dict []byte
	last     bool
	out      chan []byte
}

// parallelGzip compresses with several workers, keeping at most a few
// chunks in memory.
type parallelGzip struct {
	w       io.Writer
	level   int
	buf     []byte
	prev    []byte // last 32 KiB of the previous chunk
	crc     uint32
	size    uint32
	jobs    chan gzJob
	order   chan chan []byte
	werr    chan error
	workers sync.WaitGroup
}

func newParallelGzip(w io.Writer, level int) *parallelGzip {
	n := max(runtime.NumCPU(), 1)
	z := &parallelGzip{w: w, level: level, jobs: make(chan gzJob), order: make(chan chan []byte, 2*n), werr: make(chan error, 1)}
	for range n {
		z.workers.Add(1)
		go z.worker()
	}
	go z.writer()
	return z
}

func (z *parallelGzip) worker() {
	defer z.workers.Done()
	var out bytes.Buffer
	var fw *flate.Writer
	for j := range z.jobs {
		out.Reset()
		if fw == nil {
			fw, _ = flate.NewWriter(&out, z.level)
		}
		fw.ResetDict(&out, j.dict)
		fw.Write(j.in)
		if j.last {
			fw.Close()
		} else {
			fw.Flush()
		}
		j.out <- append([]byte(nil), out.Bytes()...)
	}
}

func (z *parallelGzip) writer() {
	var err error
	if _, e := z.w.Write(gzipHeader); e != nil {
		err = e
	}
	for ch := range z.order {
		b := <-ch
		if err == nil {
			_, err = z.w.Write(b)
		}
	}
	z.werr <- err
}

func (z *parallelGzip) submit(last bool) {
	in := z.buf
	z.buf = nil
	out := make(chan []byte, 1)
	z.order <- out
	z.jobs <- gzJob{in: in, dict: z.prev, last: last, out: out}
	if len(in) >= 32<<10 {
		z.prev = in[len(in)-32<<10:]
	} else {
		z.prev = append(append([]byte(nil), z.prev...), in...)
		if len(z.prev) > 32<<10 {
			z.prev = z.prev[len(z.prev)-32<<10:]
		}
	}
}

// Write buffers p and hands full chunks to the workers.
func (z *parallelGzip) Write(p []byte) (int, error) {
	n := len(p)
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
	z.size += uint32(len(p))
	for len(p) > 0 {
		if z.buf == nil {
			z.buf = make([]byte, 0, gzipChunk)
		}
		k := min(gzipChunk-len(z.buf), len(p))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
		if len(z.buf) == gzipChunk {
			z.submit(false)
		}
	}
	return n, nil
}

// Close compresses the rest, waits for the workers and writes the trailer
// (CRC-32 and size modulo 2^32).
func (z *parallelGzip) Close() error {
	z.submit(true)
	close(z.jobs)
	close(z.order)
	err := <-z.werr
	z.workers.Wait()
	if err != nil {
		return err
	}
	var tr [8]byte
	binary.LittleEndian.PutUint32(tr[:4], z.crc)
	binary.LittleEndian.PutUint32(tr[4:], z.size)
	if _, err := z.w.Write(tr[:]); err != nil {
		return err
	}
	return nil
}
