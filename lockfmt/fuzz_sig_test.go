package lockfmt

import (
	"crypto/ed25519"
	"testing"

	"golang.org/x/crypto/ssh"
)

// fuzzSigner is a fixed ed25519 key for the signature fuzzers.
func fuzzSigner(f *testing.F) ssh.Signer {
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(make([]byte, 32)))
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// FuzzParseSignature: no armored input panics the parser or the verifier,
// and nothing but the real signature verifies.
func FuzzParseSignature(f *testing.F) {
	s := fuzzSigner(f)
	msg := []byte("schema = 1\n")
	sig, err := Sign(msg, s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig)
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"))
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----"))
	f.Fuzz(func(t *testing.T, armored []byte) {
		parsed, err := ParseSignature(armored)
		if err != nil {
			return
		}
		_ = parsed.PublicKey.Type()
		if err := VerifyWithKey(msg, armored, s.PublicKey()); err == nil {
			// Only a signature over msg by s may verify; re-armoring the
			// same blob differently is fine, a different message is not.
			if VerifyWithKey([]byte("other"), armored, s.PublicKey()) == nil {
				t.Fatal("signature verifies for two messages")
			}
		}
	})
}

// FuzzParseAllowedSigners: no input panics the allowed_signers parser or
// the identity check.
func FuzzParseAllowedSigners(f *testing.F) {
	s := fuzzSigner(f)
	pub := string(ssh.MarshalAuthorizedKey(s.PublicKey()))
	f.Add([]byte("alice@example.org "+pub), "alice@example.org")
	f.Add([]byte("# c\n\n*@lab.org,!bob@lab.org namespaces=\"repro-*\",valid-after=\"20240101\",valid-before=\"203001011200Z\" "+pub), "eve@lab.org")
	f.Add([]byte("\"a b\" cert-authority "+pub), "a b")
	msg := []byte("m")
	sig, err := Sign(msg, s)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, allowed []byte, identity string) {
		_, _ = ParseAllowedSigners(allowed)
		_ = VerifyAllowedSigners(msg, sig, allowed, identity)
		_ = matchPatternList(identity, string(allowed))
	})
}
