package publish

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// JobSpec is what a Kubernetes Job needs to replay an experiment.
type JobSpec struct {
	Ref            string            // image by digest, registry/repo@sha256:...
	ManifestSHA256 string            // "sha256:<hex>" of manifest.toml
	Argv           []string          // the command, as captured (the image's default command runs it)
	WorkDir        string            // absolute
	Env            map[string]string // recorded environment (pins included)
	UID, GID       int
	CPUs           int // logical CPUs to request; 0 leaves resources unset
	Outputs        []JobOutput
}

// JobOutput is one expected output and its digest.
type JobOutput struct {
	Path, Digest string
}

// K8sJob renders a NetworkPolicy denying all traffic to and from the pod and
// a batch/v1 Job running the image by digest (its default command, the
// recorded one) with the recorded working directory, environment, user and
// group, no service-account token
// and no privilege escalation. Comments say how to collect and check the
// outputs. The output is deterministic for a given spec.
func K8sJob(s JobSpec) ([]byte, error) {
	if !strings.Contains(s.Ref, "@sha256:") {
		return nil, fmt.Errorf("the Job must name the image by digest, not %q", s.Ref)
	}
	hex := s.Ref[strings.LastIndex(s.Ref, "@sha256:")+len("@sha256:"):]
	jobName := "repro-replay-" + hex[:min(12, len(hex))]
	labels := map[string]string{"app.kubernetes.io/name": "repro-replay", "repro.dev/image": hex[:min(63, len(hex))]}

	policy := kobj{
		APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy",
		Metadata: meta{Name: jobName + "-no-network"},
		Spec: netpolSpec{
			PodSelector: selector{MatchLabels: labels},
			PolicyTypes: []string{"Ingress", "Egress"},
		},
	}
	var env []envVar
	for _, k := range sortedKeys(s.Env) {
		env = append(env, envVar{Name: k, Value: s.Env[k]})
	}
	f, t := false, true
	uid, gid := int64(s.UID), int64(s.GID)
	ctr := container{
		Name: "replay", Image: s.Ref, WorkingDir: s.WorkDir, Env: env,
		SecurityContext: secCtx{
			RunAsUser: &uid, RunAsGroup: &gid, AllowPrivilegeEscalation: &f,
			ReadOnlyRootFilesystem: &f, Capabilities: &caps{Drop: []string{"ALL"}},
		},
		VolumeMounts: []mount{{Name: "tmp", MountPath: "/tmp"}},
	}
	if s.UID != 0 {
		ctr.SecurityContext.RunAsNonRoot = &t
	}
	if s.CPUs > 0 {
		q := map[string]string{"cpu": fmt.Sprint(s.CPUs)}
		ctr.Resources = &resources{Requests: q, Limits: q}
	}
	zero := int32(0)
	job := kobj{
		APIVersion: "batch/v1", Kind: "Job",
		Metadata: meta{Name: jobName, Labels: labels, Annotations: map[string]string{"repro.dev/manifest-sha256": s.ManifestSHA256}},
		Spec: jobSpec{
			BackoffLimit: &zero,
			Template: podTemplate{
				Metadata: meta{Labels: labels},
				Spec: podSpec{
					RestartPolicy: "Never", AutomountServiceAccountToken: &f, EnableServiceLinks: &f,
					Containers: []container{ctr},
					Volumes:    []volume{{Name: "tmp", EmptyDir: map[string]string{"medium": "Memory"}}},
				},
			},
		},
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Replays %s on Kubernetes, unchanged.\n", s.Ref)
	fmt.Fprintf(&b, "# Written by repro from the manifest (sha256 %s).\n", strings.TrimPrefix(s.ManifestSHA256, "sha256:"))
	args := make([]string, len(s.Argv))
	for i, a := range s.Argv {
		args[i] = commentSafe(a)
	}
	fmt.Fprintf(&b, "# It runs the image's own command (%s) as the capture did.\n", strings.Join(args, " "))
	b.WriteString("# Apply: kubectl apply -f job.yaml && kubectl wait --for=condition=complete job/" + jobName + "\n")
	b.WriteString("# The NetworkPolicy stands in for Docker's --network none (it needs a CNI that\n# enforces policies); the image is pulled by digest, so the cluster needs access\n# to the registry (imagePullSecrets if it is private).\n")
	b.WriteString("# Outputs: stdout is the Job's log; check it with\n")
	b.WriteString("#   kubectl logs job/" + jobName + " | sha256sum\n")
	b.WriteString("# Files are written under the working directory inside the container and\n# vanish with the pod: mount a PersistentVolumeClaim at the output directory\n# (add it to volumes and volumeMounts) and compare with the expected digests:\n")
	for _, o := range s.Outputs {
		fmt.Fprintf(&b, "#   %s  %s\n", commentSafe(strings.TrimPrefix(o.Digest, "sha256:")), commentSafe(o.Path))
	}
	b.WriteString("# For a full comparison run \"repro replay " + s.Ref + "\" where Docker is available.\n")
	for _, doc := range []kobj{policy, job} {
		b.WriteString("---\n")
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("encoding the Job: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encoding the Job: %w", err)
		}
	}
	return b.Bytes(), nil
}

// commentSafe quotes s when it holds control characters or invalid UTF-8,
// so that text from a manifest can neither end a YAML comment line nor make
// the file unreadable.
func commentSafe(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

type kobj struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
	Spec       any    `yaml:"spec"`
}

type meta struct {
	Name        string            `yaml:"name,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type selector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type netpolSpec struct {
	PodSelector selector `yaml:"podSelector"`
	PolicyTypes []string `yaml:"policyTypes"`
}

type jobSpec struct {
	BackoffLimit *int32      `yaml:"backoffLimit"`
	Template     podTemplate `yaml:"template"`
}

type podTemplate struct {
	Metadata meta    `yaml:"metadata"`
	Spec     podSpec `yaml:"spec"`
}

type podSpec struct {
	RestartPolicy                string      `yaml:"restartPolicy"`
	AutomountServiceAccountToken *bool       `yaml:"automountServiceAccountToken"`
	EnableServiceLinks           *bool       `yaml:"enableServiceLinks"`
	Containers                   []container `yaml:"containers"`
	Volumes                      []volume    `yaml:"volumes"`
}

type container struct {
	Name            string     `yaml:"name"`
	Image           string     `yaml:"image"`
	WorkingDir      string     `yaml:"workingDir,omitempty"`
	Env             []envVar   `yaml:"env,omitempty"`
	Resources       *resources `yaml:"resources,omitempty"`
	SecurityContext secCtx     `yaml:"securityContext"`
	VolumeMounts    []mount    `yaml:"volumeMounts"`
}

type envVar struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

type resources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

type secCtx struct {
	RunAsUser                *int64 `yaml:"runAsUser"`
	RunAsGroup               *int64 `yaml:"runAsGroup"`
	RunAsNonRoot             *bool  `yaml:"runAsNonRoot,omitempty"`
	AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
	Capabilities             *caps  `yaml:"capabilities"`
}

type caps struct {
	Drop []string `yaml:"drop"`
}

type mount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type volume struct {
	Name     string            `yaml:"name"`
	EmptyDir map[string]string `yaml:"emptyDir"`
}
