package sdk_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/sdk"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/server"
	"github.com/heraldpush/herald/internal/store/sqlite"
	"github.com/heraldpush/herald/internal/tracking"
	"github.com/heraldpush/herald/internal/webpush"
)

// env is the SDK and events handlers over a real store, on loopback.
type env struct {
	srv  *httptest.Server
	st   *sqlite.Store
	apps *apps.Service
	reg  *registry.Service
	keys *tracking.Keys
	a, b apps.Credentials // two apps, for isolation
}

func newEnv(t testing.TB, defaultApp bool) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	rand.Read(master)
	sealer, err := secret.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tracking.DeriveKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := egress.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, apps: apps.New(st, sealer, time.Now), reg: registry.New(st, policy, time.Now), keys: keys}
	if e.a, err = e.apps.Create(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if e.b, err = e.apps.Create(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	def := ""
	if defaultApp {
		def = e.a.ID
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := server.Handler(log, st, nil,
		sdk.New(sdk.Deps{Apps: e.apps, Channels: apps.NewChannels(e.apps, st), Registry: e.reg, Keys: keys, DefaultApp: def, Log: log}),
		tracking.New(st, keys, def, time.Now, log))
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// answer is one HTTP exchange's result.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %s: %v", a.body, err)
	}
}

// errCode is the code of an {"error":{...}} body, or "".
func (a answer) errCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(a.body, &e)
	return e.Error.Code
}

// do sends one request; body is sent as is when a string, else as JSON.
func (e *env) do(t *testing.T, method, path string, body any, header map[string]string) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://site.example")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// subscription returns a fresh, valid PushSubscription on Mozilla's push
// service (allowed by the default egress policy).
func subscription(t testing.TB) map[string]any {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return map[string]any{
		"endpoint": "https://updates.push.services.mozilla.com/wpush/v2/" + secret.Token("", 24),
		"keys":     map[string]string{"p256dh": webpush.EncodeBase64(k.PublicKey().Bytes()), "auth": webpush.EncodeBase64(auth)},
	}
}

// registered is an answer to POST /sdk/v1/subscribers.
type registered struct {
	RegistrationID string `json:"registration_id"`
	DeviceKey      string `json:"device_key"`
	Created        bool   `json:"created"`
	Replaced       string `json:"replaced"`
}

func (e *env) register(t *testing.T, appID string, body map[string]any) registered {
	t.Helper()
	a := e.do(t, http.MethodPost, "/sdk/v1/subscribers?app="+appID, body, nil)
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		t.Fatalf("register: %d %s", a.status, a.body)
	}
	var r registered
	a.json(t, &r)
	if r.RegistrationID == "" || len(r.DeviceKey) != tracking.DeviceKeyLen {
		t.Fatalf("register answered %s: want registration_id and a %d-character device_key", a.body, tracking.DeviceKeyLen)
	}
	return r
}
