package publish

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The Sigstore bundle that "cosign sign" (v3) attaches as an OCI 1.1
// referrer: an in-toto Statement about the image digest, in a DSSE envelope
// signed with the key, in a bundle v0.3 naming the key by a hint.
const (
	// BundleMediaType is the artifactType and layer media type of the bundle.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// CosignSignPredicate is the predicate type of cosign's image signatures.
	CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"
	// InTotoPayloadType is the DSSE payload type of an in-toto Statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
)

// Statement is an in-toto Statement v1 about one image.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject names the image by digest; Annotations carry the manifest claim,
// which "cosign verify -a" checks for bundles.
type Subject struct {
	Digest      map[string]string `json:"digest"`
	Annotations map[string]string `json:"annotations"`
}

// Envelope is a DSSE envelope.
type Envelope struct {
	Payload     string `json:"payload"`
	PayloadType string `json:"payloadType"`
	Signatures  []struct {
		Sig string `json:"sig"`
	} `json:"signatures"`
}

// Bundle is the part of a Sigstore bundle v0.3 repro writes and reads.
type Bundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
	} `json:"verificationMaterial"`
	DSSEEnvelope Envelope `json:"dsseEnvelope"`
}

// PAE is DSSE's pre-authentication encoding, the bytes actually signed.
func PAE(payloadType string, body []byte) []byte {
	b := []byte("DSSEv1 " + strconv.Itoa(len(payloadType)) + " " + payloadType + " " + strconv.Itoa(len(body)) + " ")
	return append(b, body...)
}

// newBundle signs a cosign statement about the image imageDigest (with the
// manifest claim when manifestSHA256, hex, is set) and returns the bundle
// JSON.
func newBundle(imageDigest v1.Hash, manifestSHA256 string, key *ecdsa.PrivateKey) ([]byte, error) {
	st := Statement{
		Type:          "https://in-toto.io/Statement/v1",
		Subject:       []Subject{{Digest: map[string]string{imageDigest.Algorithm: imageDigest.Hex}, Annotations: map[string]string{}}},
		PredicateType: CosignSignPredicate,
		Predicate:     json.RawMessage("{}"),
	}
	if manifestSHA256 != "" {
		st.Subject[0].Annotations[ManifestClaim] = manifestSHA256
	}
	body, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(PAE(InTotoPayloadType, body))
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return nil, fmt.Errorf("signing image: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	hint := sha256.Sum256(der)
	var b Bundle
	b.MediaType = BundleMediaType
	b.VerificationMaterial.PublicKey.Hint = base64.StdEncoding.EncodeToString(hint[:])
	b.DSSEEnvelope = Envelope{Payload: base64.StdEncoding.EncodeToString(body), PayloadType: InTotoPayloadType}
	b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, struct {
		Sig string `json:"sig"`
	}{base64.StdEncoding.EncodeToString(sig)})
	return json.Marshal(b)
}

// VerifyBundle checks a bundle as cosign does with a public key: the DSSE
// signature over PAE, the payload type, the predicate type, and a subject
// naming imageDigest. It returns the statement.
func VerifyBundle(bundle []byte, pub *ecdsa.PublicKey, imageDigest v1.Hash) (*Statement, error) {
	var b Bundle
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, fmt.Errorf("decoding bundle: %w", err)
	}
	if b.MediaType != BundleMediaType || b.DSSEEnvelope.PayloadType != InTotoPayloadType {
		return nil, fmt.Errorf("not a cosign image signature bundle (%s, %s)", b.MediaType, b.DSSEEnvelope.PayloadType)
	}
	body, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		return nil, fmt.Errorf("decoding bundle payload: %w", err)
	}
	sum := sha256.Sum256(PAE(b.DSSEEnvelope.PayloadType, body))
	ok := false
	for _, s := range b.DSSEEnvelope.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err == nil && ecdsa.VerifyASN1(pub, sum[:], sig) {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("no signature by this key in the bundle")
	}
	var st Statement
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("decoding statement: %w", err)
	}
	if st.PredicateType != CosignSignPredicate {
		return nil, fmt.Errorf("statement predicate %q is not %q", st.PredicateType, CosignSignPredicate)
	}
	for _, s := range st.Subject {
		if s.Digest[imageDigest.Algorithm] == imageDigest.Hex {
			return &st, nil
		}
	}
	return nil, fmt.Errorf("the statement is not about image %s", imageDigest)
}
