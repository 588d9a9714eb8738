// Package registrytest starts OCI registries for tests: go-containerregistry's
// in-memory registry (with or without the referrers API) and the real
// Distribution registry server of Debian's docker-registry package, both on
// 127.0.0.1 over plain HTTP.
package registrytest

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// DockerRegistryBin is the Distribution registry binary the real-server
// tests run (Debian package docker-registry).
const DockerRegistryBin = "/usr/bin/docker-registry"

// InMemory serves ggcr's in-memory registry on 127.0.0.1 for the test's
// lifetime and returns its host:port. referrers turns the OCI referrers API
// on; off, clients use the "sha256-<hex>" tag fallback.
func InMemory(t testing.TB, referrers bool) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(
		registry.Logger(log.New(io.Discard, "", 0)),
		registry.WithReferrersSupport(referrers),
	))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Distribution starts the docker-registry server with filesystem storage in
// a temporary directory on a free 127.0.0.1 port, waits until /v2/ answers,
// and stops it when the test ends. It returns host:port. The test fails when
// the binary is missing (install the docker-registry package).
func Distribution(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(DockerRegistryBin); err != nil {
		t.Fatalf("the real-registry tests need %s: apt-get install docker-registry (%v)", DockerRegistryBin, err)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(DockerRegistryBin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", DockerRegistryBin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("docker-registry exited: %v\n%s", waitErr, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("docker-registry did not answer on %s within 20s\n%s", addr, out)
		}
	}
}
