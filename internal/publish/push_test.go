package publish

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/repro-ml/repro/internal/publish/registrytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registries are the servers every round-trip test runs against.
func registries(t *testing.T) map[string]string {
	return map[string]string{
		"memory-referrers": registrytest.InMemory(t, true),
		"memory-fallback":  registrytest.InMemory(t, false),
		"distribution":     registrytest.Distribution(t),
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	for kind, host := range registries(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			img := testImage(t, 4096, "print('hi')\n")
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			require.NoError(t, err)
			res := push(t, img, host+"/lab/paper:v1", testSig, PushOptions{CosignKey: key, Created: "2026-11-28T10:00:00Z", Cite: CiteInfo{Title: "Iris baseline", Year: "2026"}})

			d, err := img.Digest()
			require.NoError(t, err)
			assert.Equal(t, host+"/lab/paper@"+d.String(), res.Ref)
			assert.Equal(t, host+"/lab/paper:v1", res.Tag)
			assert.Contains(t, res.Citation.BibTeX, "howpublished = {OCI image \\url{"+res.Ref+"}}")
			assert.Contains(t, res.Citation.Text, res.Ref)
			assert.Positive(t, res.BytesSent)

			// The artifact has the image-spec v1.1 shape.
			art, err := remote.Image(mustRef(t, host+"/lab/paper@"+res.ArtifactDigest))
			require.NoError(t, err)
			raw, err := art.RawManifest()
			require.NoError(t, err)
			var m ocispec.Manifest
			require.NoError(t, json.Unmarshal(raw, &m))
			assert.Equal(t, ArtifactType, m.ArtifactType)
			assert.Equal(t, ocispec.DescriptorEmptyJSON.Digest, m.Config.Digest)
			assert.Equal(t, ocispec.MediaTypeEmptyJSON, m.Config.MediaType)
			require.NotNil(t, m.Subject)
			assert.Equal(t, d.String(), string(m.Subject.Digest))
			require.Len(t, m.Layers, 2)
			assert.Equal(t, "manifest.toml", m.Layers[0].Annotations[ocispec.AnnotationTitle])
			assert.Equal(t, "manifest.toml.sig", m.Layers[1].Annotations[ocispec.AnnotationTitle])

			// Without the referrers API the distribution-spec fallback tag
			// lists the artifact; with it, no tag is needed.
			tags, err := remote.List(mustRef(t, host+"/lab/paper").Context())
			require.NoError(t, err)
			if kind == "memory-referrers" {
				assert.NotContains(t, tags, "sha256-"+d.Hex)
			} else {
				assert.Contains(t, tags, "sha256-"+d.Hex)
			}

			// Pull by tag: the digest is recorded, files and layout written.
			dir := t.TempDir()
			p, err := Pull(ctx, host+"/lab/paper:v1", dir, PullOptions{Options: Options{Insecure: true}, Verify: acceptSig})
			require.NoError(t, err)
			assert.Equal(t, res.Ref, p.Ref)
			assert.True(t, p.Verified)
			assert.Equal(t, res.ArtifactDigest, p.ArtifactDigest)
			got, err := os.ReadFile(filepath.Join(dir, "manifest.toml"))
			require.NoError(t, err)
			assert.Equal(t, testManifest, got)
			got, err = os.ReadFile(filepath.Join(dir, "manifest.toml.sig"))
			require.NoError(t, err)
			assert.Equal(t, testSig, got)
			lp, err := layout.FromPath(p.Layout)
			require.NoError(t, err)
			limg, err := lp.Image(d)
			require.NoError(t, err)
			ld, err := limg.Digest()
			require.NoError(t, err)
			assert.Equal(t, d, ld)

			// The cosign signature verifies over the exact payload.
			sigImg, err := remote.Image(mustRef(t, res.CosignSignature))
			require.NoError(t, err)
			payload, err := VerifyCosign(sigImg, &key.PublicKey, d.String())
			require.NoError(t, err)
			assert.Equal(t, host+"/lab/paper", payload.Critical.Identity.DockerReference)
			assert.True(t, strings.HasSuffix(res.CosignSignature, ":sha256-"+d.Hex+".sig"))
			assert.Equal(t, strings.TrimPrefix(res.ManifestSHA256, "sha256:"), payload.Optional[ManifestClaim])
		})
	}
}

func TestPullRefusals(t *testing.T) {
	for kind, host := range registries(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			o := PullOptions{Options: Options{Insecure: true}, Verify: acceptSig}

			// An image without any manifest artifact.
			bare := testImage(t, 64, "bare")
			require.NoError(t, remote.Write(mustRef(t, host+"/lab/bare:v1"), bare))
			_, err := FetchManifest(ctx, host+"/lab/bare:v1", o)
			require.ErrorIs(t, err, ErrNoManifest)

			// An artifact without signature.
			push(t, testImage(t, 64, "unsigned"), host+"/lab/unsigned:v1", nil, PushOptions{})
			_, err = FetchManifest(ctx, host+"/lab/unsigned:v1", o)
			require.ErrorIs(t, err, ErrUnsigned)

			// Signed by another key.
			push(t, testImage(t, 64, "other"), host+"/lab/other:v1", []byte("another signature"), PushOptions{})
			dir := t.TempDir()
			_, err = Pull(ctx, host+"/lab/other:v1", dir, o)
			require.ErrorIs(t, err, ErrSignatureRejected)
			assert.Contains(t, err.Error(), "signature by another key")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing is written for a refused reference")
		})
	}
}

