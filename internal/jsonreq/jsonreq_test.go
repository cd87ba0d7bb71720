package jsonreq

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type sub struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256DH string `json:"p256dh"`
	} `json:"keys"`
	Tags []string   `json:"tags"`
	TTL  int        `json:"ttl"`
	At   *time.Time `json:"at"`
	List []struct {
		When time.Time `json:"when"`
	} `json:"list"`
}

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name, body string
		kind       Kind
		field, msg string
	}{
		{"empty", "", KindEmpty, "", "request body is empty"},
		{"spaces", "  \n", KindEmpty, "", "request body is empty"},
		{"syntax", `{"endpoint": }`, KindSyntax, "", "malformed JSON at line 1, column 14"},
		{"truncated", `{"endpoint": "x"`, KindSyntax, "", "ends before"},
		{"unknown", `{"endpoint":"x","nope":1}`, KindUnknownField, "nope", "nope: unknown field"},
		{"nested type", `{"keys":{"p256dh":5}}`, KindType, "keys.p256dh", "keys.p256dh: must be a string, got number"},
		{"array type", `{"tags":"a"}`, KindType, "tags", "tags: must be an array, got string"},
		{"int type", `{"ttl":"60"}`, KindType, "ttl", "ttl: must be an integer, got string"},
		{"top type", `[1,2]`, KindType, "", "request body must be an object, got array"},
		{"two values", `{} {}`, KindTrailing, "", "more than one JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v sub
			err := Unmarshal([]byte(tc.body), &v, Options{})
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("error %v is not a *Problem", err)
			}
			if p.Kind != tc.kind || p.Field != tc.field || !strings.Contains(p.Message, tc.msg) {
				t.Errorf("got %+v, want kind %s field %q message containing %q", p, tc.kind, tc.field, tc.msg)
			}
		})
	}
}

func TestDecodeLimitAndUnknownAllowed(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"endpoint":"`+strings.Repeat("a", 100)+`"}`))
	var v sub
	err := Decode(httptest.NewRecorder(), r, &v, Options{MaxBytes: 50})
	var p *Problem
	if !errors.As(err, &p) || p.Kind != KindTooLarge {
		t.Fatalf("got %v, want body_too_large", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(`{"endpoint":"e","extra":true}`))
	if err := Decode(httptest.NewRecorder(), r, &v, Options{AllowUnknown: true}); err != nil || v.Endpoint != "e" {
		t.Fatalf("AllowUnknown: %v, %+v", err, v)
	}
}

// FuzzUnmarshal: whatever the body, Unmarshal either decodes it or
// returns a *Problem of a known kind whose message names its field first.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"endpoint":"https://x","keys":{"p256dh":"a"},"tags":["a"],"ttl":5,"at":"2026-01-02T15:04:05Z"}`))
	f.Add([]byte(`{"keys":{"p256dh":5}}`))
	f.Add([]byte(`{"list":[{"when":"2026-01-02T15:04:05Z"},{"when":"later"}]}`))
	f.Add([]byte(`{"at":5}`))
	f.Add([]byte(`{"tags":["a"],"nope":{"x":[1]}}`))
	kinds := map[Kind]bool{KindEmpty: true, KindSyntax: true, KindType: true, KindUnknownField: true, KindTrailing: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v sub
		err := Unmarshal(body, &v, Options{})
		if err == nil {
			return
		}
		var p *Problem
		if !errors.As(err, &p) || p.Message == "" || !kinds[p.Kind] {
			t.Fatalf("%q: error %v is not a Problem of a known kind", body, err)
		}
		if p.Field != "" && !strings.HasPrefix(p.Message, p.Field+": ") {
			t.Fatalf("%q: message %q does not start with its field %q", body, p.Message, p.Field)
		}
	})
}

// TestTimeFieldPath names a time field that does not parse by its path,
// which encoding/json does not give.
func TestTimeFieldPath(t *testing.T) {
	for body, want := range map[string]string{
		`{"at":"tomorrow"}`: `at: must be an RFC 3339 time such as "2026-01-02T15:04:05Z", got "tomorrow"`,
		`{"tags":["tomorrow"],"list":[{"when":"2026-01-02T15:04:05Z"},{"when":"tomorrow"}]}`: `list[1].when: must be an RFC 3339 time such as "2026-01-02T15:04:05Z", got "tomorrow"`,
		`{"keys":{"p256dh":"x"},"at":"2026-13-01T00:00:00Z"}`:                                `at: must be an RFC 3339 time such as "2026-01-02T15:04:05Z", got "2026-13-01T00:00:00Z"`,
		`{"at":17}`: `a time must be an RFC 3339 string such as "2026-01-02T15:04:05Z"`,
	} {
		var v sub
		err := Unmarshal([]byte(body), &v, Options{})
		p, ok := err.(*Problem)
		if !ok || p.Kind != KindType || p.Message != want {
			t.Errorf("%s: got %v, want %s", body, err, want)
		}
	}
}

func TestUnknownFieldPath(t *testing.T) {
	type inner struct {
		Title string `json:"title"`
	}
	type outer struct {
		Content inner   `json:"content"`
		Items   []inner `json:"items"`
		Name    string  `json:"name"`
	}
	for body, want := range map[string]string{
		`{"content":{"titel":"x"}}`:            "content.titel",
		`{"items":[{"title":"a"},{"tite":1}]}`: "items[1].tite",
		`{"nope":1}`:                           "nope",
		`{"Name":"case-insensitive","x":1}`:    "x",
	} {
		var v outer
		err := Unmarshal([]byte(body), &v, Options{})
		p, ok := err.(*Problem)
		if !ok || p.Kind != KindUnknownField || p.Field != want || p.Message != want+": unknown field" {
			t.Errorf("%s: got %v, want field %s", body, err, want)
		}
	}
}
