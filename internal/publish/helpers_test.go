package publish

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// testImage is a small deterministic OCI image: two "environment" layers
// of envSize pseudo-random bytes each (incompressible, seeded) and a code
// layer with the given contents.
func testImage(t testing.TB, envSize int, code string) v1.Image {
	t.Helper()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	var adds []mutate.Addendum
	for i := range 2 {
		b := make([]byte, envSize)
		r := rand.NewChaCha8([32]byte{byte(i + 1)})
		_, _ = r.Read(b)
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(b, types.OCILayer), History: v1.History{Created: v1.Time{Time: time.Unix(0, 0).UTC()}}})
	}
	adds = append(adds, mutate.Addendum{Layer: static.NewLayer([]byte(code), types.OCILayer), History: v1.History{Created: v1.Time{Time: time.Unix(0, 0).UTC()}}})
	return appendTestLayers(t, base, adds)
}

var (
	testManifest = []byte("schema = 1\n[tool]\nname = \"repro\"\n")
	testSig      = []byte("-----BEGIN SSH SIGNATURE-----\nZmFrZQ==\n-----END SSH SIGNATURE-----\n")
)

// acceptSig is a verifier accepting exactly testSig over the given bytes;
// the real SSHSIG verification lives in lockfmt and is tested there and
// end to end.
func acceptSig(manifest, sig []byte) error {
	if !bytes.Equal(sig, testSig) || !bytes.Equal(manifest, testManifest) {
		return errors.New("signature by another key")
	}
	return nil
}

func push(t testing.TB, img v1.Image, ref string, sig []byte, o PushOptions) *Result {
	t.Helper()
	o.Insecure = true
	o.AllowUnsigned = sig == nil
	res, err := Push(context.Background(), img, testManifest, sig, ref, o)
	require.NoError(t, err)
	return res
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	require.NoError(t, err)
	return r
}

// appendTestLayers appends adds to base and fixes the config's creation time
// and platform, so test images are deterministic.
func appendTestLayers(t testing.TB, base v1.Image, adds []mutate.Addendum) v1.Image {
	t.Helper()
	img, err := mutate.Append(base, adds...)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return img
}
