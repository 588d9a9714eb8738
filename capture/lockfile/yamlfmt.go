package lockfile

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlDoc parses data and returns its top-level mapping, mapping decoder
// errors to file and line.
func yamlDoc(path string, data []byte, what string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, errAt(path, line, "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errAt(path, 1, "empty YAML document: not %s", what)
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errAt(path, root.Line, "top level is not a mapping: not %s", what)
	}
	return root, nil
}

// deref follows one alias.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// get returns the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

// str returns the text of a scalar (never converted: "1.10" stays
// "1.10"), or "" for anything else.
func str(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// items returns the elements of a sequence (nil for anything else).
func items(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
	}
	return out
}

// yamlHashes reads md5/sha256 keys of mapping n.
func yamlHashes(n *yaml.Node, keys ...string) []string {
	var out []string
	for _, k := range keys {
		if h, ok := hashOf(k, str(get(n, k))); ok {
			out = append(out, h)
		}
	}
	return out
}
