package najva

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

const (
	testToken  = "tok-a"
	testAPIKey = "7f3c9a52-1b2d-4e6f-8a9b-0c1d2e3f4a5b"
	otherToken = "tok-b"
	otherKey   = "11111111-2222-4333-8444-555555555555"
)

// fakeApps knows two apps, each with its token and api_key.
type fakeApps struct{ err error }

func (f fakeApps) ByNajvaToken(_ context.Context, token string) (store.App, error) {
	switch {
	case f.err != nil:
		return store.App{}, f.err
	case token == testToken:
		return store.App{ID: "app_a", NajvaAPIKey: testAPIKey}, nil
	case token == otherToken:
		return store.App{ID: "app_b", NajvaAPIKey: otherKey}, nil
	}
	return store.App{}, apps.ErrUnauthorized
}

// fakeSender validates with the real send rules and records sends.
type fakeSender struct {
	svc  *send.Service
	sent []send.Request
	err  error
}

func (f *fakeSender) Message(appID string, r send.Request) (store.Message, error) {
	return f.svc.Message(appID, r)
}

func (f *fakeSender) Send(ctx context.Context, appID string, r send.Request) (store.Message, bool, error) {
	if _, err := f.svc.Prepare(ctx, appID, r); err != nil {
		return store.Message{}, false, err
	}
	if f.err != nil {
		return store.Message{}, false, f.err
	}
	f.sent = append(f.sent, r)
	return store.Message{ID: int64(len(f.sent))}, true, nil
}

// fakeDevices holds registration ids per app.
type fakeDevices map[string][]string

func (f fakeDevices) Get(_ context.Context, appID, id string) (store.Subscriber, error) {
	for _, d := range f[appID] {
		if d == id {
			return store.Subscriber{AppID: appID, RegistrationID: id}, nil
		}
	}
	return store.Subscriber{}, fmt.Errorf("get %s: %w", id, registry.ErrNotFound)
}

// fakeSegments lists its segments; a segment's count is its number of
// tags_and entries times 50 (so the count visibly comes from its rules).
// All are app_a's but segment 7, app_b's.
type fakeSegments []store.Segment

func (f fakeSegments) ListSegments(context.Context, string) ([]store.Segment, error) { return f, nil }

func (f fakeSegments) Segment(context.Context, string, string) (store.Segment, error) {
	return store.Segment{}, store.ErrNotFound
}

func (f fakeSegments) SegmentByID(_ context.Context, appID string, id int64) (store.Segment, error) {
	for _, s := range f {
		if s.ID == id && s.AppID == appID {
			return s, nil
		}
	}
	return store.Segment{}, store.ErrNotFound
}

// seedSegments are the segments the seed's example names (1, 22, 12),
// and another app's.
var seedSegments = fakeSegments{{ID: 1, AppID: "app_a", Name: "one"}, {ID: 12, AppID: "app_a", Name: "twelve"},
	{ID: 22, AppID: "app_a", Name: "twenty-two"}, {ID: 7, AppID: "app_b", Name: "other"}}

func (f fakeSegments) CountAudience(_ context.Context, _ string, a store.Audience) (int64, error) {
	return int64(50 * len(a.TagsAnd)), nil
}

// now is the tests' clock: after every sent_time of the seeds.
var now = time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)

type rig struct {
	h    http.Handler
	sent *fakeSender
	logs *bytes.Buffer
}

