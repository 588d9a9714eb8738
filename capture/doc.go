// Package capture runs an experiment under the repro Python probe and gathers
// everything that decides its result into a lockfmt.Manifest: the run, the
// interpreter and packages, native libraries, OS and hardware, seeds and
// determinism switches, data inputs, code state and outputs.
//
// capture never imports replay: the manifest is the only contract between them.
package capture
