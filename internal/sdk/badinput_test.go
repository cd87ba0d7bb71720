package sdk_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/store"
)

// TestBadInputExact drives the SDK's registration endpoints with bad
// requests and checks the exact status, code, field and message, and
// that neither app's devices changed.
func TestBadInputExact(t *testing.T) {
	e := newEnv(t, false)
	mine := e.register(t, e.a.ID, map[string]any{"subscription": subscription(t), "tags": []string{"keep"}})
	theirs := e.register(t, e.b.ID, map[string]any{"subscription": subscription(t), "tags": []string{"theirs"}})
	appA := "?app=" + e.a.ID
	path := "/sdk/v1/subscribers/" + mine.RegistrationID + appA
	key := map[string]string{"X-Herald-Device-Key": mine.DeviceKey}
	wrongKey := "the device key does not belong to this registration; use the device_key its registration answered"
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               any
		status             int
		code, field, msg   string
	}{
		{"register: no app", "POST", "/sdk/v1/subscribers", nil, map[string]any{"subscription": subscription(t)}, 400, "invalid_field", "app", "app: no app named; pass ?app=<app id> (herald serve can also take --default-app)"},
		{"register: unknown app", "POST", "/sdk/v1/subscribers?app=app_nope", nil, map[string]any{"subscription": subscription(t)}, 404, "not_found", "app", "app app_nope not found"},
		{"register: unknown field", "POST", "/sdk/v1/subscribers" + appA, nil, map[string]any{"subscription": subscription(t), "colour": "red"}, 400, "unknown_field", "colour", "colour: unknown field"},
		{"register: over 16 KiB", "POST", "/sdk/v1/subscribers" + appA, nil, `{"alias":"` + strings.Repeat("x", 16<<10) + `"}`, 413, "body_too_large", "", "request body is larger than 16384 bytes"},
		{"register: replaces another app's device", "POST", "/sdk/v1/subscribers" + appA, nil,
			map[string]any{"subscription": subscription(t), "replaces": map[string]string{"registration_id": theirs.RegistrationID, "device_key": theirs.DeviceKey}}, 403, "forbidden", "replaces.device_key", wrongKey},
		{"update: no device key", "PATCH", path, nil, map[string]any{"alias": "u"}, 401, "unauthorized", "", "X-Herald-Device-Key header is missing; send the device_key the registration answered"},
		{"update: another device's key", "PATCH", path, map[string]string{"X-Herald-Device-Key": theirs.DeviceKey}, map[string]any{"alias": "u"}, 403, "forbidden", "", wrongKey},
		{"update: another app's device with its own key", "PATCH", "/sdk/v1/subscribers/" + theirs.RegistrationID + appA, map[string]string{"X-Herald-Device-Key": theirs.DeviceKey}, map[string]any{"alias": "u"}, 403, "forbidden", "", wrongKey},
		{"update: bad JSON", "PATCH", path, key, `{"alias":`, 400, "bad_json", "", "malformed JSON: the body ends before the value does"},
		{"update: unknown field", "PATCH", path, key, map[string]any{"touch": true}, 400, "unknown_field", "touch", "touch: unknown field"},
		{"update: tags a string", "PATCH", path, key, map[string]any{"tags": "x"}, 400, "wrong_type", "tags", "tags: must be an array, got string"},
		{"update: alias 129", "PATCH", path, key, map[string]any{"alias": strings.Repeat("u", 129)}, 400, "invalid_field", "alias", "alias: is longer than 128 bytes"},
		{"update: 101 tags", "PATCH", path, key, map[string]any{"tags_add": manyTags(101)}, 400, "invalid_field", "tags_add", "tags_add: has 101 tags, at most 100 are allowed"},
		{"delete: no device key", "DELETE", path, nil, nil, 401, "unauthorized", "", "X-Herald-Device-Key header is missing; send the device_key the registration answered"},
		{"delete: another app's device", "DELETE", "/sdk/v1/subscribers/" + theirs.RegistrationID + appA, map[string]string{"X-Herald-Device-Key": theirs.DeviceKey}, nil, 403, "forbidden", "", wrongKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, tc.method, tc.path, tc.body, tc.header)
			var eb api.ErrorBody
			if err := json.Unmarshal(a.body, &eb); err != nil || eb.Error == nil {
				t.Fatalf("%d %s is not an error body", a.status, a.body)
			}
			if got := eb.Error; a.status != tc.status || got.Code != tc.code || got.Field != tc.field || got.Message != tc.msg {
				t.Errorf("got %d %+v\nwant %d {code:%s field:%s message:%s}", a.status, *got, tc.status, tc.code, tc.field, tc.msg)
			}
			if a.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("an error without CORS: the page cannot read it")
			}
		})
	}
	for _, d := range []struct {
		app, id, tag string
	}{{e.a.ID, mine.RegistrationID, "keep"}, {e.b.ID, theirs.RegistrationID, "theirs"}} {
		s, err := e.reg.Get(t.Context(), d.app, d.id)
		if err != nil || strings.Join(s.Tags, ",") != d.tag || s.Alias != "" {
			t.Errorf("device %s after the bad requests: %+v %v", d.id, s, err)
		}
	}
	if n, _ := e.reg.Count(t.Context(), e.a.ID, store.SubscriberFilter{}); n != 1 {
		t.Errorf("app a has %d devices, want 1", n)
	}
}

func manyTags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "t" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	return out
}
