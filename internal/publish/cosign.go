package publish

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/ssh"
)

// cosign's legacy signature layout (sigstore/cosign specs/SIGNATURE_SPEC.md).
const (
	// SimpleSigningMediaType is the media type of the signed payload layer.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// CosignSignatureAnnotation holds the base64 ASN.1 ECDSA signature.
	CosignSignatureAnnotation = "dev.cosignproject.cosign/signature"
	// CosignType is the simple-signing "type" cosign requires.
	CosignType = "cosign container image signature"
	// ManifestClaim is the optional claim tying the image to the manifest:
	// the hex sha256 of manifest.toml, checkable with
	// "cosign verify -a dev.repro/manifest-sha256=<hex>".
	ManifestClaim = "dev.repro/manifest-sha256"
)

// SimpleSigning is the payload cosign signs and verifies.
type SimpleSigning struct {
	Critical Critical          `json:"critical"`
	Optional map[string]string `json:"optional"`
}

// Critical is the part of a simple-signing payload a verifier must check.
type Critical struct {
	Identity struct {
		DockerReference string `json:"docker-reference"`
	} `json:"identity"`
	Image struct {
		DockerManifestDigest string `json:"docker-manifest-digest"`
	} `json:"image"`
	Type string `json:"type"`
}

// SimpleSigningPayload returns the exact bytes signed for the image with
// manifest digest imageDigest in repository repo (registry/name, no tag),
// with the manifest claim when manifestSHA256 (hex) is not empty.
func SimpleSigningPayload(repo, imageDigest, manifestSHA256 string) ([]byte, error) {
	var p SimpleSigning
	p.Critical.Identity.DockerReference = repo
	p.Critical.Image.DockerManifestDigest = imageDigest
	p.Critical.Type = CosignType
	if manifestSHA256 != "" {
		p.Optional = map[string]string{ManifestClaim: manifestSHA256}
	}
	return json.Marshal(p)
}

// SignatureTag is the tag cosign looks up for the signatures of the image
// with manifest digest d: "sha256-<hex>.sig".
func SignatureTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex + ".sig" }

// LoadCosignKey reads an ECDSA P-256 private key from PEM: PKCS#8 ("PRIVATE
// KEY", as "cosign import-key-pair" and openssl write it), SEC 1 ("EC
// PRIVATE KEY") or an OpenSSH ecdsa-sha2-nistp256 key file (ssh-keygen -t
// ecdsa -b 256), the latter asking passphrase (when not nil) if it is
// encrypted. cosign's own encrypted format is not read.
func LoadCosignKey(pemBytes []byte, passphrase func() ([]byte, error)) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("not a PEM file: expected an ECDSA P-256 private key")
	}
	var key any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "OPENSSH PRIVATE KEY":
		key, err = ssh.ParseRawPrivateKey(pemBytes)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) && passphrase != nil {
			var pw []byte
			if pw, err = passphrase(); err == nil {
				key, err = ssh.ParseRawPrivateKeyWithPassphrase(pemBytes, pw)
				clear(pw)
			}
		}
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		return nil, errors.New("cosign's encrypted key format is not supported: use an unencrypted PKCS#8 key or an ssh-keygen ECDSA P-256 key")
	default:
		return nil, fmt.Errorf("unsupported PEM block %q: expected an ECDSA P-256 private key", blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	if p, ok := key.(*ecdsa.PrivateKey); ok && p.Curve == elliptic.P256() {
		return p, nil
	}
	return nil, fmt.Errorf("key is %T, not ECDSA P-256 (the key type cosign must support)", key)
}

// CosignPublicKeyPEM returns the PKIX "PUBLIC KEY" PEM of key, the
// cosign.pub a reader passes to "cosign verify --key".
func CosignPublicKeyPEM(key crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// cosignSignatureImage signs payload with key and returns the one-layer
// image cosign reads at the signature tag.
func cosignSignatureImage(payload []byte, key *ecdsa.PrivateKey) (v1.Image, error) {
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return nil, fmt.Errorf("signing image: %w", err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	return mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(payload, SimpleSigningMediaType),
		Annotations: map[string]string{CosignSignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
}

// VerifyCosign checks a signature image as cosign does with a public key:
// some simple-signing layer whose annotation is a valid ECDSA signature by
// pub over the layer's exact bytes, with type CosignType and
// docker-manifest-digest equal to imageDigest. It returns the payload.
func VerifyCosign(sigImg v1.Image, pub *ecdsa.PublicKey, imageDigest string) (*SimpleSigning, error) {
	m, err := sigImg.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading signature manifest: %w", err)
	}
	for _, d := range m.Layers {
		if d.MediaType != SimpleSigningMediaType {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(d.Annotations[CosignSignatureAnnotation])
		if err != nil {
			continue
		}
		l, err := sigImg.LayerByDigest(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading signature layer: %w", err)
		}
		payload, err := readAllLimited(l, maxSmallBlob)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(payload)
		if !ecdsa.VerifyASN1(pub, sum[:], sig) {
			continue
		}
		var p SimpleSigning
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, fmt.Errorf("decoding signed payload: %w", err)
		}
		if p.Critical.Type != CosignType || p.Critical.Image.DockerManifestDigest != imageDigest {
			return nil, fmt.Errorf("signed payload is for %q, not image %s", p.Critical.Image.DockerManifestDigest, imageDigest)
		}
		return &p, nil
	}
	return nil, errors.New("no signature by this key")
}
