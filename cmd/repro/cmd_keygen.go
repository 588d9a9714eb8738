package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/repro-ml/repro/lockfmt"
)

func keygenCmd() *command {
	var typ, comment, file string
	var encrypt bool
	return &command{
		name:    "keygen",
		summary: "create an SSH key pair for signing manifests",
		usage: `Usage: repro keygen [-t ed25519|ecdsa] [-C comment] [-N] -f FILE

Writes a new OpenSSH key pair: FILE (private, mode 0600) and FILE.pub. It
refuses to overwrite either. ssh-keygen and ssh-agent read both files.
ed25519 is the default; ecdsa makes an ECDSA P-256 key, which can also sign
container images (cosign). With -N the private key is encrypted with a
passphrase read from $REPRO_KEY_PASSPHRASE, or asked for on the terminal.

It prints the allowed_signers line readers put in their allowed_signers file
to verify your signatures; the comment (default user@host) is the identity.

Example:
  repro keygen -C alice@example.org -f ~/.ssh/repro_ed25519
`,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&typ, "t", "ed25519", "key type: ed25519 or ecdsa (P-256)")
			fs.StringVar(&comment, "C", "", "comment and signer identity, e.g. you@example.org (default user@host)")
			fs.BoolVar(&encrypt, "N", false, "encrypt the private key with a passphrase ($REPRO_KEY_PASSPHRASE or a terminal prompt)")
			fs.StringVar(&file, "f", "", "private key file to write (FILE.pub is written too)")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			if fs.NArg() > 0 {
				return usagef("keygen takes no arguments, got %q", fs.Arg(0))
			}
			if file == "" {
				return usagef("keygen needs -f FILE, the private key file to write")
			}
			if comment == "" {
				comment = defaultIdentity()
			}
			return a.keygen(typ, comment, file, encrypt)
		},
	}
}

func defaultIdentity() string {
	name := "user"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}

func (a *app) keygen(typ, comment, file string, encrypt bool) error {
	var priv crypto.PrivateKey
	switch typ {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		priv = k
	case "ecdsa":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		priv = k
	default:
		return usagef("unknown key type %q: use ed25519 or ecdsa", typ)
	}
	for _, p := range []string{file, file + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("%s already exists: refusing to overwrite a key (choose another -f or remove it)", p)}
		}
	}
	var block *pem.Block
	var err error
	if encrypt {
		pass, perr := a.passphrase(file)()
		if perr != nil {
			return perr
		}
		if len(pass) == 0 {
			return usagef("-N needs a non-empty passphrase in $REPRO_KEY_PASSPHRASE or from the terminal")
		}
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, comment, pass)
		clear(pass)
	} else {
		block, err = ssh.MarshalPrivateKey(priv, comment)
	}
	if err != nil {
		return fmt.Errorf("encoding key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return err
	}
	pub := signer.PublicKey()
	pubLine := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n") + " " + comment + "\n"
	if err := writeNew(file, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	if err := writeNew(file+".pub", []byte(pubLine), 0o644); err != nil {
		os.Remove(file)
		return err
	}
	a.infof("wrote %s (private, keep it secret) and %s", file, file+".pub")
	a.infof("key fingerprint %s", ssh.FingerprintSHA256(pub))
	a.infof("give readers this allowed_signers line (it is printed on stdout):")
	a.printf("%s\n", allowedSignersLine(comment, pub))
	return nil
}

// allowedSignersLine is the line that lets identity sign manifests with pub.
func allowedSignersLine(identity string, pub ssh.PublicKey) string {
	return fmt.Sprintf("%s namespaces=%q %s", identity, lockfmt.Namespace, strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n"))
}

// writeNew creates path with data, failing if it exists.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return &exitError{code: exitUsage, err: fmt.Errorf("%s already exists: refusing to overwrite", path)}
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
