package publish

import (
	"fmt"
	"strings"
)

// CiteInfo describes an experiment for a citation.
type CiteInfo struct {
	Title  string // e.g. "Experiment: python train.py"
	Author string // optional, BibTeX form "Last, First and Last, First"
	Year   string // four digits, optional
}

// Citation is a ready-made reference to a pushed experiment.
type Citation struct {
	BibTeX string `json:"bibtex"`
	Text   string `json:"text"`
}

// Cite formats the citation snippets for a push result: a BibTeX @misc
// entry and one plain-text line, both naming the image by digest and the
// manifest by its sha256.
func Cite(r *Result, info CiteInfo) Citation {
	hex := strings.TrimPrefix(r.ImageDigest, "sha256:")
	key := "repro_" + hex[:min(12, len(hex))]
	title := info.Title
	if title == "" {
		title = "Reproducible experiment " + r.Ref
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@misc{%s,\n", key)
	if info.Author != "" {
		fmt.Fprintf(&b, "  author       = {%s},\n", bibEscape(info.Author))
	}
	fmt.Fprintf(&b, "  title        = {{%s}},\n", bibEscape(title))
	if info.Year != "" {
		fmt.Fprintf(&b, "  year         = {%s},\n", bibEscape(info.Year))
	}
	fmt.Fprintf(&b, "  howpublished = {OCI image \\url{%s}},\n", r.Ref)
	fmt.Fprintf(&b, "  note         = {Manifest %s. Replay with \\texttt{repro replay %s}},\n", r.ManifestSHA256, bibEscape(r.Ref))
	b.WriteString("}\n")

	var t strings.Builder
	year := ""
	if info.Year != "" {
		year = " (" + info.Year + ")"
	}
	if info.Author != "" {
		fmt.Fprintf(&t, "%s%s. %s. ", info.Author, year, title)
	} else {
		fmt.Fprintf(&t, "%s%s. ", title, year)
	}
	fmt.Fprintf(&t, "OCI image %s (manifest %s). Replay: repro replay %s\n", r.Ref, r.ManifestSHA256, r.Ref)
	return Citation{BibTeX: b.String(), Text: t.String()}
}

// bibEscape escapes the characters BibTeX or LaTeX would interpret.
func bibEscape(s string) string {
	r := strings.NewReplacer(`\`, `\textbackslash{}`, "{", `\{`, "}", `\}`, "%", `\%`, "&", `\&`, "#", `\#`, "$", `\$`, "_", `\_`, "~", `\textasciitilde{}`, "^", `\textasciicircum{}`)
	return r.Replace(s)
}
