package lockfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// samplesOf returns the sample files of testdata/locks in the given format.
func samplesOf(t testing.TB, format string) map[string][]byte {
	out := map[string][]byte{}
	for _, rel := range sampleFiles(t) {
		if isNotLock(rel) {
			continue
		}
		p := filepath.Join("testdata/locks", rel)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := Detect(p, data); ok && f == format {
			out[rel] = data
		}
	}
	return out
}

// fuzzSeeds are small hand-written inputs per format, next to the samples.
var fuzzSeeds = map[string][]string{
	FormatRequirements: {
		"a==1 \\\n  --hash=sha256:ab\n-r other.txt\n-e ./x\nb[c]>=1;python_version<'3'\n",
		"x @ https://h/x-1.0-py3-none-any.whl#sha256=ab ; sys_platform == 'linux'\ngit+https://h/r@v#egg=r\n",
		"-i https://h/simple\n--extra-index-url=https://e\nname===1.0-x\n(bad\n",
	},
	FormatPipFreeze:      {"# Editable Git install with no remote (a==1)\n-e /x\nb @ file:///w.whl#sha256=ab\n"},
	FormatPipInspect:     {`{"version":"1","installed":[{"metadata":{"name":"a","version":"1"},"direct_url":{"url":"file:///x","dir_info":{"editable":true}}}]}`},
	FormatPipReport:      {`{"version":"1","install":[{"metadata":{"name":"a","version":"1"},"requested_extras":["x"],"download_info":{"url":"https://h/a.whl","archive_info":{"hashes":{"sha256":"ab"}}}}]}`},
	FormatPipfileLock:    {`{"_meta":{"sources":[{"name":"p","url":"u"}]},"default":{"a":{"version":"==1","hashes":["sha256:ab"],"index":"p","markers":"os_name=='nt'"}},"develop":{}}`},
	FormatPoetry:         {"[[package]]\nname = \"a\"\nversion = \"1\"\nmarkers = {main = \"os_name == 'nt'\"}\n[package.source]\ntype = \"git\"\nurl = \"git@h:o/r.git\"\n[metadata]\nlock-version = \"1.1\"\n[metadata.files]\na = [{file = \"a.whl\", hash = \"sha256:ab\"}]\n"},
	FormatUV:             {"version = 1\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { git = \"https://h/r?rev=x#c\" }\nresolution-markers = [\"sys_platform == 'linux'\"]\nwheels = [{ hash = \"sha256:ab\" }]\n"},
	FormatPylock:         {"lock-version = \"1.0\"\ncreated-by = \"x\"\npackages = [{ name = \"a\", archive = { url = \"https://h/a-1.tar.gz\", hashes = { sha256 = \"ab\" } } }]\n"},
	FormatEnvironmentYML: {"name: x\nchannels: [conda-forge]\ndependencies:\n  - a=1=b\n  - c::d>=2\n  - sel(win): e\n  - pip:\n    - f==1\n    - -e .\n"},
	FormatCondaExplicit:  {"# platform: linux-64\n@EXPLICIT\nhttps://h/c/linux-64/a-1-b_0.conda#d7c89558ba9fa0495403155b64376d81\n"},
	FormatCondaLock:      {"version: 1\npackage:\n- name: a\n  version: 1.10\n  manager: conda\n  platform: linux-64\n  url: https://h/c/linux-64/a-1.10-b.conda\n  hash: {md5: ab}\n- &x {name: b, version: '1', manager: pip}\n- *x\n"},
	FormatPixi:           {"version: 5\nenvironments:\n  default:\n    packages:\n      linux-64:\n      - conda: https://h/c/linux-64/a-1-b.conda\npackages:\n- kind: conda\n  name: a\n  version: '1'\n  url: https://h/c/linux-64/a-1-b.conda\n  sha256: ab\n", "version: 7\npackages:\n- conda: https://h/c/noarch/a-1-b.tar.bz2\n- pypi: https://h/p-1.0-py3-none-any.whl\n"},
}

const maxSeed = 8 << 10

