package lockfmt

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecode: no input panics Decode; whatever decodes encodes (unless a
// string is not UTF-8, which TOML cannot hold... the parser guarantees it
// is), and the encoding decodes back to a manifest that encodes to the same
// bytes (round trip).
func FuzzDecode(f *testing.F) {
	f.Add(goldenBytes(f))
	small, err := Encode(&Manifest{Schema: SchemaVersion})
	require.NoError(f, err)
	f.Add(small)
	f.Add([]byte("schema = 1\n[run]\nargv = [\"a\"]\n[[file]]\npath = \"/x\"\n"))
	f.Add([]byte("schema = 1\nrun.env.\"a b\" = \"\\u0000\"\n"))
	f.Add([]byte("schema = 1\nfile = [{path=\"/a\",type=\"file\",mode=\"0644\",role=\"code\"},]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		_ = m.Validate()
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded manifest does not encode: %v", err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("encoding does not decode: %v\n%s", err, enc)
		}
		enc2, err := Encode(m2)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != string(enc2) {
			t.Fatalf("round trip changed bytes:\n%s\n---\n%s", enc, enc2)
		}
	})
}

// FuzzRoundTrip: manifests built from arbitrary strings survive
// Encode→Decode→Encode byte for byte.
func FuzzRoundTrip(f *testing.F) {
	f.Add("a", "b\"c", "\\n", int64(3), true)
	f.Add("", "\x00", "é", int64(-1), false)
	f.Fuzz(func(t *testing.T, s1, s2, s3 string, n int64, b bool) {
		m := sampleManifest()
		m.Run.Argv = []string{s1, s2, s3}
		m.Run.Env = map[string]string{s1: s2, s3: s1}
		m.Run.DurationMS = n
		m.Determinism.Deterministic = b
		m.Files[0].Target = s2
		m.Packages[0].Modified = []string{s3, s1}
		m.Python.Sysconfig = map[string]string{s2: s3}
		enc, err := Encode(m)
		if err != nil {
			return // invalid UTF-8
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("%v\n%s", err, enc)
		}
		enc2, err := Encode(m2)
		require.NoError(t, err)
		require.Equal(t, string(enc), string(enc2))
		require.Equal(t, m.Run.Argv, m2.Run.Argv)
	})
}
