package h2client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer is Go's own HTTP/2 server (or HTTP/1.1 when h2 is off), an
// implementation independent of this package, counting its connections.
type testServer struct {
	*httptest.Server
	newConns atomic.Int32
	mu       sync.Mutex
	raw      []net.Conn // the TCP connections, to cut them
}

type captureListener struct {
	net.Listener
	s *testServer
}

func (l captureListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.raw = append(l.s.raw, c)
		l.s.mu.Unlock()
	}
	return c, err
}

// startServer serves h over TLS, with HTTP/2 unless h2 is nil; ln, when
// not nil, is the listener to use.
func startServer(t testing.TB, h http.Handler, h2 *http.HTTP2Config, ln net.Listener) *testServer {
	t.Helper()
	ts := &testServer{Server: httptest.NewUnstartedServer(h)}
	if ln != nil {
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Listener = captureListener{Listener: ts.Listener, s: ts}
	ts.EnableHTTP2 = h2 != nil
	ts.Config.HTTP2 = h2
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			ts.newConns.Add(1)
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// cut closes the server's TCP connections without a word.
func (ts *testServer) cut() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.raw {
		c.Close()
	}
	ts.raw = nil
}

func newTransport(t testing.TB, ts *testServer, o Options) *Transport {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	o.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr, err := New(ts.URL, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// do POSTs body to url and returns the response with its body read.
func do(ctx context.Context, tr http.RoundTripper, url string, body []byte, h http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if h != nil {
		req.Header = h
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// echo answers 201 with the request body, its path in X-Path, its
// protocol in X-Proto and its TTL header in X-Ttl.
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Path", r.URL.Path)
	w.Header().Set("X-Proto", r.Proto)
	w.Header().Set("X-Ttl", r.Header.Get("TTL"))
	w.Header().Set("X-Length", r.Header.Get("Content-Length"))
	w.WriteHeader(http.StatusCreated)
	w.Write(b)
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (t *Transport) connCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}
