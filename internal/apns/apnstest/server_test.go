package apnstest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldpush/herald/internal/apns/apnstest"
)

const (
	team  = "TEAM123456"
	kid   = "KEY1234567"
	topic = "com.example.app"
)

var devToken = strings.Repeat("ab", 32)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	srv   *apnstest.Server
	key   *ecdsa.PrivateKey
	clock *clock
	hc    *http.Client
}

func start(t *testing.T, o apnstest.Options) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	o.Now = c.Now
	srv := apnstest.Start(o)
	t.Cleanup(srv.Close)
	key, err := srv.NewKey(team, kid, topic)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, key: key, clock: c, hc: srv.Client()}
}

// sign makes a provider token; header and claims override the defaults.
func (f *fixture) sign(t *testing.T, key *ecdsa.PrivateKey, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	if claims == nil {
		claims = jwt.MapClaims{"iss": team, "iat": f.clock.Now().Unix()}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header = map[string]any{"alg": "ES256", "kid": kid}
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// req is a valid alert request; tests change what they test.
type req struct {
	method, path, body string
	header             map[string]string // "" deletes
}

func (f *fixture) valid(t *testing.T) req {
	return req{
		method: http.MethodPost,
		path:   "/3/device/" + devToken,
		body:   `{"aps":{"alert":{"title":"hi"}}}`,
		header: map[string]string{
			"authorization":   "bearer " + f.sign(t, f.key, nil, nil),
			"apns-topic":      topic,
			"apns-push-type":  "alert",
			"apns-priority":   "10",
			"apns-expiration": "0",
		},
	}
}

// do sends r and returns the status, the reason and the response.
func (f *fixture) do(t *testing.T, r req) (int, string, *http.Response) {
	t.Helper()
	hr, err := http.NewRequestWithContext(t.Context(), r.method, f.srv.URL()+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		if v != "" {
			hr.Header.Set(k, v)
		}
	}
	resp, err := f.hc.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb struct{ Reason string }
	_ = json.Unmarshal(b, &eb)
	return resp.StatusCode, eb.Reason, resp
}

func TestAccepts(t *testing.T) {
	f := start(t, apnstest.Options{Record: true})
	r := f.valid(t)
	r.header["apns-id"] = "123e4567-e89b-42d3-a456-426614174000"
	r.header["apns-collapse-id"] = "c1"
	status, reason, resp := f.do(t, r)
	if status != 200 || reason != "" {
		t.Fatalf("valid request: %d %s", status, reason)
	}
	if resp.ProtoMajor != 2 || resp.Header.Get("apns-id") != r.header["apns-id"] {
		t.Fatalf("response %s apns-id %q", resp.Proto, resp.Header.Get("apns-id"))
	}
	got := f.srv.Received(devToken)
	if len(got) != 1 {
		t.Fatalf("recorded %d", len(got))
	}
	n := got[0]
	if n.Topic != topic || n.PushType != "alert" || n.Priority != 10 || n.Expiration != 0 || n.CollapseID != "c1" ||
		n.KeyID != kid || n.TeamID != team || n.ProtoMajor != 2 || string(n.Payload) != r.body || !n.Received.Equal(f.clock.Now()) {
		t.Fatalf("recorded %+v", n)
	}
	// Without an apns-id the fake makes one up.
	delete(r.header, "apns-id")
	if _, _, resp := f.do(t, r); len(resp.Header.Get("apns-id")) != 36 {
		t.Fatalf("apns-id %q", resp.Header.Get("apns-id"))
	}
	if len(f.srv.Notifications()) != 2 || f.srv.Count() != 2 {
		t.Fatal("second notification not recorded")
	}
}

func TestRefusals(t *testing.T) {
	f := start(t, apnstest.Options{})
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := f.clock.Now().Unix()
	bearer := func(s string) string { return "bearer " + s }
	for _, tc := range []struct {
		name   string
		change func(*req)
		status int
		reason string
	}{
		{"wrong path", func(r *req) { r.path = "/3/devices/" + devToken }, 404, "BadPath"},
		{"GET", func(r *req) { r.method = http.MethodGet; r.body = "" }, 405, "MethodNotAllowed"},
		{"no token", func(r *req) { r.path = "/3/device/" }, 400, "MissingDeviceToken"},
		{"short token", func(r *req) { r.path = "/3/device/abcd" }, 400, "BadDeviceToken"},
		{"token not hex", func(r *req) { r.path = "/3/device/" + strings.Repeat("zz", 32) }, 400, "BadDeviceToken"},
		{"no authorization", func(r *req) { r.header["authorization"] = "" }, 403, "MissingProviderToken"},
		{"not bearer", func(r *req) { r.header["authorization"] = "basic abc" }, 403, "InvalidProviderToken"},
		{"not a jwt", func(r *req) { r.header["authorization"] = "bearer abc.def" }, 403, "InvalidProviderToken"},
		{"signed by another key", func(r *req) { r.header["authorization"] = bearer(f.sign(t, other, nil, nil)) }, 403, "InvalidProviderToken"},
		{"unknown kid", func(r *req) {
			r.header["authorization"] = bearer(f.sign(t, f.key, map[string]any{"kid": "NOPE123456"}, nil))
		}, 403, "InvalidProviderToken"},
		{"wrong iss", func(r *req) {
			r.header["authorization"] = bearer(f.sign(t, f.key, nil, jwt.MapClaims{"iss": "OTHER12345", "iat": now}))
		}, 403, "InvalidProviderToken"},
		{"no iat", func(r *req) { r.header["authorization"] = bearer(f.sign(t, f.key, nil, jwt.MapClaims{"iss": team})) }, 403, "InvalidProviderToken"},
		{"iat in the future", func(r *req) {
			r.header["authorization"] = bearer(f.sign(t, f.key, nil, jwt.MapClaims{"iss": team, "iat": now + 60}))
		}, 403, "InvalidProviderToken"},
		{"iat over an hour old", func(r *req) {
			r.header["authorization"] = bearer(f.sign(t, f.key, nil, jwt.MapClaims{"iss": team, "iat": now - 3601}))
		}, 403, "ExpiredProviderToken"},
		{"no topic", func(r *req) { r.header["apns-topic"] = "" }, 400, "MissingTopic"},
		{"other team's topic", func(r *req) { r.header["apns-topic"] = "com.other" }, 400, "TopicDisallowed"},
		{"no push type", func(r *req) { r.header["apns-push-type"] = "" }, 400, "InvalidPushType"},
		{"bad push type", func(r *req) { r.header["apns-push-type"] = "shout" }, 400, "InvalidPushType"},
		{"priority 7", func(r *req) { r.header["apns-priority"] = "7" }, 400, "BadPriority"},
		{"background at 10", func(r *req) {
			r.header["apns-push-type"] = "background"
			r.body = `{"aps":{"content-available":1}}`
		}, 400, "BadPriority"},
		{"bad expiration", func(r *req) { r.header["apns-expiration"] = "soon" }, 400, "BadExpirationDate"},
		{"long collapse id", func(r *req) { r.header["apns-collapse-id"] = strings.Repeat("c", 65) }, 400, "BadCollapseId"},
		{"bad apns-id", func(r *req) { r.header["apns-id"] = "42" }, 400, "BadMessageId"},
		{"empty body", func(r *req) { r.body = "" }, 400, "PayloadEmpty"},
		{"4097 bytes", func(r *req) {
			r.body = `{"aps":{"alert":"` + strings.Repeat("x", 4097-len(`{"aps":{"alert":""}}`)) + `"}}`
		}, 413, "PayloadTooLarge"},
		{"not json", func(r *req) { r.body = "hello" }, 400, "BadPayload"},
		{"no aps", func(r *req) { r.body = `{"a":1}` }, 400, "BadPayload"},
		{"alert showing nothing", func(r *req) { r.body = `{"aps":{}}` }, 400, "BadPayload"},
		{"background with an alert", func(r *req) {
			r.header["apns-push-type"] = "background"
			r.header["apns-priority"] = "5"
			r.body = `{"aps":{"content-available":1,"alert":"x"}}`
		}, 400, "BadPayload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.valid(t)
			tc.change(&r)
			if status, reason, _ := f.do(t, r); status != tc.status || reason != tc.reason {
				t.Fatalf("got %d %s, want %d %s", status, reason, tc.status, tc.reason)
			}
		})
	}
	if f.srv.Count() != 0 {
		t.Fatal("something was accepted")
	}
	// Sizes at the limit pass.
	r := f.valid(t)
	r.body = `{"aps":{"alert":"` + strings.Repeat("x", 4096-len(`{"aps":{"alert":""}}`)) + `"}}`
	if status, reason, _ := f.do(t, r); status != 200 {
		t.Fatalf("4096 bytes: %d %s", status, reason)
	}
	if st := f.srv.Stats(); st.Rejected["BadPayload"] != 4 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDuplicateHeaders(t *testing.T) {
	f := start(t, apnstest.Options{})
	r := f.valid(t)
	hr, _ := http.NewRequestWithContext(t.Context(), r.method, f.srv.URL()+r.path, strings.NewReader(r.body))
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	hr.Header.Add("apns-topic", topic)
	resp, err := f.hc.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("duplicate apns-topic: %d", resp.StatusCode)
	}
}

func TestHTTP1Refused(t *testing.T) {
	f := start(t, apnstest.Options{})
	var p http.Protocols
	p.SetHTTP1(true)
	f.hc = &http.Client{Transport: &http.Transport{Protocols: &p, TLSClientConfig: f.srv.TLSConfig()}}
	status, reason, resp := f.do(t, f.valid(t))
	if status != 505 || reason != "HTTP2Required" || resp.ProtoMajor != 1 {
		t.Fatalf("HTTP/1.1: %d %s over %s", status, reason, resp.Proto)
	}
	if st := f.srv.Stats(); st.HTTP2 != 0 || st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBindToken(t *testing.T) {
	f := start(t, apnstest.Options{})
	f.srv.BindToken(devToken, "com.example.other")
	if status, reason, _ := f.do(t, f.valid(t)); status != 400 || reason != "DeviceTokenNotForTopic" {
		t.Fatalf("got %d %s", status, reason)
	}
}

func TestExpireTokensIssuedBefore(t *testing.T) {
	f := start(t, apnstest.Options{})
	old := f.valid(t)
	f.clock.Add(5 * time.Minute)
	f.srv.ExpireTokensIssuedBefore(kid, f.clock.Now())
	if status, reason, _ := f.do(t, old); status != 403 || reason != "ExpiredProviderToken" {
		t.Fatalf("old token: %d %s", status, reason)
	}
	if status, reason, _ := f.do(t, f.valid(t)); status != 200 {
		t.Fatalf("new token: %d %s", status, reason)
	}
}

func TestStrictTokenUpdates(t *testing.T) {
	f := start(t, apnstest.Options{StrictTokenUpdates: true})
	first := f.valid(t)
	if status, _, _ := f.do(t, first); status != 200 {
		t.Fatal(status)
	}
	f.clock.Add(19 * time.Minute)
	if status, reason, _ := f.do(t, f.valid(t)); status != 429 || reason != "TooManyProviderTokenUpdates" {
		t.Fatalf("new token after 19 minutes: %d %s", status, reason)
	}
	if status, _, _ := f.do(t, first); status != 200 {
		t.Fatal("first token refused after a refused update")
	}
	f.clock.Add(time.Minute)
	if status, reason, _ := f.do(t, f.valid(t)); status != 200 {
		t.Fatalf("new token after 20 minutes: %d %s", status, reason)
	}
	if n := f.srv.Tokens(kid); n != 2 {
		t.Fatalf("Tokens = %d", n)
	}
}

func TestCacheTokens(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(strconv.FormatBool(cache), func(t *testing.T) {
			f := start(t, apnstest.Options{CacheTokens: cache})
			r := f.valid(t)
			for range 10 {
				if status, reason, _ := f.do(t, r); status != 200 {
					t.Fatalf("%d %s", status, reason)
				}
			}
			want := uint64(10)
			if cache {
				want = 1
			}
			if v := f.srv.Stats().Verified; v != want {
				t.Fatalf("verified %d signatures, want %d", v, want)
			}
			// A cached token still ages.
			f.clock.Add(61 * time.Minute)
			if status, reason, _ := f.do(t, r); status != 403 || reason != "ExpiredProviderToken" {
				t.Fatalf("after an hour: %d %s", status, reason)
			}
			if n := f.srv.Notifications(); len(n) != 0 {
				t.Fatal("recorded without Record")
			}
		})
	}
}

func TestFailureInjection(t *testing.T) {
	f := start(t, apnstest.Options{})
	other := strings.Repeat("cd", 32)
	statusOf := func(token string) (int, string, *http.Response) {
		r := f.valid(t)
		r.path = "/3/device/" + token
		return f.do(t, r)
	}

	f.srv.Fail(devToken, apnstest.Unregistered())
	resp410 := func() *http.Response { _, _, r := statusOf(devToken); return r }()
	if resp410.StatusCode != 410 {
		t.Fatalf("Unregistered: %d", resp410.StatusCode)
	}
	if s, _, _ := statusOf(other); s != 200 {
		t.Fatal("other token affected")
	}
	f.srv.Recover(devToken)

	f.srv.Fail(devToken, apnstest.FailNext(2, apnstest.TooManyRequests(1500*time.Millisecond)))
	for i := range 2 {
		s, reason, resp := statusOf(devToken)
		if s != 429 || reason != "TooManyRequests" || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("try %d: %d %s Retry-After %q", i, s, reason, resp.Header.Get("Retry-After"))
		}
	}
	if s, _, _ := statusOf(devToken); s != 200 {
		t.Fatalf("after FailNext ran out: %d", s)
	}

	f.srv.FailAll(apnstest.ServiceUnavailable(0))
	f.srv.Fail(other, apnstest.InternalServerError())
	if s, reason, _ := statusOf(devToken); s != 503 || reason != "ServiceUnavailable" {
		t.Fatalf("FailAll: %d %s", s, reason)
	}
	if s, reason, _ := statusOf(other); s != 500 || reason != "InternalServerError" {
		t.Fatalf("Fail over FailAll: %d %s", s, reason)
	}
	f.srv.RecoverAll()
	f.srv.Recover(other)

	// Injection comes after the provider token is checked, as at APNs.
	f.srv.Fail(devToken, apnstest.BadDeviceToken())
	r := f.valid(t)
	r.header["authorization"] = ""
	if s, reason, _ := f.do(t, r); s != 403 || reason != "MissingProviderToken" {
		t.Fatalf("unauthenticated: %d %s", s, reason)
	}
	if s, reason, _ := statusOf(devToken); s != 400 || reason != "BadDeviceToken" {
		t.Fatalf("BadDeviceToken: %d %s", s, reason)
	}
	f.srv.Recover(devToken)
	if st := f.srv.Stats(); st.Injected != 6 {
		t.Fatalf("injected %d, want 6 (%+v)", st.Injected, st)
	}

	// Slow: held back, then processed. The request's own deadline ends it.
	f.srv.Fail(devToken, apnstest.Slow(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	r = f.valid(t)
	hr, _ := http.NewRequestWithContext(ctx, r.method, f.srv.URL()+r.path, strings.NewReader(r.body))
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if _, err := f.hc.Do(hr); err == nil {
		t.Fatal("slow answer came back")
	}
	f.srv.Fail(devToken, apnstest.Slow(time.Millisecond))
	if s, _, _ := statusOf(devToken); s != 200 {
		t.Fatalf("slow then working: %d", s)
	}
}

func TestUnregisteredTimestamp(t *testing.T) {
	f := start(t, apnstest.Options{})
	f.srv.Fail(devToken, apnstest.Unregistered())
	r := f.valid(t)
	hr, _ := http.NewRequestWithContext(t.Context(), r.method, f.srv.URL()+r.path, strings.NewReader(r.body))
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := f.hc.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb struct {
		Reason    string
		Timestamp int64
	}
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
		t.Fatal(err)
	}
	if eb.Reason != "Unregistered" || eb.Timestamp != f.clock.Now().UnixMilli() {
		t.Fatalf("410 body %+v", eb)
	}
}

func TestWaitCount(t *testing.T) {
	f := start(t, apnstest.Options{CacheTokens: true})
	r := f.valid(t)
	done := make(chan error, 1)
	go func() { done <- f.srv.WaitCount(t.Context(), 5) }()
	for i := range 5 {
		r.path = fmt.Sprintf("/3/device/%064x", i)
		if s, reason, _ := f.do(t, r); s != 200 {
			t.Fatalf("%d %s", s, reason)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.srv.WaitCount(ctx, 6); err == nil {
		t.Fatal("WaitCount(6) returned without an error after 5")
	}
	if err := f.srv.WaitCount(ctx, 5); err != nil {
		t.Fatalf("WaitCount(5) with a done context after 5: %v", err)
	}
}
