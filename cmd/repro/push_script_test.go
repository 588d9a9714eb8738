package main

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/rogpeppe/go-internal/testscript"
)

// pushScriptSetup serves two in-memory OCI registries on 127.0.0.1 for a
// script: $REGISTRY without the referrers API (the tag fallback) and
// $REGISTRY_REFERRERS with it, both plain HTTP; and $REGISTRY_TLS over HTTPS,
// its certificate trusted through SSL_CERT_FILE, for commands without an
// --insecure flag. The real registry server is exercised by the Go tests of
// internal/publish and internal/e2e.
func pushScriptSetup(env *testscript.Env) error {
	for _, r := range []struct {
		name      string
		referrers bool
	}{{"REGISTRY", false}, {"REGISTRY_REFERRERS", true}} {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(r.referrers)))
		env.Defer(srv.Close)
		env.Setenv(r.name, strings.TrimPrefix(srv.URL, "http://"))
	}
	tlsSrv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	env.Defer(tlsSrv.Close)
	certFile := filepath.Join(env.WorkDir, ".registry-cert.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(certFile, cert, 0o644); err != nil {
		return err
	}
	env.Setenv("SSL_CERT_FILE", certFile)
	env.Setenv("REGISTRY_TLS", strings.TrimPrefix(tlsSrv.URL, "https://"))
	return nil
}
