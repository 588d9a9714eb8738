package lockfmt

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Namespace is the SSHSIG namespace of manifest signatures. A signature made
// for another purpose (git commits use "git", ssh-keygen's default is
// "file") never verifies as a manifest signature and vice versa. It is a
// plain, stable word rather than "name@domain" because repro owns no domain
// a reader could check, and it carries no version: the manifest's schema
// version is inside the signed bytes. Readers pass it to ssh-keygen as
// "-n repro-manifest".
const Namespace = "repro-manifest"

// Sentinel errors of signature checking; the errors returned wrap them.
var (
	// ErrBadSignature: the signature does not match the data, key or
	// namespace, or is malformed.
	ErrBadSignature = errors.New("bad signature")
	// ErrUnsigned: there is no signature to check.
	ErrUnsigned = errors.New("manifest is not signed")
	// ErrUntrustedKey: the signature is valid but its key is not allowed
	// for the identity.
	ErrUntrustedKey = errors.New("signing key not trusted")
)

const (
	sigMagic    = "SSHSIG"
	sigVersion  = 1
	armorBegin  = "-----BEGIN SSH SIGNATURE-----"
	armorEnd    = "-----END SSH SIGNATURE-----"
	armorWidth  = 70 // as ssh-keygen
	hashSHA512  = "sha512"
	hashSHA256  = "sha256"
	maxArmorLen = 1 << 16
)

// sigBlob is the SSHSIG wire format (openssh PROTOCOL.sshsig).
type sigBlob struct {
	Magic     [6]byte
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

// signedData is what the key actually signs.
type signedData struct {
	Magic     [6]byte
	Namespace string
	Reserved  string
	HashAlg   string
	Hash      []byte
}

func messageHash(alg string, data []byte) ([]byte, error) {
	switch alg {
	case hashSHA512:
		h := sha512.Sum512(data)
		return h[:], nil
	case hashSHA256:
		h := sha256.Sum256(data)
		return h[:], nil
	}
	return nil, fmt.Errorf("%w: unsupported hash algorithm %q", ErrBadSignature, alg)
}

func toSign(ns, alg string, data []byte) ([]byte, error) {
	h, err := messageHash(alg, data)
	if err != nil {
		return nil, err
	}
	sd := signedData{Namespace: ns, HashAlg: alg, Hash: h}
	copy(sd.Magic[:], sigMagic)
	return ssh.Marshal(sd), nil
}

// Sign returns an armored SSHSIG signature (namespace Namespace, sha512)
// over exactly data, as "ssh-keygen -Y sign -n repro-manifest" makes.
// RSA keys sign with rsa-sha2-512.
func Sign(data []byte, s ssh.Signer) ([]byte, error) {
	msg, err := toSign(Namespace, hashSHA512, data)
	if err != nil {
		return nil, err
	}
	var sig *ssh.Signature
	if s.PublicKey().Type() == ssh.KeyAlgoRSA {
		as, ok := s.(ssh.AlgorithmSigner)
		if !ok {
			return nil, errors.New("signing: RSA key cannot sign with rsa-sha2-512")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, msg, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.Sign(rand.Reader, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	b := sigBlob{
		Version:   sigVersion,
		PublicKey: s.PublicKey().Marshal(),
		Namespace: Namespace,
		HashAlg:   hashSHA512,
		Signature: ssh.Marshal(sig),
	}
	copy(b.Magic[:], sigMagic)
	return armor(ssh.Marshal(b)), nil
}

func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var out bytes.Buffer
	out.WriteString(armorBegin + "\n")
	for len(enc) > armorWidth {
		out.WriteString(enc[:armorWidth] + "\n")
		enc = enc[armorWidth:]
	}
	out.WriteString(enc + "\n" + armorEnd + "\n")
	return out.Bytes()
}

// Signature is a parsed SSHSIG signature. Its key is only a claim until
// checked against a trusted key.
type Signature struct {
	PublicKey ssh.PublicKey
	Namespace string
	HashAlg   string
	sig       *ssh.Signature
}

// ParseSignature parses an armored SSHSIG signature. It checks the format
// only, not the signature.
func ParseSignature(armored []byte) (*Signature, error) {
	if len(armored) == 0 {
		return nil, ErrUnsigned
	}
	if len(armored) > maxArmorLen {
		return nil, fmt.Errorf("%w: signature file too large", ErrBadSignature)
	}
	s := strings.TrimSpace(string(armored))
	if !strings.HasPrefix(s, armorBegin) || !strings.HasSuffix(s, armorEnd) || len(s) < len(armorBegin)+len(armorEnd) {
		return nil, fmt.Errorf("%w: not an armored SSH signature (want %s ... %s)", ErrBadSignature, armorBegin, armorEnd)
	}
	body := strings.Join(strings.Fields(s[len(armorBegin):len(s)-len(armorEnd)]), "")
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %v", ErrBadSignature, err)
	}
	var b sigBlob
	if err := ssh.Unmarshal(blob, &b); err != nil {
		return nil, fmt.Errorf("%w: malformed SSHSIG blob: %v", ErrBadSignature, err)
	}
	if string(b.Magic[:]) != sigMagic {
		return nil, fmt.Errorf("%w: missing SSHSIG preamble", ErrBadSignature)
	}
	if b.Version != sigVersion {
		return nil, fmt.Errorf("%w: unsupported SSHSIG version %d", ErrBadSignature, b.Version)
	}
	if b.HashAlg != hashSHA512 && b.HashAlg != hashSHA256 {
		return nil, fmt.Errorf("%w: unsupported hash algorithm %q", ErrBadSignature, b.HashAlg)
	}
	pub, err := ssh.ParsePublicKey(b.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: embedded public key: %v", ErrBadSignature, err)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(b.Signature, &sig); err != nil {
		return nil, fmt.Errorf("%w: malformed signature: %v", ErrBadSignature, err)
	}
	return &Signature{PublicKey: pub, Namespace: b.Namespace, HashAlg: b.HashAlg, sig: &sig}, nil
}

// VerifyWithKey checks that armoredSig is a valid SSHSIG signature over
// exactly data, in namespace Namespace, made by pub. Errors wrap
// ErrBadSignature (or ErrUnsigned for an empty signature).
func VerifyWithKey(data, armoredSig []byte, pub ssh.PublicKey) error {
	sig, err := ParseSignature(armoredSig)
	if err != nil {
		return err
	}
	return sig.verify(data, pub)
}

func (s *Signature) verify(data []byte, pub ssh.PublicKey) error {
	if s.Namespace != Namespace {
		return fmt.Errorf("%w: namespace %q does not match %q (not a manifest signature)", ErrBadSignature, s.Namespace, Namespace)
	}
	if !bytes.Equal(s.PublicKey.Marshal(), pub.Marshal()) {
		return fmt.Errorf("%w: signed by key %s, not by %s", ErrBadSignature,
			ssh.FingerprintSHA256(s.PublicKey), ssh.FingerprintSHA256(pub))
	}
	if pub.Type() == ssh.KeyAlgoRSA && s.sig.Format != ssh.KeyAlgoRSASHA256 && s.sig.Format != ssh.KeyAlgoRSASHA512 {
		return fmt.Errorf("%w: RSA signature algorithm %q refused (want rsa-sha2-256/512)", ErrBadSignature, s.sig.Format)
	}
	msg, err := toSign(s.Namespace, s.HashAlg, data)
	if err != nil {
		return err
	}
	if err := pub.Verify(msg, s.sig); err != nil {
		return fmt.Errorf("%w: the manifest's bytes do not match the signature (changed after signing?)", ErrBadSignature)
	}
	return nil
}
