package capture

import (
	"math"
	"regexp"
	"sort"
	"strings"
)

// envPrefixes and envNames are the allowlist of variables recorded in
// Run.Env: what changes Python, native libraries and numerics. PATH is
// recorded so that a bare command name (python3) resolves to the same
// interpreter at replay; HOME, USER and the like are not.
var envPrefixes = []string{
	"PYTHON", "OMP_", "OPENBLAS_", "MKL_", "KMP_", "GOTO_", "BLIS_", "NUMEXPR_",
	"VECLIB_", "CUDA_", "CUBLAS_", "CUDNN_", "TF_", "TORCH_", "JAX_", "XLA_", "LC_",
	"NPY_", "ATEN_", "ONEDNN_", "DNNL_", "NVIDIA_", "NCCL_",
}

var envNames = map[string]bool{
	"LANG": true, "LANGUAGE": true, "TZ": true, "LD_LIBRARY_PATH": true,
	"LD_PRELOAD": true, "PATH": true, "SOURCE_DATE_EPOCH": true,
}

// notNumeric are prefixes inside the allowlist that belong to other tools
// (Terraform's TF_ variables) and say nothing about the experiment.
var notNumeric = []string{"TF_VAR_", "TF_CLI_", "TF_TOKEN_", "TF_LOG", "TF_WORKSPACE", "TF_IN_AUTOMATION",
	"TF_INPUT", "TF_DATA_DIR", "TF_PLUGIN_CACHE", "TF_REGISTRY", "TF_STATE"}

// allowlisted reports whether name is recorded by default.
func allowlisted(name string) bool {
	if envNames[name] {
		return true
	}
	for _, p := range notNumeric {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, p := range envPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// secretWords are name segments (split at "_", "-" and ".") that mark a
// variable as secret; secretParts are substrings that do anywhere.
var (
	secretWords = map[string]bool{
		"KEY": true, "TOKEN": true, "SECRET": true, "PASSWORD": true, "PASSWD": true,
		"PWD": true, "PASS": true, "CREDENTIAL": true, "CREDENTIALS": true, "CREDS": true,
		"AUTH": true, "DSN": true, "SESSION": true, "COOKIE": true, "PRIVATE": true,
		"APIKEY": true, "PASSPHRASE": true, "SIGNATURE": true,
	}
	secretParts = []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PASSPHRASE", "APIKEY", "PRIVATE"}
)

// SecretName reports whether a variable name looks secret (TOKEN, SECRET,
// PASSWORD, KEY as a word, AUTH, DSN, ...). PWD alone is the shell's working
// directory, not a password.
func SecretName(name string) bool {
	u := strings.ToUpper(name)
	if u == "PWD" || u == "OLDPWD" {
		return false
	}
	for _, p := range secretParts {
		if strings.Contains(u, p) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(u, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if secretWords[w] {
			return true
		}
	}
	return false
}

var secretValueRes = []*regexp.Regexp{
	regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY`),
	regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`),
	regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{20,}`),
	regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{20,}`),
	regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{16,}`),
	regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`),
	regexp.MustCompile(`\bhf_[A-Za-z0-9]{30,}`),
	regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}`),
	regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`),
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.`),
	regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]+:[^/@\s]+@`),
}

// SecretValue reports whether a value looks like a credential: a private
// key, a cloud or forge token, a JWT, a URL with a password, or a long
// high-entropy string.
func SecretValue(v string) bool {
	for _, re := range secretValueRes {
		if re.MatchString(v) {
			return true
		}
	}
	for _, tok := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ' ' || r == ',' || r == ';' || r == ':' || r == '=' || r == '@' || r == '\t' || r == '\n'
	}) {
		// A path's segments are judged one by one: long temporary names
		// are not secrets, while base64 may contain "/" too.
		parts := []string{tok}
		if strings.HasPrefix(tok, "/") || strings.HasPrefix(tok, ".") || strings.HasPrefix(tok, "~") {
			parts = strings.Split(tok, "/")
		}
		for _, p := range parts {
			if highEntropy(p) {
				return true
			}
		}
	}
	return false
}

// highEntropy flags tokens of 32+ base64-alphabet characters mixing upper
// case, lower case and digits, switching between them often, with more than
// 4.2 bits of entropy per character. Paths (with "/" segments of words), hex digests and flags
// stay below it.
func highEntropy(tok string) bool {
	if len(tok) < 32 {
		return false
	}
	var up, low, dig bool
	counts := map[rune]int{}
	changes, prev := 0, 0
	for _, r := range tok {
		class := 0
		switch {
		case r >= 'A' && r <= 'Z':
			up, class = true, 1
		case r >= 'a' && r <= 'z':
			low, class = true, 2
		case r >= '0' && r <= '9':
			dig, class = true, 3
		case r == '+' || r == '/' || r == '_' || r == '-':
			class = 4
		default:
			return false
		}
		if prev != 0 && class != prev {
			changes++
		}
		prev = class
		counts[r]++
	}
	// Random strings switch character class often; words with a number
	// appended (CamelCaseName1234567890) do not.
	if !(up && low && dig) || changes < len(tok)/4 {
		return false
	}
	var h float64
	n := float64(len(tok))
	for _, c := range counts {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h > 4.2
}

// recordEnv picks the variables a replay sets: the allowlisted ones and the
// extra names, secrets left out (their names returned in scrubbed), then
// the pins on top.
func recordEnv(environ map[string]string, extra []string, pins map[string]string) (env map[string]string, scrubbed []string) {
	want := map[string]bool{}
	for _, n := range extra {
		want[n] = true
	}
	env = map[string]string{}
	for name, v := range environ {
		if !allowlisted(name) && !want[name] {
			continue
		}
		if SecretName(name) || SecretValue(v) {
			scrubbed = append(scrubbed, name)
			continue
		}
		env[name] = v
	}
	for k, v := range pins {
		env[k] = v
	}
	sort.Strings(scrubbed)
	return env, scrubbed
}

var argSecretRe = regexp.MustCompile(`(?i)^(--?[a-z0-9_-]*(token|secret|password|passwd|key|auth|credential)[a-z0-9_-]*=).+$`)

// scrubArgv redacts secret-looking command-line arguments: "--token=X"
// keeps its name, a secret-shaped value is replaced whole, and the argument
// after a bare "--password" flag is redacted.
func scrubArgv(argv []string) []string {
	out := make([]string, len(argv))
	prevSecretFlag := false
	for i, a := range argv {
		switch {
		case prevSecretFlag:
			out[i] = "<redacted>"
		case argSecretRe.MatchString(a):
			out[i] = argSecretRe.ReplaceAllString(a, "${1}<redacted>")
		case SecretValue(a):
			out[i] = "<redacted>"
		default:
			out[i] = a
		}
		prevSecretFlag = strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && SecretName(strings.TrimLeft(a, "-"))
	}
	return out
}

// envMap turns KEY=VALUE pairs into a map; later duplicates win, as in exec.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			m[k] = v
		}
	}
	return m
}
