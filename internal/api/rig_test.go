package api_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/callback"
	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/send"
	"github.com/heraldpush/herald/internal/server"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// storeSubmitter stores a message as delivery.Engine does, without its
// jobs: the message row is what a bad request must not leave behind.
type storeSubmitter struct{ st *sqlite.Store }

func (s storeSubmitter) Submit(ctx context.Context, m store.Message) (store.Message, bool, error) {
	return s.st.CreateMessage(ctx, m, nil)
}

// noCancel is a Canceller for a rig that never cancels.
type noCancel struct{ st *sqlite.Store }

func (c noCancel) Cancel(ctx context.Context, appID string, id int64) (store.Message, error) {
	return c.st.Message(ctx, appID, id)
}

// rig is the /v1 API over a real SQLite store in a temp dir, served on
// 127.0.0.1, with two apps.
type rig struct {
	t    testing.TB
	st   *sqlite.Store
	h    http.Handler
	url  string
	a, b apps.Credentials
}

func newRig(t testing.TB) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	appSvc := apps.New(st, sealer, time.Now)
	rg := &rig{t: t, st: st}
	if rg.a, err = appSvc.Create(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if rg.b, err = appSvc.Create(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	policy, err := egress.New([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := server.Handler(log, st, nil, api.New(api.Deps{
		Apps: appSvc, Channels: apps.NewChannels(appSvc, st), Registry: registry.New(st, policy, time.Now),
		Send: send.New(storeSubmitter{st}, time.Now, send.WithSegments(st)), Messages: st, Canceller: noCancel{st}, Log: log,
		Callbacks: callback.NewService(st, sealer, time.Now),
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rg.h, rg.url = h, srv.URL
	return rg
}

type reply struct {
	status int
	body   []byte
}

// do sends one request; body is sent as is when a string, else encoded.
func (rg *rig) do(method, path, key string, body any) reply {
	rg.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			rg.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, rg.url+path, rd)
	if err != nil {
		rg.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); len(b) > 0 && ct != "application/json" {
		rg.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return reply{resp.StatusCode, b}
}

// errorOf decodes an error answer, refusing any other shape.
func (rg *rig) errorOf(r reply) api.Error {
	rg.t.Helper()
	var body struct {
		Error *api.Error `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		rg.t.Fatalf("error body %q: %v", r.body, err)
	}
	return *body.Error
}

// register adds one Web Push subscriber to the app with key and returns
// its registration id.
func (rg *rig) register(key string, endpoint string, tags ...string) string {
	rg.t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		rg.t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	r := rg.do("POST", "/v1/subscribers", "Bearer "+key, map[string]any{"type": "webpush", "tags": tags,
		"subscription": map[string]any{"endpoint": endpoint, "keys": map[string]string{"p256dh": enc(k.PublicKey().Bytes()), "auth": enc(make([]byte, 16))}}})
	var out struct {
		ID string `json:"registration_id"`
	}
	if err := json.Unmarshal(r.body, &out); r.status != 201 || err != nil {
		rg.t.Fatalf("register: %d %s", r.status, r.body)
	}
	return out.ID
}

// messages counts the app's messages in the store.
func (rg *rig) messages(appID string) int { return rg.messagesOf(rg.t, appID) }

// messagesOf is messages reporting to t (a fuzz target's own).
func (rg *rig) messagesOf(t testing.TB, appID string) int {
	t.Helper()
	list, err := rg.st.ListMessages(context.Background(), appID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// badCase is one row of a bad-input table.
type badCase struct {
	name         string
	method, path string
	key          string // "" is app A's API key; "-" sends no Authorization
	body         any
	status       int
	code, field  string
	msg          string
}

// run drives the table and checks the exact status, code, field and
// message of each answer.
func (rg *rig) run(t *testing.T, tests []badCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			switch key {
			case "":
				key = "Bearer " + rg.a.APIKey
			case "-":
				key = ""
			}
			r := rg.do(tc.method, tc.path, key, tc.body)
			e := rg.errorOf(r)
			if r.status != tc.status || e.Code != tc.code || e.Field != tc.field || e.Message != tc.msg {
				t.Errorf("got %d {code:%s field:%s message:%s}\nwant %d {code:%s field:%s message:%s}", r.status, e.Code, e.Field, e.Message, tc.status, tc.code, tc.field, tc.msg)
			}
		})
	}
}
