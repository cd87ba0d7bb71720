package najva

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/send"
)

// good is a valid body of the send to all; each bad-input case changes
// one thing.
func good() map[string]any {
	return map[string]any{"api_key": testAPIKey, "title": "t", "body": "b", "url": "https://example.test/",
		"sent_time": "2020-01-01T00:00:00", "one_signal_enabled": false}
}

func with(m map[string]any, kv ...any) string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
			continue
		}
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func goodTokens() map[string]any {
	m := good()
	delete(m, "one_signal_enabled")
	m["subscriber_tokens"] = []string{"r_one"}
	return m
}

// TestBadInput drives both sends with bad bodies and checks the exact
// status and body, and that nothing was sent.
func TestBadInput(t *testing.T) {
	ints := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}
	tokens := make([]string, MaxTokens+1)
	for i := range tokens {
		tokens[i] = "r_x"
	}
	req := `{"result":"Passed data is invalid.","details":{"`
	tests := []struct {
		name, path, auth, body string
		status                 int
		want                   string
	}{
		{"bad JSON", PathNotifications, "", `{"title":`, 400, `{"detail":"JSON parse error - malformed JSON: the body ends before the value does"}`},
		{"syntax", PathNotifications, "", `{"title" "t"}`, 400, `{"detail":"JSON parse error - malformed JSON at line 1, column 10: invalid character '\"' after object key"}`},
		{"two values", PathNotifications, "", `{} {}`, 400, `{"detail":"JSON parse error - request body holds more than one JSON value"}`},
		{"a list", PathNotifications, "", `[1]`, 400, req + `non_field_errors":["Invalid data. Expected a dictionary, but got list."]}}`},
		{"empty body", PathNotifications, "", ``, 400, req + `api_key":["این فیلد لازم است."],"title":["این فیلد لازم است."],"body":["این فیلد لازم است."],"url":["این فیلد لازم است."],"sent_time":["این فیلد لازم است."],"one_signal_enabled":["این فیلد لازم است."]}}`},
		{"missing title", PathNotifications, "", with(good(), "title", nil), 400, req + `title":["این فیلد لازم است."]}}`},
		{"null title", PathNotifications, "", with(good(), "title", json.RawMessage("null")), 400, req + `title":["این فیلد لازم است."]}}`},
		{"blank body", PathNotifications, "", with(good(), "body", "  "), 400, req + `body":["This field may not be blank."]}}`},
		{"title wrong type", PathNotifications, "", with(good(), "title", 5), 400, req + `title":["Not a valid string."]}}`},
		{"title 101 characters", PathNotifications, "", with(good(), "title", strings.Repeat("ش", 101)), 400, req + `title":["Ensure this field has no more than 100 characters."]}}`},
		{"body 201 characters", PathNotifications, "", with(good(), "body", strings.Repeat("b", 201)), 400, req + `body":["Ensure this field has no more than 200 characters."]}}`},
		{"url too long", PathNotifications, "", with(good(), "url", "https://x.test/"+strings.Repeat("a", MaxURL)), 400, req + `url":["Ensure this field has no more than 2048 characters."]}}`},
		{"url not a URL", PathNotifications, "", with(good(), "url", "example.com"), 400, req + `url":["Must be an absolute URL or a path starting with /."]}}`},
		{"icon not a URL", PathNotifications, "", with(good(), "icon", "icon.png"), 400, req + `icon":["Must be an absolute URL or a path starting with /."]}}`},
		{"api_key not a uuid", PathNotifications, "", with(good(), "api_key", "abc"), 400, req + `api_key":["Must be a valid UUID."]}}`},
		{"another app's api_key", PathNotifications, "", with(good(), "api_key", otherKey), 403, `{"detail":"you are not owner of this website"}`},
		{"unknown api_key", PathNotifications, "", with(good(), "api_key", "00000000-0000-4000-8000-000000000000"), 403, `{"detail":"you are not owner of this website"}`},
		{"unknown field", PathNotifications, "", with(good(), "colour", "red"), 400, req + `colour":["Unknown field: Najva's API has no such field."]}}`},
		{"tokens on the send to all", PathNotifications, "", with(good(), "subscriber_tokens", []string{"r_one"}), 400, req + `subscriber_tokens":["Unknown field: Najva's API has no such field."]}}`},
		{"bad action", PathNotifications, "", with(good(), "onclick_action", "open-door"), 400, req + `onclick_action":["\"open-door\" is not a valid choice."]}}`},
		{"placeholder action", PathNotifications, "", with(good(), "onclick_action", "<YOUR_ACTION>"), 400, req + `onclick_action":["\"<YOUR_ACTION>\" is not a valid choice."]}}`},
		{"sms without a number", PathNotifications, "", with(good(), "onclick_action", "open-sms"), 400, req + `url":["Enter a valid phone number: open-sms dials the number in url."]}}`},
		{"call without a number", PathNotifications, "", with(good(), "onclick_action", "Open-call", "url", "call me"), 400, req + `url":["Enter a valid phone number: open-call dials the number in url."]}}`},
		{"telegram without a channel", PathNotifications, "", with(good(), "onclick_action", "open-telegram-channel", "url", "http://x.test/"), 400, req + `url":["Enter a Telegram channel id (@name) or link (https://t.me/…): open-telegram-channel opens it."]}}`},
		{"sent_time wrong format", PathNotifications, "", with(good(), "sent_time", "05/12/2018 13:00"), 400, req + `sent_time":["` + msgDatetime + `"]}}`},
		{"sent_time not a date", PathNotifications, "", with(good(), "sent_time", "2018-13-45T25:00:00"), 400, req + `sent_time":["` + msgDatetime + `"]}}`},
		{"sent_time two years ahead", PathNotifications, "", with(good(), "sent_time", "2028-11-24T04:00:00"), 400, req + `sent_time":["Is more than a year ahead."]}}`},
		{"one_signal_enabled missing", PathNotifications, "", with(good(), "one_signal_enabled", nil), 400, req + `one_signal_enabled":["این فیلد لازم است."]}}`},
		{"one_signal_enabled wrong", PathNotifications, "", with(good(), "one_signal_enabled", "maybe"), 400, req + `one_signal_enabled":["Must be a valid boolean."]}}`},
		{"segments not a list", PathNotifications, "", with(good(), "segments_include", "1"), 400, req + `segments_include":["Expected a list of items but got type \"str\"."]}}`},
		{"segment not an int", PathNotifications, "", with(good(), "segments_exclude", []any{1, "x"}), 400, req + `segments_exclude":["Item 1: a valid positive integer is required."]}}`},
		{"segment zero", PathNotifications, "", with(good(), "segments_include", []int{0}), 400, req + `segments_include":["Item 0: a valid positive integer is required."]}}`},
		{"21 segments", PathNotifications, "", with(good(), "segments_include", ints(MaxSegments+1)), 400, req + `segments_include":["Ensure this field has no more than 20 elements."]}}`},
		{"unknown segment", PathNotifications, "", with(good(), "segments_include", []int{1, 99}), 400, req + `segments_include":["Item 1: No segment with id 99."]}}`},
		{"another app's segment", PathNotifications, "", with(good(), "segments_exclude", []int{7}), 400, req + `segments_exclude":["Item 0: No segment with id 7."]}}`},
		{"101 accounts", PathNotifications, "", with(good(), "one_signal_accounts", ints(MaxAccounts+1)), 400, req + `one_signal_accounts":["Ensure this field has no more than 100 elements."]}}`},
		{"payload too large", PathNotifications, "", with(good(), "onclick_action", "open-sms", "url", "+98 912 000 0000", "content", strings.Repeat("ﷺ", 1000), "body", strings.Repeat("ﷺ", 200), "title", strings.Repeat("ﷺ", 100)), 400, req + `non_field_errors":["Content: makes a 13058-byte payload; at most 3993 bytes fit in a push."]}}`},
		{"too large", PathNotifications, "", `{"title":"` + strings.Repeat("x", 300<<10) + `"}`, 413, `{"detail":"Request body is larger than 262144 bytes."}`},
		{"several at once, in table order", PathNotifications, "", `{"title":7,"sent_time":"now","zz":1,"api_key":"x"}`, 400, req + `api_key":["Must be a valid UUID."],"title":["Not a valid string."],"body":["این فیلد لازم است."],"url":["این فیلد لازم است."],"sent_time":["` + msgDatetime + `"],"one_signal_enabled":["این فیلد لازم است."],"zz":["Unknown field: Najva's API has no such field."]}}`},

		{"tokens missing", PathTokenNotifications, "", with(goodTokens(), "subscriber_tokens", nil), 400, req + `subscriber_tokens":["این فیلد لازم است."]}}`},
		{"tokens not a list", PathTokenNotifications, "", with(goodTokens(), "subscriber_tokens", "r_one"), 400, req + `subscriber_tokens":["Expected a list of items but got type \"str\"."]}}`},
		{"token not a string", PathTokenNotifications, "", with(goodTokens(), "subscriber_tokens", []any{"r_one", 2}), 400, req + `subscriber_tokens":["Item 1: Not a valid string."]}}`},
		{"token blank", PathTokenNotifications, "", with(goodTokens(), "subscriber_tokens", []string{""}), 400, req + `subscriber_tokens":["Item 0: This field may not be blank."]}}`},
		{"1001 tokens", PathTokenNotifications, "", with(goodTokens(), "subscriber_tokens", tokens), 400, req + `subscriber_tokens":["Ensure this field has no more than 1000 elements."]}}`},
		{"segments on the token send", PathTokenNotifications, "", with(goodTokens(), "segments_include", []int{1}), 400, req + `segments_include":["Unknown field: Najva's API has no such field."]}}`},
		{"token send, bad image", PathTokenNotifications, "", with(goodTokens(), "image", "img.png", "subscriber_tokens", []string{"r_nobody"}), 400, req + `image":["Must be an absolute URL or a path starting with /."]}}`},
		{"token send, another app's key", PathTokenNotifications, "", with(goodTokens(), "api_key", otherKey), 403, `{"detail":"you are not owner of this website"}`},

		{"no Authorization", PathNotifications, "-", with(good()), 401, `{"detail":"unauthorized"}`},
		{"Bearer, not Token", PathNotifications, "Bearer " + testToken, with(good()), 401, `{"detail":"unauthorized"}`},
		{"Token without a token", PathNotifications, "Token ", with(good()), 401, `{"detail":"unauthorized"}`},
		{"unknown token", PathNotifications, "Token nobody", with(good()), 404, `{"detail":"user with this Token does not exists"}`},
		{"token send, no Authorization", PathTokenNotifications, "-", with(goodTokens()), 403, `{"detail":"Authentication credentials were not provided."}`},
		{"token send, unknown token", PathTokenNotifications, "Token nobody", with(goodTokens()), 403, `{"detail":"Invalid token."}`},
		{"one-signals, unknown token", PathOneSignals, "Token nobody", "", 404, `{"detail":"user with this Token does not exists"}`},
		{"one-signals, no Authorization", PathOneSignals, "-", "", 401, `{"detail":"unauthorized"}`},
	}
	rg := newRig(t, Deps{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := tc.auth
			switch auth {
			case "":
				auth = "Token " + testToken
			case "-":
				auth = ""
			}
			method := http.MethodPost
			if tc.path == PathOneSignals {
				method = http.MethodGet
			}
			a := rg.do(method, tc.path, auth, tc.body)
			if a.status != tc.status || a.body != tc.want {
				t.Errorf("got %d %s\nwant %d %s", a.status, a.body, tc.status, tc.want)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if len(rg.sent.sent) != 0 {
		t.Errorf("bad requests sent %d messages", len(rg.sent.sent))
	}
}

// TestActions turns each onclick_action into its click target and the
// extras a native app reads.
func TestActions(t *testing.T) {
	tests := []struct {
		action, url, content string
		click                string
		extras               map[string]any
	}{
		{"", "https://example.test/a", "", "https://example.test/a", nil},
		{"Open-link", "/news", "ignored", "/news", nil},
		{"open-sms", "+98 (912) 000-0000", "hi there", "sms:+989120000000?body=hi+there",
			map[string]any{"onclick_action": "open-sms", "url": "+98 (912) 000-0000", "content": "hi there"}},
		{"open-sms", "09120000000", "", "sms:09120000000", map[string]any{"onclick_action": "open-sms", "url": "09120000000"}},
		{"OPEN-CALL", "+98 21 1234", "", "tel:+98211234", map[string]any{"onclick_action": "open-call", "url": "+98 21 1234"}},
		{"open-app", "anything", "", "/", map[string]any{"onclick_action": "open-app", "url": "anything"}},
		{"open-activity", "com.example.MainActivity", "", "/", map[string]any{"onclick_action": "open-activity", "url": "com.example.MainActivity"}},
		{"open-telegram-channel", "@herald_news", "", "https://t.me/herald_news", map[string]any{"onclick_action": "open-telegram-channel", "url": "@herald_news"}},
		{"Join-telegram-channel", "https://t.me/joinchat/AAAA", "", "https://t.me/joinchat/AAAA", map[string]any{"onclick_action": "join-telegram-channel", "url": "https://t.me/joinchat/AAAA"}},
	}
	for _, tc := range tests {
		rg := newRig(t, Deps{})
		m := good()
		m["url"], m["content"] = tc.url, tc.content
		if tc.action != "" {
			m["onclick_action"] = tc.action
		}
		if a := rg.do("POST", PathNotifications, "Token "+testToken, with(m)); a.status != 200 {
			t.Errorf("%s: %d %s", tc.action, a.status, a.body)
			continue
		}
		c := rg.sent.sent[0].Content
		if c.URL != tc.click || !reflect.DeepEqual(c.Extras, tc.extras) {
			t.Errorf("%s %q: url %q extras %v, want %q %v", tc.action, tc.url, c.URL, c.Extras, tc.click, tc.extras)
		}
	}
}

// TestSentTime sends a past or present sent_time at once and schedules a
// later one, reading a time without a zone as UTC.
func TestSentTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time // zero: at once
	}{
		{"2018-12-04T12:00:00", time.Time{}},
		{"2026-11-24T04:00:00", time.Time{}}, // now
		{"2026-11-24T05:30:00", time.Date(2026, 11, 24, 5, 30, 0, 0, time.UTC)},
		{"2026-11-24 05:30", time.Date(2026, 11, 24, 5, 30, 0, 0, time.UTC)},
		{"2026-11-24T05:30:00.25Z", time.Date(2026, 11, 24, 5, 30, 0, 250e6, time.UTC)},
		{"2026-11-24T09:00:00+03:30", time.Date(2026, 11, 24, 5, 30, 0, 0, time.UTC)},
		{"2026-11-24T09:00:00+0330", time.Date(2026, 11, 24, 5, 30, 0, 0, time.UTC)},
		{"2026-11-24T01:00:00-05", time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		rg := newRig(t, Deps{})
		if a := rg.do("POST", PathNotifications, "Token "+testToken, with(good(), "sent_time", tc.in)); a.status != 200 {
			t.Errorf("%s: %d %s", tc.in, a.status, a.body)
			continue
		}
		got := rg.sent.sent[0].SendAt
		if tc.want.IsZero() != (got == nil) || got != nil && !got.Equal(tc.want) {
			t.Errorf("%s: send_at %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestTokens sends to the app's own devices among the tokens, each once;
// another app's device and unknown tokens are left out, and when none is
// left nothing is sent and count is 0.
func TestTokens(t *testing.T) {
	tests := []struct {
		tokens []string
		count  int
		sent   []string
	}{
		{[]string{"r_two", "r_one", "r_two"}, 2, []string{"r_two", "r_one"}},
		{[]string{"r_one", "r_gone", "r_other"}, 1, []string{"r_one"}},
		{[]string{"r_other"}, 0, nil},
		{[]string{}, 0, nil},
	}
	for _, tc := range tests {
		rg := newRig(t, Deps{})
		a := rg.do("POST", PathTokenNotifications, "Token "+testToken, with(goodTokens(), "subscriber_tokens", tc.tokens))
		var c created
		if err := json.Unmarshal([]byte(a.body), &c); a.status != 201 || err != nil || c.Count != tc.count {
			t.Errorf("%v: %d %s", tc.tokens, a.status, a.body)
			continue
		}
		var sent []string
		if len(rg.sent.sent) == 1 {
			sent = rg.sent.sent[0].To.RegistrationIDs
		}
		if len(rg.sent.sent) > 1 || !reflect.DeepEqual(sent, tc.sent) || (a.header.Get("X-Herald-Message-Id") != "") != (tc.sent != nil) {
			t.Errorf("%v: sent %+v, header %q", tc.tokens, rg.sent.sent, a.header.Get("X-Herald-Message-Id"))
		}
	}
}

// TestDefaults: the send to all reaches every subscriber, inactive ones
// too (Najva's "all"); icon and image absent are null in the answer.
func TestDefaults(t *testing.T) {
	rg := newRig(t, Deps{})
	if a := rg.do("POST", PathNotifications, "Token "+testToken, with(good())); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	r := rg.sent.sent[0]
	if !r.To.All || !r.IncludeInactive || r.Content.Icon != "" || r.Content.Extras != nil || r.SendAt != nil {
		t.Errorf("request %+v", r)
	}
	a := rg.do("POST", PathTokenNotifications, "Token "+testToken, with(goodTokens()))
	want := `{"result":"Notification is created successfully.","count":1,"details":{"title":"t","body":"b","url":"https://example.test/","icon":null,"image":null,"sent_time":"2020-01-01T00:00:00"}}`
	if a.status != 201 || a.body != want {
		t.Errorf("%d %s\nwant %s", a.status, a.body, want)
	}
}

// TestSegmentTargets: segments_include narrows to its segments (any of
// them), segments_exclude alone is everyone not excluded, and an empty
// segments_include counts as absent.
func TestSegmentTargets(t *testing.T) {
	tests := []struct {
		include, exclude []int
		all              bool
		want, wantEx     []send.SegmentRef
	}{
		{[]int{1, 22}, nil, false, []send.SegmentRef{{ID: 1}, {ID: 22}}, nil},
		{nil, []int{12}, true, nil, []send.SegmentRef{{ID: 12}}},
		{[]int{}, []int{12, 1}, true, nil, []send.SegmentRef{{ID: 12}, {ID: 1}}},
	}
	for _, tc := range tests {
		rg := newRig(t, Deps{})
		if a := rg.do("POST", PathNotifications, "Token "+testToken, with(good(), "segments_include", tc.include, "segments_exclude", tc.exclude)); a.status != 200 {
			t.Errorf("%v %v: %d %s", tc.include, tc.exclude, a.status, a.body)
			continue
		}
		to := rg.sent.sent[0].To
		if to.All != tc.all || !reflect.DeepEqual(to.Segments, tc.want) || !reflect.DeepEqual(to.SegmentsExclude, tc.wantEx) {
			t.Errorf("%v %v: target %+v", tc.include, tc.exclude, to)
		}
	}
}
