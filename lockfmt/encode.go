package lockfmt

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// header is the first line of every encoded manifest.
const header = "# repro manifest: signed as exact bytes, do not reformat (see \"repro inspect\")\n"

// Encode renders m as TOML. The result is deterministic: the same value
// gives the same bytes whatever the order of its lists and maps.
//
// Layout: every section is written as dotted keys at the top level
// ("run.workdir = ..."), in the order of the Manifest fields; the lists of
// records (files, packages, libraries, ...) are arrays of inline tables with
// one record per line, sorted by their natural key (path or name); map keys
// are sorted; strings are TOML basic strings; the file is UTF-8 with LF line
// ends and one final newline. Encode does not modify m and does not call
// Validate; it fails when m.Schema is not SchemaVersion or a string is not
// valid UTF-8 (TOML cannot hold arbitrary bytes).
func Encode(m *Manifest) ([]byte, error) {
	if m == nil {
		return nil, errors.New("encoding manifest: nil manifest")
	}
	if m.Schema != SchemaVersion {
		return nil, fmt.Errorf("encoding manifest: schema is %d, want %d (set Schema: lockfmt.SchemaVersion)", m.Schema, SchemaVersion)
	}
	c := sortedCopy(m)
	e := &encoder{}
	e.b.Grow(256 + 200*len(c.Files) + 250*(len(c.Libraries)+len(c.Packages)))
	e.b.WriteString(header)
	rv := reflect.ValueOf(c).Elem()
	for _, f := range fieldsOf(rv.Type()) {
		fv := rv.Field(f.index)
		switch {
		case fv.Kind() == reflect.Struct:
			before := e.b.Len()
			e.b.WriteByte('\n')
			e.section(f.name, fv)
			if e.b.Len() == before+1 {
				e.b.Truncate(before) // an empty section leaves no blank line
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			if fv.Len() == 0 && f.omitempty {
				continue
			}
			e.b.WriteByte('\n')
			e.records(f.name, fv)
		default:
			e.keyValue(f.name, fv)
		}
	}
	if e.err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", e.err)
	}
	return e.b.Bytes(), nil
}

// field is one TOML key of a struct type.
type field struct {
	name      string
	index     int
	omitempty bool
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf returns the TOML keys of struct type t in declaration order.
func fieldsOf(t reflect.Type) []field {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("toml")
		if tag == "" || tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fs = append(fs, field{name: name, index: i, omitempty: opts == "omitempty"})
	}
	fieldCache.Store(t, fs)
	return fs
}

type encoder struct {
	b   bytes.Buffer
	err error
	// path is the key being written, for error messages.
	path string
}

// section writes struct v as dotted keys under prefix: scalars and arrays
// first, in field order, with nested tables and maps as further dotted keys.
func (e *encoder) section(prefix string, v reflect.Value) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		key := prefix + "." + f.name
		if f.omitempty && isZero(fv) {
			continue
		}
		switch {
		case fv.Kind() == reflect.Pointer:
			if !fv.IsNil() {
				e.section(key, fv.Elem())
			}
		case fv.Kind() == reflect.Struct:
			e.section(key, fv)
		case fv.Kind() == reflect.Map:
			e.mapKeys(key, fv)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			e.records(key, fv)
		default:
			e.keyValue(key, fv)
		}
	}
}

// mapKeys writes a map[string]string as one dotted key per entry, sorted, or
// "key = {}" when empty.
func (e *encoder) mapKeys(prefix string, v reflect.Value) {
	if v.Len() == 0 {
		e.b.WriteString(prefix)
		e.b.WriteString(" = {}\n")
		return
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.path = prefix + "." + k
		e.b.WriteString(prefix)
		e.b.WriteByte('.')
		e.key(k)
		e.b.WriteString(" = ")
		e.str(v.MapIndex(reflect.ValueOf(k)).String())
		e.b.WriteByte('\n')
	}
}

// records writes a slice of structs as an array of inline tables, one per line.
func (e *encoder) records(key string, v reflect.Value) {
	e.b.WriteString(key)
	if v.Len() == 0 {
		e.b.WriteString(" = []\n")
		return
	}
	e.b.WriteString(" = [\n")
	for i := 0; i < v.Len(); i++ {
		e.b.WriteString("  ")
		e.path = key + "[" + strconv.Itoa(i) + "]"
		e.inlineTable(v.Index(i))
		e.b.WriteString(",\n")
	}
	e.b.WriteString("]\n")
}

func (e *encoder) inlineTable(v reflect.Value) {
	e.b.WriteByte('{')
	first := true
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if f.omitempty && isZero(fv) {
			continue
		}
		if !first {
			e.b.WriteByte(',')
		}
		first = false
		e.b.WriteByte(' ')
		e.b.WriteString(f.name)
		e.b.WriteString(" = ")
		e.value(fv)
	}
	if !first {
		e.b.WriteByte(' ')
	}
	e.b.WriteByte('}')
}

func (e *encoder) keyValue(key string, v reflect.Value) {
	e.path = key
	e.b.WriteString(key)
	e.b.WriteString(" = ")
	e.value(v)
	e.b.WriteByte('\n')
}

// value writes a scalar or a list of strings.
func (e *encoder) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		e.str(v.String())
	case reflect.Int, reflect.Int64, reflect.Int32:
		e.b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Bool:
		e.b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Slice:
		e.b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				e.b.WriteString(", ")
			}
			e.value(v.Index(i))
		}
		e.b.WriteByte(']')
	default:
		e.fail(fmt.Errorf("%s: unsupported type %s", e.path, v.Type()))
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// key writes a bare key when possible, else a quoted one.
func (e *encoder) key(k string) {
	if isBareKey(k) {
		e.b.WriteString(k)
		return
	}
	e.str(k)
}

func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// str writes s as a TOML basic string: quote, backslash and control
// characters escaped, everything else verbatim UTF-8.
func (e *encoder) str(s string) {
	if !utf8.ValidString(s) {
		e.fail(fmt.Errorf("%s: string %q is not valid UTF-8", e.path, s))
	}
	e.b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		e.b.WriteString(s[start:i])
		switch c {
		case '"':
			e.b.WriteString(`\"`)
		case '\\':
			e.b.WriteString(`\\`)
		case '\n':
			e.b.WriteString(`\n`)
		case '\t':
			e.b.WriteString(`\t`)
		case '\r':
			e.b.WriteString(`\r`)
		case '\b':
			e.b.WriteString(`\b`)
		case '\f':
			e.b.WriteString(`\f`)
		default:
			fmt.Fprintf(&e.b, `\u%04X`, c)
		}
		start = i + 1
	}
	e.b.WriteString(s[start:])
	e.b.WriteByte('"')
}

func isZero(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	default:
		return v.IsZero()
	}
}
