package tracking_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/api"
)

// TestEventsBadInputExact checks the exact status, code, field and
// message of refused reports (TestEventsRefuse checks their codes over
// more cases), and that no counter moved.
func TestEventsBadInputExact(t *testing.T) {
	e := newEvents(t)
	msg := strconv.FormatInt(e.msgA, 10)
	sig := e.keys.Sig("a", e.msgA, e.rid)
	report := func(kv ...string) string {
		m := map[string]string{"type": "received", "message_id": msg, "rid": e.rid, "sig": sig}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
				continue
			}
			m[kv[i]] = kv[i+1]
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	wrongSig := "sig does not sign this app, message_id and rid; send back the payload's own fields"
	tests := []struct {
		name, query, body string
		status            int
		code, field, msg  string
	}{
		{"bad type", "?app=a", report("type", "opened"), 400, "invalid_field", "type", "type: must be received or clicked"},
		{"message id not a number", "?app=a", report("message_id", "abc"), 400, "invalid_field", "message_id", `message_id: must be a message id such as "123"`},
		{"no message id", "?app=a", report("message_id", ""), 400, "invalid_field", "message_id", "message_id: is required"},
		{"no rid", "?app=a", report("rid", ""), 400, "invalid_field", "rid", "rid: is required: send the payload's rid back"},
		{"no sig", "?app=a", report("sig", ""), 400, "invalid_field", "sig", "sig: is required: send the payload's sig back"},
		{"no app", "", report(), 400, "invalid_field", "app", "app: is required: pass ?app=<app id>"},
		{"wrong sig", "?app=a", report("sig", strings.Repeat("A", 22)), 403, "forbidden", "", wrongSig},
		{"app b's message signed for a, reported as b", "?app=b", report(), 403, "forbidden", "", wrongSig},
		{"app b's message by its own app field, a's sig", "?app=a", report("app", "b", "message_id", strconv.FormatInt(e.msgB, 10), "rid", e.otherRID), 403, "forbidden", "", wrongSig},
		{"a message of no app, signed", "?app=a", report("message_id", "999999", "sig", e.keys.Sig("a", 999999, e.rid)), 404, "not_found", "", "message 999999 not found"},
		{"rid a number", "?app=a", `{"type":"received","message_id":"` + msg + `","rid":5,"sig":"` + sig + `"}`, 400, "wrong_type", "rid", "rid: must be a string, got number"},
		{"not JSON", "?app=a", "type=received", 400, "bad_json", "", "malformed JSON at line 1, column 2: invalid character 'y' in literal true (expecting 'r')"},
		{"empty", "?app=a", "", 400, "empty_body", "", "request body is empty; a JSON object is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tc.query, "text/plain;charset=UTF-8", tc.body)
			var eb api.ErrorBody
			if err := json.Unmarshal([]byte(r.body), &eb); err != nil || eb.Error == nil {
				t.Fatalf("%d %s is not an error body", r.status, r.body)
			}
			if got := eb.Error; r.status != tc.status || got.Code != tc.code || got.Field != tc.field || got.Message != tc.msg {
				t.Errorf("got %d %+v\nwant %d {code:%s field:%s message:%s}", r.status, *got, tc.status, tc.code, tc.field, tc.msg)
			}
		})
	}
	for _, m := range []struct {
		app string
		id  int64
	}{{"a", e.msgA}, {"b", e.msgB}} {
		if rec, clk := e.counters(t, m.app, m.id); rec != 0 || clk != 0 {
			t.Errorf("app %s's message counts received %d, clicked %d after refused reports", m.app, rec, clk)
		}
	}
}
