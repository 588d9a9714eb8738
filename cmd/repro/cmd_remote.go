package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/repro-ml/repro/internal/hashcache"
	"github.com/repro-ml/repro/internal/ociimage"
	"github.com/repro-ml/repro/internal/publish"
	"github.com/repro-ml/repro/lockfmt"
	"github.com/repro-ml/repro/replay"
	"golang.org/x/crypto/ssh"
)

// remoteExperiment is an experiment fetched from a registry: the signed
// manifest and the image, stored in a local OCI layout.
type remoteExperiment struct {
	Manifest  []byte // exact bytes of manifest.toml
	Signature []byte // manifest.toml.sig, nil when the artifact has none
	Digest    string // the image manifest digest the reference resolved to
	Ref       string // the reference by digest, registry/repo@sha256:...
	Layout    string // local OCI layout directory holding the image
	// OutputsDir holds the recorded outputs pulled with the manifest ("" when
	// the artifact carries none).
	OutputsDir string
}

// fetchRemote resolves ref (by tag or digest) in its registry, discovers the
// signed manifest artifact that refers to the image, and pulls both into
// dir. Owned by the "repro push" work; called by "repro replay REF".
//
// With a check (for example lockfmt.VerifyWithKey with the author's key) the
// signature is verified before any image layer is downloaded, and a
// rejection wraps publish.ErrSignatureRejected; without one an unsigned
// artifact is returned with a nil Signature for the caller to refuse.
// A missing artifact wraps publish.ErrNoManifest.
func fetchRemote(ctx context.Context, a *app, ref, dir string, insecure bool, check ...func(manifest, sig []byte) error) (*remoteExperiment, error) {
	o := publish.PullOptions{Options: publish.Options{Insecure: insecure}, AllowUnsigned: len(check) == 0}
	if len(check) > 0 {
		o.Verify = func(m, sig []byte) error {
			for _, c := range check {
				if err := c(m, sig); err != nil {
					return err
				}
			}
			return nil
		}
	}
	p, err := publish.FetchManifest(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	a.infof("%s resolved to %s; fetching the image", ref, p.Ref)
	if err := p.Save(ctx, dir, o.Options); err != nil {
		return nil, err
	}
	if len(p.Outputs) > 0 {
		a.infof("fetched %d recorded output(s) for detailed diffs", len(p.Outputs))
	}
	return &remoteExperiment{Manifest: p.Manifest, Signature: p.Signature, Digest: p.Digest, Ref: p.Ref, Layout: p.Layout, OutputsDir: p.OutputsDir}, nil
}

// emitK8sJob writes a Kubernetes Job manifest that replays ref on a cluster.
// Called by "repro replay --emit k8s-job REF". The manifest is read from
// the registry but its signature is not checked here: the YAML says so.
func emitK8sJob(ctx context.Context, a *app, ref string, insecure bool) error {
	p, err := publish.FetchManifest(ctx, ref, publish.PullOptions{Options: publish.Options{Insecure: insecure}, AllowUnsigned: true})
	if err != nil {
		return a.registryError(err)
	}
	m, err := lockfmt.Decode(p.Manifest)
	if err != nil {
		return fmt.Errorf("manifest of %s: %w", p.Ref, err)
	}
	spec := publish.JobSpec{
		Ref: p.Ref, ManifestSHA256: lockfmt.DigestBytes(p.Manifest),
		Argv: m.Run.Argv, WorkDir: m.Run.WorkDir, Env: m.Run.Env,
		UID: m.Run.UID, GID: m.Run.GID, CPUs: jobCPUs(m),
	}
	for _, o := range m.Outputs {
		if !o.Nondeterministic {
			spec.Outputs = append(spec.Outputs, publish.JobOutput{Path: o.Path, Digest: o.Digest})
		}
	}
	y, err := publish.K8sJob(spec)
	if err != nil {
		return err
	}
	a.printf("%s", y)
	return nil
}

// jobCPUs is the CPU count to request: the largest pinned thread count,
// else 1.
func jobCPUs(m *lockfmt.Manifest) int {
	n := 1
	for _, v := range m.Determinism.Threads {
		var t int
		if _, err := fmt.Sscanf(v, "%d", &t); err == nil && t > n {
			n = t
		}
	}
	return n
}

// imageForPush opens --image (an OCI layout or image tar) and, unless
// noCheck, checks it against the manifest file by file so that an image
// built from something else is never published under this manifest; or it
// builds the image from the manifest as "repro build" does (same layer
// cache, same SOURCE_DATE_EPOCH), so that the pushed digest is the built
// one. The returned function releases the build's temporary files.
func (a *app) imageForPush(ctx context.Context, src string, noCheck bool, m *lockfmt.Manifest, mbytes []byte) (v1.Image, func(), error) {
	if src != "" {
		img, err := ociimage.Open(src)
		if err != nil {
			return nil, nil, &exitError{code: exitUsage, err: err}
		}
		if !noCheck {
			a.infof("checking %s against the manifest", src)
			if err := replay.VerifyImage(ctx, img, m, mbytes); err != nil {
				a.errorf("%s does not match the manifest: %v", src, err)
				a.hintf("rebuild it with \"repro build --tar FILE manifest.toml\", or push without --image to build it now")
				return nil, nil, &exitError{code: exitDiffer}
			}
		}
		return img, func() {}, nil
	}
	sde, err := a.sourceDateEpoch()
	if err != nil {
		return nil, nil, err
	}
	opts := replay.BuildOptions{SourceDateEpoch: sde}
	if cache, err := os.UserCacheDir(); err == nil {
		opts.CacheDir = filepath.Join(cache, "repro", "layers")
		opts.Hashes = hashcache.Open(hashcache.DefaultPath())
	}
	a.infof("building the image from the manifest (or pass --image from \"repro build --tar\")")
	built, err := replay.Build(ctx, m, mbytes, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("building the image: %w", err)
	}
	return built.Image, func() { built.Close() }, nil
}

// progressLine returns a progress callback redrawing one stderr line.
func (a *app) progressLine(what string) func(done, total int64) {
	return func(done, total int64) {
		fmt.Fprintf(a.stderr, "\rrepro: %s %s / %s", what, humanSize(done), humanSize(total))
	}
}

// writeCosignPub writes cosign.pub into dir, unless a different one is
// already there (then it says so). It returns the path.
func writeCosignPub(dir string, pub *ecdsa.PublicKey) (string, error) {
	pem, err := publish.CosignPublicKeyPEM(pub)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "cosign.pub")
	old, err := os.ReadFile(path)
	if err == nil && !bytes.Equal(old, pem) {
		return path, fmt.Errorf("%s holds another key; left as is: the image was signed with %s", path, "--cosign-key")
	}
	if err == nil {
		return path, nil
	}
	return path, lockfmt.WriteFileAtomic(path, pem, 0o644)
}

