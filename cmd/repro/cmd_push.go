package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/repro-ml/repro/internal/publish"
	"github.com/repro-ml/repro/lockfmt"
	"golang.org/x/crypto/ssh"
)

func pushCmd() *command {
	var key, cosignKey, image, title, author, outputsMax string
	var insecure, unsigned, noCheck, asJSON, noOutputs bool
	return &command{
		name:    "push",
		summary: "publish the image and the signed manifest to an OCI registry",
		usage: `Usage: repro push [flags] manifest.toml REF

Pushes the experiment's image to REF (registry/repo:tag), then manifest.toml
and manifest.toml.sig as an OCI artifact that refers to the image, and prints
the reference to cite (registry/repo@sha256:...) with BibTeX and plain-text
citations. The manifest must be signed: manifest.toml.sig beside it, or
--key to sign it now. With --cosign-key the image is also signed so that
"cosign verify --key cosign.pub" accepts it; cosign.pub is written beside
the manifest.

The recorded output files still in the capture's working directory (or
beside the manifest) with the recorded digest travel with the manifest, so
that "repro replay REF" can show what differs (numbers, arrays, text) rather
than digests only; --no-outputs leaves them out, --outputs-max caps their
total size (default 256m; larger outputs are skipped with a note). Only
outputs listed in the manifest are uploaded, never through a symlink.

Credentials come from the Docker config (~/.docker/config.json and its
credential helpers): log in with "docker login" as usual.

Examples:
  repro push manifest.toml ghcr.io/lab/paper:v1
  repro push --key ~/.ssh/id_ecdsa --cosign-key ~/.ssh/id_ecdsa manifest.toml ghcr.io/lab/paper:v1
  repro push --image exp.tar --insecure manifest.toml 127.0.0.1:5000/lab/paper:v1
`,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&key, "key", "", "SSH `KEY` that signs the manifest when manifest.toml.sig is missing, or must have made it")
			fs.StringVar(&cosignKey, "cosign-key", "", "ECDSA P-256 private key (`PEM` PKCS#8 or an ssh-keygen ecdsa key) to sign the image for cosign")
			fs.StringVar(&image, "image", "", "push this image (OCI layout `DIR` or archive from \"repro build --tar\") instead of building it")
			fs.BoolVar(&noCheck, "no-image-check", false, "push --image without checking it against the manifest (replay still checks it)")
			fs.BoolVar(&insecure, "insecure", false, "allow plain HTTP to a registry on this machine (localhost, 127.0.0.1, ::1)")
			fs.BoolVar(&unsigned, "insecure-unsigned", false, "push a manifest without signature (readers cannot verify it)")
			fs.StringVar(&title, "title", "", "title for the citation (default: the experiment's command)")
			fs.StringVar(&author, "author", "", "author(s) for the citation, BibTeX style \"Last, First and Last, First\"")
			fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
			fs.BoolVar(&noOutputs, "no-outputs", false, "do not upload the recorded output files with the manifest")
			fs.StringVar(&outputsMax, "outputs-max", "256m", "cap on the total `SIZE` of uploaded outputs (such as 64m, 1g)")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			if fs.NArg() != 2 {
				return usagef("push takes manifest.toml and REF, got %d arguments", fs.NArg())
			}
			mpath, ref := fs.Arg(0), fs.Arg(1)
			mbytes, err := os.ReadFile(mpath)
			if err != nil {
				return fmt.Errorf("reading manifest: %w", err)
			}
			m, err := lockfmt.Decode(mbytes)
			if err != nil {
				return fmt.Errorf("%s: %w", mpath, err)
			}
			sig, err := a.pushSignature(mpath, mbytes, key)
			if err != nil {
				return err
			}
			if sig == nil && !unsigned {
				a.errorf("%s is not signed: readers could not check who produced it", mpath)
				a.hintf("sign it with \"repro sign -k KEY %s\", or pass --key KEY (or --insecure-unsigned)", mpath)
				return &exitError{code: exitUsage}
			}
			o := publish.PushOptions{
				Options:       publish.Options{Insecure: insecure},
				Created:       m.Tool.Created,
				AllowUnsigned: unsigned,
				Cite:          publish.CiteInfo{Title: title, Author: author, Year: yearOf(m.Tool.Created)},
			}
			if !noOutputs {
				limit, err := parseOutputsMax(outputsMax)
				if err != nil {
					return usagef("--outputs-max %q: %v", outputsMax, err)
				}
				var skipped []publish.SkippedOutput
				o.Outputs, skipped = publish.CollectOutputs(m, []string{m.Run.WorkDir, filepath.Dir(mpath)}, limit)
				for _, s := range skipped {
					a.infof("not uploading output %s: %s", s.Path, s.Reason)
				}
			}
			if o.Cite.Title == "" {
				o.Cite.Title = "Experiment: " + shortArgv(m.Run.Argv)
			}
			if cosignKey != "" {
				if o.CosignKey, err = a.loadCosignKey(cosignKey); err != nil {
					return err
				}
			}
			img, cleanup, err := a.imageForPush(ctx, image, noCheck, m, mbytes)
			if err != nil {
				return err
			}
			defer cleanup()
			if isTerminal(a.stderr) {
				o.Progress = a.progressLine("pushing")
			}
			res, err := publish.Push(ctx, img, mbytes, sig, ref, o)
			if o.Progress != nil {
				fmt.Fprintln(a.stderr)
			}
			if err != nil {
				return a.registryError(err)
			}
			pubPath := ""
			if o.CosignKey != nil {
				if pubPath, err = writeCosignPub(filepath.Dir(mpath), &o.CosignKey.PublicKey); err != nil {
					a.warnf("%v", err)
				}
			}
			out := pushOutput{Result: res, Verify: verifyCommands(res, sig, key, pubPath, insecure)}
			if asJSON {
				return a.writeJSON(out)
			}
			a.printPush(out)
			return nil
		},
	}
}

