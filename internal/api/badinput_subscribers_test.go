package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSubscribersBadInput drives the subscriber, tag, alias and app
// endpoints with bad requests and another app's ids, checks the exact
// answers, and that neither app's devices changed.
func TestSubscribersBadInput(t *testing.T) {
	rg := newRig(t)
	aID := rg.register(rg.a.APIKey, "http://127.0.0.1:1/a/1", "news")
	bID := rg.register(rg.b.APIKey, "http://127.0.0.1:1/b/1", "vip")
	aPath, bPath := "/v1/subscribers/"+aID, "/v1/subscribers/"+bID
	tests := []badCase{
		{"GET B's device by A", "GET", bPath, "", nil, 404, "not_found", "", "subscriber not found"},
		{"PATCH B's device by A", "PATCH", bPath, "", map[string]any{"tags": []string{"x"}}, 404, "not_found", "", "subscriber not found"},
		{"DELETE B's device by A", "DELETE", bPath, "", nil, 404, "not_found", "", "subscriber not found"},
		{"PATCH without Authorization", "PATCH", aPath, "-", map[string]any{"alias": "u"}, 401, "unauthorized", "", "Authorization header is missing; send Authorization: Bearer <api_key>"},
		{"PATCH with EngageLab's secret", "PATCH", aPath, "Bearer " + rg.a.EngageLab.MasterSecret, map[string]any{"alias": "u"}, 401, "unauthorized", "", "API key matches no app"},
		{"PATCH empty body", "PATCH", aPath, "", "", 400, "empty_body", "", "request body is empty; a JSON object is required"},
		{"PATCH bad JSON", "PATCH", aPath, "", `{"alias":`, 400, "bad_json", "", "malformed JSON: the body ends before the value does"},
		{"PATCH unknown field", "PATCH", aPath, "", map[string]any{"colour": "red"}, 400, "unknown_field", "colour", "colour: unknown field"},
		{"PATCH tags a string", "PATCH", aPath, "", map[string]any{"tags": "a"}, 400, "wrong_type", "tags", "tags: must be an array, got string"},
		{"PATCH touch a string", "PATCH", aPath, "", map[string]any{"touch": "yes"}, 400, "wrong_type", "touch", "touch: must be a boolean, got string"},
		{"PATCH alias 129", "PATCH", aPath, "", map[string]any{"alias": strings.Repeat("u", 129)}, 400, "invalid_field", "alias", "alias: is longer than 128 bytes"},
		{"PATCH tag 129", "PATCH", aPath, "", map[string]any{"tags_add": []string{strings.Repeat("t", 129)}}, 400, "invalid_field", "tags_add[0]", "tags_add[0]: is longer than 128 bytes"},
		{"PATCH 101 tags", "PATCH", aPath, "", map[string]any{"tags": list(101, "t%d")}, 400, "invalid_field", "tags", "tags: has 101 tags, at most 100 are allowed"},
		{"PATCH empty tag", "PATCH", aPath, "", map[string]any{"tags_remove": []string{""}}, 400, "invalid_field", "tags_remove[0]", "tags_remove[0]: must not be empty"},
		{"PATCH language", "PATCH", aPath, "", map[string]any{"language": "english!"}, 400, "invalid_field", "language", `language: "english!" is not a language tag such as en, fa or zh-Hans`},
		{"PATCH time zone", "PATCH", aPath, "", map[string]any{"timezone": "Mars/Olympus"}, 400, "invalid_field", "timezone", `timezone: "Mars/Olympus" is not an IANA time zone such as Asia/Tehran`},
		{"list: type", "GET", "/v1/subscribers?type=sms", "", nil, 400, "invalid_field", "type", "type: must be webpush, fcm or apns"},
		{"list: cursor", "GET", "/v1/subscribers?cursor=abc", "", nil, 400, "invalid_field", "cursor", "cursor: is not a cursor this API returned"},
		{"list: limit 0", "GET", "/v1/subscribers?limit=0", "", nil, 400, "invalid_field", "limit", "limit: must be a positive integer"},
		{"list: active_within", "GET", "/v1/subscribers?active_within=a+while", "", nil, 400, "invalid_field", "active_within", "active_within: must be a duration such as 720h"},
		{"list: no Authorization", "GET", "/v1/subscribers", "-", nil, 401, "unauthorized", "", "Authorization header is missing; send Authorization: Bearer <api_key>"},
		{"tags: Basic", "GET", "/v1/tags", "Basic eDp5", nil, 401, "unauthorized", "", "Authorization header must be Bearer <api_key>"},
		{"fcm: empty", "PUT", "/v1/app/fcm", "", "", 400, "empty_body", "", "request body is empty; send the service account JSON file"},
		{"fcm: over 64 KiB", "PUT", "/v1/app/fcm", "", strings.Repeat("x", 64<<10+1), 413, "body_too_large", "", "a service account file is under 64 KiB"},
		{"fcm: delete none", "DELETE", "/v1/app/fcm", "", nil, 404, "not_found", "", "fcm credentials not found"},
		{"apns: unknown field", "PUT", "/v1/app/apns", "", map[string]any{"key": "k", "secret": "s"}, 400, "unknown_field", "secret", "secret: unknown field"},
		{"apns: no key_id", "PUT", "/v1/app/apns", "", map[string]any{"key": "k"}, 400, "invalid_field", "key_id", "key_id: is required"},
		{"apns: production a string", "PUT", "/v1/app/apns", "", map[string]any{"production": "yes"}, 400, "wrong_type", "production", "production: must be a boolean, got string"},
		{"apns: delete none", "DELETE", "/v1/app/apns", "", nil, 404, "not_found", "", "apns credentials not found"},
		{"no such endpoint", "GET", "/v1/nothing", "", nil, 404, "not_found", "", "no such endpoint: GET /v1/nothing"},
		{"callback: none set", "GET", "/v1/app/callback", "", nil, 404, "not_found", "", "callback not found"},
		{"callback: no url", "PUT", "/v1/app/callback", "", map[string]any{"rotate_secret": true}, 400, "invalid_field", "url", "url: is required"},
		{"callback: ftp", "PUT", "/v1/app/callback", "", map[string]any{"url": "ftp://hooks.test/x"}, 400, "invalid_field", "url", "url: bad URL: must start with https:// or http://"},
		{"callback: password", "PUT", "/v1/app/callback", "", map[string]any{"url": "https://u:p@hooks.test/x"}, 400, "invalid_field", "url", "url: bad URL: must not carry a user name or password"},
		{"callback: fragment", "PUT", "/v1/app/callback", "", map[string]any{"url": "https://hooks.test/x#y"}, 400, "invalid_field", "url", "url: bad URL: must not have a #fragment"},
		{"callback: 2049 characters", "PUT", "/v1/app/callback", "", map[string]any{"url": "https://hooks.test/" + strings.Repeat("p", 2049-19)}, 400, "invalid_field", "url", "url: bad URL: longer than 2048 characters"},
		{"callback: unknown field", "PUT", "/v1/app/callback", "", map[string]any{"uri": "https://hooks.test/x"}, 400, "unknown_field", "uri", "uri: unknown field"},
		{"callback: rotate_secret a string", "PUT", "/v1/app/callback", "", map[string]any{"url": "https://hooks.test/x", "rotate_secret": "yes"}, 400, "wrong_type", "rotate_secret", "rotate_secret: must be a boolean, got string"},
		{"callback: over 8 KiB", "PUT", "/v1/app/callback", "", `{"url":"https://hooks.test/` + strings.Repeat("p", 8<<10) + `"}`, 413, "body_too_large", "", "request body is larger than 8192 bytes"},
		{"callback: no Authorization", "PUT", "/v1/app/callback", "-", map[string]any{"url": "https://hooks.test/x"}, 401, "unauthorized", "", "Authorization header is missing; send Authorization: Bearer <api_key>"},
	}
	rg.run(t, tests)
	if r := rg.do("GET", "/v1/app/callback", "Bearer "+rg.a.APIKey, nil); r.status != 404 {
		t.Errorf("a refused callback was set: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ key, id, tags string }{{rg.a.APIKey, aID, `["news"]`}, {rg.b.APIKey, bID, `["vip"]`}} {
		r := rg.do("GET", "/v1/subscribers/"+c.id, "Bearer "+c.key, nil)
		var s struct {
			Tags  json.RawMessage `json:"tags"`
			Alias string          `json:"alias"`
		}
		if err := json.Unmarshal(r.body, &s); r.status != 200 || err != nil || string(s.Tags) != c.tags || s.Alias != "" {
			t.Errorf("device %s after the bad requests: %d %s", c.id, r.status, r.body)
		}
	}
}
