package elfdeps

import (
	"errors"
	"path/filepath"
	"sort"
	"strings"
)

// Lib is one shared object of a closure.
type Lib struct {
	// Path is the name the loader opens it by (a DT_NEEDED resolution or the
	// PT_INTERP string), or the root path given when nothing else names it.
	Path string
	// Aliases are other paths found for the same file, sorted.
	Aliases []string
	Real    string // symlinks resolved
	Soname  string
	Root    bool // given as a root (mapped by the run, or the executable)
	Interp  bool // the dynamic loader named by a PT_INTERP
	Needed  []string
	// Missing are DT_NEEDED names that resolved to no file.
	Missing []string
}

// Closure is the result of Resolve.
type Closure struct {
	Libs []Lib // sorted by Path
	// NotELF are roots that are not ELF files (mapped data such as
	// locale-archive or gconv-modules.cache).
	NotELF []string
	// Unreadable are roots that could not be read (deleted since, or
	// damaged), with the reason.
	Unreadable map[string]string
}

type node struct {
	lib    *Lib
	obj    *Object
	rpaths []string // ancestors' expanded DT_RPATH dirs, nearest first
}

// Resolve computes the DT_NEEDED closure of roots (absolute paths), adding
// the PT_INTERP loader of each executable. Libraries already among the
// roots satisfy a DT_NEEDED name equal to their soname or file name, as the
// loader reuses loaded objects. Objects are deduplicated by real path.
func (r *Resolver) Resolve(roots []string) *Closure {
	c := &Closure{Unreadable: map[string]string{}}
	byReal := map[string]*Lib{}
	loaded := map[string]*Lib{} // soname or base name -> lib
	var order []*Lib
	var queue []node

	add := func(path string, obj *Object, root, interp bool) (*Lib, bool) {
		real := r.real(path)
		if l, ok := byReal[real]; ok {
			if path != l.Path {
				if l.Path == l.Real && !l.Interp || interp {
					l.Aliases = append(l.Aliases, l.Path)
					l.Path = path
				} else {
					l.Aliases = append(l.Aliases, path)
				}
			}
			l.Root = l.Root || root
			l.Interp = l.Interp || interp
			return l, false
		}
		l := &Lib{Path: path, Real: real, Soname: obj.Soname, Root: root, Interp: interp, Needed: obj.Needed}
		byReal[real] = l
		order = append(order, l)
		if obj.Soname != "" {
			if _, ok := loaded[obj.Soname]; !ok {
				loaded[obj.Soname] = l
			}
		}
		if b := filepath.Base(path); loaded[b] == nil {
			loaded[b] = l
		}
		return l, true
	}

	for _, p := range roots {
		obj, err := ReadFile(r.Root + p)
		if errors.Is(err, ErrNotELF) {
			c.NotELF = append(c.NotELF, p)
			continue
		}
		if err != nil {
			c.Unreadable[p] = err.Error()
			continue
		}
		if l, isNew := add(p, obj, true, false); isNew {
			queue = append(queue, node{lib: l, obj: obj})
		}
	}
	cache := map[string]*Object{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n.obj.Interp != "" {
			if lo, ok := r.matches(n.obj.Interp, n.obj.Class, n.obj.Machine); ok {
				if l, isNew := add(n.obj.Interp, lo, false, true); isNew {
					queue = append(queue, node{lib: l, obj: lo})
				}
			} else {
				n.lib.Missing = append(n.lib.Missing, n.obj.Interp)
			}
		}
		origin := filepath.Dir(n.lib.Path)
		var own []string
		for _, d := range n.obj.RPath {
			own = append(own, expand(d, origin, n.obj.Class, n.obj.Machine))
		}
		var runpath []string
		for _, d := range n.obj.RunPath {
			runpath = append(runpath, expand(d, origin, n.obj.Class, n.obj.Machine))
		}
		chainRPaths := append(append([]string(nil), own...), n.rpaths...)
		for _, name := range n.obj.Needed {
			prior := loaded[name]
			if strings.Contains(name, "/") {
				prior = nil
			}
			var dirs []string
			if len(n.obj.RunPath) == 0 {
				dirs = append(dirs, chainRPaths...)
			}
			dirs = append(dirs, r.LibraryPath...)
			dirs = append(dirs, runpath...)
			dirs = append(dirs, r.ConfDirs...)
			dirs = append(dirs, defaultDirs(n.obj.Machine, n.obj.Class)...)
			path, obj := r.find(name, dirs, n.obj, cache)
			if prior != nil && (obj == nil || r.real(path) != prior.Real) {
				// The loader reuses the object already loaded under this
				// name; a different file on the search path is not used.
				continue
			}
			if obj == nil {
				n.lib.Missing = append(n.lib.Missing, name)
				continue
			}
			if l, isNew := add(path, obj, false, false); isNew {
				queue = append(queue, node{lib: l, obj: obj, rpaths: chainRPaths})
			}
		}
	}
	for _, l := range order {
		sort.Strings(l.Aliases)
		l.Aliases = dedupe(l.Aliases, l.Path)
		c.Libs = append(c.Libs, *l)
	}
	sort.Slice(c.Libs, func(i, j int) bool { return c.Libs[i].Path < c.Libs[j].Path })
	sort.Strings(c.NotELF)
	return c
}

// real returns the real path of path as seen inside r.Root.
func (r *Resolver) real(path string) string {
	_, real, err := Chain(r.Root + path)
	if err != nil {
		return path
	}
	return strings.TrimPrefix(real, r.Root)
}

// find returns the first candidate for name in dirs that is an ELF object
// of the requester's class and machine.
func (r *Resolver) find(name string, dirs []string, req *Object, cache map[string]*Object) (string, *Object) {
	if strings.Contains(name, "/") {
		dirs = []string{""}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if !filepath.IsAbs(p) {
			continue
		}
		o, seen := cache[p]
		if !seen {
			var ok bool
			o, ok = r.matches(p, req.Class, req.Machine)
			if !ok {
				o = nil
			}
			cache[p] = o
		}
		if o != nil {
			return p, o
		}
	}
	return "", nil
}

func dedupe(s []string, not string) []string {
	var out []string
	for i, x := range s {
		if x != not && (i == 0 || x != s[i-1]) {
			out = append(out, x)
		}
	}
	return out
}
