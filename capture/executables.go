package capture

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// executables lists the programs an image of the run needs besides the
// Python interpreters: the command itself (argv[0] looked up on PATH as the
// experiment saw it), the interpreter of a "#!" script, the programs Python
// started (the probe's exec events, e.g. ctypes running /sbin/ldconfig) and
// those the process watcher saw. Paths are absolute and as named (not
// resolved), so that the symlinks leading to them are recorded too.
//
// Programs a shell script runs for a few milliseconds only (wc, cut) can
// escape the watcher, so the words of a shell script given as the command
// that name programs on PATH are added too: a false match only adds a file
// to the image.
func executables(argv []string, workdir, pathEnv string, watched []string, reports []ProbeReport) []string {
	argv0, args := argv[0], argv[1:]
	set := map[string]bool{}
	add := func(name string) {
		p := lookPathIn(name, workdir, pathEnv)
		if p == "" || set[p] {
			return
		}
		set[p] = true
		if interp := shebang(p); interp != nil {
			if len(interp) == 2 && filepath.Base(interp[0]) == "env" {
				set[interp[0]] = true
				if q := lookPathIn(interp[1], workdir, pathEnv); q != "" {
					set[q] = true
				}
			} else {
				set[interp[0]] = true
			}
		}
	}
	add(argv0)
	for _, script := range shellScripts(argv0, args, workdir, pathEnv) {
		for _, w := range scriptWords(script) {
			if q := lookPathIn(w, workdir, pathEnv); q != "" && !strings.Contains(w, "/") {
				set[q] = true
			}
		}
	}
	for _, r := range reports {
		for _, e := range r.Executed {
			add(e)
		}
	}
	for _, w := range watched {
		set[w] = true
	}
	out := make([]string, 0, len(set))
	for p := range set {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// lookPathIn resolves name as a shell would: a name with a slash relative to
// workdir, a bare name through the directories of pathEnv. It returns "" when
// nothing executable is found.
func lookPathIn(name, workdir, pathEnv string) string {
	if name == "" {
		return ""
	}
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(workdir, name)
		}
		return filepath.Clean(name)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(workdir, dir)
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// shebang returns the interpreter and its optional single argument named by
// a "#!" line at the start of the file at p, or nil.
func shebang(p string) []string {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 256).ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return nil
	}
	if !bytes.HasPrefix(line, []byte("#!")) {
		return nil
	}
	fields := strings.Fields(string(line[2:]))
	if len(fields) == 0 || !filepath.IsAbs(fields[0]) {
		return nil
	}
	if len(fields) > 2 {
		fields = fields[:2]
	}
	return fields
}

// shells are the interpreters whose scripts repro scans for program names.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true}

// shellScripts returns the shell script the command runs, if any: argv0
// itself when its "#!" names a shell, or the first non-option argument of
// a shell given as argv0 ("sh run.sh").
func shellScripts(argv0 string, args []string, workdir, pathEnv string) []string {
	p := lookPathIn(argv0, workdir, pathEnv)
	if p == "" {
		return nil
	}
	if interp := shebang(p); interp != nil {
		name := filepath.Base(interp[0])
		if name == "env" && len(interp) == 2 {
			name = interp[1]
		}
		if shells[name] {
			return []string{p}
		}
		return nil
	}
	if !shells[filepath.Base(argv0)] {
		return nil
	}
	for _, a := range args {
		if a == "-c" {
			return nil // a command string, not a file
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		s := a
		if !filepath.IsAbs(s) {
			s = filepath.Join(workdir, s)
		}
		return []string{s}
	}
	return nil
}

// scriptWords returns the distinct words of a shell script that could name
// a program: runs of letters, digits and ._+- outside comments. Scripts over
// 1 MiB are not scanned.
func scriptWords(path string) []string {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, "#"); i >= 0 && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
		}
		for _, w := range strings.FieldsFunc(line, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '+' || r == '-')
		}) {
			if !seen[w] && !strings.HasPrefix(w, "-") {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}
