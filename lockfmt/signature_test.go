package lockfmt

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// sshKeygen runs the real ssh-keygen; the tests need it (openssh-client).
func sshKeygen(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	require.NoError(t, err, "ssh-keygen is required (Debian package openssh-client)")
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// newKey makes a key pair with ssh-keygen and returns the private key path.
func newKey(t *testing.T, typ, passphrase string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "id_"+typ)
	args := []string{"-q", "-t", typ, "-N", passphrase, "-C", "alice@example.org", "-f", p}
	if typ == "ecdsa" {
		args = append(args, "-b", "256")
	}
	out, err := sshKeygen(t, nil, args...)
	require.NoError(t, err, out)
	return p
}

func pubKey(t *testing.T, keyPath string) ssh.PublicKey {
	t.Helper()
	pub, err := ParsePublicKeyFile(keyPath + ".pub")
	require.NoError(t, err)
	return pub
}

func allowedFor(t *testing.T, keyPath, principals, options string) []byte {
	t.Helper()
	pub, err := os.ReadFile(keyPath + ".pub")
	require.NoError(t, err)
	fields := strings.Fields(string(pub))
	line := principals + " "
	if options != "" {
		line += options + " "
	}
	return []byte(line + fields[0] + " " + fields[1] + " a comment\n")
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// sshVerify checks sig over data with ssh-keygen -Y verify.
func sshVerify(t *testing.T, data, sig, allowed []byte, identity, namespace string) (string, error) {
	t.Helper()
	a := writeTemp(t, "allowed_signers", allowed)
	s := writeTemp(t, "manifest.toml.sig", sig)
	return sshKeygen(t, data, "-Y", "verify", "-f", a, "-I", identity, "-n", namespace, "-s", s)
}

// TestSignVerifiesWithSSHKeygen: repro's signatures verify with ssh-keygen
// for ed25519, ECDSA P-256 and passphrase-protected keys.
func TestSignVerifiesWithSSHKeygen(t *testing.T) {
	data := goldenBytes(t)
	for _, tc := range []struct{ typ, pass string }{{"ed25519", ""}, {"ecdsa", ""}, {"ed25519", "s3cret pass"}, {"ecdsa", "pw"}} {
		t.Run(tc.typ+"/"+tc.pass, func(t *testing.T) {
			key := newKey(t, tc.typ, tc.pass)
			asked := 0
			s, err := LoadSigner(key, func() ([]byte, error) { asked++; return []byte(tc.pass), nil })
			require.NoError(t, err)
			assert.Equal(t, tc.pass != "", asked == 1)
			sig, err := Sign(data, s)
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(sig, []byte("-----BEGIN SSH SIGNATURE-----\n")))
			allowed := allowedFor(t, key, "alice@example.org", `namespaces="repro-manifest"`)
			out, err := sshVerify(t, data, sig, allowed, "alice@example.org", Namespace)
			require.NoError(t, err, out)
			assert.Contains(t, out, `Good "repro-manifest" signature for alice@example.org`)
			require.NoError(t, VerifyWithKey(data, sig, pubKey(t, key)))
			require.NoError(t, VerifyAllowedSigners(data, sig, allowed, "alice@example.org"))

			// ssh-keygen refuses what we refuse.
			tampered := append(bytes.Clone(data), ' ')
			out, err = sshVerify(t, tampered, sig, allowed, "alice@example.org", Namespace)
			require.Error(t, err, out)
			require.ErrorIs(t, VerifyWithKey(tampered, sig, pubKey(t, key)), ErrBadSignature)
		})
	}
}

// TestSSHKeygenSignaturesVerify: ssh-keygen's signatures (sha512 default and
// sha256) verify with VerifyWithKey and VerifyAllowedSigners.
func TestSSHKeygenSignaturesVerify(t *testing.T) {
	data := goldenBytes(t)
	for _, typ := range []string{"ed25519", "ecdsa"} {
		for _, hash := range []string{"", "sha256"} {
			t.Run(typ+"/"+hash, func(t *testing.T) {
				key := newKey(t, typ, "")
				f := writeTemp(t, "manifest.toml", data)
				args := []string{"-Y", "sign", "-f", key, "-n", Namespace}
				if hash != "" {
					args = append(args, "-O", "hashalg="+hash)
				}
				out, err := sshKeygen(t, nil, append(args, f)...)
				require.NoError(t, err, out)
				sig, err := os.ReadFile(f + ".sig")
				require.NoError(t, err)
				parsed, err := ParseSignature(sig)
				require.NoError(t, err)
				assert.Equal(t, map[string]string{"": "sha512", "sha256": "sha256"}[hash], parsed.HashAlg)
				require.NoError(t, VerifyWithKey(data, sig, pubKey(t, key)))
				allowed := allowedFor(t, key, "*@example.org,bob@x.org", "")
				require.NoError(t, VerifyAllowedSigners(data, sig, allowed, "alice@example.org"))
			})
		}
	}
}