// fuzzFormat checks that ParseFormat never panics, that errors are
// *ParseError naming the file, and that results keep their invariants.
func fuzzFormat(f *testing.F, format string) {
	for _, data := range samplesOf(f, format) {
		// Big seeds make the fuzzer crawl; the golden tests cover whole
		// files, so seed with their first lines.
		if len(data) > maxSeed {
			data = data[:maxSeed]
			if i := bytes.LastIndexByte(data, '\n'); i > 0 {
				data = data[:i+1]
			}
		}
		f.Add(data)
	}
	for _, s := range fuzzSeeds[format] {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseFormat(format, "lockfile", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != "lockfile" || pe.Line < 0 {
				t.Fatalf("error %q is not a *ParseError naming the file", err)
			}
			return
		}
		if l.Format != format || l.Packages == nil {
			t.Fatalf("bad lock header %q %v", l.Format, l.Packages == nil)
		}
		for i, p := range l.Packages {
			if p.Kind != "pypi" && p.Kind != "conda" {
				t.Fatalf("package %d: kind %q", i, p.Kind)
			}
			if p.Kind == "pypi" && p.Name != NormalizeName(p.Name) {
				t.Fatalf("package %d: name %q not normalised", i, p.Name)
			}
			if !slices.IsSorted(p.Hashes) || !slices.IsSorted(p.Extras) {
				t.Fatalf("package %d: unsorted hashes or extras", i)
			}
			for _, h := range p.Hashes {
				algo, hex, ok := strings.Cut(h, ":")
				if !ok || algo == "" || hex == "" || hex != strings.ToLower(hex) {
					t.Fatalf("package %d: bad hash %q", i, h)
				}
			}
			if i > 0 && l.Packages[i-1].Name > p.Name {
				t.Fatalf("packages not sorted: %q > %q", l.Packages[i-1].Name, p.Name)
			}
		}
		_ = Compare(l, map[string]string{"numpy": "1.0"})
	})
}

func FuzzParseRequirements(f *testing.F)   { fuzzFormat(f, FormatRequirements) }
func FuzzParsePipFreeze(f *testing.F)      { fuzzFormat(f, FormatPipFreeze) }
func FuzzParsePipInspect(f *testing.F)     { fuzzFormat(f, FormatPipInspect) }
func FuzzParsePipReport(f *testing.F)      { fuzzFormat(f, FormatPipReport) }
func FuzzParsePipfileLock(f *testing.F)    { fuzzFormat(f, FormatPipfileLock) }
func FuzzParsePoetry(f *testing.F)         { fuzzFormat(f, FormatPoetry) }
func FuzzParseUV(f *testing.F)             { fuzzFormat(f, FormatUV) }
func FuzzParsePylock(f *testing.F)         { fuzzFormat(f, FormatPylock) }
func FuzzParseEnvironmentYML(f *testing.F) { fuzzFormat(f, FormatEnvironmentYML) }
func FuzzParseCondaExplicit(f *testing.F)  { fuzzFormat(f, FormatCondaExplicit) }
func FuzzParseCondaLock(f *testing.F)      { fuzzFormat(f, FormatCondaLock) }
func FuzzParsePixi(f *testing.F)           { fuzzFormat(f, FormatPixi) }

// FuzzDetect checks that detection and parsing by content never panic.
func FuzzDetect(f *testing.F) {
	for _, s := range fuzzSeeds {
		for _, x := range s {
			f.Add("x", []byte(x))
		}
	}
	f.Add("requirements.txt", []byte("a==1\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if format, ok := Detect(name, data); ok {
			_, _ = ParseFormat(format, name, data)
		}
		_, _ = Parse(name, data)
	})
}

// FuzzMarker checks the marker parser and evaluator never panic.
func FuzzMarker(f *testing.F) {
	for _, s := range []string{`python_version < "3.8" and (sys_platform == 'win32' or extra == "x")`, `"a" not in os_name`, `python_full_version ~= '3.11.*'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = MarkerApplies(s, DefaultEnv())
	})
}
