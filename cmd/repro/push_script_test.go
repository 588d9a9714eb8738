package main

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/rogpeppe/go-internal/testscript"
)

// pushScriptSetup serves two in-memory OCI registries on 127.0.0.1 for a
// script: $REGISTRY without the referrers API (the tag fallback) and
// $REGISTRY_REFERRERS with it. The real registry server is exercised by the
// Go tests of internal/publish and internal/e2e.
func pushScriptSetup(env *testscript.Env) error {
	for _, r := range []struct {
		name      string
		referrers bool
	}{{"REGISTRY", false}, {"REGISTRY_REFERRERS", true}} {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(r.referrers)))
		env.Defer(srv.Close)
		env.Setenv(r.name, strings.TrimPrefix(srv.URL, "http://"))
	}
	return nil
}
