package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/repro-ml/repro/lockfmt"
)

func verifyCmd() *command {
	var key, allowed, identity, image string
	var asJSON, unsigned bool
	return &command{
		name:    "verify",
		summary: "check a manifest's signature (and an image against it)",
		usage: `Usage: repro verify (--key KEY.pub | --allowed-signers FILE --identity ID) [--image REF] [--json] [manifest.toml]
       repro verify --insecure-unsigned --image REF [manifest.toml]

Checks manifest.toml.sig, the SSHSIG signature beside the manifest (default
./manifest.toml), over the manifest's exact bytes, in namespace
"repro-manifest". The signer is trusted either as one public key (--key) or
as an identity in an OpenSSH allowed_signers file (--allowed-signers and
--identity; principals may use * and ? wildcards, options namespaces=,
valid-after=, valid-before= are honoured). The same check without repro:

  ssh-keygen -Y verify -f allowed_signers -I ID -n repro-manifest -s manifest.toml.sig < manifest.toml

With --image REF it then checks every file of the image (a Docker image, an
OCI layout directory or an image tar) against the verified manifest. With
--insecure-unsigned instead of a signer, only the image is checked against the
manifest, and the output says the manifest itself was not verified.

Exit status: 0 good signature (and image), 1 bad, missing or untrusted
signature (or image mismatch), 2 usage or input error.

Examples:
  repro verify --key alice.pub manifest.toml
  repro verify --allowed-signers allowed_signers --identity alice@example.org
  repro verify --key alice.pub --image exp.tar manifest.toml
  repro verify --insecure-unsigned --image repro:0123456789ab manifest.toml
`,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&key, "key", "", "trusted OpenSSH public key file")
			fs.StringVar(&allowed, "allowed-signers", "", "OpenSSH allowed_signers file")
			fs.StringVar(&identity, "identity", "", "signer identity to require (with --allowed-signers)")
			fs.StringVar(&image, "image", "", "also verify this image's files against the manifest")
			fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
			fs.BoolVar(&unsigned, "insecure-unsigned", false, "skip the signature and only check --image against the manifest")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			if fs.NArg() > 1 {
				return usagef("verify takes one manifest, got %d arguments", fs.NArg())
			}
			path := lockfmt.FileName
			if fs.NArg() == 1 {
				path = fs.Arg(0)
			}
			if unsigned {
				switch {
				case key != "" || allowed != "" || identity != "":
					return usagef("--insecure-unsigned skips the signature: drop --key, --allowed-signers and --identity")
				case image == "":
					return usagef("--insecure-unsigned checks only an image: give --image REF")
				case asJSON:
					return usagef("--json reports a signature check; it does not go with --insecure-unsigned")
				}
				a.warnf("the manifest's signature was NOT verified (--insecure-unsigned); checking the image against it")
				return verifyImage(ctx, a, image, path)
			}
			switch {
			case key != "" && allowed != "":
				return usagef("use either --key or --allowed-signers, not both")
			case key == "" && allowed == "":
				return usagef("verify needs the signer: --key KEY.pub, or --allowed-signers FILE --identity ID (or --insecure-unsigned --image REF to check only an image)")
			case allowed != "" && identity == "":
				return usagef("--allowed-signers needs --identity, the signer to require (e.g. alice@example.org)")
			case key != "" && identity != "":
				return usagef("--identity goes with --allowed-signers, not --key")
			}
			res, err := a.verifySignature(path, key, allowed, identity)
			if asJSON {
				if jerr := a.writeJSON(res); jerr != nil {
					return jerr
				}
			}
			if err != nil {
				return err
			}
			if !asJSON {
				a.printf("Good signature on %s by %s with %s key %s (namespace %q)\n",
					path, res.Signer, res.KeyType, res.Fingerprint, lockfmt.Namespace)
			}
			if image != "" {
				return verifyImage(ctx, a, image, path)
			}
			return nil
		},
	}
}

// verifyResult is "repro verify --json" output.
type verifyResult struct {
	Manifest    string `json:"manifest"`
	Signature   string `json:"signature"`
	Namespace   string `json:"namespace"`
	Good        bool   `json:"good"`
	Signer      string `json:"signer,omitempty"` // identity, or the key file
	KeyType     string `json:"key_type,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Error       string `json:"error,omitempty"`
}

// verifySignature checks path+".sig" over the bytes of path. It reads the
// manifest once, verifies those bytes, then decodes the same buffer.
func (a *app) verifySignature(path, keyPath, allowedPath, identity string) (*verifyResult, error) {
	sigPath := path + ".sig"
	res := &verifyResult{Manifest: path, Signature: sigPath, Namespace: lockfmt.Namespace}
	fail := func(code int, err error) (*verifyResult, error) {
		res.Error = err.Error()
		return res, &exitError{code: code, err: err}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(exitUsage, fmt.Errorf("reading manifest: %w", err))
	}
	sig, err := os.ReadFile(sigPath)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(sig) == 0 {
		a.hintf("the author signs with: repro sign -k KEY %s", path)
		return fail(exitDiffer, fmt.Errorf("%s: %w (no %s)", path, lockfmt.ErrUnsigned, sigPath))
	}
	if err != nil {
		return fail(exitUsage, fmt.Errorf("reading signature: %w", err))
	}
	parsed, err := lockfmt.ParseSignature(sig)
	if err != nil {
		return fail(exitDiffer, fmt.Errorf("%s: %w", sigPath, err))
	}
	res.KeyType = keyTypeName(parsed.PublicKey)
	res.Fingerprint = ssh.FingerprintSHA256(parsed.PublicKey)
	if keyPath != "" {
		pub, err := lockfmt.ParsePublicKeyFile(keyPath)
		if err != nil {
			return fail(exitUsage, err)
		}
		res.Signer = keyPath
		err = lockfmt.VerifyWithKey(data, sig, pub)
		if err != nil {
			return fail(exitDiffer, fmt.Errorf("%s: %w", path, err))
		}
	} else {
		allowedData, err := os.ReadFile(allowedPath)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("reading allowed signers: %w", err))
		}
		if _, err := lockfmt.ParseAllowedSigners(allowedData); err != nil {
			return fail(exitUsage, fmt.Errorf("%s: %w", allowedPath, err))
		}
		res.Signer = identity
		if err := lockfmt.VerifyAllowedSigners(data, sig, allowedData, identity); err != nil {
			return fail(exitDiffer, fmt.Errorf("%s: %w", path, err))
		}
	}
	// A good signature over bytes that are not a manifest is still not a
	// manifest: decode the verified buffer.
	if _, err := lockfmt.Decode(data); err != nil {
		return fail(exitUsage, fmt.Errorf("%s: signature good but the manifest does not decode: %w", path, err))
	}
	res.Good = true
	return res, nil
}
