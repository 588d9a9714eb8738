package capture

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/repro-ml/repro/lockfmt"
)

// codeExts are the extensions of files counted as code when the run read
// them under the working directory: sources, notebooks, shell scripts and
// configuration. Other files the run read there are data.
var codeExts = map[string]bool{
	".py": true, ".pyi": true, ".pyx": true, ".pxd": true, ".ipynb": true,
	".sh": true, ".bash": true, ".zsh": true, ".r": true, ".R": true, ".jl": true,
	".toml": true, ".cfg": true, ".ini": true, ".yaml": true, ".yml": true,
	".c": true, ".cc": true, ".cpp": true, ".h": true, ".hpp": true, ".cu": true,
}

func isCodeFile(p string) bool { return codeExts[filepath.Ext(p)] }

// gitTimeout bounds each git invocation.
const gitTimeout = 30 * time.Second

// git runs the git binary in dir and returns its stdout.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "core.quotepath=off"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// gitState records the repository state of workdir, or nil when workdir is
// not in a git work tree (or git is not installed, or HEAD has no commit).
// tracked lists the tracked files under workdir, relative to it.
func gitState(ctx context.Context, workdir string) (g *lockfmt.Git, tracked []string, err error) {
	if _, lerr := exec.LookPath("git"); lerr != nil {
		return nil, nil, nil
	}
	inside, err := git(ctx, workdir, "rev-parse", "--is-inside-work-tree")
	if err != nil || strings.TrimSpace(string(inside)) != "true" {
		return nil, nil, nil
	}
	ls, err := git(ctx, workdir, "ls-files", "-z", "--cached")
	if err != nil {
		return nil, nil, err
	}
	for _, p := range strings.Split(string(ls), "\x00") {
		if p != "" {
			tracked = append(tracked, p)
		}
	}
	head, err := git(ctx, workdir, "rev-parse", "--verify", "-q", "HEAD")
	if err != nil {
		return nil, tracked, nil // no commit yet
	}
	g = &lockfmt.Git{Commit: strings.TrimSpace(string(head))}
	if b, err := git(ctx, workdir, "symbolic-ref", "-q", "--short", "HEAD"); err == nil {
		g.Branch = strings.TrimSpace(string(b))
	}
	if remotes, err := git(ctx, workdir, "remote"); err == nil {
		names := strings.Fields(string(remotes))
		pick := ""
		for _, n := range names {
			if n == "origin" || pick == "" {
				pick = n
			}
		}
		if pick != "" {
			if u, err := git(ctx, workdir, "remote", "get-url", pick); err == nil {
				g.Remote = scrubURL(strings.TrimSpace(string(u)))
			}
		}
	}
	st, err := git(ctx, workdir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, nil, err
	}
	if len(bytes.TrimSpace(st)) > 0 {
		g.Dirty = true
		diff, err := git(ctx, workdir, "diff", "HEAD", "--no-ext-diff", "--no-color", "--binary")
		if err != nil {
			return nil, nil, err
		}
		g.DiffDigest = lockfmt.DigestBytes(diff)
	}
	return g, tracked, nil
}

// scrubURL removes credentials from a URL: "https://user:token@host/x"
// becomes "https://host/x". Strings that are not URLs with a scheme (scp
// style "git@host:repo") carry no password and are returned unchanged.
func scrubURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Unparsable: drop everything between "://" and the last "@" of the authority.
		scheme, rest, _ := strings.Cut(s, "://")
		auth, path, _ := strings.Cut(rest, "/")
		if i := strings.LastIndex(auth, "@"); i >= 0 {
			auth = auth[i+1:]
		}
		return scheme + "://" + auth + "/" + path
	}
	u.User = nil
	return u.String()
}

// underDir reports whether abs is dir or inside it.
func underDir(abs, dir string) bool {
	return abs == dir || strings.HasPrefix(abs, strings.TrimSuffix(dir, "/")+"/")
}

// vendoredDir reports directories whose .py files are not the project's
// own code when there is no git: virtual environments and installed trees.
func vendoredDir(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case "site-packages", "dist-packages", "node_modules", ".venv", "venv", ".tox", ".nox", ".eggs", "build":
			return true
		}
	}
	return false
}
