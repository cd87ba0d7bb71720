package engagelab

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/delivery"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/store"
)

const (
	testKey    = "0123456789abcdef01234567"
	testSecret = "secret"
)

type fakeApps struct{ err error }

func (f fakeApps) ByEngageLab(_ context.Context, key, secret string) (store.App, error) {
	if f.err != nil {
		return store.App{}, f.err
	}
	if key != testKey || secret != testSecret {
		return store.App{}, apps.ErrUnauthorized
	}
	return store.App{ID: "app_1"}, nil
}

// fakeSender builds messages with the real send rules and records sends.
type fakeSender struct {
	svc  *send.Service
	sent []send.Request
	err  error
}

func (f *fakeSender) Message(appID string, r send.Request) (store.Message, error) {
	return f.svc.Message(appID, r)
}

func (f *fakeSender) Send(ctx context.Context, appID string, r send.Request) (store.Message, bool, error) {
	if f.err != nil {
		return store.Message{}, false, f.err
	}
	f.sent = append(f.sent, r)
	return store.Message{ID: int64(len(f.sent))}, true, nil
}

type fakeStore struct {
	messages map[int64]store.Message
	matches  int
}

func (f fakeStore) Message(_ context.Context, _ string, id int64) (store.Message, error) {
	m, ok := f.messages[id]
	if !ok {
		return store.Message{}, store.ErrNotFound
	}
	return m, nil
}

func (f fakeStore) AudiencePage(context.Context, string, store.Audience, int64, int) ([]store.Recipient, error) {
	return make([]store.Recipient, f.matches), nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(o Options, sender *fakeSender, st fakeStore, a fakeApps) http.Handler {
	if sender.svc == nil {
		sender.svc = send.New(nil, nil)
	}
	mux := http.NewServeMux()
	New(Deps{Apps: a, Send: sender, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, o).Register(mux)
	return mux
}

func basic(key, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))
}

type answer struct {
	status int
	code   int
	msg    string
	header http.Header
	body   string
}

func call(h http.Handler, method, auth, body string) answer {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, "/v4/push", strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	h.ServeHTTP(w, r)
	var e Error
	json.Unmarshal(w.Body.Bytes(), &e)
	return answer{w.Code, e.Code, e.Message, w.Header(), strings.TrimSpace(w.Body.String())}
}

const okBody = `{"to":"all","body":{"platform":"web","notification":{"web":{"alert":"a","url":"/"}}}}`

// TestRateLimit checks the token bucket per app through the handler: the
// burst passes, the next request is 23008 with 429 and Retry-After, and a
// second later the bucket has refilled.
func TestRateLimit(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	s := &fakeSender{}
	h := newTest(Options{Rate: 5, Burst: 5, Now: c.now}, s, fakeStore{matches: 1}, fakeApps{})
	for i := range 5 {
		if a := call(h, "POST", basic(testKey, testSecret), okBody); a.status != 200 {
			t.Fatalf("request %d: %+v", i, a)
		}
	}
	a := call(h, "POST", basic(testKey, testSecret), okBody)
	if a.status != 429 || a.code != 23008 || a.msg != "rate limit reached: at most 5 requests a second per AppKey" || a.header.Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %+v", a)
	}
	c.t = c.t.Add(200 * time.Millisecond)
	if a := call(h, "POST", basic(testKey, testSecret), okBody); a.status != 200 {
		t.Fatalf("after a refill: %+v", a)
	}
	if a := call(h, "POST", basic(testKey, testSecret), okBody); a.status != 429 {
		t.Fatalf("one token refilled, two taken: %+v", a)
	}
	if len(s.sent) != 6 {
		t.Errorf("%d sends, want 6", len(s.sent))
	}
}

func TestLimiterDefaults(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	l := newLimiter(DefaultRate, DefaultBurst, c.now)
	n := 0
	for ok := true; ok; n++ {
		ok, _ = l.allow("a")
	}
	if n-1 != 500 {
		t.Errorf("burst %d, want 500", n-1)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another app shares the bucket")
	}
	c.t = c.t.Add(time.Second)
	n = 0
	for ok := true; ok; n++ {
		ok, _ = l.allow("a")
	}
	if n-1 != 500 {
		t.Errorf("after a second %d, want 500", n-1)
	}
}

