package lockfmt

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"

	"github.com/BurntSushi/toml"
)

// DecodeError is a manifest that does not decode: a TOML syntax error, an
// unknown or missing key, a value of the wrong type or an unsupported
// schema version. Line is 1-based, 0 when unknown; Key is the dotted key
// ("run.argv", "file[3].path"), empty for syntax errors.
type DecodeError struct {
	Line int
	Key  string
	Msg  string

	wrapped error
}

func (e *DecodeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// ErrSchemaVersion is wrapped by the error Decode returns for a manifest
// whose schema is not SchemaVersion.
var ErrSchemaVersion = errors.New("unsupported manifest schema version")

// Decode parses a manifest strictly: any TOML syntax error, unknown key, key
// of the wrong type, missing required key (a field without omitempty) or a
// schema other than SchemaVersion is a *DecodeError naming the key and line.
// Decode does not call Validate. No input makes it panic.
func Decode(data []byte) (m *Manifest, err error) {
	defer func() {
		// The TOML parser is trusted not to panic, but a manifest is
		// untrusted input: turn any surprise into an error.
		if r := recover(); r != nil {
			m, err = nil, &DecodeError{Msg: fmt.Sprintf("malformed manifest: %v", r)}
		}
	}()
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &DecodeError{Line: pe.Position.Line, Msg: pe.Message}
		}
		return nil, &DecodeError{Msg: err.Error()}
	}
	d := &decoder{data: data}
	schema, ok := raw["schema"].(int64)
	if !ok {
		return nil, d.errorf("schema", "missing or non-integer key schema (want schema = %d)", SchemaVersion)
	}
	if schema != SchemaVersion {
		return nil, d.wrapf("schema", ErrSchemaVersion, "%v %d (this repro reads schema %d; use a repro release that supports it)", ErrSchemaVersion, schema, SchemaVersion)
	}
	m = &Manifest{}
	// Unknown keys first, the earliest in the document: a misspelt key
	// explains a "missing" one better than the other way round.
	var unknown []string
	d.unknown("", raw, reflect.TypeOf(m).Elem(), &unknown)
	if len(unknown) > 0 {
		first := unknown[0]
		for _, k := range unknown[1:] {
			if l, lf := d.line(k), d.line(first); l < lf || l == lf && k < first {
				first = k
			}
		}
		return nil, d.errorf(first, "unknown key %s", first)
	}
	if err := d.value("", raw, reflect.ValueOf(m).Elem()); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadFile reads and decodes the manifest at path, returning it together with
// the exact bytes read (the bytes a signature covers). Errors start with the
// path and, for decode errors, the line: "manifest.toml:12: unknown key run.argvv".
func ReadFile(path string) (*Manifest, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifest: %w", err)
	}
	m, err := Decode(data)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) && de.Line > 0 {
			return nil, data, fmt.Errorf("%s:%d: %w", path, de.Line, stripLine(de))
		}
		return nil, data, fmt.Errorf("%s: %w", path, err)
	}
	return m, data, nil
}

// stripLine is a DecodeError printed without its "line N: " prefix (the
// caller prints "path:N:").
type lineless struct{ *DecodeError }

func (l lineless) Error() string { return l.Msg }
func (l lineless) Unwrap() error { return l.DecodeError }

func stripLine(de *DecodeError) error { return lineless{de} }

// Unwrap lets errors.Is find ErrSchemaVersion.
func (e *DecodeError) Unwrap() error { return e.wrapped }

type decoder struct {
	data []byte
	loc  *locator
}

func (d *decoder) line(key string) int {
	if d.loc == nil {
		d.loc = newLocator(d.data)
	}
	return d.loc.line(key)
}

