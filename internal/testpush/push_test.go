package testpush

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldpush/herald/internal/webpush"
)

func TestPushDecrypts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tls   bool
		http2 bool
	}{
		{"http1", false, false},
		{"h2c", false, true},
		{"https1", true, false},
		{"h2", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := start(t, Options{TLS: tc.tls, Record: true})
			sub, err := srv.NewSubscription()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(sub.Endpoint, srv.URL()+"/wpush/") || !strings.HasSuffix(sub.Endpoint, "/"+sub.ID) {
				t.Fatalf("endpoint %q, base %q, id %q", sub.Endpoint, srv.URL(), sub.ID)
			}
			c := srv.HTTP1Client()
			if tc.http2 {
				c = srv.Client()
			}
			sn := newSender(t)
			req := sn.request(t, sub, []byte("hello "+tc.name))
			req.Header.Set("Urgency", "high")
			req.Header.Set("Topic", "news_1")
			r := do(t, c, req)
			if r.status != http.StatusCreated {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if want := map[bool]int{false: 1, true: 2}[tc.http2]; r.proto != want {
				t.Errorf("HTTP/%d, want HTTP/%d", r.proto, want)
			}
			msgs := srv.Received(sub.ID)
			if len(msgs) != 1 {
				t.Fatalf("Received: %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if string(m.Payload) != "hello "+tc.name || !m.Decrypted {
				t.Errorf("payload %q decrypted=%v", m.Payload, m.Decrypted)
			}
			if m.TTL != 60 || m.Urgency != "high" || m.Topic != "news_1" || m.Received.IsZero() {
				t.Errorf("recorded %+v", m)
			}
			if loc := r.header.Get("Location"); loc != srv.URL()+"/m/"+m.ID {
				t.Errorf("Location %q, message id %q", loc, m.ID)
			}
			st := srv.Stats()
			if st.Accepted != 1 || st.Decrypted != 1 || st.Requests != 1 || srv.Count() != 1 || srv.Deliveries(sub.ID) != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestWebpushSend sends through internal/webpush's own Send, the path
// Herald's delivery takes, over h2c.
func TestWebpushSend(t *testing.T) {
	srv := start(t, Options{Record: true})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	ws, err := sub.WebPush()
	if err != nil {
		t.Fatal(err)
	}
	sn := newSender(t)
	res, err := webpush.Send(testContext(t), srv.Client(), ws, webpush.Message{Payload: []byte("via Send"), TTL: time.Minute}, sn.signer)
	if err != nil || res.Outcome != webpush.Delivered {
		t.Fatalf("Send: %+v, %v", res, err)
	}
	srv.Fail(sub.ID, RateLimited(3*time.Second))
	res, err = webpush.Send(testContext(t), srv.Client(), ws, webpush.Message{Payload: []byte("x"), TTL: time.Minute}, sn.signer)
	if err != nil || res.Outcome != webpush.RateLimited || res.RetryAfter != 3*time.Second {
		t.Fatalf("Send when rate limited: %+v, %v", res, err)
	}
	if msgs := srv.Received(sub.ID); len(msgs) != 1 || string(msgs[0].Payload) != "via Send" {
		t.Fatalf("Received %+v", msgs)
	}
}

func TestPushRejected(t *testing.T) {
	srv := start(t, Options{Record: true})
	c := srv.HTTP1Client()
	sn := newSender(t)
	other := newSender(t)
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := srv.NewSubscriptionWithKey(other.key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	removed, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	srv.Remove(removed.ID)
	aud := srv.URL()
	expiredSigner := senderAt(t, func() time.Time { return time.Now().Add(-13 * time.Hour) })
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"aud": aud, "exp": now.Add(time.Hour).Unix(), "sub": "mailto:a@example.com"}
		mod(c)
		return c
	}

	for _, tc := range []struct {
		name   string
		sub    Subscription
		mod    func(*http.Request)
		status int
		code   string
	}{
		{"missing TTL", sub, func(r *http.Request) { r.Header.Del("TTL") }, 400, "missing_ttl"},
		{"negative TTL", sub, func(r *http.Request) { r.Header.Set("TTL", "-1") }, 400, "bad_ttl"},
		{"word TTL", sub, func(r *http.Request) { r.Header.Set("TTL", "soon") }, 400, "bad_ttl"},
		{"no encoding", sub, func(r *http.Request) { r.Header.Del("Content-Encoding") }, 415, "bad_encoding"},
		{"aesgcm", sub, func(r *http.Request) { r.Header.Set("Content-Encoding", "aesgcm") }, 415, "bad_encoding"},
		{"too large", sub, func(r *http.Request) { setBody(r, make([]byte, MaxBody+1)) }, 413, "too_large"},
		{"too large chunked", sub, func(r *http.Request) {
			setBody(r, make([]byte, MaxBody+1))
			r.ContentLength = -1
		}, 413, "too_large"},
		{"bad urgency", sub, func(r *http.Request) { r.Header.Set("Urgency", "urgent") }, 400, "bad_urgency"},
		{"long topic", sub, func(r *http.Request) { r.Header.Set("Topic", strings.Repeat("a", 33)) }, 400, "bad_topic"},
		{"topic alphabet", sub, func(r *http.Request) { r.Header.Set("Topic", "a+b") }, 400, "bad_topic"},
		{"no authorization", sub, func(r *http.Request) { r.Header.Del("Authorization") }, 401, "missing_vapid"},
		{"bearer", sub, func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, 401, "bad_vapid"},
		{"wrong key", sub, func(r *http.Request) {
			r.Header.Set("Authorization", withKey(r.Header.Get("Authorization"), other.key.PublicKey()))
		}, 401, "bad_vapid"},
		{"wrong aud", sub, func(r *http.Request) {
			h, _ := sn.signer.Header("http://127.0.0.1:1/wpush/1")
			r.Header.Set("Authorization", h)
		}, 401, "bad_vapid"},
		{"expired", sub, func(r *http.Request) {
			h, _ := expiredSigner.signer.Header(sub.Endpoint)
			r.Header.Set("Authorization", h)
		}, 401, "bad_vapid"},
		{"exp over 24h", sub, func(r *http.Request) {
			r.Header.Set("Authorization", craftHeader(t, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(25 * time.Hour).Unix() })))
		}, 401, "bad_vapid"},
		{"no exp", sub, func(r *http.Request) {
			r.Header.Set("Authorization", craftHeader(t, claims(func(c jwt.MapClaims) { delete(c, "exp") })))
		}, 401, "bad_vapid"},
		{"no sub", sub, func(r *http.Request) {
			r.Header.Set("Authorization", craftHeader(t, claims(func(c jwt.MapClaims) { delete(c, "sub") })))
		}, 401, "bad_vapid"},
		{"http sub", sub, func(r *http.Request) {
			r.Header.Set("Authorization", craftHeader(t, claims(func(c jwt.MapClaims) { c["sub"] = "http://example.com" })))
		}, 401, "bad_vapid"},
		{"aud with path", sub, func(r *http.Request) {
			r.Header.Set("Authorization", craftHeader(t, claims(func(c jwt.MapClaims) { c["aud"] = sub.Endpoint })))
		}, 401, "bad_vapid"},
		{"key mismatch", keyed, nil, 403, "vapid_key_mismatch"},
		{"flipped byte", sub, func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			b[len(b)-1] ^= 1
			setBody(r, b)
		}, 400, "decrypt_failed"},
		{"bad framing", sub, func(r *http.Request) { setBody(r, bytes.Repeat([]byte{1}, 200)) }, 400, "bad_body"},
		{"unknown", Subscription{Endpoint: srv.URL() + "/wpush/999999"}, nil, 404, "not_found"},
		{"not numeric", Subscription{Endpoint: srv.URL() + "/wpush/abc"}, nil, 404, "not_found"},
		{"removed", removed, nil, 410, "gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req *http.Request
			if tc.sub.ID == "" {
				req = sn.requestBody(t, tc.sub.Endpoint, encrypt(t, sub, []byte("x")))
			} else {
				req = sn.request(t, tc.sub, []byte("payload"))
			}
			if tc.mod != nil {
				tc.mod(req)
			}
			r := do(t, c, req)
			if r.status != tc.status || r.code != tc.code {
				t.Errorf("got %d %q, want %d %q: %s", r.status, r.code, tc.status, tc.code, r.body)
			}
		})
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("Count %d after only bad pushes", n)
	}
	if st := srv.Stats(); st.Rejected["bad_vapid"] != 9 || st.Rejected["missing_ttl"] != 1 || st.Accepted != 0 {
		t.Errorf("stats %+v", st)
	}
	// The keyed subscription takes its own key.
	if r := do(t, c, other.request(t, keyed, []byte("mine"))); r.status != http.StatusCreated {
		t.Errorf("push with the subscription's key: %d %s", r.status, r.body)
	}
}

