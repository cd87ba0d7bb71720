package testpush

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldpush/herald/internal/webpush"
)

// start runs a Server for one test and closes it afterwards.
func start(t testing.TB, o Options) *Server {
	t.Helper()
	srv, err := Start(o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// clock is a settable clock for Options.Now: real time plus an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// sender is an application server: a VAPID key and its signer.
type sender struct {
	key    *webpush.VAPIDKey
	signer *webpush.Signer
}

func newSender(t testing.TB) *sender { return senderAt(t, time.Now) }

func senderAt(t testing.TB, now func() time.Time) *sender {
	t.Helper()
	key, err := webpush.GenerateVAPIDKey()
	if err != nil {
		t.Fatalf("GenerateVAPIDKey: %v", err)
	}
	return &sender{key: key, signer: webpush.NewSigner(key, "mailto:ops@example.com", now)}
}

// encrypt encrypts payload for sub as internal/webpush does.
func encrypt(t testing.TB, sub Subscription, payload []byte) []byte {
	t.Helper()
	ws, err := sub.WebPush()
	if err != nil {
		t.Fatalf("WebPush: %v", err)
	}
	pub, err := webpush.ParseP256DH(ws.Keys.P256DH)
	if err != nil {
		t.Fatalf("ParseP256DH: %v", err)
	}
	body, err := webpush.Encrypt(payload, pub, ws.Keys.Auth, webpush.EncryptOptions{})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return body
}

// request builds a valid push of payload to sub, signed by sn.
func (sn *sender) request(t testing.TB, sub Subscription, payload []byte) *http.Request {
	t.Helper()
	return sn.requestBody(t, sub.Endpoint, encrypt(t, sub, payload))
}

func (sn *sender) requestBody(t testing.TB, endpoint string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	req.Header.Set("TTL", "60")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Content-Type", "application/octet-stream")
	h, err := sn.signer.Header(endpoint)
	if err != nil {
		t.Fatalf("Signer.Header: %v", err)
	}
	req.Header.Set("Authorization", h)
	return req
}

// setBody replaces a request's body.
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.GetBody = nil
}

// response is what a push request got back.
type response struct {
	status int
	proto  int
	header http.Header
	code   string // error code of a JSON error body
	body   string
}

func do(t testing.TB, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	r := response{status: resp.StatusCode, proto: resp.ProtoMajor, header: resp.Header, body: string(b)}
	var eb errorBody
	if json.Unmarshal(b, &eb) == nil {
		r.code = eb.Error.Code
	}
	return r
}

// craftHeader signs arbitrary claims with a fresh P-256 key, for tokens a
// correct signer would never make. It returns the header and the key.
func craftHeader(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(priv)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	pub, err := priv.PublicKey.Bytes()
	if err != nil {
		t.Fatalf("public key: %v", err)
	}
	return "vapid t=" + tok + ", k=" + base64.RawURLEncoding.EncodeToString(pub)
}

// withKey replaces the k= of a VAPID header.
func withKey(h string, key []byte) string {
	i := strings.Index(h, "k=")
	return h[:i] + "k=" + base64.RawURLEncoding.EncodeToString(key)
}

// waitFor polls cond until it holds or the deadline passes; for state that
// has no channel to wait on, such as a socket the server has yet to notice
// closing.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
