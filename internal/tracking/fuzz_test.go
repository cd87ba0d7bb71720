package tracking_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/tracking"
)

// FuzzEvents posts arbitrary reports to POST /sdk/v1/events as app a.
// Each is either counted (200 {"counted":…}) or refused with a client
// error; a refused report changes no counter, and app b's message is
// never counted (no report can carry its signature for app a).
func FuzzEvents(f *testing.F) {
	e := newEvents(f)
	msg := strconv.FormatInt(e.msgA, 10)
	sig := e.keys.Sig("a", e.msgA, e.rid)
	for _, s := range []string{
		`{"type":"received","message_id":"` + msg + `","rid":"` + e.rid + `","sig":"` + sig + `"}`,
		`{"type":"clicked","message_id":` + msg + `,"rid":"` + e.rid + `","sig":"` + sig + `","action":"open","extra":1}`,
		`{"type":"clicked","message_id":"` + strconv.FormatInt(e.msgB, 10) + `","rid":"` + e.otherRID + `","sig":"` + sig + `","app":"b"}`,
		`{"type":"opened"}`, `{"message_id":-1}`, ``, `[]`,
	} {
		f.Add(s)
	}
	codes := map[string]int{api.CodeBadJSON: 400, api.CodeEmptyBody: 400, api.CodeWrongType: 400, api.CodeInvalidField: 400,
		api.CodeBodyTooLarge: 413, api.CodeNotFound: 404, tracking.CodeForbidden: 403}
	f.Fuzz(func(t *testing.T, body string) {
		recA, clkA := e.counters(t, "a", e.msgA)
		r := e.post(t, "?app=a", "text/plain;charset=UTF-8", body)
		if r.status == 200 {
			if !strings.HasPrefix(r.body, `{"counted":`) {
				t.Fatalf("%q: %s", body, r.body)
			}
		} else {
			var eb api.ErrorBody
			if err := json.Unmarshal([]byte(r.body), &eb); err != nil || eb.Error == nil {
				t.Fatalf("%q: %d %s is not an error body", body, r.status, r.body)
			}
			if st, ok := codes[eb.Error.Code]; !ok || st != r.status || eb.Error.Message == "" {
				t.Fatalf("%q: %d %s", body, r.status, r.body)
			}
			if rec, clk := e.counters(t, "a", e.msgA); rec != recA || clk != clkA {
				t.Fatalf("%q: refused, but the counters moved", body)
			}
		}
		if rec, clk := e.counters(t, "b", e.msgB); rec != 0 || clk != 0 {
			t.Fatalf("%q: app b's message was counted", body)
		}
	})
}
