package lockfmt

import (
	"cmp"
	"slices"
	"strings"
)

// sortedCopy returns a copy of m whose lists are in canonical order, so that
// Encode's output does not depend on the order a capture found things in. Lists
// whose order carries meaning keep it: run.argv, python.path, gpu (device
// index order).
func sortedCopy(m *Manifest) *Manifest {
	c := *m
	c.Run.Scrubbed = sortedStrings(m.Run.Scrubbed)
	c.Python.Runtimes = sortedBy(m.Python.Runtimes, func(a, b Runtime) int {
		return cmp.Or(strings.Compare(a.Library, b.Library), strings.Compare(a.API, b.API))
	})
	c.Python.SIMD = sortedStrings(m.Python.SIMD)
	c.CPU.Flags = sortedStrings(m.CPU.Flags)
	c.Determinism.Pins = sortedBy(m.Determinism.Pins, func(a, b Pin) int { return strings.Compare(a.Name, b.Name) })
	if m.Code.Git != nil {
		g := *m.Code.Git
		c.Code.Git = &g
	}
	c.Code.Files = sortedStrings(m.Code.Files)
	c.Data = sortedBy(m.Data, func(a, b Data) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.URI, b.URI), strings.Compare(a.Name, b.Name))
	})
	c.Outputs = sortedBy(m.Outputs, func(a, b Output) int { return strings.Compare(a.Path, b.Path) })
	c.Packages = sortedBy(m.Packages, func(a, b Package) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Location, b.Location))
	})
	if len(m.Packages) > 0 {
		for i := range c.Packages {
			c.Packages[i].Modified = sortedStrings(c.Packages[i].Modified)
		}
	}
	c.LockFiles = sortedBy(m.LockFiles, func(a, b LockFile) int { return strings.Compare(a.Path, b.Path) })
	c.Drift = sortedBy(m.Drift, func(a, b Drift) int {
		return cmp.Or(strings.Compare(a.LockFile, b.LockFile), strings.Compare(a.Package, b.Package))
	})
	c.Libraries = sortedBy(m.Libraries, func(a, b Library) int { return strings.Compare(a.Path, b.Path) })
	c.Files = sortedBy(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return &c
}

func sortedStrings(s []string) []string {
	if s == nil {
		return nil
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func sortedBy[T any](s []T, cmp func(a, b T) int) []T {
	if s == nil {
		return nil
	}
	c := slices.Clone(s)
	slices.SortStableFunc(c, cmp)
	return c
}