func pullCmd() *command {
	var key, allowed, identity, dir string
	var insecure, asJSON bool
	return &command{
		name:    "pull",
		summary: "fetch an image and its signed manifest from a registry",
		usage: `Usage: repro pull [flags] REF

Resolves REF (by tag or digest) to the image digest, finds the manifest
artifact that refers to it, checks its signature, and writes manifest.toml,
manifest.toml.sig and the image as an OCI layout (DIR/image) into DIR, and
the recorded outputs published with the manifest under DIR/outputs (each
checked against the manifest's digest; a mismatch is refused).
A reference without manifest artifact, an unsigned manifest or a signature
by another key is refused with exit status 1, and nothing is written.

Examples:
  repro pull --key alice.pub ghcr.io/lab/paper@sha256:...
  repro pull --allowed-signers allowed_signers --identity alice@uni.edu -o exp ghcr.io/lab/paper:v1
`,
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&key, "key", "", "author's SSH public `KEY` (.pub) the manifest signature must verify with")
			fs.StringVar(&allowed, "allowed-signers", "", "ssh-keygen allowed_signers `FILE` (with --identity)")
			fs.StringVar(&identity, "identity", "", "signer `ID` to look up in --allowed-signers")
			fs.StringVar(&dir, "o", "", "output `DIR` (default: repro-<digest prefix>)")
			fs.BoolVar(&insecure, "insecure", false, "allow plain HTTP to a registry on this machine (localhost, 127.0.0.1, ::1)")
			fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
		},
		run: func(ctx context.Context, a *app, fs *flag.FlagSet) error {
			if fs.NArg() != 1 {
				return usagef("pull takes one REF, got %d arguments", fs.NArg())
			}
			verify, err := manifestVerifier(key, allowed, identity)
			if err != nil {
				return err
			}
			o := publish.PullOptions{Options: publish.Options{Insecure: insecure}, Verify: verify}
			ref := fs.Arg(0)
			p, err := publish.FetchManifest(ctx, ref, o)
			if err != nil {
				return a.registryError(err)
			}
			if dir == "" {
				dir = "repro-" + strings.TrimPrefix(p.Digest, "sha256:")[:12]
			}
			if err := p.Save(ctx, dir, o.Options); err != nil {
				return a.registryError(err)
			}
			if asJSON {
				return a.writeJSON(p)
			}
			a.printf("pulled %s\n", p.Ref)
			a.printf("signature verified\n")
			a.printf("wrote %s, %s and the OCI layout %s\n", filepath.Join(dir, publish.ManifestTitle), filepath.Join(dir, publish.SignatureTitle), p.Layout)
			if len(p.Outputs) > 0 {
				a.printf("wrote %d recorded output(s) under %s\n", len(p.Outputs), p.OutputsDir)
			}
			a.printf("replay with: repro replay %s\n", filepath.Join(dir, publish.ManifestTitle))
			return nil
		},
	}
}

