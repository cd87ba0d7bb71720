package admin

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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

// testPassword is the operator password of every rig; its hash uses cheap
// argon2id parameters so that the race detector keeps tests quick.
const testPassword = "correct horse battery staple"

func cheapHash(pw string) string { return HashPassword(pw, Params{MemoryKiB: 64, Time: 1, Threads: 1}) }

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// submitter stores messages as the delivery engine would, without sending.
type submitter struct{ st store.Store }

func (s submitter) Submit(ctx context.Context, m store.Message) (store.Message, bool, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	m.CreatedAt = now
	m.State = store.StateQueued
	if m.SendAt.IsZero() || m.SendAt.Before(now) {
		m.SendAt = now
	} else {
		m.State = store.StateScheduled
	}
	return s.st.CreateMessage(ctx, m, nil)
}

// canceller cancels as the delivery engine does.
type canceller struct{ st store.Store }

func (c canceller) Cancel(ctx context.Context, appID string, id int64) (store.Message, error) {
	return c.st.SetMessageState(ctx, appID, id, []store.MessageState{store.StateScheduled, store.StateQueued}, store.StateCancelled, nil)
}

// rig is the admin UI over a real SQLite store, served on loopback, with
// a browser-like client (cookies, no redirect following).
type rig struct {
	t      *testing.T
	URL    string
	st     *sqlite.Store
	apps   *apps.Service
	reg    *registry.Service
	send   *send.Service
	clock  *clock
	client *http.Client
	ui     *UI
}

func newRig(t *testing.T, pw *Password) *rig {
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
	policy, err := egress.New([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: st, clock: &clock{now: time.Now()}}
	r.apps = apps.New(st, sealer, time.Now)
	r.reg = registry.New(st, policy, time.Now)
	r.send = send.New(submitter{st}, time.Now, send.WithSegments(st))
	if pw == nil {
		pw = PasswordHash(cheapHash(testPassword))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.ui = New(Deps{Apps: r.apps, Channels: apps.NewChannels(r.apps, st), Registry: r.reg, Send: r.send,
		Store: st, Canceller: canceller{st}, Password: pw, Log: log, Callbacks: callback.NewService(st, sealer, time.Now)}, Options{Now: r.clock.Now})
	srv := httptest.NewServer(server.Handler(log, st, nil, r.ui))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	r.client = newClient()
	return r
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// resp is an answer, read whole.
type resp struct {
	Status int
	Body   string
	Header http.Header
}

func (r *rig) do(c *http.Client, req *http.Request) resp {
	r.t.Helper()
	res, err := c.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp{res.StatusCode, string(b), res.Header}
}

func (r *rig) get(path string) resp {
	r.t.Helper()
	req, err := http.NewRequest("GET", r.URL+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.do(r.client, req)
}

func (r *rig) post(path string, form url.Values, hdr ...string) resp {
	r.t.Helper()
	req, err := http.NewRequest("POST", r.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return r.do(r.client, req)
}

var (
	csrfRE  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// find returns the first submatch of re in body, or fails.
func (r *rig) find(re *regexp.Regexp, body string) string {
	r.t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		r.t.Fatalf("no %s in:\n%s", re, body)
	}
	return m[1]
}

// tryLogin opens the login form and posts pw; it returns the answer.
func (r *rig) tryLogin(pw string) resp {
	r.t.Helper()
	form := r.get("/admin/login")
	if form.Status != http.StatusOK {
		r.t.Fatalf("GET /admin/login: %d %s", form.Status, form.Body)
	}
	return r.post("/admin/login", url.Values{"token": {r.find(tokenRE, form.Body)}, "password": {pw}, "next": {"/admin/apps"}})
}

// login logs in and returns the session's CSRF token.
func (r *rig) login() string {
	r.t.Helper()
	res := r.tryLogin(testPassword)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin/apps" {
		r.t.Fatalf("login: %d to %q: %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	page := r.get("/admin/apps")
	if page.Status != http.StatusOK {
		r.t.Fatalf("after login, /admin/apps: %d", page.Status)
	}
	return r.find(csrfRE, page.Body)
}

// newApp creates an app through the service and returns its credentials.
func (r *rig) newApp(name string) apps.Credentials {
	r.t.Helper()
	c, err := r.apps.Create(context.Background(), name)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// subscribe registers a Web Push subscriber on loopback with tags.
func (r *rig) subscribe(appID string, n int, lang string, tags ...string) string {
	r.t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		r.t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	enc := base64.RawURLEncoding.EncodeToString
	res, err := r.reg.Register(context.Background(), appID, registry.Registration{Channel: store.ChannelWebPush,
		Endpoint: fmt.Sprintf("http://127.0.0.1:1/wpush/%s-%d", appID, n), P256DH: enc(k.PublicKey().Bytes()), Auth: enc(auth),
		Tags: tags, Language: lang})
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Subscriber.RegistrationID
}
