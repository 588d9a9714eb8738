package replay

import (
	"fmt"
	"sort"
	"strings"

	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/internal/probe"
	"github.com/repro-ml/repro/lockfmt"
)

// Defaults for the image environment when the manifest does not pin them.
const (
	DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// defaultUser names the run's user in the generated /etc/passwd when the
	// manifest records no valid user name.
	defaultUser = "repro"
)

func validUserName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func userName(m *lockfmt.Manifest) string {
	if m.Run.UID == 0 {
		return "root"
	}
	if validUserName(m.Run.User) && m.Run.User != "root" {
		return m.Run.User
	}
	return defaultUser
}

// homeDir is the run user's home directory in the image: the manifest's
// pinned HOME when absolute, else /root for uid 0 and /home/<user> otherwise.
func homeDir(m *lockfmt.Manifest) string {
	if h := m.Run.Env["HOME"]; cleanAbsPath(h) {
		return h
	}
	if m.Run.UID == 0 {
		return "/root"
	}
	return "/home/" + userName(m)
}

// passwdGroup returns the generated /etc/passwd and /etc/group: root, and the
// run's user and group when they are not root.
func passwdGroup(m *lockfmt.Manifest, home string) (passwd, group []byte) {
	var pw, gr strings.Builder
	rootHome := "/root"
	if m.Run.UID == 0 {
		rootHome = home
	}
	fmt.Fprintf(&pw, "root:x:0:0:root:%s:/bin/sh\n", rootHome)
	gr.WriteString("root:x:0:\n")
	if m.Run.UID != 0 {
		fmt.Fprintf(&pw, "%s:x:%d:%d:%s:%s:/bin/sh\n", userName(m), m.Run.UID, m.Run.GID, userName(m), home)
	}
	if m.Run.GID != 0 {
		fmt.Fprintf(&gr, "%s:x:%d:\n", userName(m), m.Run.GID)
	}
	return []byte(pw.String()), []byte(gr.String())
}

// addRuntime adds the generated files: /etc/passwd and /etc/group (unless
// the manifest carries the captured ones), the manifest itself and the probe. The
// directories (/tmp, home, workdir) are added by addDirs.
func (p *imagePlan) addRuntime(m *lockfmt.Manifest, manifestBytes []byte) {
	passwd, group := passwdGroup(m, p.home)
	gen := []struct {
		path    string
		mode    int64
		content []byte
	}{
		{"/etc/passwd", 0o644, passwd},
		{"/etc/group", 0o644, group},
		{ManifestPathInImage, 0o444, manifestBytes},
		{ProbeDirInImage + "/sitecustomize.py", 0o444, probe.Source},
	}
	for _, g := range gen {
		if _, ok := p.items[g.path]; ok {
			continue // captured file wins
		}
		p.addGenerated(g.path, g.mode, g.content)
	}
}

// addGenerated adds a file repro writes itself to the runtime layer.
func (p *imagePlan) addGenerated(q string, mode int64, content []byte) {
	it := &planItem{role: RoleRuntime, host: q}
	it.Path, it.Type, it.Mode, it.Content = q, ociimage.TypeFile, mode, content
	it.Size = int64(len(content))
	it.Digest = lockfmt.DigestBytes(content)
	p.items[q] = it
}

// imageEnv is the image's environment: the manifest's pinned variables and
// those that run the probe (probeEnv), sorted, plus PATH and HOME when the
// manifest does not pin them.
func imageEnv(m *lockfmt.Manifest, home string) []string {
	env := map[string]string{}
	for k, v := range m.Run.Env {
		env[k] = v
	}
	for k, v := range probeEnv(m) {
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = DefaultPath
	}
	if _, ok := env["HOME"]; !ok {
		env["HOME"] = home
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// imageCmd is the image's command: the captured argv, except that a bare
// interpreter name ("python3") is replaced by the interpreter the probe saw
// run (sys.executable), since the capture's PATH lookup may have gone
// through a shim (pyenv) that the image does not need.
func imageCmd(m *lockfmt.Manifest) []string {
	argv := append([]string(nil), m.Run.Argv...)
	if len(argv) > 0 && !strings.Contains(argv[0], "/") && strings.HasPrefix(argv[0], "python") && cleanAbsPath(m.Python.Executable) {
		argv[0] = m.Python.Executable
	}
	return argv
}