func TestPushWithoutPayload(t *testing.T) {
	srv := start(t, Options{Record: true})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	req := newSender(t).requestBody(t, sub.Endpoint, nil)
	req.Header.Del("Content-Encoding")
	if r := do(t, srv.HTTP1Client(), req); r.status != http.StatusCreated {
		t.Fatalf("empty push: %d %s", r.status, r.body)
	}
	if m := srv.Received(sub.ID); len(m) != 1 || m[0].Decrypted || m[0].Payload != nil {
		t.Fatalf("Received %+v", m)
	}
}

func TestSampleMode(t *testing.T) {
	var clk clock
	srv := start(t, Options{Verify: VerifySample, SampleEvery: 4, Record: true, Now: clk.now})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	sn := newSender(t)
	c := srv.Client()
	for i := range 8 {
		if r := do(t, c, sn.request(t, sub, []byte("m"))); r.status != http.StatusCreated {
			t.Fatalf("push %d: %d %s", i, r.status, r.body)
		}
	}
	st := srv.Stats()
	if st.Accepted != 8 || st.Decrypted != 2 {
		t.Fatalf("accepted %d decrypted %d, want 8 and 2", st.Accepted, st.Decrypted)
	}
	msgs := srv.Received(sub.ID)
	if !msgs[0].Decrypted || msgs[1].Decrypted || !msgs[4].Decrypted || string(msgs[4].Payload) != "m" {
		t.Errorf("decrypted pattern wrong: %v %v %v", msgs[0].Decrypted, msgs[1].Decrypted, msgs[4].Decrypted)
	}
	// Headers and JWTs are still checked on every push.
	req := sn.request(t, sub, []byte("m"))
	req.Header.Set("Authorization", withKey(req.Header.Get("Authorization"), newSender(t).key.PublicKey()))
	if r := do(t, c, req); r.status != http.StatusUnauthorized {
		t.Errorf("wrong key in sample mode: %d", r.status)
	}
	req = sn.request(t, sub, []byte("m"))
	req.Header.Del("TTL")
	if r := do(t, c, req); r.status != http.StatusBadRequest {
		t.Errorf("missing TTL in sample mode: %d", r.status)
	}
	// A cached token stops being accepted once it expires.
	clk.advance(13 * time.Hour)
	req = sn.requestBody(t, sub.Endpoint, encrypt(t, sub, []byte("m")))
	if r := do(t, c, req); r.status != http.StatusUnauthorized || r.code != "bad_vapid" {
		t.Errorf("expired cached token: %d %s", r.status, r.body)
	}
}

