package publish

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"

	"bytes"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParseArtifact feeds arbitrary registry answers to the artifact
// parser: it must never panic, and accept only repro artifacts whose
// subject is the image asked for.
func FuzzParseArtifact(f *testing.F) {
	const subject = "sha256:ae47fcb05356c475fcbeda7f3730d06f8ebef28f91f4a5da5953c7c70b8d85f1"
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.repro.manifest.v1+toml","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + subject + `","size":1}}`))
	f.Add([]byte(`{"artifactType":"application/vnd.repro.manifest.v1+toml","subject":null}`))
	f.Add([]byte(`{"layers":[{"annotations":{"a":1}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, ok := parseArtifact(raw, subject)
		if ok && (m.ArtifactType != ArtifactType || m.Subject == nil || string(m.Subject.Digest) != subject) {
			t.Fatalf("accepted a foreign artifact: %s", raw)
		}
	})
}

// FuzzK8sJob checks that no manifest content (environment, paths, argv)
// can change the structure of the YAML: it always decodes to the two
// documents with the values given.
func FuzzK8sJob(f *testing.F) {
	f.Add("PYTHONHASHSEED", "0", "out/model.npy", "python3")
	f.Add("A", "yes: no # c\n---\nkind: Pod", "a\nkind: Pod", "--- |")
	f.Add("B", "\x00\t'\"", "#", "{}")
	f.Fuzz(func(t *testing.T, k, v, path, arg string) {
		spec := JobSpec{
			Ref:     "r.example.org/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			Env:     map[string]string{k: v},
			Argv:    []string{arg},
			Outputs: []JobOutput{{Path: path, Digest: "sha256:00"}},
			WorkDir: "/w", UID: 1, GID: 1,
		}
		y, err := K8sJob(spec)
		if err != nil {
			return // yaml refuses some strings (invalid UTF-8): an error, not a broken file
		}
		dec := yaml.NewDecoder(bytes.NewReader(y))
		var kinds []string
		for {
			var d struct {
				Kind string `yaml:"kind"`
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Env []struct{ Name, Value string } `yaml:"env"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			}
			if err := dec.Decode(&d); err != nil {
				break
			}
			kinds = append(kinds, d.Kind)
			if d.Kind == "Job" {
				env := d.Spec.Template.Spec.Containers[0].Env
				if len(env) != 1 || env[0].Name != k || env[0].Value != v {
					t.Fatalf("env %q=%q came back as %+v", k, v, env)
				}
			}
		}
		if strings.Join(kinds, ",") != "NetworkPolicy,Job" {
			t.Fatalf("documents %v in\n%s", kinds, y)
		}
	})
}

// FuzzVerifyBundle: arbitrary bundle bytes never panic and never verify
// with a key that signed nothing.
func FuzzVerifyBundle(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	good, err := newBundle(h, "", key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}}`))
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := VerifyBundle(b, &other.PublicKey, h); err == nil {
			t.Fatalf("verified with a key that signed nothing: %s", b)
		}
	})
}
