package jsonreq

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// unknownPath finds the JSON path of the first key in body that t does not
// have, following struct fields by their json names into nested objects
// and arrays. encoding/json names only the key; a client needs the path
// ("content.titel", not "titel"). It returns "" when it cannot tell.
func unknownPath(body []byte, t reflect.Type, key string) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if p, ok := walk(v, t, key, ""); ok {
		return p
	}
	return ""
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

func walk(v any, t reflect.Type, key, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch val := v.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return "", false
		}
		fields := jsonFields(t)
		for k, sub := range val {
			ft, ok := fields[strings.ToLower(k)]
			p := join(path, k)
			if !ok {
				if k == key {
					return p, true
				}
				continue
			}
			if r, ok := walk(sub, ft, key, p); ok {
				return r, true
			}
		}
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array || t == rawMessage {
			return "", false
		}
		for i, sub := range val {
			if r, ok := walk(sub, t.Elem(), key, fmt.Sprintf("%s[%d]", path, i)); ok {
				return r, true
			}
		}
	}
	return "", false
}

// jsonFields maps a struct's JSON names (lower-cased, as encoding/json
// matches them) to their types, through embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[strings.ToLower(name)] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
