// Package lockfile reads the lock, requirements and environment files of a
// Python project into one normalised package list, and compares that list
// with what is installed.
//
// # Formats
//
// Twelve formats are read ([Formats] lists their names); what each
// contributes:
//
//   - "requirements" (pip requirements files, pip-compile and uv export):
//     "==" / "===" pins, "--hash" values (hash-checking mode), extras,
//     markers after ";", "name @ url", bare VCS/URL/path lines, "-e",
//     "\" continuations and comments. "-i/--index-url" becomes the Source
//     of the requirements after it. [ParseFile] follows "-r" includes (their
//     packages are added) and "-c" constraints (their pins fill in versions
//     of listed, unpinned requirements), relative to the including file,
//     and refuses include cycles; remote includes are not fetched.
//   - "pip-freeze": the same syntax plus pip freeze's comments; the name and
//     version of an "-e <path>" line come from the preceding
//     "# Editable ... install ... (name==version)" comment.
//   - "pip-inspect" and "pip-report" (JSON "version": "1"): name and version
//     from metadata, Source and hashes from direct_url (PEP 610) or
//     download_info, requested extras from the report.
//   - "pipfile-lock": "default" and "develop"; "==" versions, hashes,
//     markers, extras, the index of each package resolved through
//     _meta.sources (the first source when none is named), git/path keys.
//   - "poetry": lock-version 1.x (hashes in [metadata.files]) and 2.x
//     (per-package files, 2.1 markers as a string or a group table), with
//     [package.source] (git with the resolved commit, url, file, directory
//     with develop = editable, or a named index).
//   - "uv": version 1; source tables (registry, git, url, path, directory,
//     editable, virtual), sdist and wheel hashes, resolution-markers.
//   - "pylock" (PEP 751, lock-version 1.x): index, vcs, directory, archive,
//     sdist and wheels, in table or inline-table style.
//   - "environment-yml": conda MatchSpecs ("name=ver=build",
//     "channel::name", "name ver build") and the nested pip: list; "# [sel]"
//     comments and "sel(...)" keys are kept in Markers.
//   - "conda-explicit" (CEP 23): package URLs with "#md5", "#sha256:" or a
//     bare 64-hex sha256; name, version and build from the file name,
//     channel and platform (subdir) from the URL.
//   - "conda-lock" (version 1): conda and pip packages per platform, with
//     md5/sha256.
//   - "pixi" (versions 4 to 7): the top-level package list, conda entries
//     read from their URL when name and version are absent, pypi entries
//     with the platform they are listed for.
//
// # Normalisation
//
// Whatever the format, a [Package] has: a PEP 503 name for PyPI packages
// (lower case, runs of "-", "_", "." become "-"; conda names lower case and
// otherwise as written); the pinned version as written ("" when the file
// does not pin one, e.g. ">=1.0" or a bare VCS URL); a Source string
// ("" = the default index, an index URL, "url:", "vcs:<vcs>+<url>@<rev>",
// "editable:", "path:", "virtual:" or "conda:<channel>", see [Package]);
// hashes as "<algorithm>:<lowercase hex>", deduplicated and sorted; PEP 508
// markers verbatim; sorted extras; Kind "pypi" or "conda"; the dependency
// groups and optional flag where the format has them; and, for conda, the
// build string and platform. A [Lock] lists its packages sorted by name,
// then version (then platform, source and markers), with exact duplicates
// removed. Versions are not rewritten; [VersionMatches] compares them in
// PEP 440 normal form. Credentials in http(s) URLs of a Source
// ("https://__token__:…@host/simple") are replaced by "***"; "${VAR}"
// references and ssh users are kept.
//
// # Errors
//
// Parsing never panics. A malformed file gives a [*ParseError] that names
// the file and the line ("requirements.txt:7: invalid requirement
// \"numpy===\""); for TOML, YAML and JSON the decoder's position is mapped
// to a line, and an entry that decodes but makes no sense is reported at
// the line of its table or list item.
//
// # Drift
//
// [Compare] reports the disagreements between a lock's pypi packages and
// the installed distributions: "poetry.lock pins numpy 1.26.4; installed
// 1.24.2", "uv.lock pins foo 1.0; not installed". Entries whose markers
// certainly do not hold on Linux with Python 3.11 ([DefaultEnv]; unknown
// variables such as "extra" count as holding), entries for another conda
// platform, conda packages and uv virtual projects are skipped; a name
// locked several times drifts only when no entry matches; optional entries
// and entries only in non-main groups are never reported as missing.
// [Scan] does it all for a project directory and returns the manifest's
// lockfile and drift records.
package lockfile
