package lockfile_test

import (
	"fmt"

	"github.com/repro-ml/repro/capture/lockfile"
)

func ExampleParse() {
	data := []byte(`numpy==1.26.4 \
    --hash=sha256:2a02aba9ed12e4ac4eb3ea9421c420301a0c6460d9830d74a9df87efa4912010
PyYAML==6.0.1 ; sys_platform != "win32"
`)
	l, err := lockfile.Parse("requirements.txt", data)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range l.Packages {
		fmt.Printf("%s %s %s hashes=%d markers=%q\n", l.Format, p.Name, p.Version, len(p.Hashes), p.Markers)
	}
	for _, d := range lockfile.Compare(l, map[string]string{"numpy": "1.24.2"}) {
		fmt.Println(d.Message)
	}
	_, err = lockfile.Parse("requirements.txt", []byte("six==1.16.0\nnumpy===\n"))
	fmt.Println(err)
	// Output:
	// requirements numpy 1.26.4 hashes=1 markers=""
	// requirements pyyaml 6.0.1 hashes=0 markers="sys_platform != \"win32\""
	// requirements.txt pins numpy 1.26.4; installed 1.24.2
	// requirements.txt pins pyyaml 6.0.1; not installed
	// requirements.txt:2: invalid requirement "numpy==="
}
