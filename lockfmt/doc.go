// Package lockfmt defines repro's manifest (manifest.toml, schema version 1):
// the only contract between capturing an experiment and replaying it, and
// between a paper's author and its readers.
//
// # Promises
//
// Deterministic bytes. [Encode] gives the same bytes for the same value: the
// sections appear in the order of the [Manifest] fields, written as dotted
// keys ("run.workdir = ...") so every line names its section; lists of
// records (files, packages, libraries, outputs, data, ...) are arrays of
// inline tables with one record per line, sorted by path or name; map keys
// are sorted; strings are TOML basic strings with only ", \ and control
// characters escaped; UTF-8, LF line ends, one final newline. Lists whose
// order means something keep it (run.argv, python.path, gpu).
//
// Strict decoding. [Decode] refuses TOML syntax errors, unknown keys, values
// of the wrong type, missing required keys (fields without omitempty) and
// any schema other than [SchemaVersion], with a [*DecodeError] naming the key
// and line ("line 12: unknown key run.argvv"). [ReadFile] prefixes the path
// ("manifest.toml:12: ..."). [Manifest.Validate] checks what types cannot:
// digests, absolute or relative paths, known file types and roles,
// duplicates.
//
// Schema versioning. The top-level key "schema" is checked before anything
// else. Additive, optional fields may be added within a version; removing,
// renaming or changing the meaning of a key needs a new version, and a
// repro that reads version N refuses any other.
//
// # Digests
//
// Every digest is "sha256:" and 64 lower-case hex digits ([ValidDigest]).
// Directories, Python distributions and code trees use [TreeDigest]: the
// SHA-256 of the lines "<digest> <path>\n", one per regular file or symlink
// (relative slash-separated path, sorted bytewise; a symlink's digest is
// "symlink:" + its target), so two trees with the same relative paths and
// contents have the same digest wherever they live. Empty directories do
// not contribute.
//
// # Signatures
//
// A manifest is signed over its exact bytes, never a re-encoding, with an
// OpenSSH SSHSIG signature (openssh PROTOCOL.sshsig: "SSHSIG", version 1,
// public key, namespace, sha512 of the message) in namespace [Namespace]
// ("repro-manifest"), armored and written beside it as manifest.toml.sig.
// ssh-keygen verifies it:
//
//	ssh-keygen -Y verify -f allowed_signers -I you@example.org -n repro-manifest \
//	    -s manifest.toml.sig < manifest.toml
//
// and repro verifies ssh-keygen's ([VerifyWithKey], [VerifyAllowedSigners]).
// Converting line ends, adding a byte or re-encoding the TOML invalidates
// the signature: keep manifests out of text conversion (".gitattributes":
// "manifest.toml -text").
package lockfmt
