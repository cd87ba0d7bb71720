package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func list(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// note is a valid send to "all"; each bad case changes one thing.
func note(kv ...any) map[string]any {
	m := map[string]any{"to": "all", "content": map[string]any{"title": "t", "body": "b"}}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// TestMessagesBadInput drives POST /v1/messages and preview-audience with
// bad bodies and credentials and checks the exact status, code, field and
// message; none leaves a message behind, in either app.
func TestMessagesBadInput(t *testing.T) {
	rg := newRig(t)
	rg.register(rg.a.APIKey, "http://127.0.0.1:1/a/1", "news")
	bID := rg.register(rg.b.APIKey, "http://127.0.0.1:1/b/1", "news")
	if r := rg.do("POST", "/v1/segments", "Bearer "+rg.b.APIKey, map[string]any{"name": "b-only", "rules": map[string]any{}}); r.status != 201 {
		t.Fatalf("B's segment: %d %s", r.status, r.body)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	const m = "/v1/messages"
	tests := []badCase{
		{"no Authorization", "POST", m, "-", note(), 401, "unauthorized", "", "Authorization header is missing; send Authorization: Bearer <api_key>"},
		{"Basic", "POST", m, "Basic " + rg.a.APIKey, note(), 401, "unauthorized", "", "Authorization header must be Bearer <api_key>"},
		{"webtoapp key", "POST", m, "Bearer " + rg.a.Webtoapp.APIKey, note(), 401, "unauthorized", "", "API key matches no app"},
		{"Najva token", "POST", m, "Bearer " + rg.a.Najva.Token, note(), 401, "unauthorized", "", "API key matches no app"},
		{"empty body", "POST", m, "", "", 400, "empty_body", "", "request body is empty; a JSON object is required"},
		{"bad JSON", "POST", m, "", `{"to":"all",`, 400, "bad_json", "", "malformed JSON: the body ends before the value does"},
		{"two values", "POST", m, "", `{"to":"all","content":{"title":"t"}} {}`, 400, "bad_json", "", "request body holds more than one JSON value"},
		{"an array", "POST", m, "", `[]`, 400, "wrong_type", "", "request body must be an object, got array"},
		{"unknown field", "POST", m, "", note("colour", "red"), 400, "unknown_field", "colour", "colour: unknown field"},
		{"unknown content field", "POST", m, "", note("content", map[string]any{"title": "t", "sound": "x"}), 400, "unknown_field", "content.sound", "content.sound: unknown field"},
		{"unknown target field", "POST", m, "", note("to", map[string]any{"tag": []string{"news"}}), 400, "unknown_field", "to.tag", "to.tag: unknown field"},
		{"missing to", "POST", m, "", map[string]any{"content": map[string]any{"title": "t"}}, 400, "invalid_field", "to", `to: is required: "all" or an object of targets`},
		{"to a number", "POST", m, "", note("to", 5), 400, "invalid_field", "to", `to: must be "all" or an object of targets`},
		{"to another word", "POST", m, "", note("to", "everyone"), 400, "invalid_field", "to", `to: must be "all" or an object of targets, got "everyone"`},
		{"empty target", "POST", m, "", note("to", map[string]any{"tags": []string{}}), 400, "invalid_field", "to", `to: names no target: use "all" or give at least one non-empty list`},
		{"tags a string", "POST", m, "", note("to", map[string]any{"tags": "news"}), 400, "wrong_type", "to.tags", "to.tags: must be an array, got string"},
		{"ttl a string", "POST", m, "", note("ttl", "60"), 400, "wrong_type", "ttl", "ttl: must be an integer, got string"},
		{"nothing to show", "POST", m, "", note("content", map[string]any{}), 400, "invalid_field", "content", "content: needs a title or a body, or the message needs data"},
		{"registration_ids 1001", "POST", m, "", note("to", map[string]any{"registration_ids": list(1001, "r_%d")}), 400, "invalid_field", "to.registration_ids", "to.registration_ids: has 1001 entries, at most 1000 are allowed"},
		{"tags 1001", "POST", m, "", note("to", map[string]any{"tags": list(1001, "t%d")}), 400, "invalid_field", "to.tags", "to.tags: has 1001 entries, at most 1000 are allowed"},
		{"tags_and 21", "POST", m, "", note("to", map[string]any{"tags_and": list(21, "t%d")}), 400, "invalid_field", "to.tags_and", "to.tags_and: has 21 entries, at most 20 are allowed"},
		{"tags_not 21", "POST", m, "", note("to", map[string]any{"tags": []string{"news"}, "tags_not": list(21, "t%d")}), 400, "invalid_field", "to.tags_not", "to.tags_not: has 21 entries, at most 20 are allowed"},
		{"tags_not alone", "POST", m, "", note("to", map[string]any{"tags_not": []string{"news"}}), 400, "invalid_field", "to.tags_not", "to.tags_not: cannot be used alone: combine it with another target"},
		{"empty tag", "POST", m, "", note("to", map[string]any{"tags": []string{"news", " "}}), 400, "invalid_field", "to.tags[1]", "to.tags[1]: must not be empty"},
		{"tag too long", "POST", m, "", note("to", map[string]any{"tags": []string{strings.Repeat("x", 2049)}}), 400, "invalid_field", "to.tags[0]", "to.tags[0]: is too long"},
		{"another app's segment", "POST", m, "", note("to", map[string]any{"segments": []string{"b-only"}}), 400, "invalid_field", "to.segments[0]", `to.segments[0]: no segment named "b-only"`},
		{"segment id of another app", "POST", m, "", note("to", map[string]any{"segments": []int{1}}), 400, "invalid_field", "to.segments[0]", "to.segments[0]: no segment with id 1"},
		{"ttl negative", "POST", m, "", note("ttl", -1), 400, "invalid_field", "ttl", "ttl: must be 0 to 2419200 seconds"},
		{"ttl 28 days + 1 s", "POST", m, "", note("ttl", 2419201), 400, "invalid_field", "ttl", "ttl: must be 0 to 2419200 seconds"},
		{"urgency", "POST", m, "", note("urgency", "asap"), 400, "invalid_field", "urgency", `urgency: must be very-low, low, normal or high, got "asap"`},
		{"send_at past", "POST", m, "", note("send_at", past), 400, "invalid_field", "send_at", "send_at: " + past + " is in the past"},
		{"send_at not a time", "POST", m, "", note("send_at", "tomorrow"), 400, "wrong_type", "send_at", `send_at: must be an RFC 3339 time such as "2026-01-02T15:04:05Z", got "tomorrow"`},
		{"send_at a number", "POST", m, "", note("send_at", 1700000000), 400, "wrong_type", "", `a time must be an RFC 3339 string such as "2026-01-02T15:04:05Z"`},
		{"spread 1441", "POST", m, "", note("spread_minutes", 1441), 400, "invalid_field", "spread_minutes", "spread_minutes: must be 0 to 1440"},
		{"dedup_id characters", "POST", m, "", note("dedup_id", "a b"), 400, "invalid_field", "dedup_id", "dedup_id: must be 1 to 64 letters, digits, _ or -"},
		{"dedup_id 65", "POST", m, "", note("dedup_id", strings.Repeat("d", 65)), 400, "invalid_field", "dedup_id", "dedup_id: must be 1 to 64 letters, digits, _ or -"},
		{"request_id 65", "POST", m, "", note("request_id", strings.Repeat("r", 65)), 400, "invalid_field", "request_id", "request_id: is longer than 64 bytes"},
		{"custom_args 4097", "POST", m, "", note("custom_args", `"`+strings.Repeat("c", 4095)+`"`), 400, "invalid_field", "custom_args", "custom_args: is larger than 4096 bytes"},
		{"replace 129", "POST", m, "", note("replace", strings.Repeat("k", 129)), 400, "invalid_field", "replace", "replace: is longer than 128 bytes"},
		{"url", "POST", m, "", note("content", map[string]any{"title": "t", "url": "no url"}), 400, "invalid_field", "content.url", "content.url: must be an absolute URL or a path starting with /"},
		{"payload over one push", "POST", m, "", note("content", map[string]any{"body": strings.Repeat("x", 3990)}), 400, "invalid_field", "content", "content: makes a 4028-byte payload; at most 3993 bytes fit in a push"},
		{"body over 256 KiB", "POST", m, "", `{"to":"all","content":{"title":"` + strings.Repeat("x", 256<<10) + `"}}`, 413, "body_too_large", "", "request body is larger than 262144 bytes"},
		{"preview: unknown field", "POST", m + "/preview-audience", "", map[string]any{"to": "all", "x": 1}, 400, "unknown_field", "x", "x: unknown field"},
		{"preview: tags_not alone", "POST", m + "/preview-audience", "", map[string]any{"to": map[string]any{"tags_not": []string{"a"}}}, 400, "invalid_field", "to.tags_not", "to.tags_not: cannot be used alone: combine it with another target"},
		{"preview: no Authorization", "POST", m + "/preview-audience", "-", map[string]any{"to": "all"}, 401, "unauthorized", "", "Authorization header is missing; send Authorization: Bearer <api_key>"},
		{"B's message by A", "GET", m + "/1", "", nil, 404, "not_found", "", "message not found"},
		{"message id not a number", "GET", m + "/abc", "", nil, 404, "not_found", "", "message not found"},
		{"cancel B's message by A", "DELETE", m + "/1", "", nil, 404, "not_found", "", "message not found"},
		{"stats of B's message by A", "GET", m + "/1/stats", "", nil, 404, "not_found", "", "message not found"},
		{"list: bad cursor", "GET", m + "?cursor=xyz", "", nil, 400, "invalid_field", "cursor", "cursor: is not a cursor this API returned"},
	}
	// B's message 1 exists, so A's 404 above is about ownership.
	if r := rg.do("POST", m, "Bearer "+rg.b.APIKey, note("dedup_id", "b1")); r.status != 202 || !strings.Contains(string(r.body), `"id":"1"`) {
		t.Fatalf("B's message: %d %s", r.status, r.body)
	}
	rg.run(t, tests)
	if n := rg.messages(rg.a.ID); n != 0 {
		t.Errorf("bad requests left %d messages in A", n)
	}
	if n := rg.messages(rg.b.ID); n != 1 {
		t.Errorf("B has %d messages, want its own 1", n)
	}
	// Another app's registration id is no error (ids are opaque), but
	// the message reaches no one: its audience is A's subscribers only.
	r := rg.do("POST", m+"/preview-audience", "Bearer "+rg.a.APIKey, map[string]any{"to": map[string]any{"registration_ids": []string{bID}}})
	if r.status != 200 || !strings.Contains(string(r.body), `"count":0`) {
		t.Errorf("preview of B's registration id by A: %d %s", r.status, r.body)
	}
}
