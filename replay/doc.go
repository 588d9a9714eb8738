// Package replay builds a deterministic OCI image from a lockfmt.Manifest,
// runs the experiment in it under Docker, and compares the outputs with the
// recorded ones.
//
// replay never imports capture: the manifest is the only contract between them.
package replay