// pushOutput is what "repro push" reports (also its --json document).
type pushOutput struct {
	*publish.Result
	Verify []string `json:"verify_commands"`
}

// verifyCommands are the commands a reader runs without repro. The
// allowed_signers line holds the key that made sig; the identity is the
// comment of --key's .pub file when it looks like an address.
func verifyCommands(r *publish.Result, sig []byte, key, cosignPub string, insecure bool) []string {
	identity := "AUTHOR@EXAMPLE.ORG"
	pubLine := "$(cut -d' ' -f1,2 KEY.pub)"
	if s, err := lockfmt.ParseSignature(sig); err == nil {
		pubLine = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey)))
	}
	if key != "" {
		if data, err := os.ReadFile(strings.TrimSuffix(key, ".pub") + ".pub"); err == nil {
			if _, comment, _, _, err := ssh.ParseAuthorizedKey(data); err == nil &&
				strings.Contains(comment, "@") && !strings.ContainsAny(comment, " \t'\"$`\\") {
				identity = comment
			}
		}
	}
	cmds := []string{
		fmt.Sprintf("echo '%s namespaces=\"%s\" %s' > allowed_signers", identity, lockfmt.Namespace, pubLine),
		fmt.Sprintf("ssh-keygen -Y verify -f allowed_signers -I %s -n %s -s manifest.toml.sig < manifest.toml", identity, lockfmt.Namespace),
	}
	if r.CosignSignature != "" {
		http := ""
		if insecure {
			http = " --allow-http-registry"
		}
		cmds = append(cmds, fmt.Sprintf("cosign verify --key %s --insecure-ignore-tlog=true%s -a %s=%s %s",
			cmp.Or(cosignPub, "cosign.pub"), http, publish.ManifestClaim, strings.TrimPrefix(r.ManifestSHA256, "sha256:"), r.Ref))
	}
	return cmds
}

func (a *app) printPush(o pushOutput) {
	r := o.Result
	a.printf("pushed %s\n", r.Ref)
	if r.Tag != "" {
		a.printf("tag    %s\n", r.Tag)
	}
	a.printf("manifest artifact %s (manifest %s)\n", r.ArtifactDigest, r.ManifestSHA256)
	if r.CosignSignature != "" {
		a.printf("cosign signature  %s (and bundle referrer %s)\n", r.CosignSignature, r.CosignBundle)
	}
	if len(r.Outputs) > 0 {
		a.printf("with %d recorded output(s) for detailed replay diffs\n", len(r.Outputs))
	}
	a.printf("sent %s\n\n", humanSize(r.BytesSent))
	a.printf("Cite:\n  %s\n%s\n", strings.TrimSpace(r.Citation.Text), r.Citation.BibTeX)
	a.printf("Readers replay it with:\n  repro replay %s\n", r.Ref)
	a.printf("and check it without repro (after \"repro pull\" gives manifest.toml and its .sig):\n")
	for _, c := range o.Verify {
		a.printf("  %s\n", c)
	}
}

// yearOf returns the year of an RFC 3339 time, or "".
func yearOf(created string) string {
	if len(created) >= 4 {
		return created[:4]
	}
	return ""
}

// shortArgv renders a command line for a title, shortened.
func shortArgv(argv []string) string {
	s := strings.Join(argv, " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
