package publish

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/repro-ml/repro/internal/publish/registrytest"
)

// TestCosignLayoutWithOpenSSL checks the legacy cosign signature against
// the format documentation with independent tools: the layer and tag
// layout, the exact payload, and openssl verifying the ECDSA-SHA256 ASN.1
// signature with the PKIX cosign.pub made by ssh-keygen from the same key.
func TestCosignLayoutWithOpenSSL(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "id_ecdsa")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", keyPath).CombinedOutput()
	require.NoError(t, err, "%s", out)
	keyPEM, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	key, err := LoadCosignKey(keyPEM, nil)
	require.NoError(t, err)
	pub, err := CosignPublicKeyPEM(&key.PublicKey)
	require.NoError(t, err)
	sshPub, err := exec.Command("ssh-keygen", "-e", "-m", "PKCS8", "-f", keyPath+".pub").Output()
	require.NoError(t, err)
	assert.Equal(t, string(sshPub), string(pub), "cosign.pub is what ssh-keygen -e -m PKCS8 prints")

	host := registrytest.InMemory(t, false)
	img := testImage(t, 256, "cosign")
	res := push(t, img, host+"/lab/cosign:v1", testSig, PushOptions{CosignKey: key})
	d, err := img.Digest()
	require.NoError(t, err)
	require.Equal(t, host+"/lab/cosign:sha256-"+d.Hex+".sig", res.CosignSignature)

	sigImg, err := remote.Image(mustRef(t, res.CosignSignature))
	require.NoError(t, err)
	m, err := sigImg.Manifest()
	require.NoError(t, err)
	require.Len(t, m.Layers, 1)
	l := m.Layers[0]
	assert.Equal(t, SimpleSigningMediaType, string(l.MediaType))
	layer, err := sigImg.LayerByDigest(l.Digest)
	require.NoError(t, err)
	payload, err := readAllLimited(layer, maxSmallBlob)
	require.NoError(t, err)
	want := `{"critical":{"identity":{"docker-reference":"` + host + `/lab/cosign"},"image":{"docker-manifest-digest":"` + d.String() +
		`"},"type":"cosign container image signature"},"optional":{"dev.repro/manifest-sha256":"` + res.ManifestSHA256[len("sha256:"):] + `"}}`
	assert.Equal(t, want, string(payload))
	var generic map[string]any
	require.NoError(t, json.Unmarshal(payload, &generic))

	sig, err := base64.StdEncoding.DecodeString(l.Annotations[CosignSignatureAnnotation])
	require.NoError(t, err)
	for name, b := range map[string][]byte{"cosign.pub": pub, "payload.json": payload, "sig.der": sig} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	cmd := exec.Command("openssl", "dgst", "-sha256", "-verify", "cosign.pub", "-signature", "sig.der", "payload.json")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Verified OK")

	// The bundle referrer carries the same signature over DSSE's PAE of an
	// in-toto statement about the image, with the manifest claim.
	require.NotEmpty(t, res.CosignBundle)
	idx, err := remote.Referrers(mustRef(t, res.Ref).Context().Digest(d.String()))
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	var types []string
	for _, m := range im.Manifests {
		types = append(types, m.ArtifactType)
	}
	assert.ElementsMatch(t, []string{ArtifactType, BundleMediaType}, types)
	bimg, err := remote.Image(mustRef(t, res.Ref[:len(res.Ref)-len(d.String())]+res.CosignBundle))
	require.NoError(t, err)
	bm, err := bimg.Manifest()
	require.NoError(t, err)
	assert.Equal(t, BundleMediaType, bm.ArtifactType)
	assert.Equal(t, "dsse-envelope", bm.Annotations["dev.sigstore.bundle.content"])
	assert.Equal(t, CosignSignPredicate, bm.Annotations["dev.sigstore.bundle.predicateType"])
	require.Len(t, bm.Layers, 1)
	bl, err := bimg.LayerByDigest(bm.Layers[0].Digest)
	require.NoError(t, err)
	bundle, err := readAllLimited(bl, maxSmallBlob)
	require.NoError(t, err)
	st, err := VerifyBundle(bundle, &key.PublicKey, d)
	require.NoError(t, err)
	assert.Equal(t, res.ManifestSHA256[len("sha256:"):], st.Subject[0].Annotations[ManifestClaim])
	var b Bundle
	require.NoError(t, json.Unmarshal(bundle, &b))
	body, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	require.NoError(t, err)
	dsseSig, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Signatures[0].Sig)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pae.bin"), PAE(InTotoPayloadType, body), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dsse.der"), dsseSig, 0o644))
	cmd = exec.Command("openssl", "dgst", "-sha256", "-verify", "cosign.pub", "-signature", "dsse.der", "pae.bin")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "DSSEv1 29 http://example.com/HelloWorld 11 hello world", string(PAE("http://example.com/HelloWorld", []byte("hello world"))), "the DSSE spec's test vector")

	// Another key does not verify, in Go or with openssl.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = VerifyCosign(sigImg, &other.PublicKey, d.String())
	require.Error(t, err)
	_, err = VerifyBundle(bundle, &other.PublicKey, d)
	require.Error(t, err)
	otherPub, err := CosignPublicKeyPEM(&other.PublicKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.pub"), otherPub, 0o644))
	cmd = exec.Command("openssl", "dgst", "-sha256", "-verify", "other.pub", "-signature", "sig.der", "payload.json")
	cmd.Dir = dir
	require.Error(t, cmd.Run())
	// A payload for another image is refused even with the right key.
	_, err = VerifyCosign(sigImg, &key.PublicKey, "sha256:"+d.Hex[:63]+"0")
	require.Error(t, err)
}

func TestLoadCosignKey(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	sec1, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	for name, p := range map[string][]byte{
		"pkcs8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"sec1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
	} {
		got, err := LoadCosignKey(p, nil)
		require.NoError(t, err, name)
		assert.True(t, got.Equal(k), name)
	}

	// An encrypted ssh-keygen key asks for its passphrase.
	dir := t.TempDir()
	path := filepath.Join(dir, "enc")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "s3cret", "-a", "2", "-f", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	enc, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = LoadCosignKey(enc, nil)
	require.Error(t, err)
	asked := 0
	_, err = LoadCosignKey(enc, func() ([]byte, error) { asked++; return []byte("s3cret"), nil })
	require.NoError(t, err)
	assert.Equal(t, 1, asked)

	// Keys cosign cannot use are refused with the reason.
	ed := filepath.Join(dir, "ed")
	out, err = exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ed).CombinedOutput()
	require.NoError(t, err, "%s", out)
	edPEM, err := os.ReadFile(ed)
	require.NoError(t, err)
	_, err = LoadCosignKey(edPEM, nil)
	assert.ErrorContains(t, err, "not ECDSA P-256")
	_, err = LoadCosignKey([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAA==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), nil)
	assert.ErrorContains(t, err, "cosign's encrypted key format is not supported")
	_, err = LoadCosignKey([]byte("not pem"), nil)
	assert.ErrorContains(t, err, "not a PEM file")
}
