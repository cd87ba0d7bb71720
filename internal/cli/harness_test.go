package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/cli"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// herald runs one CLI command to completion and returns its stdout.
func herald(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Env{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errb})
	if code != 0 {
		t.Fatalf("herald %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// server is a running herald serve.
type server struct {
	URL  string
	Data string
	Logs *syncBuffer
	// Stop shuts the server down (SIGTERM-like) and waits for it; the
	// test's cleanup does it too.
	Stop func()
}

// startServer runs herald serve on 127.0.0.1:0 in dataDir until the test ends.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	logs := &syncBuffer{}
	done := make(chan int, 1)
	args := append([]string{"serve", "--data", dataDir, "--addr", "127.0.0.1:0", "--allow-endpoint", "127.0.0.1", "--log-level", "debug"}, extra...)
	go func() {
		done <- cli.Run(ctx, args, cli.Env{
			Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: logs,
			Listening: func(a string) { addr <- a },
		})
	}()
	select {
	case a := <-addr:
		stop := sync.OnceFunc(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("herald serve exited %d: %s", code, logs.String())
			}
		})
		t.Cleanup(stop)
		return &server{URL: "http://" + a, Data: dataDir, Logs: logs, Stop: stop}
	case code := <-done:
		cancel()
		t.Fatalf("herald serve exited %d before listening: %s", code, logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("herald serve did not listen within 30s: %s", logs.String())
	}
	return nil
}

func createApp(t *testing.T, dataDir, name string) apps.Credentials {
	t.Helper()
	out := herald(t, nil, "app", "create", "--name", name, "--json", "--data", dataDir)
	var c apps.Credentials
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("app create --json printed %q: %v", out, err)
	}
	return c
}

// browserSubscription makes a PushSubscription JSON like a browser's, with a
// real P-256 key and auth secret.
func browserSubscription(endpoint string) map[string]any {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]any{"endpoint": endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": enc(k.PublicKey().Bytes()), "auth": enc(auth)}}
}

type response struct {
	Status int
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

// do sends one request and fails the test if it cannot; from the test goroutine only.
func do(t testing.TB, c *http.Client, method, url, auth string, body any, hdr ...string) response {
	t.Helper()
	r, err := request(c, method, url, auth, body, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// request sends one request; body may be nil, a string (sent as is) or a
// value to encode. Safe to call from any goroutine.
func request(c *http.Client, method, url, auth string, body any, hdr ...string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	if ct := resp.Header.Get("Content-Type"); len(b) > 0 && !strings.HasPrefix(ct, "application/json") {
		return response{}, fmt.Errorf("%s %s: Content-Type %q, want application/json", method, url, ct)
	}
	return response{resp.StatusCode, b}, nil
}

func bearer(key string) string { return "Bearer " + key }

func endpointFor(i int) string { return fmt.Sprintf("http://127.0.0.1:1/wpush/sub-%d", i) }
