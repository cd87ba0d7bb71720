package webpush

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		want       Outcome
		wantAfter  time.Duration
	}{
		{"201 created", 201, "", Delivered, 0},
		{"202 accepted", 202, "", Delivered, 0},
		{"301 redirect", 301, "", Failed, 0},
		{"400 bad request", 400, "", Failed, 0},
		{"401 bad vapid", 401, "", Failed, 0},
		{"403 wrong key", 403, "", Failed, 0},
		{"404 not found", 404, "", Gone, 0},
		{"410 gone", 410, "", Gone, 0},
		{"413 too large", 413, "", TooLarge, 0},
		{"429 no retry-after", 429, "", RateLimited, 0},
		{"429 seconds", 429, "120", RateLimited, 2 * time.Minute},
		{"429 seconds with spaces", 429, " 7 ", RateLimited, 7 * time.Second},
		{"429 http date", 429, date(90 * time.Second), RateLimited, 90 * time.Second},
		{"429 date in the past", 429, date(-time.Hour), RateLimited, 0},
		{"429 garbage", 429, "soon", RateLimited, 0},
		{"429 negative", 429, "-5", RateLimited, 0},
		{"429 huge seconds", 429, "99999999999999999999", RateLimited, 0},
		{"429 a year", 429, "31536000", RateLimited, 24 * time.Hour},
		{"500", 500, "", Retry, 0},
		{"502", 502, "", Retry, 0},
		{"503 with retry-after", 503, "30", Retry, 30 * time.Second},
		{"503 with date", 503, date(time.Hour), Retry, time.Hour},
		{"400 ignores retry-after", 400, "30", Failed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			if tc.retryAfter != "" {
				resp.Header.Set("Retry-After", tc.retryAfter)
			}
			r := Classify(resp, now)
			if r.Outcome != tc.want || r.RetryAfter != tc.wantAfter || r.Status != tc.status {
				t.Fatalf("Classify = %+v (%s), want %s after %s", r, r.Outcome, tc.want, tc.wantAfter)
			}
			if r.Outcome.Retryable() != (tc.want == RateLimited || tc.want == Retry) {
				t.Errorf("%s.Retryable() = %v", r.Outcome, r.Outcome.Retryable())
			}
			if !strings.HasPrefix(r.Reason, strconv.Itoa(tc.status)+" ") {
				t.Errorf("Reason %q does not start with the status", r.Reason)
			}
		})
	}
	// The zero Result must never read as a delivery.
	if (Result{}).Outcome != Failed {
		t.Fatal("zero Outcome is not Failed")
	}
}

func TestMessageValidation(t *testing.T) {
	ua := newUserAgent(t)
	sub := Subscription{Endpoint: "https://push.example.net/x", Keys: ua.keys()}
	for _, tc := range []struct {
		name    string
		sub     Subscription
		m       Message
		errText string
	}{
		{"negative ttl", sub, Message{TTL: -time.Second}, "negative TTL"},
		{"bad urgency", sub, Message{Urgency: "urgent"}, "urgency"},
		{"topic too long", sub, Message{Topic: strings.Repeat("a", 33)}, "topic"},
		{"topic with space", sub, Message{Topic: "a b"}, "topic"},
		{"topic with plus", sub, Message{Topic: "a+b"}, "topic"},
		{"topic with padding", sub, Message{Topic: "YWJj="}, "topic"},
		{"payload too large", sub, Message{Payload: make([]byte, MaxPlaintext+1)}, "too large"},
		{"bad p256dh", Subscription{sub.Endpoint, Keys{P256DH: make([]byte, 65), Auth: ua.auth}}, Message{Payload: []byte("x")}, "not a P-256 point"},
		{"bad auth", Subscription{sub.Endpoint, Keys{P256DH: ua.keys().P256DH, Auth: ua.auth[:4]}}, Message{Payload: []byte("x")}, "16 bytes"},
		{"ftp endpoint", Subscription{"ftp://push.example.net/x", sub.Keys}, Message{Payload: []byte("x")}, "not http(s)"},
		{"relative endpoint", Subscription{"/x", sub.Keys}, Message{}, "http(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRequest(context.Background(), tc.sub, tc.m, nil)
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("NewRequest error %v, want one mentioning %q", err, tc.errText)
			}
		})
	}
	for _, m := range []Message{
		{Topic: strings.Repeat("A", 32)}, {Topic: "abc-_09XYZ"}, {Urgency: UrgencyVeryLow},
		{Urgency: UrgencyLow}, {Urgency: UrgencyNormal}, {Urgency: UrgencyHigh}, {Payload: make([]byte, MaxPlaintext)},
	} {
		if _, err := NewRequest(context.Background(), sub, m, nil); err != nil {
			t.Errorf("NewRequest(%+v): %v", m.Topic, err)
		}
	}
}

// fakePushService is an RFC 8030 push service on 127.0.0.1 that decrypts
// every message with the subscriber's keys and verifies its VAPID token.
type fakePushService struct {
	*httptest.Server
	ua     userAgent
	vapid  []byte // expected public key
	now    func() time.Time
	got    chan pushed
	status atomic.Int32
	conns  atomic.Int32
}

type pushed struct {
	header  http.Header
	payload []byte
	claims  VAPIDClaims
	err     error
}

