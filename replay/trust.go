package replay

import (
	"errors"
	"fmt"
	"os"

	"github.com/repro-ml/repro/lockfmt"
)

// loadManifest returns the manifest's exact bytes and its signature (nil
// when there is none).
func (o *Options) loadManifest() (data, sig []byte, err error) {
	data, sig = o.Manifest, o.Signature
	if data == nil {
		if o.ManifestPath == "" {
			return nil, nil, errors.New("no manifest given")
		}
		if data, err = os.ReadFile(o.ManifestPath); err != nil {
			return nil, nil, fmt.Errorf("reading manifest: %w", err)
		}
		if sig == nil {
			sig, err = os.ReadFile(o.ManifestPath + ".sig")
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("reading signature: %w", err)
			}
		}
	}
	return data, sig, nil
}

// checkTrust verifies sig over data with the key or allowed signers given.
// It returns the Trust to report, and an error wrapping ErrUntrusted when
// the manifest may not be replayed.
func (o *Options) checkTrust(data, sig []byte) (Trust, error) {
	t := Trust{Method: "none"}
	var err error
	switch {
	case len(sig) == 0:
		err = lockfmt.ErrUnsigned
	case o.PublicKeyFile != "":
		t.Method = "key"
		pub, perr := lockfmt.ParsePublicKeyFile(o.PublicKeyFile)
		if perr != nil {
			return t, fmt.Errorf("%w: %v", ErrUntrusted, perr)
		}
		err = lockfmt.VerifyWithKey(data, sig, pub)
	case o.AllowedSignersFile != "":
		t.Method, t.Identity = "allowed-signers", o.Identity
		allowed, rerr := os.ReadFile(o.AllowedSignersFile)
		if rerr != nil {
			return t, fmt.Errorf("%w: reading allowed signers: %v", ErrUntrusted, rerr)
		}
		err = lockfmt.VerifyAllowedSigners(data, sig, allowed, o.Identity)
	default:
		err = errors.New("the manifest is signed but no key was given to check it (--key or --allowed-signers with --identity)")
	}
	if err == nil {
		t.Verified = true
		return t, nil
	}
	t.Note = err.Error()
	if o.InsecureUnsigned {
		t.Insecure = true
		return t, nil
	}
	return t, fmt.Errorf("%w: %v", ErrUntrusted, err)
}

// Trust checks sig over the manifest bytes data with the key or allowed
// signers of o, as Replay does first, ignoring InsecureUnsigned. It lets a
// caller refuse a remote manifest before downloading its image.
func (o *Options) Trust(data, sig []byte) (Trust, error) {
	strict := *o
	strict.InsecureUnsigned = false
	return strict.checkTrust(data, sig)
}
