package capture

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"AWS_SECRET_ACCESS_KEY": true, "GITHUB_TOKEN": true, "WANDB_API_KEY": true, "KAGGLE_KEY": true,
		"MLFLOW_TRACKING_PASSWORD": true, "DATABASE_DSN": true, "SSH_AUTH_SOCK": true, "HF_TOKEN": true,
		"REPRO_KEY_PASSPHRASE": true, "SESSION_COOKIE": true, "MY_PRIVATE_THING": true, "db-password": true,
		"KMP_AFFINITY": false, "OMP_NUM_THREADS": false, "PYTHONPATH": false, "MONKEY_COUNT": false,
		"PWD": false, "CUDA_VISIBLE_DEVICES": false, "KEYBOARD_LAYOUT": false, "TF_XLA_FLAGS": false,
	} {
		assert.Equal(t, want, SecretName(name), name)
	}
}

func TestSecretValue(t *testing.T) {
	secret := []string{
		"-----BEGIN OPENSSH PRIVATE KEY-----\nabc",
		"-----BEGIN RSA PRIVATE KEY-----",
		"AKIAIOSFODNN7EXAMPLE",
		"ghp_0123456789abcdefghijABCDEFGHIJ012345",
		"github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
		"glpat-abcdefghij0123456789",
		"xoxb-1234567890-abcdefghij",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"postgres://user:pa55word@db.example.com/x",
		"https://alice:token@host/simple",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"hf_abcdefghijklmnopqrstuvwxyzABCDEF",
	}
	for _, v := range secret {
		assert.True(t, SecretValue(v), v)
	}
	plain := []string{
		"/usr/lib/x86_64-linux-gnu/openblas-pthread:/usr/local/cuda-12.1/lib64",
		"/tmp/TestCaptureChainsExistingSitecustomize3291094379/002/usersite",
		":4096:8", "--xla_gpu_deterministic_ops=true", "C.UTF-8", "8", "Europe/Paris",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"https://pypi.example.org/simple", "git@github.com:org/repo.git",
	}
	for _, v := range plain {
		assert.False(t, SecretValue(v), v)
	}
}

func TestRecordEnv(t *testing.T) {
	env, scrubbed := recordEnv(map[string]string{
		"PYTHONPATH": "/src", "HOME": "/root", "OMP_NUM_THREADS": "3", "GITHUB_TOKEN": "x",
		"PYTHON_SECRET": "y", "MY_VAR": "z", "LC_ALL": "C.UTF-8", "OPENBLAS_NOTE": "AKIAIOSFODNN7EXAMPLE",
		"TF_CLI_CONFIG_FILE": "/root/.terraformrc", "TF_DETERMINISTIC_OPS": "1",
	}, []string{"MY_VAR", "GITHUB_TOKEN"}, map[string]string{"PYTHONHASHSEED": "0"})
	assert.Equal(t, map[string]string{
		"PYTHONPATH": "/src", "OMP_NUM_THREADS": "3", "MY_VAR": "z", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
		"TF_DETERMINISTIC_OPS": "1",
	}, env)
	assert.Equal(t, []string{"GITHUB_TOKEN", "OPENBLAS_NOTE", "PYTHON_SECRET"}, scrubbed)
}

func TestScrubArgv(t *testing.T) {
	assert.Equal(t,
		[]string{"python", "train.py", "--api-key=<redacted>", "--password", "<redacted>", "--epochs", "3", "<redacted>"},
		scrubArgv([]string{"python", "train.py", "--api-key=abc", "--password", "hunter2", "--epochs", "3", "ghp_0123456789abcdefghijABCDEFGHIJ012345"}))
}

func TestScrubURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:token@github.com/org/repo.git": "https://github.com/org/repo.git",
		"https://token@github.com/org/repo.git":      "https://github.com/org/repo.git",
		"git@github.com:org/repo.git":                "git@github.com:org/repo.git",
		"ssh://git@host:22/repo":                     "ssh://host:22/repo",
		"s3://bucket/key":                            "s3://bucket/key",
	} {
		assert.Equal(t, want, scrubURL(in), in)
	}
}