func TestRecordOffCountsDuplicates(t *testing.T) {
	srv := start(t, Options{})
	subs, err := srv.NewSubscriptions(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range subs {
		if seen[s.Endpoint] || s.Keys != subs[0].Keys {
			t.Fatalf("batch: duplicate endpoint or differing keys at %s", s.ID)
		}
		seen[s.Endpoint] = true
	}
	sn := newSender(t)
	c := srv.Client()
	// Build every request first: t.Fatal belongs to the test goroutine.
	var reqs []*http.Request
	for i, s := range subs {
		for range 1 + i%3 {
			reqs = append(reqs, sn.request(t, s, []byte("dup")))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(reqs))
	for _, req := range reqs {
		wg.Go(func() {
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				errs <- errors.New(resp.Status)
			}
		})
	}
	if err := srv.WaitCount(testContext(t), len(reqs)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, s := range subs {
		if got := srv.Deliveries(s.ID); got != 1+i%3 {
			t.Errorf("Deliveries(%s) = %d, want %d", s.ID, got, 1+i%3)
		}
		if srv.Received(s.ID) != nil {
			t.Fatalf("Received kept messages with Record off")
		}
	}
	if st := srv.Stats(); st.Decrypted != uint64(len(reqs)) {
		t.Errorf("decrypted %d of %d", st.Decrypted, len(reqs))
	}
}

func TestWaitCount(t *testing.T) {
	srv := start(t, Options{})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.WaitCount(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitCount on a cancelled context: %v", err)
	}
	if err := srv.WaitCount(ctx, 0); err != nil {
		t.Fatalf("WaitCount(0): %v", err)
	}
	req := newSender(t).request(t, sub, []byte("late"))
	done := make(chan error, 1)
	go func() { done <- srv.WaitCount(testContext(t), 1) }()
	if r := do(t, srv.Client(), req); r.status != http.StatusCreated {
		t.Fatalf("push: %d", r.status)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestInspectionEndpoints(t *testing.T) {
	srv := start(t, Options{Record: true})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	c := srv.HTTP1Client()
	do(t, c, newSender(t).request(t, sub, []byte("seen")))
	req := newSender(t).request(t, sub, []byte("x"))
	req.Header.Del("TTL")
	do(t, c, req)

	resp, err := c.Get(srv.URL() + "/_testpush/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Accepted != 1 || st.Rejected["missing_ttl"] != 1 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("stats %+v, %v", st, err)
	}
	resp, err = c.Get(srv.URL() + "/_testpush/received/" + sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rb receivedBody
	err = json.NewDecoder(resp.Body).Decode(&rb)
	resp.Body.Close()
	if err != nil || rb.Deliveries != 1 || len(rb.Messages) != 1 || string(rb.Messages[0].Payload) != "seen" {
		t.Fatalf("received %+v, %v", rb, err)
	}
	resp, err = c.Get(srv.URL() + "/_testpush/received/424242")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown subscription: %d", resp.StatusCode)
	}
}

func TestMountedHandler(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	srv := New(Options{BaseURL: "http://" + ts.Listener.Addr().String(), Record: true})
	ts.Config.Handler = srv.Handler()
	ts.Start()
	defer ts.Close()
	defer srv.Close()
	if srv.URL() != ts.URL {
		t.Fatalf("URL %q, httptest %q", srv.URL(), ts.URL)
	}
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, ts.Client(), newSender(t).request(t, sub, []byte("mounted"))); r.status != http.StatusCreated {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	if m := srv.Received(sub.ID); len(m) != 1 || string(m[0].Payload) != "mounted" {
		t.Fatalf("Received %+v", m)
	}
	if _, err := New(Options{}).NewSubscription(); err == nil {
		t.Fatal("NewSubscription without a base URL succeeded")
	}
}

func TestStartOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "nonsense"} {
		if srv, err := Start(Options{Addr: addr}); err == nil {
			srv.Close()
			t.Errorf("Start(%q) succeeded", addr)
		}
	}
}

// TestOnAccept: the hook sees every accepted push, and none refused,
// before WaitCount counts it.
func TestOnAccept(t *testing.T) {
	var calls atomic.Int64
	var last atomic.Int64
	srv := start(t, Options{Verify: VerifySample, OnAccept: func(at time.Time) {
		calls.Add(1)
		last.Store(at.UnixNano())
	}})
	subs, err := srv.NewSubscriptions(3)
	if err != nil {
		t.Fatal(err)
	}
	sn := newSender(t)
	before := time.Now()
	for _, s := range subs {
		if r := do(t, srv.Client(), sn.request(t, s, []byte("hi"))); r.status != http.StatusCreated {
			t.Fatalf("push: %d", r.status)
		}
	}
	srv.Remove(subs[0].ID)
	if r := do(t, srv.Client(), sn.request(t, subs[0], []byte("gone"))); r.status != http.StatusGone {
		t.Fatalf("push to a removed subscription: %d", r.status)
	}
	if err := srv.WaitCount(testContext(t), 3); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("OnAccept called %d times, want 3", n)
	}
	if at := time.Unix(0, last.Load()); at.Before(before) || at.After(time.Now()) {
		t.Fatalf("OnAccept time %v is outside the test", at)
	}
}

// TestSampleModeCachedHeader: a remembered Authorization header still
// meets the subscription's own key check.
func TestSampleModeCachedHeader(t *testing.T) {
	srv := start(t, Options{Verify: VerifySample})
	sn, other := newSender(t), newSender(t)
	open, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := srv.NewSubscriptionWithKey(other.key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	first := sn.request(t, open, []byte("m"))
	if r := do(t, c, first); r.status != http.StatusCreated {
		t.Fatalf("first push: %d %s", r.status, r.body)
	}
	req := sn.requestBody(t, keyed.Endpoint, encrypt(t, keyed, []byte("m")))
	if req.Header.Get("Authorization") != first.Header.Get("Authorization") {
		t.Fatal("the signer made a second header; the cache is not exercised")
	}
	if r := do(t, c, req); r.status != http.StatusForbidden || r.code != "vapid_key_mismatch" {
		t.Fatalf("remembered header to a subscription with another key: %d %s", r.status, r.body)
	}
}
