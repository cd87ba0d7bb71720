package webtoapp

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/api"
)

// FuzzSend posts arbitrary bodies to the send. Each is either sent (200
// with the count of known tokens, one send) or refused with a client
// error of Herald's table whose message names its field first, and then
// nothing is sent.
func FuzzSend(f *testing.F) {
	for _, s := range []string{
		`{"tokens":["r_a","r_b","old"],"title":"Hi John","body":"Your order shipped","url":"https://shop.test/o/1","icon":"https://shop.test/i.png","image":"/big.png","data":{"order":1}}`,
		`{"tokens":["r_a"],"data":null}`, `{"tokens":[" "],"title":"t"}`, `{"tokens":"r_a"}`, `{"tokens":["old"],"body":"b"}`, ``, `[]`,
	} {
		f.Add(s)
	}
	codes := map[string]int{api.CodeBadJSON: 400, api.CodeEmptyBody: 400, api.CodeUnknownField: 400, api.CodeWrongType: 400,
		api.CodeInvalidField: 400, api.CodeBodyTooLarge: 413, api.CodeNotFound: 404}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, body string) {
		s := &fakeSender{}
		w := post(New(fakeApps{}, fakeDevices{}, s, log), body)
		if w.Code == 200 {
			var got sendResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.ID != "9" || got.Count != len(s.got[0].To.RegistrationIDs) || len(s.got) != 1 {
				t.Fatalf("%q: sent %d, answered %s", body, len(s.got), w.Body)
			}
			return
		}
		var e api.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == nil {
			t.Fatalf("%q: %d %s is not an error body", body, w.Code, w.Body)
		}
		if st, ok := codes[e.Error.Code]; !ok || st != w.Code || e.Error.Field != "" && !strings.HasPrefix(e.Error.Message, e.Error.Field) {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		if len(s.got) != 0 {
			t.Fatalf("%q: refused but sent %+v", body, s.got)
		}
	})
}

// TestTokenTooLong refuses a token longer than any device token.
func TestTokenTooLong(t *testing.T) {
	s := &fakeSender{}
	w := post(New(fakeApps{}, fakeDevices{}, s, slog.New(slog.NewTextHandler(io.Discard, nil))),
		`{"tokens":["r_a","r_`+strings.Repeat("x", 4095)+`"],"title":"t"}`)
	want := `{"error":{"code":"invalid_field","message":"tokens[1]: is longer than 4096 bytes","field":"tokens[1]"}}`
	if w.Code != 400 || strings.TrimSpace(w.Body.String()) != want || len(s.got) != 0 {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}
