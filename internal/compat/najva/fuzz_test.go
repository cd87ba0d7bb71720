package najva

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds both send decoders arbitrary bodies. Whatever the body,
// decode does not panic, and either refuses it with a 400 that names at
// least one field (or says the JSON is malformed), or returns a
// notification that keeps every rule of the contract.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"seed_notifications_request.json", "seed_tokens_request.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.NewReplacer(`<YOUR_API_KEY>`, `"`+testAPIKey+`"`, `<YOUR_ACTION>`, "open-link",
			`[TOKEN1, TOKEN2, ...]`, `["r_one","r_two"]`).Replace(string(b)))
		f.Add(string(b)) // with its placeholders: not JSON
	}
	f.Add(``)
	f.Add(`[]`)
	f.Add(`{"api_key":"` + testAPIKey + `","title":"t","body":"b","url":"+98 912","onclick_action":"OPEN-SMS","sent_time":"2026-11-24 05:30+03:30","one_signal_enabled":"1","segments_include":["3"]}`)
	f.Add(`{"title":null,"subscriber_tokens":[" "],"sent_time":"2018-02-30T00:00:00"}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, e := range []endpoint{toAll, toTokens} {
			n, err := decode([]byte(body), e)
			if err != nil {
				var a *answer
				if !errors.As(err, &a) || a.status != 400 {
					t.Fatalf("%q: error %v is not a 400 answer", body, err)
				}
				switch b := a.body.(type) {
				case *invalid:
					if len(b.order) == 0 || len(b.msgs[b.order[0]]) == 0 {
						t.Fatalf("%q: a 400 naming no field", body)
					}
				case detail:
					if !strings.HasPrefix(b.Detail, "JSON parse error - ") {
						t.Fatalf("%q: detail %q", body, b.Detail)
					}
				default:
					t.Fatalf("%q: body %T", body, a.body)
				}
				continue
			}
			checkValid(t, body, n, e)
		}
	})
}

// checkValid asserts the rules a decoded notification must keep.
func checkValid(t *testing.T, body string, n *notification, e endpoint) {
	t.Helper()
	switch {
	case !uuidRE.MatchString(n.APIKey):
		t.Fatalf("%q: api_key %q", body, n.APIKey)
	case n.Title == "" || utf8.RuneCountInString(n.Title) > MaxTitle || !utf8.ValidString(n.Title):
		t.Fatalf("%q: title %q", body, n.Title)
	case n.Body == "" || utf8.RuneCountInString(n.Body) > MaxBody:
		t.Fatalf("%q: body %q", body, n.Body)
	case n.URL == "" || utf8.RuneCountInString(n.URL) > MaxURL || checkTarget(n.Action, n.URL) != "":
		t.Fatalf("%q: url %q for %s", body, n.URL, n.Action)
	case !slices.Contains(actions, n.Action):
		t.Fatalf("%q: action %q", body, n.Action)
	case n.SentTime.At.IsZero():
		t.Fatalf("%q: sent_time %q not read", body, n.SentTime.Raw)
	case len(n.SegmentsInclude) > MaxSegments || len(n.SegmentsExclude) > MaxSegments || len(n.OneSignalAccounts) > MaxAccounts:
		t.Fatalf("%q: lists over their limits", body)
	case e == toTokens && (n.SubscriberTokens == nil || len(n.SubscriberTokens) > MaxTokens):
		t.Fatalf("%q: subscriber_tokens %v", body, n.SubscriberTokens)
	case e == toAll && n.SubscriberTokens != nil:
		t.Fatalf("%q: subscriber_tokens on the send to all", body)
	}
	for _, ids := range [][]int64{n.SegmentsInclude, n.SegmentsExclude, n.OneSignalAccounts} {
		for _, id := range ids {
			if id <= 0 {
				t.Fatalf("%q: id %d", body, id)
			}
		}
	}
	for _, tok := range n.SubscriberTokens {
		if strings.TrimSpace(tok) == "" {
			t.Fatalf("%q: blank token", body)
		}
	}
}
