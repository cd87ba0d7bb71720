package tracking_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/server"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
	"github.com/heraldpush/herald/internal/tracking"
)

// events is the events endpoint over a real store with two apps, a
// subscriber and a message in each.
type events struct {
	url      string
	st       *sqlite.Store
	keys     *tracking.Keys
	now      time.Time
	rid      string // app a's subscriber
	msgA     int64
	msgB     int64
	otherRID string // app b's subscriber
}

func newEvents(t testing.TB) *events {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	rand.Read(master)
	keys, err := tracking.DeriveKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	e := &events{st: st, keys: keys, now: time.Now().UTC().Truncate(time.Millisecond)}
	for _, id := range []string{"a", "b"} {
		if err := st.CreateApp(ctx, store.App{ID: id, Name: id, CreatedAt: e.now}); err != nil {
			t.Fatal(err)
		}
		res, err := st.UpsertSubscriber(ctx, store.Subscriber{AppID: id, RegistrationID: "r_" + id + "_1", Channel: store.ChannelFCM,
			Token: "tok-" + id, LastActiveAt: e.now.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := st.CreateMessage(ctx, store.Message{AppID: id, State: store.StateQueued, Content: []byte(`{"title":"t"}`),
			TTL: time.Hour, SendAt: e.now, CreatedAt: e.now}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id == "a" {
			e.rid, e.msgA = res.Subscriber.RegistrationID, m.ID
		} else {
			e.otherRID, e.msgB = res.Subscriber.RegistrationID, m.ID
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(server.Handler(log, st, nil, tracking.New(st, keys, "", func() time.Time { return e.now }, log)))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (e *events) post(t *testing.T, query, contentType, body string) reply {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url+"/sdk/v1/events"+query, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", "https://site.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// report posts {"type","message_id","rid","sig"} for app.
func (e *events) report(t *testing.T, app, kind string, msg int64, rid, sig string) reply {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"type": kind, "message_id": strconv.FormatInt(msg, 10), "rid": rid, "sig": sig})
	return e.post(t, "?app="+app, "text/plain;charset=UTF-8", string(b))
}

func (e *events) counters(t *testing.T, app string, id int64) (received, clicked int64) {
	t.Helper()
	m, err := e.st.Message(t.Context(), app, id)
	if err != nil {
		t.Fatal(err)
	}
	return m.Received, m.Clicked
}

func code(body string) string {
	var v struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal([]byte(body), &v)
	return v.Error.Code
}

func TestEventsCountOnce(t *testing.T) {
	e := newEvents(t)
	sig := e.keys.Sig("a", e.msgA, e.rid)
	r := e.report(t, "a", "received", e.msgA, e.rid, sig)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"counted":true`) || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("first received report: %d %s %v", r.status, r.body, r.header)
	}
	if r := e.report(t, "a", "received", e.msgA, e.rid, sig); r.status != http.StatusOK || !strings.Contains(r.body, `"counted":false`) {
		t.Fatalf("repeated received report: %d %s", r.status, r.body)
	}
	if rec, clk := e.counters(t, "a", e.msgA); rec != 1 || clk != 0 {
		t.Fatalf("after two received reports: received %d, clicked %d; want 1, 0", rec, clk)
	}
	// The message id as a number, the app in the body, JSON content type.
	body := `{"type":"clicked","message_id":` + strconv.FormatInt(e.msgA, 10) + `,"rid":"` + e.rid + `","sig":"` + sig + `","app":"a","action":"open"}`
	if r := e.post(t, "", "application/json", body); r.status != http.StatusOK || !strings.Contains(r.body, `"counted":true`) {
		t.Fatalf("clicked report: %d %s", r.status, r.body)
	}
	for range 3 {
		e.report(t, "a", "clicked", e.msgA, e.rid, sig)
	}
	if rec, clk := e.counters(t, "a", e.msgA); rec != 1 || clk != 1 {
		t.Fatalf("after repeated clicks: received %d, clicked %d; want 1, 1", rec, clk)
	}
	s, err := e.st.Subscriber(t.Context(), "a", e.rid)
	if err != nil || !s.LastClickedAt.Equal(e.now) || !s.LastActiveAt.Equal(e.now) {
		t.Fatalf("subscriber %+v (%v): want last clicked and last active %v", s, err, e.now)
	}
}

func TestEventsRefuse(t *testing.T) {
	e := newEvents(t)
	sigA := e.keys.Sig("a", e.msgA, e.rid)
	sigB := e.keys.Sig("b", e.msgB, e.otherRID)
	msg := strconv.FormatInt(e.msgA, 10)
	tests := []struct {
		name, query, body string
		status            int
		code              string
	}{
		{"wrong signature", "?app=a", `{"type":"received","message_id":"` + msg + `","rid":"` + e.rid + `","sig":"` + strings.Repeat("A", 22) + `"}`, 403, "forbidden"},
		{"another registration's signature", "?app=a", `{"type":"received","message_id":"` + msg + `","rid":"r_other","sig":"` + sigA + `"}`, 403, "forbidden"},
		{"another message's signature", "?app=a", `{"type":"received","message_id":"` + strconv.FormatInt(e.msgA+1000, 10) + `","rid":"` + e.rid + `","sig":"` + sigA + `"}`, 403, "forbidden"},
		// App b's message with app b's valid signature, presented as app a's.
		{"another app's message and signature", "?app=a", `{"type":"clicked","message_id":"` + strconv.FormatInt(e.msgB, 10) + `","rid":"` + e.otherRID + `","sig":"` + sigB + `"}`, 403, "forbidden"},
		// Even signed for app a (only Herald could), app b's message is not app a's.
		{"another app's message, signed for this app", "?app=a", `{"type":"clicked","message_id":"` + strconv.FormatInt(e.msgB, 10) + `","rid":"` + e.otherRID + `","sig":"` + e.keys.Sig("a", e.msgB, e.otherRID) + `"}`, 404, "not_found"},
		{"unknown message", "?app=a", `{"type":"received","message_id":"999999","rid":"` + e.rid + `","sig":"` + e.keys.Sig("a", 999999, e.rid) + `"}`, 404, "not_found"},
		{"bad type", "?app=a", `{"type":"opened","message_id":"` + msg + `","rid":"` + e.rid + `","sig":"` + sigA + `"}`, 400, "invalid_field"},
		{"bad message id", "?app=a", `{"type":"received","message_id":"abc","rid":"` + e.rid + `","sig":"` + sigA + `"}`, 400, "invalid_field"},
		{"negative message id", "?app=a", `{"type":"received","message_id":-1,"rid":"` + e.rid + `","sig":"` + sigA + `"}`, 400, "invalid_field"},
		{"no message id", "?app=a", `{"type":"received","rid":"` + e.rid + `","sig":"` + sigA + `"}`, 400, "invalid_field"},
		{"no rid", "?app=a", `{"type":"received","message_id":"` + msg + `","sig":"` + sigA + `"}`, 400, "invalid_field"},
		{"no sig", "?app=a", `{"type":"received","message_id":"` + msg + `","rid":"` + e.rid + `"}`, 400, "invalid_field"},
		{"no app", "", `{"type":"received","message_id":"` + msg + `","rid":"` + e.rid + `","sig":"` + sigA + `"}`, 400, "invalid_field"},
		{"not JSON", "?app=a", `type=received`, 400, "bad_json"},
		{"empty", "?app=a", ``, 400, "empty_body"},
		{"too large", "?app=a", `{"type":"received","pad":"` + strings.Repeat("x", 5000) + `"}`, 413, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tc.query, "text/plain", tc.body)
			if r.status != tc.status || code(r.body) != tc.code {
				t.Fatalf("%d %s; want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("an error without CORS")
			}
		})
	}
	for _, m := range []struct {
		app string
		id  int64
	}{{"a", e.msgA}, {"b", e.msgB}} {
		if rec, clk := e.counters(t, m.app, m.id); rec != 0 || clk != 0 {
			t.Errorf("app %s's message counts received %d, clicked %d after refused reports; want 0, 0", m.app, rec, clk)
		}
	}
	if s, _ := e.st.Subscriber(t.Context(), "b", e.otherRID); !s.LastClickedAt.IsZero() {
		t.Error("a refused report touched app b's subscriber")
	}
}

func TestEventsPreflight(t *testing.T) {
	e := newEvents(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, e.url+"/sdk/v1/events", bytes.NewReader(nil))
	req.Header.Set("Origin", "https://site.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