func newRig(t *testing.T, d Deps) *rig {
	t.Helper()
	s := &fakeSender{svc: send.New(nil, func() time.Time { return now }, send.WithSegments(seedSegments))}
	logs := &bytes.Buffer{}
	if d.Apps == nil {
		d.Apps = fakeApps{}
	}
	if d.Devices == nil {
		d.Devices = fakeDevices{"app_a": {"r_one", "r_two"}, "app_b": {"r_other"}}
	}
	d.Send, d.Log = s, slog.New(slog.NewTextHandler(logs, nil))
	mux := http.NewServeMux()
	New(d, Options{Now: func() time.Time { return now }}).Register(mux)
	return &rig{h: mux, sent: s, logs: logs}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (rg *rig) do(method, path, auth, body string) reply {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	r.Header.Set("Content-Type", "application/json")
	rg.h.ServeHTTP(w, r)
	return reply{w.Code, w.Header(), strings.TrimSpace(w.Body.String())}
}

func readSeed(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// seedRequest fills a seed request's placeholders.
func seedRequest(t *testing.T, name, apiKey, action string, tokens ...string) string {
	t.Helper()
	q, _ := json.Marshal(tokens)
	return strings.NewReplacer(`<YOUR_API_KEY>`, `"`+apiKey+`"`, `<YOUR_ACTION>`, action,
		`[TOKEN1, TOKEN2, ...]`, string(q)).Replace(readSeed(t, name))
}

// shape reduces a JSON value to its keys and types, keeping the strings
// of the keys in fixed (the seed's fixed texts).
func shape(v any, fixed map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if s, ok := e.(string); ok && fixed[k] {
				out[k] = s
				continue
			}
			out[k] = shape(e, fixed)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shape(x[0], fixed)}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

var fixedTexts = map[string]bool{"detail": true, "result": true}

// sameShape checks got has the seed answer's shape.
func sameShape(t *testing.T, got, seed string) {
	t.Helper()
	var g, s any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("answer %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(seed), &s); err != nil {
		t.Fatalf("seed answer %q: %v", seed, err)
	}
	if gs, ss := shape(g, fixedTexts), shape(s, fixedTexts); !reflect.DeepEqual(gs, ss) {
		t.Errorf("answer %s\nhas shape %v\nthe seed's %v", got, gs, ss)
	}
}

// sameJSON checks got and want are the same JSON value.
func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal([]byte(want), &w) != nil || !reflect.DeepEqual(g, w) {
		t.Errorf("answer %s\nwant %s", got, want)
	}
}

// TestSeedExamples sends seed 004's own example requests and gets its own
// answers: 200 and 201 in shape, the empty body's 400 exactly.
func TestSeedExamples(t *testing.T) {
	rg := newRig(t, Deps{})
	a := rg.do("POST", PathNotifications, "Token "+testToken,
		seedRequest(t, "seed_notifications_request.json", testAPIKey, "open-link"))
	if a.status != 200 || a.header.Get("X-Herald-Message-Id") != "1" {
		t.Fatalf("notifications: %d %v %s", a.status, a.header, a.body)
	}
	sameShape(t, a.body, readSeed(t, "seed_notifications_200.json"))
	if to := rg.sent.sent[0].To; to.All || !reflect.DeepEqual(to.Segments, []send.SegmentRef{{ID: 1}, {ID: 22}}) || !reflect.DeepEqual(to.SegmentsExclude, []send.SegmentRef{{ID: 12}}) {
		t.Errorf("seed example's target: %+v", to)
	}
	a = rg.do("POST", PathTokenNotifications, "Token "+testToken, seedRequest(t, "seed_tokens_request.json", testAPIKey, "open-link", "r_one", "r_two"))
	if a.status != 201 {
		t.Fatalf("token notifications: %d %s", a.status, a.body)
	}
	sameShape(t, a.body, readSeed(t, "seed_tokens_201.json"))
	var c created
	json.Unmarshal([]byte(a.body), &c)
	if c.Count != 2 || c.Details.SentTime != "2019-01-07T12:00:00" || *c.Details.Icon != "https://images.pexels.com/photos/236047/pexels-photo-236047.jpeg?cs=srgb&dl=clouds-cloudy-countryside-236047.jpg&fm=jpg" {
		t.Errorf("token notifications: %s", a.body)
	}
	if len(rg.sent.sent) != 2 || !reflect.DeepEqual(rg.sent.sent[1].To.RegistrationIDs, []string{"r_one", "r_two"}) {
		t.Errorf("sends: %+v", rg.sent.sent)
	}
	a = rg.do("POST", PathTokenNotifications, "Token "+testToken, "")
	if a.status != 400 {
		t.Errorf("empty body: %d %s", a.status, a.body)
	}
	sameJSON(t, a.body, readSeed(t, "seed_tokens_400.json"))
	a = rg.do("POST", PathTokenNotifications, "", "{}")
	if a.status != 403 {
		t.Errorf("no token: %d %s", a.status, a.body)
	}
	sameJSON(t, a.body, readSeed(t, "seed_tokens_403.json"))
	for _, tc := range []struct {
		auth, seed string
		status     int
	}{
		{"", "seed_notifications_401.json", 401},
		{"Token " + otherToken, "seed_notifications_403.json", 403},
		{"Token nobody", "seed_notifications_404.json", 404},
	} {
		a = rg.do("POST", PathNotifications, tc.auth, seedRequest(t, "seed_notifications_request.json", testAPIKey, "open-link"))
		if a.status != tc.status {
			t.Errorf("%s: %d %s", tc.seed, a.status, a.body)
		}
		sameJSON(t, a.body, readSeed(t, tc.seed))
	}
	a = rg.do("GET", PathOneSignals, "Token "+testToken, "")
	if a.status != 200 || a.body != "[]" {
		t.Errorf("one-signals: %d %s", a.status, a.body)
	}
	if len(rg.sent.sent) != 2 {
		t.Errorf("refused requests sent: %+v", rg.sent.sent[2:])
	}
}

// TestSegmentsList lists segments with both spellings of the count and
// the seed's shape, and refuses another app's api_key.
func TestSegmentsList(t *testing.T) {
	rg := newRig(t, Deps{Segments: fakeSegments{{ID: 2, Name: "segment1", Title: "مشترکینی که آخرین کلیکشان در ۶ ساعت اخیر بوده است.", Rules: store.SegmentRules{TagsAnd: []string{"a", "b"}}}}})
	a := rg.do("GET", "/api/v1/websites/"+testAPIKey+"/segments/", "Token "+testToken, "")
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	sameJSON(t, a.body, `[{"id":2,"name":"segment1","human_readable_name":"مشترکینی که آخرین کلیکشان در ۶ ساعت اخیر بوده است.","subscriber_count":100,"subsriber_count":100}]`)
	var got []map[string]any
	json.Unmarshal([]byte(a.body), &got)
	delete(got[0], "subscriber_count")
	b, _ := json.Marshal(got)
	sameJSON(t, string(b), readSeed(t, "seed_segments_200.json"))
	for _, tc := range []struct{ path, auth, want string }{
		{"/api/v1/websites/" + otherKey + "/segments/", "Token " + testToken, `{"detail":"you are not owner of this website"}`},
		{"/api/v1/websites/" + testAPIKey + "/segments/", "Token " + otherToken, `{"detail":"you are not owner of this website"}`},
		{"/api/v1/websites/" + testAPIKey + "/segments/", "Bearer " + testToken, `{"detail":"unauthorized"}`},
		{"/api/v1/websites/" + testAPIKey + "/segments/", "Token x", `{"detail":"user with this Token does not exists"}`},
	} {
		if a := rg.do("GET", tc.path, tc.auth, ""); a.body != tc.want {
			t.Errorf("%s %s: %d %s, want %s", tc.path, tc.auth, a.status, a.body, tc.want)
		}
	}
	if a := newRig(t, Deps{}).do("GET", "/api/v1/websites/"+testAPIKey+"/segments", "Token "+testToken, ""); a.status != 200 || a.body != "[]" {
		t.Errorf("no segments, no slash: %d %s", a.status, a.body)
	}
}

// TestMethods answers a wrong method with Django REST framework's 405.
func TestMethods(t *testing.T) {
	rg := newRig(t, Deps{})
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", PathNotifications, "POST"},
		{"PUT", PathTokenNotifications, "POST"},
		{"POST", PathOneSignals, "GET"},
		{"DELETE", "/api/v1/websites/" + testAPIKey + "/segments/", "GET"},
	} {
		a := rg.do(tc.method, tc.path, "Token "+testToken, "")
		if want := fmt.Sprintf(`{"detail":"Method \"%s\" not allowed."}`, tc.method); a.status != 405 || a.body != want || a.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %s %v", tc.method, tc.path, a.status, a.body, a.header)
		}
	}
}

// TestServerFaults answers a store fault with 500 and no cause, and logs
// the cause.
func TestServerFaults(t *testing.T) {
	rg := newRig(t, Deps{Apps: fakeApps{err: errors.New("disk on fire")}})
	a := rg.do("POST", PathNotifications, "Token "+testToken, "{}")
	if a.status != 500 || a.body != `{"detail":"A server error occurred."}` || !strings.Contains(rg.logs.String(), "disk on fire") {
		t.Errorf("%d %s; log %s", a.status, a.body, rg.logs)
	}
	rg = newRig(t, Deps{})
	rg.sent.err = errors.New("queue full")
	body := `{"api_key":"` + testAPIKey + `","title":"t","body":"b","url":"/","sent_time":"2020-01-01T00:00:00","one_signal_enabled":false}`
	if a := rg.do("POST", PathNotifications, "Token "+testToken, body); a.status != 500 || strings.Contains(a.body, "queue") {
		t.Errorf("send fault: %d %s", a.status, a.body)
	}
}
