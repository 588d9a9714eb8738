package publish

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestK8sJobGolden(t *testing.T) {
	spec := JobSpec{
		Ref:            "registry.example.org/lab/paper@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		ManifestSHA256: "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		Argv:           []string{"/usr/bin/python3", "train.py", "--seed", "0"},
		WorkDir:        "/home/alice/exp",
		Env:            map[string]string{"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "2", "HOME": "/tmp", "WEIRD": "yes: no # not a comment"},
		UID:            1000, GID: 1000, CPUs: 2,
		Outputs: []JobOutput{
			{Path: "<stdout>", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
			{Path: "model.npy", Digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
		},
	}
	got, err := K8sJob(spec)
	require.NoError(t, err)
	golden := filepath.Join("testdata", "k8s-job.golden.yaml")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "run go test ./internal/publish -run K8sJob -update after a deliberate change")

	// Both documents parse, and the values survive YAML quoting.
	dec := yaml.NewDecoder(bytes.NewReader(got))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		docs = append(docs, d)
	}
	require.Len(t, docs, 2)
	assert.Equal(t, "NetworkPolicy", docs[0]["kind"])
	assert.Equal(t, "Job", docs[1]["kind"])
	pod := docs[1]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	assert.Equal(t, false, pod["automountServiceAccountToken"])
	ctr := pod["containers"].([]any)[0].(map[string]any)
	assert.Equal(t, spec.Ref, ctr["image"])
	env := ctr["env"].([]any)
	assert.Contains(t, env, map[string]any{"name": "WEIRD", "value": "yes: no # not a comment"})

	_, err = K8sJob(JobSpec{Ref: "registry.example.org/lab/paper:v1"})
	assert.ErrorContains(t, err, "by digest")
}

func TestK8sJobCommentInjection(t *testing.T) {
	got, err := K8sJob(JobSpec{
		Ref:     "r.example.org/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Outputs: []JobOutput{{Path: "a\nkind: Pod", Digest: "sha256:00"}},
	})
	require.NoError(t, err)
	assert.Contains(t, string(got), `"a\nkind: Pod"`)
	assert.NotContains(t, string(got), "\nkind: Pod")
}
