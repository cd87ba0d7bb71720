package engagelab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/heraldpush/herald/internal/jsonreq"
)

// object is one JSON object of the request, keyed exactly as sent: the
// contract's names are case-sensitive, unlike encoding/json's matching.
type object struct {
	path   string
	fields map[string]json.RawMessage
}

// child is the path of key inside path.
func child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// isNull says whether a value is absent: missing or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// kind is the first byte of a JSON value: '{', '[', '"', 't', 'f', 'n' or
// a digit or '-'.
func kind(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// parseBody decodes the request body as one JSON object.
func parseBody(body []byte) (object, *Error) {
	var fields map[string]json.RawMessage
	err := jsonreq.Unmarshal(body, &fields, jsonreq.Options{AllowUnknown: true})
	var p *jsonreq.Problem
	switch {
	case err == nil && fields == nil: // the body was null
		return object{}, fail(CodeWrongType, "request body: must be a JSON object")
	case err == nil:
		return object{fields: fields}, nil
	case errors.As(err, &p) && p.Kind == jsonreq.KindEmpty:
		return object{}, fail(CodeMissing, "request body is empty; a JSON object is required")
	case errors.As(err, &p) && p.Kind == jsonreq.KindType:
		return object{}, fail(CodeWrongType, "request body: must be a JSON object")
	case errors.As(err, &p):
		return object{}, fail(CodeInvalid, "request body: %s", p.Message)
	}
	return object{}, fail(CodeInvalid, "request body: %v", err)
}

// asObject decodes raw, the value at path, as an object.
func asObject(raw json.RawMessage, path string) (object, *Error) {
	if kind(raw) != '{' {
		return object{}, wrongType(path, "an object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return object{}, wrongType(path, "an object")
	}
	return object{path: path, fields: fields}, nil
}

// only refuses any key not in known, naming the first in sorted order so
// that the answer does not depend on map order.
func (o object) only(known ...string) *Error {
	var extra []string
	for k := range o.fields {
		if !slices.Contains(known, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	return unexpected(child(o.path, extra[0]))
}

// get returns a key's value; ok is false when it is missing or null.
func (o object) get(key string) (json.RawMessage, bool) {
	raw := o.fields[key]
	if isNull(raw) {
		return nil, false
	}
	return raw, true
}

// str returns an optional string field ("" when absent).
func (o object) str(key string) (string, *Error) {
	raw, ok := o.get(key)
	if !ok {
		return "", nil
	}
	return asString(raw, child(o.path, key))
}

func asString(raw json.RawMessage, path string) (string, *Error) {
	var s string
	if kind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return "", wrongType(path, "a string")
	}
	return s, nil
}

// strings returns an optional array of strings; an empty array is absent.
func (o object) strings(key string) ([]string, *Error) {
	raw, ok := o.get(key)
	if !ok {
		return nil, nil
	}
	path := child(o.path, key)
	var items []json.RawMessage
	if kind(raw) != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, wrongType(path, "an array of strings")
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := asString(it, index(path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// extras decodes a key/value object, keeping numbers exact.
func extras(raw json.RawMessage, path string) (map[string]any, *Error) {
	if kind(raw) != '{' {
		return nil, wrongType(path, "an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, wrongType(path, "an object")
	}
	return m, nil
}

// integer reads an int or a string holding one (the contract's "Int or
// String"; msg_ids travel as strings in answers, so clients send them
// back either way).
func integer(raw json.RawMessage, path string) (int64, *Error) {
	var text string
	switch k := kind(raw); {
	case k == '"':
		if json.Unmarshal(raw, &text) != nil {
			return 0, wrongType(path, "an integer or a string holding one")
		}
	case k == '-' || '0' <= k && k <= '9':
		text = string(bytes.TrimSpace(raw))
	default:
		return 0, wrongType(path, "an integer or a string holding one")
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, invalid(path, "%q is not a whole number", text)
	}
	return n, nil
}

// compactLen is the size of a JSON value without insignificant spaces.
func compactLen(raw json.RawMessage) int {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return len(raw)
	}
	return b.Len()
}
