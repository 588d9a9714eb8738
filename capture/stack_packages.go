package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/repro-ml/repro/capture/lockfile"
	"github.com/repro-ml/repro/internal/pydist"
	"github.com/repro-ml/repro/lockfmt"
)

// packages records every installed distribution of the interpreter's site
// directories (and conda prefix), marks the ones the run imported and adds
// all files of those to Files.
func (s *stackState) packages() error {
	popts := pydist.Options{DPKG: s.dpkg, Warn: s.opts.Warn}
	dists, err := pydist.Scan(s.siteDirs, popts)
	if err != nil {
		return fmt.Errorf("listing installed distributions: %w", err)
	}
	if len(s.reports) > 0 && pydist.IsCondaPrefix(s.reports[0].Prefix) {
		conda, err := pydist.ScanConda(s.reports[0].Prefix, popts)
		if err != nil {
			return fmt.Errorf("reading conda-meta: %w", err)
		}
		pydist.AttributeConda(dists, conda)
		dists = append(dists, conda...)
	}
	known, err := pydist.Check(dists, s.opts.Hashes)
	if err != nil {
		return fmt.Errorf("hashing installed distributions: %w", err)
	}
	s.known = known
	modFiles := map[string]bool{}
	for _, r := range s.reports {
		for _, mod := range r.Modules {
			if filepath.IsAbs(mod.File) {
				modFiles[filepath.Clean(mod.File)] = true
			}
		}
	}
	s.installed = map[string]string{}
	areas := s.pyAreas()
	for _, d := range dists {
		imported := false
		for _, f := range d.Files {
			if modFiles[f] {
				imported = true
				break
			}
		}
		s.m.Packages = append(s.m.Packages, lockfmt.Package{
			Name: d.Name, Version: d.Version, Installer: d.Installer, Source: d.Source,
			Location: d.Location, Digest: d.Digest, Files: d.Count, Imported: imported,
			Modified: d.Modified, Build: d.Build, MD5: d.MD5,
		})
		if _, ok := s.installed[d.Name]; !ok { // the first on sys.path shadows the rest
			s.installed[d.Name] = d.Version
		}
		if imported {
			for _, f := range d.Files {
				// RECORD is untrusted: only the interpreter's trees and the
				// system directories, never a user's other files.
				if stkUnderAny(f, areas) || stkUnderAny(f, stkSystemDirs) {
					s.files[f] = lockfmt.RolePackages
				}
			}
		}
	}
	// .pth files run at every interpreter start.
	for _, sd := range s.siteDirs {
		pths, _ := filepath.Glob(filepath.Join(sd, "*.pth"))
		for _, p := range pths {
			s.files[p] = lockfmt.RolePackages
		}
	}
	return nil
}

// lockFiles records the project's lock files and their drift from the
// installed distributions.
func (s *stackState) lockFiles() error {
	if s.opts.WorkDir == "" {
		return nil
	}
	paths, err := lockfile.Find(s.opts.WorkDir)
	if err != nil {
		s.opts.Warn("lock files not recorded: %v", err)
		return nil
	}
	for _, p := range paths {
		rel, err := filepath.Rel(s.opts.WorkDir, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		rel = filepath.ToSlash(rel)
		digest, _, err := s.opts.Hashes.File(p)
		if err != nil {
			if os.IsNotExist(err) || os.IsPermission(err) {
				s.opts.Warn("lock file %s skipped: %v", rel, err)
				continue
			}
			return fmt.Errorf("hashing lock file %s: %w", p, err)
		}
		lf := lockfmt.LockFile{Path: rel, Digest: digest}
		l, err := lockfile.ParseFile(p)
		if err != nil {
			s.opts.Warn("lock file %s not compared with the installed packages: %v", rel, err)
			lf.Format = "unreadable"
			s.m.LockFiles = append(s.m.LockFiles, lf)
			continue
		}
		lf.Format, lf.Packages = l.Format, len(l.Packages)
		s.m.LockFiles = append(s.m.LockFiles, lf)
		if len(s.reports) == 0 {
			continue // nothing known about the installed environment
		}
		for _, d := range lockfile.Compare(l, s.installed) {
			s.m.Drift = append(s.m.Drift, lockfmt.Drift{LockFile: rel, Package: d.Package,
				Locked: d.Locked, Installed: d.Installed, Message: d.Message})
		}
	}
	return nil
}