// TestVerifyRefuses: tampering, the wrong key, the wrong namespace and a
// CRLF conversion are refused with clear messages.
func TestVerifyRefuses(t *testing.T) {
	data := goldenBytes(t)
	key := newKey(t, "ed25519", "")
	other := newKey(t, "ed25519", "")
	s, err := LoadSigner(key, nil)
	require.NoError(t, err)
	sig, err := Sign(data, s)
	require.NoError(t, err)

	for i := 0; i < len(data); i += len(data) / 7 {
		tampered := bytes.Clone(data)
		tampered[i] ^= 1
		err := VerifyWithKey(tampered, sig, pubKey(t, key))
		require.ErrorIs(t, err, ErrBadSignature)
		assert.Contains(t, err.Error(), "do not match the signature")
	}
	crlf := bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	require.ErrorIs(t, VerifyWithKey(crlf, sig, pubKey(t, key)), ErrBadSignature)

	err = VerifyWithKey(data, sig, pubKey(t, other))
	require.ErrorIs(t, err, ErrBadSignature)
	assert.Contains(t, err.Error(), "signed by key SHA256:")

	err = VerifyAllowedSigners(data, sig, allowedFor(t, other, "alice@example.org", ""), "alice@example.org")
	require.ErrorIs(t, err, ErrUntrustedKey)
	assert.Contains(t, err.Error(), "does not list")

	err = VerifyAllowedSigners(data, sig, allowedFor(t, key, "bob@example.org", ""), "alice@example.org")
	require.ErrorIs(t, err, ErrUntrustedKey)
	assert.Contains(t, err.Error(), `no allowed_signers line names "alice@example.org"`)

	// Wrong namespace: a "file" signature made by ssh-keygen.
	f := writeTemp(t, "m.toml", data)
	out, err := sshKeygen(t, nil, "-Y", "sign", "-f", key, "-n", "file", f)
	require.NoError(t, err, out)
	fileSig, err := os.ReadFile(f + ".sig")
	require.NoError(t, err)
	err = VerifyWithKey(data, fileSig, pubKey(t, key))
	require.ErrorIs(t, err, ErrBadSignature)
	assert.Contains(t, err.Error(), `namespace "file" does not match "repro-manifest"`)

	_, err = ParseSignature(nil)
	require.ErrorIs(t, err, ErrUnsigned)
	_, err = ParseSignature([]byte("hello"))
	require.ErrorIs(t, err, ErrBadSignature)
}

// TestAllowedSignersOptions: namespaces, validity windows, negation,
// cert-authority and quoting behave like ssh-keygen.
func TestAllowedSignersOptions(t *testing.T) {
	data := goldenBytes(t)
	key := newKey(t, "ed25519", "")
	s, err := LoadSigner(key, nil)
	require.NoError(t, err)
	sig, err := Sign(data, s)
	require.NoError(t, err)
	now := time.Now()
	tests := []struct {
		principals, options, identity string
		ok                            bool
		msg                           string
	}{
		{"alice@example.org", "", "alice@example.org", true, ""},
		{"alice@example.org,*@lab.example.org", `namespaces="repro-manifest",valid-after="20240101"`, "bob@lab.example.org", true, ""},
		{`"alice@example.org"`, `NAMESPACES="git,repro-*"`, "alice@example.org", true, ""},
		{"a?ice@example.org", "", "alice@example.org", true, ""},
		{"*@example.org,!alice@example.org", "", "alice@example.org", false, "no allowed_signers line names"},
		{"alice@example.org", `namespaces="git"`, "alice@example.org", false, "not allowed for namespace"},
		{"alice@example.org", `valid-after="` + now.Add(48*time.Hour).Format("20060102") + `"`, "alice@example.org", false, "not valid before"},
		{"alice@example.org", `valid-before="20200101000000Z"`, "alice@example.org", false, "expired"},
		{"alice@example.org", `cert-authority`, "alice@example.org", false, "cert-authority keys are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.principals+" "+tt.options, func(t *testing.T) {
			allowed := allowedFor(t, key, tt.principals, tt.options)
			allowed = append([]byte("# comment\n\n"), allowed...)
			err := VerifyAllowedSigners(data, sig, allowed, tt.identity)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrUntrustedKey)
				assert.Contains(t, err.Error(), tt.msg)
			}
			// ssh-keygen agrees (it has no CA here, so it fails the same way).
			out, kerr := sshVerify(t, data, sig, allowed, tt.identity, Namespace)
			assert.Equal(t, tt.ok, kerr == nil, "ssh-keygen: %s", out)
		})
	}
}

