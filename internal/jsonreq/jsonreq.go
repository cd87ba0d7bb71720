package jsonreq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// DefaultMaxBytes bounds a request body unless the caller says otherwise.
// A send with per-language content and 1,000 registration ids fits easily.
const DefaultMaxBytes = 256 << 10

// Kind classifies a decoding problem.
type Kind string

// The kinds of decoding problem.
const (
	KindEmpty        Kind = "empty_body"
	KindSyntax       Kind = "bad_json"
	KindType         Kind = "wrong_type"
	KindUnknownField Kind = "unknown_field"
	KindTooLarge     Kind = "body_too_large"
	KindTrailing     Kind = "trailing_data"
)

// Problem is a body that could not be decoded.
type Problem struct {
	Kind    Kind
	Field   string // JSON path, e.g. "keys.p256dh"; empty when not about a field
	Message string // human text naming the field and the fault
}

func (p *Problem) Error() string { return p.Message }

// FieldError is a well-formed request with a bad value: it names the field
// by its JSON path and says what is wrong with it.
type FieldError struct {
	Field   string // JSON path, e.g. "keys.p256dh" or "to.tags_and[2]"
	Message string // what is wrong, without the field name
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Fieldf returns a *FieldError for field with a formatted message.
func Fieldf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Options control Decode.
type Options struct {
	MaxBytes     int64 // 0 means DefaultMaxBytes
	AllowUnknown bool  // ignore unknown fields instead of refusing them
}

// Decode reads r's body into v. It refuses an empty body, malformed JSON,
// a second value after the first, unknown fields (unless allowed), wrong
// types and bodies over the limit, returning a *Problem for each.
func Decode(w http.ResponseWriter, r *http.Request, v any, o Options) error {
	limit := o.MaxBytes
	if limit == 0 {
		limit = DefaultMaxBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Problem{Kind: KindTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", limit)}
		}
		return &Problem{Kind: KindSyntax, Message: "request body could not be read"}
	}
	return Unmarshal(body, v, o)
}

// Unmarshal decodes body into v with the same rules as Decode.
func Unmarshal(body []byte, v any, o Options) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &Problem{Kind: KindEmpty, Message: "request body is empty; a JSON object is required"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !o.AllowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		err = explain(err, body, reflect.TypeOf(v))
		if p, ok := err.(*Problem); ok && p.Kind == KindUnknownField {
			if path := unknownPath(body, reflect.TypeOf(v), p.Field); path != "" && path != p.Field {
				p.Field, p.Message = path, path+": unknown field"
			}
		}
		return err
	}
	if dec.More() {
		return &Problem{Kind: KindTrailing, Message: "request body holds more than one JSON value"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Problem{Kind: KindTrailing, Message: "request body holds more than one JSON value"}
	}
	return nil
}

func explain(err error, body []byte, target reflect.Type) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tpe *time.ParseError
	var prob *Problem
	var fe *FieldError
	switch {
	case errors.As(err, &prob): // from a nested UnmarshalJSON
		return prob
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &syn):
		line, col := position(body, syn.Offset)
		return &Problem{Kind: KindSyntax, Message: fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, syn.Error())}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Problem{Kind: KindSyntax, Message: "malformed JSON: the body ends before the value does"}
	case errors.As(err, &typ):
		field := typ.Field
		want := describe(typ.Type.String())
		if field == "" {
			return &Problem{Kind: KindType, Message: fmt.Sprintf("request body must be %s, got %s", want, typ.Value)}
		}
		return &Problem{Kind: KindType, Field: field, Message: fmt.Sprintf("%s: must be %s, got %s", field, want, typ.Value)}
	case errors.As(err, &tpe):
		// time.Time's own UnmarshalJSON fails without naming the field;
		// find it by the value it could not read.
		field := timePath(body, target, tpe.Value)
		msg := fmt.Sprintf("must be an RFC 3339 time such as %q, got %q", timeExample, tpe.Value)
		if field == "" {
			return &Problem{Kind: KindType, Message: "a time " + msg}
		}
		return &Problem{Kind: KindType, Field: field, Message: field + ": " + msg}
	case strings.HasPrefix(err.Error(), "Time.UnmarshalJSON: "):
		return &Problem{Kind: KindType, Message: fmt.Sprintf("a time must be an RFC 3339 string such as %q", timeExample)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Problem{Kind: KindUnknownField, Field: name, Message: fmt.Sprintf("%s: unknown field", name)}
	default:
		return &Problem{Kind: KindSyntax, Message: "malformed JSON: " + err.Error()}
	}
}

// timeExample is the form times take in requests.
const timeExample = "2026-01-02T15:04:05Z"

// describe turns a Go type into the JSON words a client understands.
func describe(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "an object"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return goType
}

func position(body []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset-1 && i < int64(len(body)); i++ {
		if body[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
