package testpush

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/heraldpush/herald/internal/webpush"
)

// fakeFirefox is a browser's push client: its socket and the keys of its
// one subscription, which testpush never sees.
type fakeFirefox struct {
	t    *testing.T
	ctx  context.Context
	c    *websocket.Conn
	priv *ecdh.PrivateKey
	auth []byte
}

// serverMsg is any message testpush sends a browser.
type serverMsg struct {
	MessageType  string            `json:"messageType"`
	Status       int               `json:"status"`
	UAID         string            `json:"uaid"`
	ChannelID    string            `json:"channelID"`
	PushEndpoint string            `json:"pushEndpoint"`
	Version      string            `json:"version"`
	Data         string            `json:"data"`
	Headers      map[string]string `json:"headers"`
	UseWebPush   bool              `json:"use_webpush"`
}

func dialFirefox(t *testing.T, srv *Server) *fakeFirefox {
	t.Helper()
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, srv.WebSocketURL(), &websocket.DialOptions{Subprotocols: []string{pushSubprotocol}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.WebSocketURL(), err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &fakeFirefox{t: t, ctx: ctx, c: c}
}

func (f *fakeFirefox) send(v any) {
	f.t.Helper()
	if err := wsjson.Write(f.ctx, f.c, v); err != nil {
		f.t.Fatalf("write %v: %v", v, err)
	}
}

func (f *fakeFirefox) read() serverMsg {
	f.t.Helper()
	var m serverMsg
	if err := wsjson.Read(f.ctx, f.c, &m); err != nil {
		f.t.Fatalf("read: %v", err)
	}
	return m
}

func (f *fakeFirefox) hello(uaid string) string {
	f.t.Helper()
	msg := map[string]any{"messageType": "hello", "broadcasts": map[string]any{}, "use_webpush": true}
	if uaid != "" {
		msg["uaid"] = uaid
	}
	f.send(msg)
	m := f.read()
	if m.MessageType != "hello" || m.Status != 200 || len(m.UAID) != 32 || !m.UseWebPush {
		f.t.Fatalf("hello reply %+v", m)
	}
	return m.UAID
}

// ping sends "{}" and waits for "{}": every message sent before it has
// then been handled.
func (f *fakeFirefox) ping() {
	f.t.Helper()
	if err := f.c.Write(f.ctx, websocket.MessageText, []byte("{}")); err != nil {
		f.t.Fatal(err)
	}
	_, b, err := f.c.Read(f.ctx)
	if err != nil || strings.TrimSpace(string(b)) != "{}" {
		f.t.Fatalf("pong %q, %v", b, err)
	}
}

// subscription is what the page would post to Herald after subscribe().
func (f *fakeFirefox) subscription(endpoint string) Subscription {
	f.t.Helper()
	if f.priv == nil {
		var err error
		if f.priv, err = ecdh.P256().GenerateKey(rand.Reader); err != nil {
			f.t.Fatal(err)
		}
		f.auth = make([]byte, 16)
		rand.Read(f.auth)
	}
	return Subscription{Endpoint: endpoint, Keys: SubscriptionKeys{
		P256DH: base64.RawURLEncoding.EncodeToString(f.priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(f.auth),
	}}
}

// notification reads one notification and decrypts it as Firefox would.
func (f *fakeFirefox) notification(channelID string) (serverMsg, string) {
	f.t.Helper()
	m := f.read()
	if m.MessageType != "notification" || m.ChannelID != channelID || m.Version == "" || m.Headers["encoding"] != "aes128gcm" {
		f.t.Fatalf("notification %+v", m)
	}
	if strings.ContainsAny(m.Data, "=+/") {
		f.t.Errorf("data %q is not unpadded base64url", m.Data)
	}
	body, err := base64.RawURLEncoding.DecodeString(m.Data)
	if err != nil {
		f.t.Fatal(err)
	}
	pt, err := webpush.Decrypt(body, f.priv, f.auth)
	if err != nil {
		f.t.Fatalf("decrypt the forwarded body: %v", err)
	}
	return m, string(pt)
}

func TestBrowserProtocol(t *testing.T) {
	var clk clock
	srv := start(t, Options{Record: true, Now: clk.now})
	sn := newSender(t)
	c := srv.Client()

	ff := dialFirefox(t, srv)
	uaid := ff.hello("")
	if err := srv.WaitBrowserHello(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.BrowserHellos != 1 || st.BrowserConnected != 1 {
		t.Fatalf("stats after hello %+v", st)
	}
	ff.ping()

	// Firefox may pad the key it registers with.
	const chid = "5f0e2b7c-6d1a-4c3e-9b8a-1f2e3d4c5b6a"
	ff.send(map[string]string{"messageType": "register", "channelID": chid, "key": base64.URLEncoding.EncodeToString(sn.key.PublicKey())})
	reg := ff.read()
	if reg.MessageType != "register" || reg.Status != 200 || reg.ChannelID != chid || reg.UAID != uaid ||
		!strings.HasPrefix(reg.PushEndpoint, srv.URL()+"/wpush/") {
		t.Fatalf("register reply %+v", reg)
	}
	id := strings.TrimPrefix(reg.PushEndpoint, srv.URL()+"/wpush/")
	sub := ff.subscription(reg.PushEndpoint)

	r := do(t, c, sn.request(t, sub, []byte("hello firefox")))
	if r.status != http.StatusCreated {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	n, text := ff.notification(chid)
	if text != "hello firefox" || !strings.HasSuffix(r.header.Get("Location"), "/"+n.Version) {
		t.Fatalf("got %q version %q, Location %q", text, n.Version, r.header.Get("Location"))
	}
	if m := srv.Received(id); len(m) != 1 || m[0].Decrypted || len(m[0].Body) == 0 {
		t.Fatalf("recorded %+v", m)
	}
	ff.send(map[string]any{"messageType": "ack", "updates": []map[string]any{{"channelID": chid, "version": n.Version, "code": 100}}})
	ff.send(map[string]any{"messageType": "broadcast_subscribe", "broadcasts": map[string]string{"x": "v1"}})
	ff.ping()
	if st := srv.Stats(); st.Acked != 1 || st.Forwarded != 1 {
		t.Fatalf("stats after ack %+v", st)
	}

	// The registered key is enforced.
	if r := do(t, c, newSender(t).request(t, sub, []byte("intruder"))); r.status != http.StatusForbidden {
		t.Fatalf("push with another VAPID key: %d %s", r.status, r.body)
	}

	// Offline: queue, replace by topic, drop TTL 0 and expired messages.
	ff.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the socket to be seen closed", func() bool { return srv.Stats().BrowserConnected == 0 })
	offline := func(text, topic, ttl string) {
		t.Helper()
		req := sn.request(t, sub, []byte(text))
		req.Header.Set("TTL", ttl)
		if topic != "" {
			req.Header.Set("Topic", topic)
		}
		if r := do(t, c, req); r.status != http.StatusCreated {
			t.Fatalf("offline push %q: %d %s", text, r.status, r.body)
		}
	}
	offline("short-lived", "", "1")
	offline("first score", "score", "600")
	offline("now or never", "", "0")
	offline("final score", "score", "600")
	offline("later", "", "600")
	clk.advance(2 * time.Second)

	ff2 := dialFirefox(t, srv)
	ff2.priv, ff2.auth = ff.priv, ff.auth
	if got := ff2.hello(uaid); got != uaid {
		t.Fatalf("reconnect got uaid %q, want %q", got, uaid)
	}
	n1, t1 := ff2.notification(chid)
	n2, t2 := ff2.notification(chid)
	if t1 != "final score" || t2 != "later" {
		t.Fatalf("after reconnect got %q, %q", t1, t2)
	}
	ff2.send(map[string]any{"messageType": "ack", "updates": []map[string]any{
		{"channelID": chid, "version": n1.Version, "code": 100},
		{"channelID": chid, "version": n2.Version, "code": 100},
	}})
	ff2.ping()
	if st := srv.Stats(); st.Replaced != 1 || st.Expired != 2 || st.Acked != 3 || st.Accepted != 6 {
		t.Fatalf("stats after reconnect %+v", st)
	}

	// Unregister: the endpoint is gone.
	ff2.send(map[string]string{"messageType": "unregister", "channelID": chid})
	if m := ff2.read(); m.MessageType != "unregister" || m.Status != 200 || m.ChannelID != chid {
		t.Fatalf("unregister reply %+v", m)
	}
	if r := do(t, c, sn.request(t, sub, []byte("too late"))); r.status != http.StatusGone {
		t.Fatalf("push after unregister: %d", r.status)
	}

	// A second socket for the same uaid replaces the first.
	ff3 := dialFirefox(t, srv)
	ff3.hello(uaid)
	if _, _, err := ff2.c.Read(ff2.ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("replaced socket: %v", err)
	}
	// An unknown uaid gets a fresh one.
	if got := dialFirefox(t, srv).hello("00000000000000000000000000000000"); got == uaid || got == "00000000000000000000000000000000" {
		t.Fatalf("unknown uaid answered %q", got)
	}
}

func TestBrowserNoKeyAndLiveTopic(t *testing.T) {
	srv := start(t, Options{})
	ff := dialFirefox(t, srv)
	ff.hello("")
	ff.send(map[string]string{"messageType": "register", "channelID": "a"})
	reg := ff.read()
	if reg.Status != 200 {
		t.Fatalf("register without key: %+v", reg)
	}
	// Without a registered key any valid VAPID signature is accepted, and
	// a connected browser gets messages at once, topic or not.
	sub := ff.subscription(reg.PushEndpoint)
	for _, text := range []string{"one", "two"} {
		req := newSender(t).request(t, sub, []byte(text))
		req.Header.Set("Topic", "same")
		if r := do(t, srv.Client(), req); r.status != http.StatusCreated {
			t.Fatalf("push: %d %s", r.status, r.body)
		}
		if _, got := ff.notification("a"); got != text {
			t.Fatalf("got %q, want %q", got, text)
		}
	}
	// Bad registrations are refused on the socket, which stays open.
	ff.send(map[string]string{"messageType": "register", "channelID": "b", "key": "not a key"})
	if m := ff.read(); m.Status != http.StatusBadRequest {
		t.Fatalf("register with a bad key: %+v", m)
	}
	ff.send(map[string]string{"messageType": "register", "channelID": "a", "key": base64.RawURLEncoding.EncodeToString(newSender(t).key.PublicKey())})
	if m := ff.read(); m.Status != http.StatusConflict {
		t.Fatalf("re-register with another key: %+v", m)
	}
	ff.ping()
}

func TestBrowserProtocolErrors(t *testing.T) {
	srv := start(t, Options{})
	ctx := testContext(t)

	ff := dialFirefox(t, srv)
	ff.send(map[string]string{"messageType": "register", "channelID": "x"})
	if _, _, err := ff.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("register before hello: %v", err)
	}

	c, _, err := websocket.Dial(ctx, srv.WebSocketURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("no subprotocol: %v", err)
	}

	// Close ends open sockets.
	ff = dialFirefox(t, srv)
	ff.hello("")
	srv.Close()
	var ce websocket.CloseError
	if _, _, err := ff.c.Read(ctx); err == nil || errors.As(err, &ce) && ce.Code == websocket.StatusNormalClosure {
		t.Fatalf("socket after Close: %v", err)
	}
}

// TestBrowserConcurrentPushes races many pushes against a browser that
// reconnects halfway: every message arrives exactly once before its ack.
func TestBrowserConcurrentPushes(t *testing.T) {
	srv := start(t, Options{})
	sn := newSender(t)
	ff := dialFirefox(t, srv)
	uaid := ff.hello("")
	ff.send(map[string]string{"messageType": "register", "channelID": "c"})
	sub := ff.subscription(ff.read().PushEndpoint)

	const n = 40
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = sn.request(t, sub, []byte(strconv.Itoa(i)))
	}
	c := srv.Client()
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for _, req := range reqs[:n/2] {
		wg.Go(func() { statuses <- post(c, req) })
	}
	seen := map[string]bool{}
	for range n / 2 {
		_, text := ff.notification("c")
		seen[text] = true
	}
	// Reconnect without acking: the first half comes again, then the
	// second half as it is pushed.
	wg.Wait()
	ff.c.Close(websocket.StatusNormalClosure, "")
	ff2 := dialFirefox(t, srv)
	ff2.priv, ff2.auth = ff.priv, ff.auth
	ff2.hello(uaid)
	for _, req := range reqs[n/2:] {
		wg.Go(func() { statuses <- post(c, req) })
	}
	again := map[string]bool{}
	for range n {
		_, text := ff2.notification("c")
		if again[text] {
			t.Fatalf("%q delivered twice on one socket", text)
		}
		again[text] = true
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusCreated {
			t.Fatalf("push answered %d", s)
		}
	}
	if len(seen) != n/2 || len(again) != n {
		t.Fatalf("first socket saw %d, second %d; want %d and %d", len(seen), len(again), n/2, n)
	}
}

// post sends req and returns the status, or 0 if it failed; for goroutines
// that must not call t.Fatal.
func post(c *http.Client, req *http.Request) int {
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBrowserOverTLS(t *testing.T) {
	srv := start(t, Options{TLS: true})
	if !strings.HasPrefix(srv.WebSocketURL(), "wss://127.0.0.1:") {
		t.Fatalf("WebSocketURL %q", srv.WebSocketURL())
	}
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, srv.WebSocketURL(), &websocket.DialOptions{
		Subprotocols: []string{pushSubprotocol},
		HTTPClient:   srv.HTTP1Client(),
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	ff := &fakeFirefox{t: t, ctx: ctx, c: c}
	ff.hello("")
	ff.send(map[string]string{"messageType": "register", "channelID": "tls"})
	sub := ff.subscription(ff.read().PushEndpoint)
	if r := do(t, srv.Client(), newSender(t).request(t, sub, []byte("secure"))); r.status != http.StatusCreated || r.proto != 2 {
		t.Fatalf("push over h2: %d HTTP/%d", r.status, r.proto)
	}
	if _, text := ff.notification("tls"); text != "secure" {
		t.Fatalf("got %q", text)
	}
}