func (d *decoder) errorf(key, format string, args ...any) *DecodeError {
	return &DecodeError{Line: d.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) wrapf(key string, wrapped error, format string, args ...any) *DecodeError {
	e := d.errorf(key, format, args...)
	e.wrapped = wrapped
	return e
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// value stores raw (as decoded by the TOML parser) into rv, checking types.
func (d *decoder) value(key string, raw any, rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.Struct:
		tbl, ok := raw.(map[string]any)
		if !ok {
			return d.typeErr(key, raw, "table")
		}
		return d.table(key, tbl, rv)
	case reflect.Pointer:
		rv.Set(reflect.New(rv.Type().Elem()))
		return d.value(key, raw, rv.Elem())
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return d.typeErr(key, raw, "string")
		}
		rv.SetString(s)
	case reflect.Int, reflect.Int64:
		n, ok := raw.(int64)
		if !ok {
			return d.typeErr(key, raw, "integer")
		}
		if rv.Kind() == reflect.Int && (n > math.MaxInt || n < math.MinInt) {
			return d.errorf(key, "key %s: integer %d out of range", key, n)
		}
		rv.SetInt(n)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return d.typeErr(key, raw, "boolean")
		}
		rv.SetBool(b)
	case reflect.Map:
		tbl, ok := raw.(map[string]any)
		if !ok {
			return d.typeErr(key, raw, "table of strings")
		}
		mv := reflect.MakeMapWithSize(rv.Type(), len(tbl))
		for _, k := range sortedKeys(tbl) {
			s, ok := tbl[k].(string)
			if !ok {
				return d.typeErr(key+"."+strconv.Quote(k), tbl[k], "string")
			}
			mv.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(s))
		}
		rv.Set(mv)
	case reflect.Slice:
		var elems []any
		switch a := raw.(type) {
		case []any:
			elems = a
		case []map[string]any:
			elems = make([]any, len(a))
			for i := range a {
				elems[i] = a[i]
			}
		default:
			return d.typeErr(key, raw, "array")
		}
		sv := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
		for i, el := range elems {
			if err := d.value(key+"["+strconv.Itoa(i)+"]", el, sv.Index(i)); err != nil {
				return err
			}
		}
		rv.Set(sv)
	default:
		return d.errorf(key, "key %s: unsupported Go type %s", key, rv.Type())
	}
	return nil
}

// unknown collects the keys of raw that type t has no field for, recursing
// into tables and arrays of tables; values of the wrong shape are left to
// value to report.
func (d *decoder) unknown(key string, raw any, t reflect.Type, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		tbl, ok := raw.(map[string]any)
		if !ok {
			return
		}
		fields := fieldsOf(t)
		for k, v := range tbl {
			var ft reflect.Type
			for _, f := range fields {
				if f.name == k {
					ft = t.Field(f.index).Type
					break
				}
			}
			if ft == nil {
				*out = append(*out, join(key, k))
				continue
			}
			d.unknown(join(key, k), v, ft, out)
		}
	case reflect.Slice:
		if t.Elem().Kind() != reflect.Struct {
			return
		}
		switch a := raw.(type) {
		case []any:
			for i, el := range a {
				d.unknown(key+"["+strconv.Itoa(i)+"]", el, t.Elem(), out)
			}
		case []map[string]any:
			for i, el := range a {
				d.unknown(key+"["+strconv.Itoa(i)+"]", el, t.Elem(), out)
			}
		}
	}
}

// table fills struct rv from tbl: unknown keys and missing required keys
// are errors.
func (d *decoder) table(key string, tbl map[string]any, rv reflect.Value) error {
	fields := fieldsOf(rv.Type())
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.name] = true
	}
	var unknown []string
	for k := range tbl {
		if !known[k] {
			unknown = append(unknown, join(key, k))
		}
	}
	if len(unknown) > 0 {
		sort.Slice(unknown, func(i, j int) bool {
			return d.line(unknown[i]) < d.line(unknown[j]) || d.line(unknown[i]) == d.line(unknown[j]) && unknown[i] < unknown[j]
		})
		return d.errorf(unknown[0], "unknown key %s", unknown[0])
	}
	for _, f := range fields {
		k := join(key, f.name)
		raw, ok := tbl[f.name]
		fv := rv.Field(f.index)
		if !ok {
			if fv.Kind() == reflect.Struct {
				// A section with no keys at all is an empty table.
				raw = map[string]any{}
			} else if f.omitempty {
				continue
			} else {
				return d.errorf(key, "missing required key %s", k)
			}
		}
		if err := d.value(k, raw, fv); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) typeErr(key string, raw any, want string) error {
	return d.errorf(key, "key %s: want %s, got %s", key, want, tomlType(raw))
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case map[string]any:
		return "table"
	case []any, []map[string]any:
		return "array"
	default:
		return "datetime"
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
