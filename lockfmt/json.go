package lockfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
)

// EncodeJSON renders m as compact JSON with the same key names, section
// order, list order and omissions as Encode's TOML (for "repro inspect
// --json" and other machine readers). It is deterministic like Encode.
func EncodeJSON(m *Manifest) ([]byte, error) {
	if m == nil {
		return nil, errors.New("encoding manifest: nil manifest")
	}
	var b bytes.Buffer
	if err := jsonValue(&b, reflect.ValueOf(sortedCopy(m)).Elem()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func jsonValue(b *bytes.Buffer, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return jsonValue(b, v.Elem())
	case reflect.Struct:
		b.WriteByte('{')
		first := true
		for _, f := range fieldsOf(v.Type()) {
			fv := v.Field(f.index)
			if f.omitempty && isZero(fv) {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(f.name)
			b.Write(k)
			b.WriteByte(':')
			if err := jsonValue(b, fv); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case reflect.Slice:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := jsonValue(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			if err := jsonValue(b, v.MapIndex(reflect.ValueOf(k))); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	default:
		out, err := json.Marshal(v.Interface())
		if err != nil {
			return err
		}
		b.Write(out)
		return nil
	}
}
