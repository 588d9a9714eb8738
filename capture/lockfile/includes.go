package lockfile

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// parseRequirementsTree parses a requirements file and follows its
// includes; stack holds the absolute paths being parsed (cycle detection).
func parseRequirementsTree(path string, data []byte, stack []string) ([]Package, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", path, err)
	}
	stack = append(stack, abs)
	rf, err := parseRequirements(path, data)
	if err != nil {
		return nil, err
	}
	pkgs := rf.pkgs
	pins := map[string]string{}
	for _, inc := range rf.includes {
		if schemeRE.MatchString(inc.target) {
			continue // remote includes are not fetched
		}
		target := expandEnv(inc.target)
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		tabs, err := filepath.Abs(target)
		if err != nil {
			return nil, errAt(path, inc.line, "resolving include %s: %v", inc.target, err)
		}
		for i, s := range stack {
			if s == tabs {
				chain := append(append([]string{}, stack[i:]...), tabs)
				return nil, errAt(path, inc.line, "include cycle: %s", strings.Join(chain, " -> "))
			}
		}
		tdata, err := os.ReadFile(target)
		if err != nil {
			return nil, errAt(path, inc.line, "reading included file: %v", err)
		}
		sub, err := parseRequirementsTree(target, tdata, stack)
		if err != nil {
			return nil, err
		}
		if !inc.constraint {
			pkgs = append(pkgs, sub...)
			continue
		}
		for _, c := range sub {
			if c.Version != "" && c.Name != "" {
				pins[c.Name] = c.Version
			}
		}
	}
	for i := range pkgs {
		if v, ok := pins[pkgs[i].Name]; ok && pkgs[i].Version == "" {
			pkgs[i].Version = v
		}
	}
	return pkgs, nil
}

var envVarRE = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)

// expandEnv expands "${VAR}" (upper-case POSIX names, as pip does) from
// the environment; unset variables are left as written.
func expandEnv(s string) string {
	return envVarRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := os.LookupEnv(m[2 : len(m)-1]); ok {
			return v
		}
		return m
	})
}
