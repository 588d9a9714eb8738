package lockfmt_test

import (
	"fmt"

	"github.com/repro-ml/repro/lockfmt"
)

// Decode names the key and line of what it refuses.
func ExampleDecode() {
	_, err := lockfmt.Decode([]byte("schema = 1\nrun.argvv = [\"python3\"]\n"))
	fmt.Println(err)
	// Output: line 2: unknown key run.argvv
}

// Encode writes sections as dotted keys and lists one record per line.
func ExampleEncode() {
	m := &lockfmt.Manifest{Schema: lockfmt.SchemaVersion}
	m.Run.Argv = []string{"python3", "train.py"}
	m.Outputs = []lockfmt.Output{{Path: lockfmt.StdoutPath, Digest: lockfmt.DigestBytes(nil), Size: 0}}
	b, _ := lockfmt.Encode(m)
	for _, want := range []string{`run.argv = ["python3", "train.py"]`, `  { path = "<stdout>", digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", size = 0 },`} {
		fmt.Println(contains(string(b), want))
	}
	// Output:
	// true
	// true
}

func contains(s, line string) bool {
	for _, l := range splitLines(s) {
		if l == line {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
