package lockfile

import (
	"testing"
)

// BenchmarkParse parses the largest sample of each format.
func BenchmarkParse(b *testing.B) {
	for _, format := range Formats() {
		var name string
		var data []byte
		for rel, d := range samplesOf(b, format) {
			if len(d) > len(data) || (len(d) == len(data) && rel < name) {
				name, data = rel, d
			}
		}
		if data == nil {
			b.Fatalf("no sample for %s", format)
		}
		b.Run(format, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseFormat(format, name, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
