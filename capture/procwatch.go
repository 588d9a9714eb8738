package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// procWatchInterval is how often the process watcher scans /proc. Programs
// that live shorter than this may be missed by the watcher; the probe's exec
// events and the command line cover the common ones (see executables).
// Each scan takes a few hundred microseconds of CPU, but on a small machine
// it preempts one thread of a multithreaded BLAS run and stalls the others:
// at 20 ms a 3.3 s numpy run on 2 cores took 0.12 s longer (about 3.6%).
const procWatchInterval = 100 * time.Millisecond

// procWatcher records the executables of every process in one process group
// while the experiment runs: what a shell script starts (sh, awk, a compiled
// tool) is invisible to the Python probe but must be in the image.
type procWatcher struct {
	pgid int
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	exes map[string]bool
}

// watchProcesses starts watching the process group pgid (the experiment's
// pid, which leads its own group) until finish is called.
func watchProcesses(pgid int) *procWatcher {
	w := &procWatcher{pgid: pgid, stop: make(chan struct{}), done: make(chan struct{}), exes: map[string]bool{}}
	go w.loop()
	return w
}

func (w *procWatcher) loop() {
	defer close(w.done)
	t := time.NewTicker(procWatchInterval)
	defer t.Stop()
	for {
		w.scan()
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// scan records the executable of every live process of the group. It walks
// the experiment's process tree through /proc/<pid>/task/<tid>/children,
// which costs a few reads per process of the experiment rather than a scan
// of every process on the machine; without that file (kernels built without
// CONFIG_PROC_CHILDREN) it scans /proc.
func (w *procWatcher) scan() {
	pids, ok := descendants(w.pgid)
	if !ok {
		pids = nil
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return
		}
		for _, e := range ents {
			if pid, err := strconv.Atoi(e.Name()); err == nil && procPgid(pid) == w.pgid {
				pids = append(pids, pid)
			}
		}
	}
	for _, pid := range pids {
		exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		if err != nil || !filepath.IsAbs(exe) {
			continue
		}
		w.mu.Lock()
		w.exes[exe] = true
		w.mu.Unlock()
	}
}

// descendants returns root and all its live descendants; ok is false when
// the kernel does not expose children lists.
func descendants(root int) (pids []int, ok bool) {
	if _, err := os.Stat("/proc/" + strconv.Itoa(root) + "/task/" + strconv.Itoa(root) + "/children"); err != nil {
		return nil, false
	}
	seen := map[int]bool{root: true}
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		pids = append(pids, pid)
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			for _, f := range bytes.Fields(b) {
				c, err := strconv.Atoi(string(f))
				if err == nil && !seen[c] {
					seen[c] = true
					queue = append(queue, c)
				}
			}
		}
	}
	return pids, true
}

// procPgid returns the process group of pid from /proc/<pid>/stat, or -1.
func procPgid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 {
		return -1
	}
	g, err := strconv.Atoi(string(f[2]))
	if err != nil {
		return -1
	}
	return g
}

// finish stops the watcher and returns the executables seen, sorted. A
// deleted executable (" (deleted)" suffix) is left out.
func (w *procWatcher) finish() []string {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for p := range w.exes {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
