package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/repro-ml/repro/lockfmt"
)

// passphraseEnv holds a key passphrase for non-interactive use (CI). It is
// never logged, written or copied into a manifest.
const passphraseEnv = "REPRO_KEY_PASSPHRASE"

func signCmd() *command {
	var key string
	return &command{
		name:    "sign",
		summary: "sign a manifest with an SSH key",
		usage: `Usage: repro sign -k KEY [manifest.toml]

Signs the exact bytes of the manifest (default ./manifest.toml) with an
OpenSSH SSHSIG signature in namespace "repro-manifest" and writes it beside
it as manifest.toml.sig (replacing an older one). The manifest must decode
and validate first.

KEY is an OpenSSH private key file (ed25519, ECDSA P-256 or RSA; if it is
passphrase-protected the passphrase comes from $REPRO_KEY_PASSPHRASE, else
from a terminal prompt), or a public key file (KEY.pub) or "agent:" to use
the matching key held by ssh-agent ($SSH_AUTH_SOCK).

It prints the ssh-keygen command a reader without repro runs to verify.

Examples:
  repro sign -k ~/.ssh/repro_ed25519 manifest.toml
  repro sign -k ~/.ssh/id_ed25519.pub manifest.toml     # key in ssh-agent
`,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&key, "k", "", "private key file, KEY.pub of a key in ssh-agent, or agent:")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			if key == "" {
				return usagef("sign needs -k KEY (a private key file, or the .pub of a key in ssh-agent)")
			}
			if fs.NArg() > 1 {
				return usagef("sign takes one manifest, got %d arguments", fs.NArg())
			}
			path := lockfmt.FileName
			if fs.NArg() == 1 {
				path = fs.Arg(0)
			}
			return a.sign(path, key)
		},
	}
}

func (a *app) sign(path, key string) error {
	m, data, err := lockfmt.ReadFile(path)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("refusing to sign: %w", err)}
	}
	if err := m.Validate(); err != nil {
		a.errorf("refusing to sign %s: it does not validate:\n%v", path, err)
		a.hintf("re-run repro capture, or fix the entries named above")
		return &exitError{code: exitUsage}
	}
	signer, err := lockfmt.LoadSigner(key, a.passphrase(key))
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("loading key: %w", err)}
	}
	sig, err := lockfmt.Sign(data, signer)
	if err != nil {
		return err
	}
	// Check our own work before publishing it.
	if err := lockfmt.VerifyWithKey(data, sig, signer.PublicKey()); err != nil {
		return fmt.Errorf("signature does not verify (key or agent fault): %w", err)
	}
	sigPath := path + ".sig"
	if err := lockfmt.WriteFileAtomic(sigPath, sig, 0o644); err != nil {
		return err
	}
	pub := signer.PublicKey()
	id := signerIdentity(key, pub)
	a.printf("Signed %s with %s key %s\n", path, keyTypeName(pub), ssh.FingerprintSHA256(pub))
	a.printf("Wrote %s\n", sigPath)
	a.printf("\nReaders verify it with repro:\n  repro verify --allowed-signers allowed_signers --identity %s %s\n", id, path)
	a.printf("or with OpenSSH alone:\n  ssh-keygen -Y verify -f allowed_signers -I %s -n %s -s %s < %s\n",
		id, lockfmt.Namespace, sigPath, path)
	a.printf("where allowed_signers holds the line:\n  %s\n", allowedSignersLine(id, pub))
	return nil
}

// signerIdentity is the comment of the key's .pub file (repro keygen and
// ssh-keygen put the owner's address there), or a placeholder.
func signerIdentity(key string, pub ssh.PublicKey) string {
	pubPath := strings.TrimPrefix(key, lockfmt.AgentPrefix)
	if !strings.HasSuffix(pubPath, ".pub") {
		pubPath += ".pub"
	}
	if data, err := os.ReadFile(pubPath); err == nil {
		if k, comment, _, _, err := ssh.ParseAuthorizedKey(data); err == nil &&
			bytes.Equal(k.Marshal(), pub.Marshal()) && comment != "" && !strings.ContainsAny(comment, " \t") {
			return comment
		}
	}
	return "YOU@EXAMPLE.ORG"
}

// keyTypeName names a key type like ssh-keygen does ("ED25519", "ECDSA").
func keyTypeName(pub ssh.PublicKey) string {
	switch t := pub.Type(); {
	case t == ssh.KeyAlgoED25519:
		return "ED25519"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ECDSA"
	case t == ssh.KeyAlgoRSA:
		return "RSA"
	default:
		return t
	}
}

// passphrase returns the passphrase source for the key at keyPath:
// $REPRO_KEY_PASSPHRASE when set, else a prompt on the terminal when stdin
// is one, else an error saying how to provide it.
func (a *app) passphrase(keyPath string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if p := a.getenv(passphraseEnv); p != "" {
			return []byte(p), nil
		}
		f, ok := a.stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil, fmt.Errorf("%w: set %s or run on a terminal to be asked", lockfmt.ErrPassphraseNeeded, passphraseEnv)
		}
		a.promptf("passphrase for %s: ", keyPath)
		p, err := term.ReadPassword(int(f.Fd()))
		a.promptf("\n")
		if err != nil {
			return nil, fmt.Errorf("reading passphrase: %w", err)
		}
		if len(p) == 0 {
			return nil, errors.New("empty passphrase")
		}
		return p, nil
	}
}