func TestPlainHTTPPolicy(t *testing.T) {
	host := registrytest.InMemory(t, false)
	img := testImage(t, 64, "x")
	_, err := Push(context.Background(), img, testManifest, testSig, host+"/lab/x:v1", PushOptions{})
	require.ErrorIs(t, err, ErrPlainHTTP, "loopback plain HTTP needs Insecure")
	_, err = Push(context.Background(), img, testManifest, testSig, "registry.example.org/lab/x:v1", PushOptions{Options: Options{Insecure: true}})
	require.ErrorIs(t, err, ErrPlainHTTP)
	assert.Contains(t, err.Error(), "only allowed for a registry on this machine")

	for _, h := range []string{"localhost:5000", "127.0.0.1:1", "[::1]:5000", "127.1.2.3", "LOCALHOST"} {
		assert.True(t, IsLoopback(h), h)
	}
	for _, h := range []string{"10.0.0.1:5000", "localhost.example.org", "example.org", "192.168.1.1"} {
		assert.False(t, IsLoopback(h), h)
	}
}

// TestRepushUploadsOnlyChangedLayers pushes an image, changes only its code
// layer and pushes again to the real registry server: the second push sends
// the new code layer, config and manifests, not the environment layers.
func TestRepushUploadsOnlyChangedLayers(t *testing.T) {
	host := registrytest.Distribution(t)
	const envSize = 4 << 20
	first := push(t, testImage(t, envSize, "print(1)\n"), host+"/lab/paper:v1", testSig, PushOptions{})
	second := push(t, testImage(t, envSize, "print(2)\n"), host+"/lab/paper:v2", testSig, PushOptions{})
	t.Logf("bytes sent: first push %d, second push (code changed) %d", first.BytesSent, second.BytesSent)
	assert.Greater(t, first.BytesSent, int64(2*envSize))
	assert.Less(t, second.BytesSent, int64(64<<10))
	assert.NotEqual(t, first.ImageDigest, second.ImageDigest)
}

// TestPushPullHTTPS talks TLS to the real registry server: no Insecure flag
// is needed, and the certificate is checked.
func TestPushPullHTTPS(t *testing.T) {
	host, caFile := registrytest.DistributionTLS(t)
	pemBytes, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	o := Options{Transport: tr}

	img := testImage(t, 1024, "tls")
	res, err := Push(context.Background(), img, testManifest, testSig, host+"/lab/tls:v1", PushOptions{Options: o})
	require.NoError(t, err)
	p, err := FetchManifest(context.Background(), host+"/lab/tls:v1", PullOptions{Options: o, Verify: acceptSig})
	require.NoError(t, err)
	assert.Equal(t, res.Ref, p.Ref)

	// Without the certificate the push fails: nothing falls back to HTTP.
	_, err = Push(context.Background(), img, testManifest, testSig, host+"/lab/tls:v2", PushOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
}

// TestCredentialsFromDockerConfig pushes to a registry behind a login with
// the credentials "docker login" leaves in $DOCKER_CONFIG/config.json, and
// fails clearly without them.
func TestCredentialsFromDockerConfig(t *testing.T) {
	host, caFile := registrytest.DistributionAuth(t, "alice", "s3cret")
	pemBytes, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	o := Options{Transport: tr}
	img := testImage(t, 512, "auth")

	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	_, err = Push(context.Background(), img, testManifest, testSig, host+"/lab/auth:v1", PushOptions{Options: o})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401 Unauthorized")

	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600))
	res, err := Push(context.Background(), img, testManifest, testSig, host+"/lab/auth:v1", PushOptions{Options: o})
	require.NoError(t, err)
	p, err := FetchManifest(context.Background(), host+"/lab/auth:v1", PullOptions{Options: o, Verify: acceptSig})
	require.NoError(t, err)
	assert.Equal(t, res.Ref, p.Ref)

	// A credential helper (docker-credential-<name> on PATH), as Docker
	// Desktop, pass or cloud logins install.
	bin := t.TempDir()
	helper := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}' \"$server\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "docker-credential-repro-test"), []byte(helper), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"credHelpers":{"`+host+`":"repro-test"}}`), 0o600))
	_, err = Push(context.Background(), testImage(t, 512, "helper"), testManifest, testSig, host+"/lab/auth:v2", PushOptions{Options: o})
	require.NoError(t, err)
}
