// Package registrytest starts OCI registries for tests: go-containerregistry's
// in-memory registry (with or without the referrers API) and the real
// Distribution registry server of Debian's docker-registry package, both on
// 127.0.0.1 over plain HTTP.
package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
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
	"golang.org/x/crypto/bcrypt"
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
// a temporary directory on a free 127.0.0.1 port, serving plain HTTP, waits
// until /v2/ answers, and stops it when the test ends. It returns host:port.
// The test fails when the binary is missing (install docker-registry).
func Distribution(t testing.TB) string {
	t.Helper()
	host, _ := distribution(t, false, "", "")
	return host
}

// DistributionTLS is Distribution serving HTTPS with a fresh self-signed
// certificate for 127.0.0.1. It returns host:port and the certificate's PEM
// file, which clients trust through SSL_CERT_FILE (Go on Linux reads it).
func DistributionTLS(t testing.TB) (host, caFile string) {
	t.Helper()
	return distribution(t, true, "", "")
}

// DistributionAuth is DistributionTLS requiring HTTP basic authentication
// as user with password (an htpasswd file, as registries behind a login
// have), for testing credentials from the Docker config.
func DistributionAuth(t testing.TB, user, password string) (host, caFile string) {
	t.Helper()
	return distribution(t, true, user, password)
}

func distribution(t testing.TB, useTLS bool, user, password string) (string, string) {
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
	client := http.DefaultClient
	scheme, caFile := "http", ""
	if useTLS {
		var pool *x509.CertPool
		caFile, pool = selfSigned(t, dir)
		cfg += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", caFile, filepath.Join(dir, "key.pem"))
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		scheme = "https"
	}
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: repro-test\n    path: %s\n", htpasswd)
	}
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
		resp, err := client.Get(scheme + "://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || user != "" && resp.StatusCode == http.StatusUnauthorized {
				return addr, caFile
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

// selfSigned writes a self-signed ECDSA certificate for 127.0.0.1 and
// localhost (cert.pem, key.pem in dir) and returns its path and a pool
// trusting it.
func selfSigned(t testing.TB, dir string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "repro test registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, "cert.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certPath, pool
}