func TestParseAllowedSignersErrors(t *testing.T) {
	key := newKey(t, "ed25519", "")
	good := string(allowedFor(t, key, "a@b", ""))
	fields := strings.Fields(good)
	for _, bad := range []string{
		"a@b\n",
		"a@b bogus=\"x\" " + fields[1] + " " + fields[2],
		"a@b namespaces=unquoted " + fields[1] + " " + fields[2],
		"a@b valid-after=\"2024\" " + fields[1] + " " + fields[2],
		"a@b ssh-ed25519 AAAAnotbase64",
		"\"a@b " + fields[1] + " " + fields[2],
	} {
		_, err := ParseAllowedSigners([]byte("# c\n" + bad))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "allowed_signers line 2")
	}
}

func TestMatchPattern(t *testing.T) {
	assert.True(t, matchPattern("alice@example.org", "*@example.org"))
	assert.True(t, matchPattern("a", "*"))
	assert.True(t, matchPattern("", "*"))
	assert.False(t, matchPattern("a", ""))
	assert.True(t, matchPattern("abc", "a?c"))
	assert.False(t, matchPattern("abcd", "a?c"))
	assert.True(t, matchPattern("aaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*b"))
	assert.False(t, matchPattern("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "*a*a*a*a*a*a*b"))
}

// TestLoadSignerErrors: loose permissions, a missing passphrase and a wrong
// one are clear errors.
func TestLoadSignerErrors(t *testing.T) {
	key := newKey(t, "ed25519", "pw")
	_, err := LoadSigner(key, nil)
	require.ErrorIs(t, err, ErrPassphraseNeeded)
	_, err = LoadSigner(key, func() ([]byte, error) { return []byte("nope"), nil })
	require.ErrorContains(t, err, "wrong passphrase")
	_, err = LoadSigner(key, func() ([]byte, error) { return nil, ErrPassphraseNeeded })
	require.ErrorIs(t, err, ErrPassphraseNeeded)
	require.NoError(t, os.Chmod(key, 0o644))
	_, err = LoadSigner(key, nil)
	require.ErrorContains(t, err, "chmod 600")
	_, err = LoadSigner(filepath.Join(t.TempDir(), "none"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err = LoadSigner(key+".pub", nil)
	require.ErrorContains(t, err, "SSH_AUTH_SOCK is not set")
}

// TestAgentSigner: a key held by a real ssh-agent signs, selected by its
// .pub file or as the agent's only key; the result verifies with ssh-keygen.
func TestAgentSigner(t *testing.T) {
	key := newKey(t, "ed25519", "")
	sock := startAgent(t)
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	out, err := add.CombinedOutput()
	require.NoError(t, err, string(out))
	t.Setenv("SSH_AUTH_SOCK", sock)

	data := goldenBytes(t)
	for _, p := range []string{key + ".pub", "agent:", "agent:" + key + ".pub"} {
		s, err := LoadSigner(p, nil)
		require.NoError(t, err, p)
		sig, err := Sign(data, s)
		require.NoError(t, err)
		require.NoError(t, VerifyWithKey(data, sig, pubKey(t, key)))
		allowed := allowedFor(t, key, "alice@example.org", "")
		out, err := sshVerify(t, data, sig, allowed, "alice@example.org", Namespace)
		require.NoError(t, err, out)
	}
	other := newKey(t, "ecdsa", "")
	_, err = LoadSigner(other+".pub", nil)
	require.ErrorContains(t, err, "ssh-agent does not hold the key")
}

// startAgent starts a real ssh-agent on a socket in a temp dir and stops
// it when the test ends.
func startAgent(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("ssh-agent")
	require.NoError(t, err, "ssh-agent is required (Debian package openssh-client)")
	dir, err := os.MkdirTemp("", "agent")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	cmd := exec.Command(path, "-D", "-a", sock)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("ssh-agent did not create its socket")
	return ""
}

func TestSignatureArmorLayout(t *testing.T) {
	key := newKey(t, "ed25519", "")
	s, err := LoadSigner(key, nil)
	require.NoError(t, err)
	sig, err := Sign([]byte("x"), s)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(sig), "\n"), "\n")
	assert.Equal(t, "-----BEGIN SSH SIGNATURE-----", lines[0])
	assert.Equal(t, "-----END SSH SIGNATURE-----", lines[len(lines)-1])
	for _, l := range lines[1 : len(lines)-1] {
		assert.LessOrEqual(t, len(l), 70)
	}
	// Signatures are over the exact bytes: a different message differs.
	require.True(t, errors.Is(VerifyWithKey([]byte("y"), sig, pubKey(t, key)), ErrBadSignature))
}
