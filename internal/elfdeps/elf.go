// Package elfdeps finds the shared libraries a set of ELF objects needs: the
// DT_NEEDED closure resolved as the glibc dynamic loader would (DT_RPATH,
// LD_LIBRARY_PATH, DT_RUNPATH with $ORIGIN, /etc/ld.so.conf with includes,
// default directories, matching ELF class and machine), plus each object's
// PT_INTERP loader. It also records the symlink chain of any path, so an
// image can recreate the same names (/lib -> usr/lib, alternatives links).
//
// Everything is read with debug/elf; malformed files are errors, never
// panics.
package elfdeps

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Object is what the dynamic section of one ELF file says.
type Object struct {
	Class   elf.Class
	Machine elf.Machine
	Type    elf.Type
	Soname  string
	Needed  []string
	RPath   []string // DT_RPATH entries, unexpanded
	RunPath []string // DT_RUNPATH entries, unexpanded
	Interp  string   // PT_INTERP, "" when none
}

// ErrNotELF is returned for a file that does not start with the ELF magic.
var ErrNotELF = errors.New("not an ELF file")

// ReadFile reads the ELF object at path.
func ReadFile(path string) (*Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return o, nil
}

// Read parses an ELF object from r. Bytes that are not ELF give ErrNotELF;
// a damaged ELF file gives another error.
func Read(r io.ReaderAt) (o *Object, err error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		return nil, ErrNotELF
	}
	defer func() {
		// debug/elf has panicked on hostile input in past releases; the
		// contract here is an error.
		if p := recover(); p != nil {
			o, err = nil, fmt.Errorf("malformed ELF: %v", p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o = &Object{Class: f.Class, Machine: f.Machine, Type: f.Type}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
			if err != nil {
				return nil, fmt.Errorf("reading PT_INTERP: %w", err)
			}
			o.Interp = strings.TrimRight(string(b), "\x00")
		}
	}
	dyn := func(tag elf.DynTag) ([]string, error) {
		v, err := f.DynString(tag)
		if err != nil {
			return nil, fmt.Errorf("reading dynamic section: %w", err)
		}
		return v, nil
	}
	if o.Needed, err = dyn(elf.DT_NEEDED); err != nil {
		return nil, err
	}
	sn, err := dyn(elf.DT_SONAME)
	if err != nil {
		return nil, err
	}
	if len(sn) > 0 {
		o.Soname = sn[0]
	}
	rp, err := dyn(elf.DT_RPATH)
	if err != nil {
		return nil, err
	}
	o.RPath = splitPath(rp)
	rp, err = dyn(elf.DT_RUNPATH)
	if err != nil {
		return nil, err
	}
	o.RunPath = splitPath(rp)
	return o, nil
}

func splitPath(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, d := range strings.Split(v, ":") {
			if d != "" {
				out = append(out, d)
			}
		}
	}
	return out
}