// TestAuthAndMethod checks the answers before the body is read.
func TestAuthAndMethod(t *testing.T) {
	h := newTest(Options{}, &fakeSender{}, fakeStore{matches: 1}, fakeApps{})
	for _, tc := range []struct {
		method, auth string
		status, code int
		msg          string
	}{
		{"GET", basic(testKey, testSecret), 405, 21001, "only POST is supported on /v4/push, got GET"},
		{"POST", "", 401, 27001, "authentication info is empty: send Authorization: Basic base64(AppKey:MasterSecret)"},
		{"POST", basic("", ""), 401, 27001, "authentication info is empty: AppKey and MasterSecret are both required"},
		{"POST", "Bearer x", 401, 21004, "authentication failed: Authorization must be Basic base64(AppKey:MasterSecret)"},
		{"POST", "Basic !!!", 401, 21004, "authentication failed: the Basic credentials are not base64"},
		{"POST", "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey)), 401, 21004, "authentication failed: the Basic credentials must be AppKey:MasterSecret"},
		{"POST", basic(" "+testKey, testSecret), 400, 21008, "app_key: is not an AppKey (24 hex digits); check it against the app's credentials and for stray spaces"},
		{"POST", basic(testKey, "wrong"), 401, 21004, "authentication failed: AppKey and MasterSecret match no app"},
	} {
		a := call(h, tc.method, tc.auth, okBody)
		if a.status != tc.status || a.code != tc.code || a.msg != tc.msg {
			t.Errorf("%s %q: %+v\nwant %d %d %q", tc.method, tc.auth, a, tc.status, tc.code, tc.msg)
		}
	}
	if a := call(h, "GET", "", ""); a.header.Get("Allow") != "POST" || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("405 headers %v", a.header)
	}
}

// TestServerFaults checks a fault is 27000 (500), a timeout 21030 (503),
// and neither shows its cause.
func TestServerFaults(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   int
	}{
		{errors.New("disk on fire"), 500, 27000},
		{context.DeadlineExceeded, 503, 21030},
	} {
		h := newTest(Options{}, &fakeSender{err: tc.err}, fakeStore{matches: 1}, fakeApps{})
		a := call(h, "POST", basic(testKey, testSecret), okBody)
		if a.status != tc.status || a.code != tc.code || strings.Contains(a.body, "fire") {
			t.Errorf("%v: %+v", tc.err, a)
		}
		h = newTest(Options{}, &fakeSender{}, fakeStore{}, fakeApps{err: tc.err})
		if a := call(h, "POST", basic(testKey, testSecret), okBody); a.status != tc.status || a.code != tc.code {
			t.Errorf("auth %v: %+v", tc.err, a)
		}
	}
}

// TestOverride checks override_msg_id takes the tag the earlier message
// was shown with, following a chain of overrides.
func TestOverride(t *testing.T) {
	content := func(c delivery.Content) []byte { b, _ := json.Marshal(c); return b }
	st := fakeStore{matches: 1, messages: map[int64]store.Message{
		7: {ID: 7, Content: content(delivery.Content{Title: "t", TagPrefix: TagPrefix})},
		8: {ID: 8, Content: content(delivery.Content{Title: "t", Tag: "el-7"})},
		9: {ID: 9, Content: content(delivery.Content{Title: "t"})},
	}}
	for id, want := range map[string]string{"7": "el-7", `"8"`: "el-7", "9": "el-9", "12345": "el-12345"} {
		s := &fakeSender{}
		h := newTest(Options{}, s, st, fakeApps{})
		body := `{"to":"all","body":{"platform":"web","notification":{"web":{"alert":"a","url":"/"}},"options":{"override_msg_id":` + id + `}}}`
		if a := call(h, "POST", basic(testKey, testSecret), body); a.status != 200 {
			t.Fatalf("%s: %+v", id, a)
		}
		if s.sent[0].Replace != want {
			t.Errorf("override %s: replace %q, want %q", id, s.sent[0].Replace, want)
		}
	}
}

// TestNoTarget checks a target matching nobody is 21011 and sends nothing.
func TestNoTarget(t *testing.T) {
	s := &fakeSender{}
	h := newTest(Options{}, s, fakeStore{}, fakeApps{})
	a := call(h, "POST", basic(testKey, testSecret), `{"to":{"tag":["x"]},"body":{"platform":"web","notification":{"web":{"alert":"a","url":"/"}}}}`)
	if a.status != 400 || a.code != 21011 || a.msg != "to: no device of this app matches the target" || len(s.sent) != 0 {
		t.Errorf("%+v, %d sent", a, len(s.sent))
	}
	if a := call(h, "POST", basic(testKey, testSecret), okBody); a.status != 200 || a.body != `{"msg_id":"1"}` {
		t.Errorf(`"all" with nobody active: %+v`, a)
	}
}

// slowApps answers only when the request's context ends.
type slowApps struct{}

func (slowApps) ByEngageLab(ctx context.Context, _, _ string) (store.App, error) {
	<-ctx.Done()
	return store.App{}, ctx.Err()
}

// TestTimeout checks a request whose store work outlives Options.Timeout
// is answered 21030 (503).
func TestTimeout(t *testing.T) {
	mux := http.NewServeMux()
	New(Deps{Apps: slowApps{}, Send: &fakeSender{svc: send.New(nil, nil)}, Store: fakeStore{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Options{Timeout: time.Millisecond}).Register(mux)
	a := call(mux, "POST", basic(testKey, testSecret), okBody)
	if a.status != 503 || a.code != 21030 || a.msg != "internal timeout; retry later" {
		t.Errorf("%+v", a)
	}
}
