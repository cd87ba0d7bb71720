package jsonreq

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

type sub struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256DH string `json:"p256dh"`
	} `json:"keys"`
	Tags []string `json:"tags"`
	TTL  int      `json:"ttl"`
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

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"endpoint":"https://x","keys":{"p256dh":"a"},"tags":["a"],"ttl":5}`))
	f.Add([]byte(`{"keys":{"p256dh":5}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var v sub
		err := Unmarshal(body, &v, Options{})
		var p *Problem
		if err != nil && (!errors.As(err, &p) || p.Message == "") {
			t.Fatalf("error without a message: %v", err)
		}
	})
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