func newFakePushService(t *testing.T, ua userAgent, vapid []byte, now func() time.Time) *fakePushService {
	f := &fakePushService{ua: ua, vapid: vapid, now: now, got: make(chan pushed, 16)}
	f.status.Store(http.StatusCreated)
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakePushService) serve(w http.ResponseWriter, r *http.Request) {
	p := pushed{header: r.Header.Clone()}
	body, err := io.ReadAll(r.Body)
	switch {
	case err != nil:
		p.err = err
	case r.Header.Get("Content-Encoding") != "aes128gcm":
		p.err = errors.New("Content-Encoding is not aes128gcm")
	default:
		p.payload, p.err = Decrypt(body, f.ua.priv, f.ua.auth)
	}
	if p.err == nil {
		var token string
		var pub []byte
		token, pub, p.err = ParseVAPIDHeader(r.Header.Get("Authorization"))
		if p.err == nil {
			p.claims, p.err = VerifyVAPIDToken(token, pub, f.now())
		}
		if p.err == nil && string(pub) != string(f.vapid) {
			p.err = errors.New("VAPID key is not the application server's")
		}
	}
	f.got <- p
	status := int(f.status.Load())
	if status >= 400 {
		// A body bigger than one read, as real push services send.
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"code": 410, "errno": 103, "error": "Gone",`+"\n\t"+`"message": "Subscription expired"}`+strings.Repeat(" ", 8<<10))
		return
	}
	w.WriteHeader(status)
}

func TestSendToFakePushService(t *testing.T) {
	ua := newUserAgent(t)
	signer, key, clock := newTestSigner(t, "mailto:ops@example.com")
	f := newFakePushService(t, ua, key.PublicKey(), clock.now)
	sub := Subscription{Endpoint: f.URL + "/push/abc", Keys: ua.keys()}
	ctx := context.Background()

	msg := Message{Payload: []byte(`{"title":"hi"}`), TTL: 90*time.Second + 900*time.Millisecond, Urgency: UrgencyHigh, Topic: "news"}
	r, err := Send(ctx, f.Client(), sub, msg, signer)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Delivered || r.Status != http.StatusCreated {
		t.Fatalf("Send = %+v", r)
	}
	p := <-f.got
	if p.err != nil {
		t.Fatalf("push service: %v", p.err)
	}
	if string(p.payload) != string(msg.Payload) {
		t.Fatalf("push service decrypted %q", p.payload)
	}
	for name, want := range map[string]string{
		"TTL": "90", "Urgency": "high", "Topic": "news",
		"Content-Type": "application/octet-stream", "Content-Encoding": "aes128gcm",
	} {
		if got := p.header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if want := strings.TrimSuffix(f.URL, "/"); p.claims.Audience != want {
		t.Errorf("aud %q, want %q (with the loopback port)", p.claims.Audience, want)
	}

	// A dead subscription: Gone, with the push service's reason, and the
	// 8 KiB error body drained so the connection is reused.
	f.status.Store(http.StatusGone)
	r, err = Send(ctx, f.Client(), sub, Message{Payload: []byte("x"), TTL: time.Minute}, signer)
	if err != nil {
		t.Fatal(err)
	}
	<-f.got
	if r.Outcome != Gone || !strings.Contains(r.Reason, "Subscription expired") {
		t.Fatalf("Send = %+v, want Gone with the body's message", r)
	}
	if strings.ContainsAny(r.Reason, "\n\t") || len(r.Reason) > 250 {
		t.Errorf("Reason %q is not a short single line", r.Reason)
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("%d connections for two pushes: the body was not drained for reuse", n)
	}
}

func TestSendWithoutPayload(t *testing.T) {
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	r, err := Send(context.Background(), srv.Client(), Subscription{Endpoint: srv.URL + "/p"}, Message{}, nil)
	if err != nil || r.Outcome != Delivered {
		t.Fatalf("Send = %+v, %v", r, err)
	}
	if len(body) != 0 || got.Get("Content-Encoding") != "" || got.Get("TTL") != "0" || got.Get("Authorization") != "" {
		t.Fatalf("empty push sent body %q headers %v", body, got)
	}
}

func TestSendErrors(t *testing.T) {
	ua := newUserAgent(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	sub := Subscription{Endpoint: url + "/p", Keys: ua.keys()}

	r, err := Send(context.Background(), &http.Client{Timeout: 5 * time.Second}, sub, Message{Payload: []byte("x")}, nil)
	if err == nil || r.Outcome != Retry {
		t.Fatalf("unreachable push service: %+v, %v; want Retry and an error", r, err)
	}
	if strings.Contains(err.Error(), "/p") {
		t.Errorf("error %q shows the endpoint path", err)
	}
	r, err = Send(context.Background(), http.DefaultClient, sub, Message{Payload: make([]byte, MaxPlaintext+1)}, nil)
	if !errors.Is(err, ErrPayloadTooLarge) || r.Outcome != TooLarge {
		t.Fatalf("oversized payload: %+v, %v", r, err)
	}
	r, err = Send(context.Background(), http.DefaultClient, sub, Message{Urgency: "now"}, nil)
	if err == nil || r.Outcome != Failed {
		t.Fatalf("bad message: %+v, %v", r, err)
	}
	if _, err := Send(context.Background(), nil, sub, Message{}, nil); err == nil {
		t.Fatal("nil client accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Send(ctx, http.DefaultClient, sub, Message{}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestNewRequestRedactsEndpoint(t *testing.T) {
	_, err := NewRequest(context.Background(), Subscription{Endpoint: "https://push.example.net/secret%zz"}, Message{}, nil)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("NewRequest error %v: want one that hides the path", err)
	}
}
