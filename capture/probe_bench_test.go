package capture

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// probeWorkload imports numpy and scikit-learn and does a little work: the
// start-up-dominated case where the probe's cost shows most.
const probeWorkload = `
import numpy as np
from sklearn.linear_model import LogisticRegression
x = np.random.RandomState(0).standard_normal((200, 4))
LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
`

// BenchmarkProbe compares a Python process with and without the probe
// (go test ./capture -run XXX -bench Probe). The difference per operation is
// the probe's cost per process: installing the audit hook, the import hook,
// and writing the report at exit.
func BenchmarkProbe(b *testing.B) {
	p, err := newProbeDir()
	require.NoError(b, err)
	defer p.remove()
	reports := filepath.Join(p.root, "reports")
	require.NoError(b, os.Mkdir(reports, 0o700))
	run := func(b *testing.B, env []string) {
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(python, "-c", probeWorkload)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			require.NoError(b, err, "%s", out)
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, testEnv()) })
	b.Run("probe", func(b *testing.B) {
		run(b, testEnv("PYTHONPATH="+p.site, "REPRO_PROBE_DIR="+reports, "REPRO_SEED=1"))
	})
}
