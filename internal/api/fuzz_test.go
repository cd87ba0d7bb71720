package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/api"
)

// clientCodes are the codes a bad request may get; anything else (a 500)
// is a bug the fuzzer found.
var clientCodes = map[string]int{
	api.CodeBadJSON: 400, api.CodeEmptyBody: 400, api.CodeUnknownField: 400, api.CodeWrongType: 400,
	api.CodeInvalidField: 400, api.CodeBodyTooLarge: 413,
}

// checkRefusal asserts an error answer has a client code at its status
// and a message that starts with the field it names.
func checkRefusal(t *testing.T, body string, w *httptest.ResponseRecorder) {
	t.Helper()
	var e api.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == nil {
		t.Fatalf("%q: answer %d %s is not an error body", body, w.Code, w.Body)
	}
	if st, ok := clientCodes[e.Error.Code]; !ok || st != w.Code || e.Error.Message == "" {
		t.Fatalf("%q: answer %d %s", body, w.Code, w.Body)
	}
	if e.Error.Field != "" && !strings.HasPrefix(e.Error.Message, e.Error.Field) {
		t.Fatalf("%q: message %q does not name its field %q first", body, e.Error.Message, e.Error.Field)
	}
}

// FuzzV1Decoders posts arbitrary bodies to POST /v1/messages and POST
// /v1/subscribers. Each is either accepted (202 with an id; 201 or 200
// with a registration id) or refused with a client error of the API's
// table, and a refused request stores nothing.
func FuzzV1Decoders(f *testing.F) {
	rg := newRig(f)
	for _, s := range []string{
		`{"to":"all","content":{"title":"t","body":"b","url":"/x","icon":"https://i.test/i.png"},"ttl":60,"urgency":"high"}`,
		`{"to":{"tags":["a","b"],"tags_and":["c"],"tags_not":["e"],"aliases":["u1"]},"content":{"body":"b","languages":{"fa":{"title":"س"}}},"dedup_id":"d-1","request_id":"r","custom_args":{"k":1}}`,
		`{"to":{"registration_ids":["r_x"]},"data":{"k":"v"},"send_at":"2030-01-01T00:00:00Z","spread_minutes":10,"replace":"k"}`,
		`{"type":"fcm","token":"tok","tags":["a"],"alias":"u","language":"fa","timezone":"Asia/Tehran"}`,
		`{"type":"webpush","subscription":{"endpoint":"http://127.0.0.1:1/w","keys":{"p256dh":"BAAA","auth":"AAAA"}}}`,
		`{"type":"apns","token":"` + strings.Repeat("ab", 32) + `"}`,
		``, `[]`, `{"to":"all"`, `{"send_at":5}`,
	} {
		f.Add(s)
	}
	auth := "Bearer " + rg.a.APIKey
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/messages", "/v1/subscribers"} {
			msgs := rg.messagesOf(t, rg.a.ID)
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			r.Header.Set("Authorization", auth)
			rg.h.ServeHTTP(w, r)
			switch {
			case path == "/v1/messages" && w.Code == http.StatusAccepted:
				if !strings.Contains(w.Body.String(), `"id":"`) {
					t.Fatalf("%q: accepted without an id: %s", body, w.Body)
				}
			case path == "/v1/subscribers" && (w.Code == http.StatusCreated || w.Code == http.StatusOK):
				if !strings.Contains(w.Body.String(), `"registration_id":"r_`) {
					t.Fatalf("%q: registered without an id: %s", body, w.Body)
				}
			default:
				checkRefusal(t, body, w)
				if n := rg.messagesOf(t, rg.a.ID); n != msgs {
					t.Fatalf("%q: a refused request changed the messages from %d to %d", body, msgs, n)
				}
			}
		}
	})
}