// manifestVerifier builds the signature check for --key or --allowed-signers
// with --identity; one of them is required.
func manifestVerifier(key, allowed, identity string) (publish.Verifier, error) {
	switch {
	case key != "" && allowed != "":
		return nil, usagef("give --key or --allowed-signers, not both")
	case key != "":
		pub, err := lockfmt.ParsePublicKeyFile(key)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return func(m, sig []byte) error {
			if err := lockfmt.VerifyWithKey(m, sig, pub); err != nil {
				return fmt.Errorf("not signed by %s (%s): %w", key, ssh.FingerprintSHA256(pub), err)
			}
			return nil
		}, nil
	case allowed != "":
		if identity == "" {
			return nil, usagef("--allowed-signers needs --identity (the signer's principal, e.g. alice@uni.edu)")
		}
		data, err := os.ReadFile(allowed)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("reading allowed signers: %w", err)}
		}
		return func(m, sig []byte) error {
			return lockfmt.VerifyAllowedSigners(m, sig, data, identity)
		}, nil
	}
	return nil, usagef("give the author's key: --key KEY.pub, or --allowed-signers FILE --identity ID")
}

// registryError maps publish's refusals to exit status 1 with a hint; other
// errors (network, registry, files) keep the usual status 2.
func (a *app) registryError(err error) error {
	switch {
	case errors.Is(err, publish.ErrNoManifest):
		a.errorf("%v", err)
		a.hintf("the image was pushed without its manifest, or by another tool; ask its author for the manifest")
	case errors.Is(err, publish.ErrUnsigned):
		a.errorf("%v", err)
		a.hintf("an unsigned manifest proves nothing about who produced it; ask its author to push a signed one")
	case errors.Is(err, publish.ErrOutputRejected):
		a.errorf("%v", err)
		a.hintf("the signed manifest is intact but an output stored beside it was altered; tell its author, or replay from the manifest file")
	case errors.Is(err, publish.ErrSignatureRejected):
		a.errorf("%v", err)
		a.hintf("check that --key/--allowed-signers name the author's key; refusing an experiment signed by someone else")
	case errors.Is(err, publish.ErrPlainHTTP):
		a.errorf("%v", err)
		a.hintf("repro sends credentials and experiments over HTTPS only, except to a registry on this machine with --insecure")
		return &exitError{code: exitUsage}
	default:
		var terr *transport.Error
		if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
			a.errorf("%v", err)
			a.hintf("log in first (docker login REGISTRY): repro uses the Docker config and its credential helpers")
			return &exitError{code: exitUsage}
		}
		return err
	}
	return &exitError{code: exitDiffer}
}

// pushSignature returns manifest.toml.sig's bytes (nil when absent). With an
// SSH key it signs a manifest that has no signature yet (writing the .sig),
// or checks that the existing signature is that key's.
func (a *app) pushSignature(mpath string, mbytes []byte, key string) ([]byte, error) {
	sigPath := mpath + ".sig"
	sig, err := os.ReadFile(sigPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading signature: %w", err)
	}
	if key == "" {
		return sig, nil
	}
	signer, err := lockfmt.LoadSigner(key, a.passphrase(key))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("loading key %s: %w", key, err)}
	}
	if sig != nil {
		if err := lockfmt.VerifyWithKey(mbytes, sig, signer.PublicKey()); err != nil {
			a.errorf("%s does not verify with %s: %v", sigPath, key, err)
			a.hintf("re-sign the manifest with \"repro sign -k %s %s\", or drop --key", key, mpath)
			return nil, &exitError{code: exitDiffer}
		}
		return sig, nil
	}
	if sig, err = lockfmt.Sign(mbytes, signer); err != nil {
		return nil, err
	}
	if err := lockfmt.WriteFileAtomic(sigPath, sig, 0o644); err != nil {
		return nil, err
	}
	a.infof("signed %s with %s (%s)", mpath, key, ssh.FingerprintSHA256(signer.PublicKey()))
	return sig, nil
}

// loadCosignKey reads the image-signing key.
func (a *app) loadCosignKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("reading cosign key: %w", err)}
	}
	k, err := publish.LoadCosignKey(data, a.passphrase(path))
	clear(data)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("cosign key %s: %w", path, err)}
	}
	return k, nil
}

// parseOutputsMax reads a size such as 256m, 1g, 64k or a byte count.
func parseOutputsMax(s string) (int64, error) {
	ls := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "b")
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}} {
		if t, ok := strings.CutSuffix(ls, u.suf); ok {
			ls, mult = t, u.m
			break
		}
	}
	v, err := strconv.ParseFloat(ls, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<40 {
		return 0, errors.New("want a size such as 256m or 1g")
	}
	return int64(v * float64(mult)), nil
}
