package guide

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/store"
)

// twoApps knows app_a (API key "key-a") and app_b.
type twoApps struct{}

func (twoApps) App(_ context.Context, id string) (store.App, error) {
	if id == "app_a" || id == "app_b" {
		return store.App{ID: id}, nil
	}
	return store.App{}, fmt.Errorf("app %s: %w", id, store.ErrNotFound)
}

func (twoApps) ByAPIKey(_ context.Context, key string) (store.App, error) {
	if key == "key-a" {
		return store.App{ID: "app_a"}, nil
	}
	return store.App{}, apps.ErrUnauthorized
}

// recorder keeps what was registered and submitted; a registration whose
// endpoint ends in "/bad" is refused as the registry refuses bad keys.
type recorder struct {
	regs []registry.Registration
	msgs []store.Message
}

func (r *recorder) Register(_ context.Context, appID string, reg registry.Registration) (store.UpsertResult, error) {
	if strings.HasSuffix(reg.Endpoint, "/bad") {
		return store.UpsertResult{}, &registry.FieldError{Field: "subscription.keys.p256dh", Message: "not a P-256 point"}
	}
	r.regs = append(r.regs, reg)
	return store.UpsertResult{}, nil
}

func (r *recorder) Submit(_ context.Context, m store.Message) (store.Message, bool, error) {
	r.msgs = append(r.msgs, m)
	m.ID = int64(len(r.msgs))
	return m, true, nil
}

