package lockfmt

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// AgentPrefix in a key path means "a key held by ssh-agent": "agent:" alone
// takes the agent's only key, "agent:FILE.pub" the agent key matching FILE.pub.
const AgentPrefix = "agent:"

// ErrPassphraseNeeded is returned by passphrase callbacks (and wrapped by
// LoadSigner) when a key is encrypted and no passphrase is available.
var ErrPassphraseNeeded = errors.New("key is passphrase-protected")

// LoadSigner returns a signer for keyPath:
//   - an OpenSSH (or PEM) private key file: ed25519, ECDSA P-256 or RSA; the
//     file must not be readable by group or others (as OpenSSH demands);
//     for an encrypted key, passphrase is called once (it may be nil, then
//     the error wraps ErrPassphraseNeeded) and the passphrase bytes are
//     zeroed after use;
//   - a public key file ending in ".pub", or "agent:" or "agent:FILE.pub":
//     the matching key held by the ssh-agent at $SSH_AUTH_SOCK (the private
//     key never enters repro's memory).
func LoadSigner(keyPath string, passphrase func() ([]byte, error)) (ssh.Signer, error) {
	if rest, ok := strings.CutPrefix(keyPath, AgentPrefix); ok {
		return agentSigner(rest)
	}
	if strings.HasSuffix(keyPath, ".pub") {
		return agentSigner(keyPath)
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key %s is readable by others (mode %04o): run chmod 600 %s", keyPath, fi.Mode().Perm(), keyPath)
	}
	data, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == nil {
			return nil, fmt.Errorf("key %s: %w", keyPath, ErrPassphraseNeeded)
		}
		pass, perr := passphrase()
		if perr != nil {
			return nil, fmt.Errorf("key %s: %w", keyPath, perr)
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(data, pass)
		clear(pass)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("key %s: wrong passphrase", keyPath)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %w (want an OpenSSH private key, or a .pub file whose key is in ssh-agent)", keyPath, err)
	}
	return s, nil
}

func agentSigner(pubPath string) (ssh.Signer, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, errors.New("ssh-agent: SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add your key, or pass the private key file)")
	}
	var want ssh.PublicKey
	if pubPath != "" {
		data, err := os.ReadFile(pubPath)
		if err != nil {
			return nil, fmt.Errorf("reading public key: %w", err)
		}
		want, _, _, _, err = ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", pubPath, err)
		}
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: %w", err)
	}
	// The connection stays open for the signer's lifetime (one process).
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh-agent: listing keys: %w", err)
	}
	if want == nil {
		if len(signers) != 1 {
			conn.Close()
			return nil, fmt.Errorf("ssh-agent holds %d keys: name one with agent:FILE.pub", len(signers))
		}
		return signers[0], nil
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), want.Marshal()) {
			return s, nil
		}
	}
	conn.Close()
	return nil, fmt.Errorf("ssh-agent does not hold the key %s (%s): run ssh-add with its private key", pubPath, ssh.FingerprintSHA256(want))
}

// ParsePublicKeyFile reads an OpenSSH public key file (one authorized_keys
// line, as written by ssh-keygen or repro keygen).
func ParsePublicKeyFile(path string) (ssh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return pub, nil
}
