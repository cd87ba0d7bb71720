package apns

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apns/apnstest"
)

func TestSendOverHTTP2(t *testing.T) {
	e := newEnv(t, apnstest.Options{Record: true})
	res, err := e.client.Send(t.Context(), Notification{Token: deviceToken(1), Title: "Hello", Body: "World"})
	if err != nil || res.Outcome != Delivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if res.Status != http.StatusOK || res.ID == "" || res.Reason != "" {
		t.Errorf("result %+v: want 200, an apns-id and no reason", res)
	}
	got := e.srv.Received(deviceToken(1))
	if len(got) != 1 {
		t.Fatalf("fake received %d notifications, want 1", len(got))
	}
	if got[0].ProtoMajor != 2 || got[0].Proto != "HTTP/2.0" {
		t.Errorf("request came over %s, want HTTP/2.0", got[0].Proto)
	}
	if st := e.srv.Stats(); st.HTTP2 != st.Requests || st.Requests != 1 {
		t.Errorf("stats %+v: want every request over HTTP/2", st)
	}
	if got[0].ID != res.ID || got[0].KeyID != testKeyID || got[0].TeamID != testTeam {
		t.Errorf("recorded %+v does not match result %+v", got[0], res)
	}
}

func TestHTTP1Refused(t *testing.T) {
	// The fake refuses HTTP/1.1, so the HTTP/2 assertion above means
	// something; and the Client's own transport will not fall back.
	e := newEnv(t, apnstest.Options{})
	var p http.Protocols
	p.SetHTTP1(true)
	h1 := &http.Client{Transport: &http.Transport{Protocols: &p, TLSClientConfig: e.srv.TLSConfig()}}
	t.Cleanup(h1.CloseIdleConnections)
	cl, err := NewClient(e.creds, Options{BaseURL: e.srv.URL(), HTTPClient: h1, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := cl.Send(t.Context(), Notification{Token: deviceToken(1), Title: "x"})
	if res.Status != http.StatusHTTPVersionNotSupported || res.Outcome == Delivered {
		t.Fatalf("HTTP/1.1 send = %+v, want 505", res)
	}
}

func TestHeadersAndBody(t *testing.T) {
	const id = "123e4567-e89b-42d3-a456-426614174000"
	for _, tc := range []struct {
		name   string
		n      Notification
		header map[string]string // "" means absent
		body   string
	}{
		{
			name: "alert",
			n:    Notification{Title: "Hi", Body: "There & back", Sound: "default", URL: "https://example.com/a?b=1&c=2"},
			header: map[string]string{"apns-push-type": "alert", "apns-priority": "10", "apns-expiration": "0",
				"apns-topic": testTopic, "apns-collapse-id": "", "apns-id": ""},
			body: `{"aps":{"alert":{"title":"Hi","body":"There & back"},"sound":"default"},"url":"https://example.com/a?b=1&c=2"}`,
		},
		{
			name:   "alert with data, mutable content, id, ttl, collapse id",
			n:      Notification{Body: "b", MutableContent: true, Data: json.RawMessage(`{"order": 42, "tags": ["a"]}`), ID: id, TTL: 90 * time.Minute, CollapseID: "score"},
			header: map[string]string{"apns-push-type": "alert", "apns-priority": "10", "apns-id": id, "apns-collapse-id": "score", "apns-expiration": "+5400"},
			body:   `{"aps":{"alert":{"body":"b"},"mutable-content":1},"order":42,"tags":["a"]}`,
		},
		{
			name:   "low priority alert",
			n:      Notification{Title: "t", Priority: PriorityLow},
			header: map[string]string{"apns-push-type": "alert", "apns-priority": "5"},
			body:   `{"aps":{"alert":{"title":"t"}}}`,
		},
		{
			name:   "background (data only)",
			n:      Notification{Data: json.RawMessage(`{"sync":true}`), Sound: "ignored", MutableContent: true},
			header: map[string]string{"apns-push-type": "background", "apns-priority": "5"},
			body:   `{"aps":{"content-available":1},"sync":true}`,
		},
		{
			name:   "background asked for high priority still goes at 5",
			n:      Notification{Priority: PriorityHigh, URL: "https://example.com"},
			header: map[string]string{"apns-push-type": "background", "apns-priority": "5"},
			body:   `{"aps":{"content-available":1},"url":"https://example.com"}`,
		},
		{
			name:   "collapse id of 64 bytes",
			n:      Notification{Title: "t", CollapseID: strings.Repeat("c", 64)},
			header: map[string]string{"apns-collapse-id": strings.Repeat("c", 64)},
			body:   `{"aps":{"alert":{"title":"t"}}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, apnstest.Options{Record: true})
			tc.n.Token = deviceToken(7)
			res, err := e.client.Send(t.Context(), tc.n)
			if err != nil || res.Outcome != Delivered {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			got := e.srv.Received(deviceToken(7))
			if len(got) != 1 {
				t.Fatalf("received %d", len(got))
			}
			for k, want := range tc.header {
				if rel, ok := strings.CutPrefix(want, "+"); ok { // seconds from now
					d, _ := time.ParseDuration(rel + "s")
					want = strconv.FormatInt(e.clock.Now().Add(d).Unix(), 10)
				}
				if g := got[0].Header.Get(k); g != want {
					t.Errorf("%s = %q, want %q", k, g, want)
				}
			}
			if !strings.HasPrefix(got[0].Header.Get("authorization"), "bearer ") {
				t.Errorf("authorization = %q", got[0].Header.Get("authorization"))
			}
			if string(got[0].Payload) != tc.body {
				t.Errorf("body\n got %s\nwant %s", got[0].Payload, tc.body)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	e := newEnv(t, apnstest.Options{})
	for i, tc := range []struct {
		name       string
		fail       apnstest.Behavior
		status     int
		outcome    Outcome
		reason     string
		retryAfter time.Duration
	}{
		{"410 Unregistered", apnstest.Unregistered(), 410, Gone, "Unregistered", 0},
		{"410 ExpiredToken", apnstest.Reject(410, "ExpiredToken"), 410, Gone, "ExpiredToken", 0},
		{"400 BadDeviceToken", apnstest.BadDeviceToken(), 400, Gone, "BadDeviceToken", 0},
		{"400 DeviceTokenNotForTopic", apnstest.Reject(400, "DeviceTokenNotForTopic"), 400, Gone, "DeviceTokenNotForTopic", 0},
		{"429 with Retry-After", apnstest.TooManyRequests(7 * time.Second), 429, Retry, "TooManyRequests", 7 * time.Second},
		{"429 without Retry-After", apnstest.TooManyRequests(0), 429, Retry, "TooManyRequests", 0},
		{"500", apnstest.InternalServerError(), 500, Retry, "InternalServerError", 0},
		{"503 with Retry-After", apnstest.ServiceUnavailable(time.Minute), 503, Retry, "ServiceUnavailable", time.Minute},
		{"503 Shutdown", apnstest.Reject(503, "Shutdown"), 503, Retry, "Shutdown", 0},
		{"400 BadTopic", apnstest.Reject(400, "BadTopic"), 400, Failed, "BadTopic", 0},
		{"400 BadCollapseId", apnstest.Reject(400, "BadCollapseId"), 400, Failed, "BadCollapseId", 0},
		{"403 InvalidProviderToken", apnstest.Reject(403, "InvalidProviderToken"), 403, Failed, "InvalidProviderToken", 0},
		{"403 Forbidden", apnstest.Reject(403, "Forbidden"), 403, Failed, "Forbidden", 0},
		{"413 PayloadTooLarge", apnstest.Reject(413, "PayloadTooLarge"), 413, Failed, "PayloadTooLarge", 0},
		{"400 with an unknown reason", apnstest.Reject(400, "Made Up 1234"), 400, Failed, "http 400", 0},
		{"404 BadPath", apnstest.Reject(404, "BadPath"), 404, Failed, "BadPath", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := deviceToken(100 + i)
			e.srv.Fail(tok, tc.fail)
			res, err := e.client.Send(t.Context(), Notification{Token: tok, Title: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status || res.Outcome != tc.outcome || res.Reason != tc.reason || res.RetryAfter != tc.retryAfter {
				t.Fatalf("got %d %v %q %v, want %d %v %q %v", res.Status, res.Outcome, res.Reason, res.RetryAfter,
					tc.status, tc.outcome, tc.reason, tc.retryAfter)
			}
			if tc.status == 410 && tc.reason == "Unregistered" && !res.Unregistered.Equal(e.clock.Now()) {
				t.Errorf("Unregistered = %v, want the fake's %v", res.Unregistered, e.clock.Now())
			}
		})
	}
}

func TestErrorMappingFromRealChecks(t *testing.T) {
	// The same mappings, from the fake's own checks rather than injection.
	e := newEnv(t, apnstest.Options{})
	e.srv.BindToken(deviceToken(2), "com.example.other")
	otherTopic := e.creds
	otherTopic.Topic = "com.example.notours"
	badTopic, _ := NewClient(otherTopic, Options{BaseURL: e.srv.URL(), TLS: e.srv.TLSConfig(), Now: e.clock.Now})
	otherKey := e.creds
	otherKey.Key = newKey(t) // not the key registered for testKeyID
	badKey, _ := NewClient(otherKey, Options{BaseURL: e.srv.URL(), TLS: e.srv.TLSConfig(), Now: e.clock.Now})
	t.Cleanup(badTopic.Close)
	t.Cleanup(badKey.Close)

	for _, tc := range []struct {
		name    string
		c       *Client
		token   string
		outcome Outcome
		reason  string
	}{
		{"short token", e.client, "abcd", Gone, "BadDeviceToken"},
		{"token of another topic", e.client, deviceToken(2), Gone, "DeviceTokenNotForTopic"},
		{"topic not the team's", badTopic, deviceToken(3), Failed, "TopicDisallowed"},
		{"token signed with another key", badKey, deviceToken(3), Failed, "InvalidProviderToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.c.Send(t.Context(), Notification{Token: tc.token, Title: "t"})
			if err != nil || res.Outcome != tc.outcome || res.Reason != tc.reason {
				t.Fatalf("Send = %+v, %v; want %v %s", res, err, tc.outcome, tc.reason)
			}
		})
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	e := newEnv(t, apnstest.Options{})
	for _, tc := range []struct {
		name    string
		n       Notification
		outcome Outcome
		reason  string
		is      error
	}{
		{"payload too large", Notification{Title: "t", Body: strings.Repeat("x", MaxPayload)}, Failed, "PayloadTooLarge", ErrPayloadTooLarge},
		{"token not hex", Notification{Token: "../../x", Title: "t"}, Gone, "BadDeviceToken", nil},
		{"empty token", Notification{Token: "", Title: "t"}, Gone, "BadDeviceToken", nil},
		{"collapse id of 65 bytes", Notification{Title: "t", CollapseID: strings.Repeat("c", 65)}, Failed, "BadCollapseId", nil},
		{"id not a UUID", Notification{Title: "t", ID: "1234"}, Failed, "BadMessageId", nil},
		{"priority 7", Notification{Title: "t", Priority: 7}, Failed, "BadPriority", nil},
		{"negative ttl", Notification{Title: "t", TTL: -time.Second}, Failed, "BadExpirationDate", nil},
		{"data not an object", Notification{Title: "t", Data: json.RawMessage(`[1]`)}, Failed, "bad notification", nil},
		{"data null", Notification{Title: "t", Data: json.RawMessage(`null`)}, Failed, "bad notification", nil},
		{"data with aps", Notification{Title: "t", Data: json.RawMessage(`{"aps":{}}`)}, Failed, "bad notification", nil},
		{"data url and URL", Notification{Title: "t", URL: "u", Data: json.RawMessage(`{"url":"v"}`)}, Failed, "bad notification", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.n.Token == "" && tc.reason != "BadDeviceToken" {
				tc.n.Token = deviceToken(1)
			}
			res, err := e.client.Send(t.Context(), tc.n)
			if err == nil || res.Outcome != tc.outcome || res.Reason != tc.reason {
				t.Fatalf("Send = %+v, %v; want %v %q and an error", res, err, tc.outcome, tc.reason)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
	if n := e.srv.Stats().Requests; n != 0 {
		t.Fatalf("fake saw %d requests, want none", n)
	}
}

func TestPayloadLimitExact(t *testing.T) {
	e := newEnv(t, apnstest.Options{Record: true})
	n := Notification{Token: deviceToken(1), Title: "t"}
	base, err := n.Payload()
	if err != nil {
		t.Fatal(err)
	}
	n.Body = strings.Repeat("é", (MaxPayload-len(base)-len(`,"body":""`))/2) // 2 bytes each
	if b, _ := n.Payload(); len(b) != MaxPayload {
		n.Body += "x" // odd remainder
	}
	if b, err := n.Payload(); err != nil || len(b) != MaxPayload {
		t.Fatalf("payload of %d bytes, %v; want exactly %d", len(b), err, MaxPayload)
	}
	if res, err := e.client.Send(t.Context(), n); err != nil || res.Outcome != Delivered {
		t.Fatalf("4096-byte payload: %+v, %v", res, err)
	}
	n.Body += "x"
	if res, err := e.client.Send(t.Context(), n); !errors.Is(err, ErrPayloadTooLarge) || res.Outcome != Failed {
		t.Fatalf("4097-byte payload: %+v, %v", res, err)
	}
	if got := e.srv.Received(deviceToken(1)); len(got) != 1 || len(got[0].Payload) != MaxPayload {
		t.Fatalf("fake got %d notifications", len(got))
	}
}

func TestExpiredProviderTokenResignsOnce(t *testing.T) {
	e := newEnv(t, apnstest.Options{Record: true, StrictTokenUpdates: true})
	if res, err := e.client.Send(t.Context(), Notification{Token: deviceToken(0), Title: "first"}); err != nil || res.Outcome != Delivered {
		t.Fatalf("first send: %+v, %v", res, err)
	}
	e.clock.Add(10 * time.Minute)
	e.srv.ExpireTokensIssuedBefore(testKeyID, e.clock.Now())

	// Many senders hit the refused token at once: each notification goes
	// through, and one new token serves them all.
	const n = 50
	var wg sync.WaitGroup
	results := make([]Result, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = e.client.Send(context.Background(), Notification{Token: deviceToken(1 + i), Title: "again"})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i].Outcome != Delivered {
			t.Fatalf("send %d: %+v, %v", i, results[i], errs[i])
		}
	}
	if s := e.client.tokens.signs.Load(); s != 2 {
		t.Fatalf("signed %d tokens, want 2", s)
	}
	if got := e.srv.Tokens(testKeyID); got != 2 {
		t.Fatalf("fake saw %d tokens, want 2", got)
	}
	if c := e.srv.Count(); c != n+1 {
		t.Fatalf("fake accepted %d, want %d: a notification was lost", c, n+1)
	}
	st := e.srv.Stats()
	if r := st.Rejected["ExpiredProviderToken"]; r < 1 || r > n {
		t.Fatalf("ExpiredProviderToken answered %d times", r)
	}
	if st.Rejected["TooManyProviderTokenUpdates"] != 0 {
		t.Fatal("client changed tokens too often")
	}
}

func TestExpiredProviderTokenStillRefused(t *testing.T) {
	// A token under a minute old called expired means the clocks
	// disagree: the client does not re-sign, and the message is retried
	// later rather than failed.
	e := newEnv(t, apnstest.Options{})
	if _, err := e.client.Send(t.Context(), Notification{Token: deviceToken(0), Title: "t"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	e.srv.ExpireTokensIssuedBefore(testKeyID, e.clock.Now())
	res, err := e.client.Send(t.Context(), Notification{Token: deviceToken(0), Title: "t"})
	if err != nil || res.Outcome != Retry || res.Reason != "ExpiredProviderToken" {
		t.Fatalf("Send = %+v, %v; want Retry ExpiredProviderToken", res, err)
	}
	if s := e.client.tokens.signs.Load(); s != 1 {
		t.Fatalf("signed %d tokens, want 1", s)
	}

	// Once the token is old enough to re-sign but the fake keeps refusing
	// (its clock is ahead), the one retry is refused too: Retry, two
	// posts, no more.
	e.clock.Add(time.Minute)
	e.srv.ExpireTokensIssuedBefore(testKeyID, e.clock.Now().Add(time.Hour))
	before := e.srv.Stats().Requests
	res, err = e.client.Send(t.Context(), Notification{Token: deviceToken(0), Title: "t"})
	if err != nil || res.Outcome != Retry || res.Reason != "ExpiredProviderToken" {
		t.Fatalf("Send = %+v, %v; want Retry ExpiredProviderToken", res, err)
	}
	if n := e.srv.Stats().Requests - before; n != 2 {
		t.Fatalf("%d requests for one Send, want 2", n)
	}
}

func TestTokenRefreshThroughFake(t *testing.T) {
	e := newEnv(t, apnstest.Options{StrictTokenUpdates: true})
	send := func() {
		t.Helper()
		if res, err := e.client.Send(t.Context(), Notification{Token: deviceToken(0), Title: "t"}); err != nil || res.Outcome != Delivered {
			t.Fatalf("send at %v: %+v, %v", e.clock.Now(), res, err)
		}
	}
	send()
	for range 49 {
		e.clock.Add(time.Minute)
		send()
	}
	if got := e.srv.Tokens(testKeyID); got != 1 {
		t.Fatalf("%d tokens in 49 minutes, want 1", got)
	}
	e.clock.Add(time.Minute) // 50 minutes: refreshed before APNs' hour
	send()
	e.clock.Add(55 * time.Minute)
	send()
	if got := e.srv.Tokens(testKeyID); got != 3 {
		t.Fatalf("%d tokens, want 3", got)
	}
}

func TestTimeoutAndUnreachable(t *testing.T) {
	e := newEnv(t, apnstest.Options{})
	e.srv.Fail(deviceToken(1), apnstest.Slow(time.Minute))
	cl, err := NewClient(e.creds, Options{BaseURL: e.srv.URL(), TLS: e.srv.TLSConfig(), Now: e.clock.Now, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	res, err := cl.Send(t.Context(), Notification{Token: deviceToken(1), Title: "t"})
	if err == nil || res.Outcome != Retry || res.Reason != "timeout" {
		t.Fatalf("slow APNs: %+v, %v; want Retry timeout", res, err)
	}
	if strings.Contains(err.Error(), deviceToken(1)) {
		t.Errorf("error %q shows the device token", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if res, _ := cl.Send(ctx, Notification{Token: deviceToken(2), Title: "t"}); res.Outcome != Retry || res.Reason != "cancelled" {
		t.Fatalf("cancelled: %+v", res)
	}

	url := e.srv.URL()
	e.srv.Close()
	cl2, _ := NewClient(e.creds, Options{BaseURL: url, TLS: e.srv.TLSConfig(), Now: e.clock.Now})
	res, err = cl2.Send(t.Context(), Notification{Token: deviceToken(1), Title: "t"})
	if err == nil || res.Outcome != Retry || res.Reason != "unreachable" {
		t.Fatalf("closed APNs: %+v, %v; want Retry unreachable", res, err)
	}
	if strings.Contains(err.Error(), deviceToken(1)) {
		t.Errorf("error %q shows the device token", err)
	}
}

func TestNewClientBaseURL(t *testing.T) {
	c := Credentials{KeyID: testKeyID, TeamID: testTeam, Topic: testTopic, Key: newKey(t)}
	for _, u := range []string{"ftp://x", "https://", "://nope"} {
		if _, err := NewClient(c, Options{BaseURL: u}); err == nil {
			t.Errorf("base URL %q accepted", u)
		}
	}
	cl, err := NewClient(c, Options{BaseURL: "https://127.0.0.1:8443/", TLS: &tls.Config{}})
	if err != nil || cl.base != "https://127.0.0.1:8443" {
		t.Fatalf("base %q, %v", cl.base, err)
	}
}

func TestBaseURLByEnvironment(t *testing.T) {
	for _, prod := range []bool{false, true} {
		c := Credentials{KeyID: testKeyID, TeamID: testTeam, Topic: testTopic, Key: newKey(t), Production: prod}
		cl, err := NewClient(c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := SandboxURL
		if prod {
			want = ProductionURL
		}
		if cl.base != want {
			t.Errorf("production=%t: base %s, want %s", prod, cl.base, want)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	e := newEnv(t, apnstest.Options{})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if res, err := e.client.Send(context.Background(), Notification{Token: deviceToken(i), Title: "t"}); err != nil || res.Outcome != Delivered {
				t.Errorf("send %d: %+v, %v", i, res, err)
			}
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := e.srv.WaitCount(ctx, n); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if s := e.client.tokens.signs.Load(); s != 1 {
		t.Fatalf("signed %d tokens for %d concurrent sends, want 1", s, n)
	}
}
