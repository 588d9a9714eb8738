// Package replay builds a deterministic OCI image from a lockfmt.Manifest,
// runs the experiment in it under Docker, and compares the outputs with the
// recorded ones.
//
// # Building
//
// Build makes the image from the captured files, each checked against its
// manifest digest; VerifyImage checks any image against a manifest.
//
// # Replaying
//
// Replay promises, in this order:
//
//   - trust first: the manifest's SSH signature is checked before anything
//     in it is acted upon; an unsigned or badly signed manifest is refused
//     (ErrUntrusted) unless Options.InsecureUnsigned, which the Report records;
//   - the image that runs holds exactly what the manifest lists: found by
//     the LabelManifestDigest label, given, or built, and verified
//     (ErrImageMismatch names the first differing file);
//   - the container has networking off, the recorded command, user, working
//     directory and environment, plus the kernel pins (KernelPins) unless
//     disabled, and the --env overrides, each recorded in Report.Env; it is
//     always removed, also on cancellation or timeout;
//   - outputs are copied out as tar streams and extracted with
//     internal/safetar: nothing is written outside a private directory
//     (ErrUnsafeArchive);
//   - the probe's reports (ReportDirInImage) are copied out too, best
//     effort and bounded: what the replay actually ran with (BLAS/OpenMP
//     runtimes, numpy SIMD features, pins) is recorded in Report.Replayed,
//     and its differences from the capture (RuntimeDifferences) in
//     Report.RuntimeDiffs; missing or malformed reports never fail a replay;
//   - every recorded output, stdout and stderr included, is compared by
//     digest; a difference gets a typed diff (internal/compare) when the
//     recorded file is at hand, and the likely causes (Causes): the
//     observed runtime differences first, then the guesses.
//
// Report.Status is 0 when every output is bit-identical, within tolerance or
// marked nondeterministic at capture, 1 otherwise; a Replay error means the
// replay could not be done.
//
// replay never imports capture: the manifest is the only contract between them.
package replay