func newGuide(rec *recorder) http.Handler {
	mux := http.NewServeMux()
	New(twoApps{}, rec, rec, "", slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	return mux
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func post(h http.Handler, method, path, auth, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	h.ServeHTTP(w, r)
	return w
}

// TestSeedClient sends the subscription as the guide's client does
// (sendToServer stringifies what is already JSON.stringify's output) and
// as a plain object, and gets the guide's own answer, which the client's
// checks (res.ok, resData.data.success) accept.
func TestSeedClient(t *testing.T) {
	sub := testdata(t, "seed_subscription.json")
	twice, _ := json.Marshal(sub) // JSON.stringify(JSON.stringify(pushSubscription))
	for name, body := range map[string]string{"stringified twice": string(twice), "plain": sub} {
		rec := &recorder{}
		w := post(newGuide(rec), "POST", "/api/subscription?app=app_a", "", body)
		if w.Code != 200 || strings.TrimSpace(w.Body.String()) != testdata(t, "seed_success.json") || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		var resData struct {
			Data struct{ Success bool } `json:"data"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resData); err != nil || !resData.Data.Success {
			t.Errorf("%s: the guide's client would throw on %s", name, w.Body)
		}
		if len(rec.regs) != 1 || !strings.HasPrefix(rec.regs[0].Endpoint, "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:") ||
			rec.regs[0].Auth != "4vQK-SvRAN5eo-8ASlrwA==" || rec.regs[0].Channel != store.ChannelWebPush {
			t.Errorf("%s: registered %+v", name, rec.regs)
		}
	}
	// The guide's /api/push is called with no body (dataToSend is not
	// defined by the guide): it answers success and pushes a default.
	rec := &recorder{}
	w := post(newGuide(rec), "POST", "/api/push", "Bearer key-a", "")
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != testdata(t, "seed_success.json") || w.Header().Get("X-Herald-Message-Id") != "1" {
		t.Fatalf("push: %d %s", w.Code, w.Body)
	}
	if len(rec.msgs) != 1 || rec.msgs[0].AppID != "app_a" || !bytes.Contains(rec.msgs[0].Content, []byte(`New notification`)) {
		t.Errorf("submitted %+v", rec.msgs)
	}
}

// TestBadInput drives both endpoints with bad requests and checks the
// exact status and body, and that nothing was registered or submitted.
func TestBadInput(t *testing.T) {
	noEndpoint := testdata(t, "seed_no_endpoint.json")
	big := `{"endpoint":"https://x.test/","pad":"` + strings.Repeat("x", maxBody) + `"}`
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		want                           string
	}{
		{"no body", "POST", "/api/subscription?app=app_a", "", "", 400, noEndpoint},
		{"bad JSON", "POST", "/api/subscription?app=app_a", "", `{"endpoint":`, 400, noEndpoint},
		{"an array", "POST", "/api/subscription?app=app_a", "", `[{"endpoint":"https://x.test/"}]`, 400, noEndpoint},
		{"endpoint a number", "POST", "/api/subscription?app=app_a", "", `{"endpoint":5}`, 400, noEndpoint},
		{"empty endpoint", "POST", "/api/subscription?app=app_a", "", `{"endpoint":""}`, 400, noEndpoint},
		{"a string without a subscription", "POST", "/api/subscription?app=app_a", "", `"hello"`, 400, noEndpoint},
		{"too large", "POST", "/api/subscription?app=app_a", "", big, 413, `{"error":{"id":"subscription-too-large","message":"Subscription body is larger than 16384 bytes"}}`},
		{"bad keys", "POST", "/api/subscription?app=app_a", "", `{"endpoint":"https://x.test/bad"}`, 400, `{"error":{"id":"invalid-subscription","message":"keys.p256dh: not a P-256 point"}}`},
		{"no app", "POST", "/api/subscription", "", `{"endpoint":"https://x.test/1"}`, 400, `{"error":{"id":"unknown-app","message":"No app named: pass ?app=<app id> or the header X-Herald-App, or start herald serve with --default-app"}}`},
		{"unknown app", "POST", "/api/subscription?app=app_z", "", `{"endpoint":"https://x.test/1"}`, 400, `{"error":{"id":"unknown-app","message":"No app with id app_z"}}`},
		{"GET subscription", "GET", "/api/subscription?app=app_a", "", "", 405, `{"error":{"id":"method-not-allowed","message":"Only POST is supported on /api/subscription"}}`},
		{"push without a key", "POST", "/api/push", "", `{"title":"x"}`, 401, `{"error":{"id":"unauthorized","message":"Send the app's API key as Authorization: Bearer <api_key>"}}`},
		{"push with Basic", "POST", "/api/push", "Basic a2V5LWE6", `{"title":"x"}`, 401, `{"error":{"id":"unauthorized","message":"Send the app's API key as Authorization: Bearer <api_key>"}}`},
		{"push with another credential", "POST", "/api/push", "Bearer wta_not-an-api-key", `{"title":"x"}`, 401, `{"error":{"id":"unauthorized","message":"API key matches no app"}}`},
		{"push over one push", "POST", "/api/push", "Bearer key-a", `"` + strings.Repeat("x", 4000) + `"`, 413, `{"error":{"id":"payload-too-large","message":"The payload is larger than 3993 bytes, the most one push carries"}}`},
		{"push text over one push once quoted", "POST", "/api/push", "Bearer key-a", strings.Repeat("\"", 2000), 413, `{"error":{"id":"payload-too-large","message":"The payload is larger than 3993 bytes, the most one push carries"}}`},
		{"GET push", "GET", "/api/push", "Bearer key-a", "", 405, `{"error":{"id":"method-not-allowed","message":"Only POST is supported on /api/push"}}`},
	}
	rec := &recorder{}
	h := newGuide(rec)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := post(h, tc.method, tc.path, tc.auth, tc.body)
			if got := strings.TrimSpace(w.Body.String()); w.Code != tc.status || got != tc.want || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %s\nwant %d %s", w.Code, got, tc.status, tc.want)
			}
		})
	}
	if len(rec.regs) != 0 || len(rec.msgs) != 0 {
		t.Errorf("bad requests registered %d and submitted %d", len(rec.regs), len(rec.msgs))
	}
}

// FuzzParse: parse never panics, and what it accepts has the endpoint the
// body (or the string it holds) names.
func FuzzParse(f *testing.F) {
	sub, err := os.ReadFile("testdata/seed_subscription.json")
	if err != nil {
		f.Fatal(err)
	}
	twice, _ := json.Marshal(string(sub))
	for _, s := range [][]byte{sub, twice, []byte(``), []byte(`"x"`), []byte(`{"endpoint":1}`), []byte(`"\"{\\\"endpoint\\\":\\\"e\\\"}\""`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, ok := parse(body)
		if !ok {
			return
		}
		var direct, inner subscriptionBody
		trimmed := bytes.TrimSpace(body)
		if json.Unmarshal(trimmed, &direct) == nil && len(trimmed) > 0 && trimmed[0] != '"' {
			if s != direct {
				t.Fatalf("%q: parsed %+v, want %+v", body, s, direct)
			}
			return
		}
		var str string
		if json.Unmarshal(trimmed, &str) != nil || json.Unmarshal([]byte(str), &inner) != nil || s != inner {
			t.Fatalf("%q: accepted as %+v", body, s)
		}
	})
}
