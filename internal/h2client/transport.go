package h2client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero Options.
const (
	defaultMaxConns        = 8
	defaultIdleTimeout     = 90 * time.Second
	defaultDialTimeout     = 10 * time.Second
	defaultWriteTimeout    = 30 * time.Second
	defaultMaxResponseBody = 64 << 10
	defaultPingTimeout     = 15 * time.Second
	// maxAttempts bounds how often one request is sent when the server
	// did not process it (refused, above a GOAWAY, connection lost first).
	maxAttempts = 3
	// fallbackIdlePerHost is how many HTTP/1.1 connections the fallback
	// transport keeps: as many as Herald has pushes in flight per origin.
	fallbackIdlePerHost = 128
)

// ErrUnprocessed is wrapped by the error of a request that the server did
// not process, so sending it again is safe.
var ErrUnprocessed = errors.New("h2client: request not processed by the server")

// errFallback tells RoundTrip to use the HTTP/1.1 fallback.
var errFallback = errors.New("h2client: origin does not speak h2")

// Options tune a Transport. The zero value works.
type Options struct {
	// TLS is the client TLS configuration; it is cloned, and its
	// NextProtos and (when empty) ServerName are set. nil uses the system
	// roots.
	TLS *tls.Config
	// MaxConns bounds the connections to the origin (default 8).
	MaxConns int
	// IdleTimeout closes a connection that has had no request for this
	// long (default 90 s).
	IdleTimeout time.Duration
	// DialTimeout bounds the TCP dial and TLS handshake (default 10 s).
	DialTimeout time.Duration
	// WriteTimeout bounds one write to the connection; a server that
	// stops reading for longer is taken for dead (default 30 s).
	WriteTimeout time.Duration
	// MaxResponseBody is how much of a response body is kept (default
	// 64 KiB); past it the stream is reset and Body's last Read returns
	// ErrBodyTruncated.
	MaxResponseBody int
	// PingTimeout: when a request's context ends before its answer, the
	// connection is sent a PING, and closed if nothing at all arrives on
	// it within PingTimeout (default 15 s), so a silently dead peer does
	// not hold the origin's requests until each times out.
	PingTimeout time.Duration
}

// Transport is an http.RoundTripper for one https origin over HTTP/2.
type Transport struct {
	host string // the origin's authority, as in its URLs
	addr string // host:port to dial
	o    Options
	tls  *tls.Config
	// maxStreamID is the highest stream id a connection uses before the
	// next request goes to a new one (tests lower it).
	maxStreamID uint32

	ctx    context.Context // ends at Close: aborts dials
	cancel context.CancelFunc

	waiting  atomic.Int32 // callers waiting for capacity
	fallback atomic.Pointer[http.Transport]

	mu      sync.Mutex
	conns   []*conn
	dial    *dialCall
	changed chan struct{} // closed and replaced when capacity may have freed
	closed  bool
}

type dialCall struct {
	done chan struct{}
	err  error
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a Transport for origin, "https://host[:port]".
func New(origin string, o Options) (*Transport, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("h2client: origin %q is not https://host[:port]", origin)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = defaultMaxConns
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = defaultDialTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.MaxResponseBody <= 0 {
		o.MaxResponseBody = defaultMaxResponseBody
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = defaultPingTimeout
	}
	conf := o.TLS.Clone()
	if conf == nil {
		conf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	conf.NextProtos = []string{"h2", "http/1.1"}
	if conf.ServerName == "" {
		conf.ServerName = u.Hostname()
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Transport{host: u.Host, addr: addr, o: o, tls: conf, maxStreamID: 1<<31 - 1,
		ctx: ctx, cancel: cancel, changed: make(chan struct{})}, nil
}

// RoundTrip sends req and returns the server's answer. req must be for the
// Transport's origin. The response body is already in memory.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	if req.URL == nil || req.URL.Scheme != "https" || !strings.EqualFold(req.URL.Host, t.host) {
		return nil, fmt.Errorf("h2client: request is not for https://%s", t.host)
	}
	if fb := t.fallback.Load(); fb != nil {
		return t.viaFallback(fb, req, body)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		s, err := newStream(req, body)
		if err != nil {
			return nil, err
		}
		c, err := t.enqueue(ctx, s)
		if errors.Is(err, errFallback) {
			return t.viaFallback(t.fallback.Load(), req, body)
		}
		if err != nil {
			return nil, err
		}
		resp, err := c.await(ctx, s)
		if err == nil || attempt == maxAttempts || ctx.Err() != nil || !errors.Is(err, ErrUnprocessed) {
			return resp, err
		}
	}
}

// readBody reads and closes req.Body, as a RoundTripper must.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	if req.ContentLength > 0 {
		b := make([]byte, req.ContentLength)
		if _, err := io.ReadFull(req.Body, b); err != nil {
			return nil, fmt.Errorf("h2client: read request body: %w", err)
		}
		var one [1]byte
		if n, _ := req.Body.Read(one[:]); n > 0 {
			return nil, errors.New("h2client: request body longer than its ContentLength")
		}
		return b, nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("h2client: read request body: %w", err)
	}
	return b, nil
}

// enqueue queues s on a connection with a free stream slot, dialling one
// when all are busy and fewer than MaxConns are open, or waiting for one.
func (t *Transport) enqueue(ctx context.Context, s *stream) (*conn, error) {
	for {
		t.mu.Lock()
		// Counted before the connections are tried: a slot freed after
		// this is seen by the finisher, one freed before by tryEnqueue.
		t.waiting.Add(1)
		if t.closed {
			t.waiting.Add(-1)
			t.mu.Unlock()
			return nil, fmt.Errorf("h2client: transport for %s closed", t.host)
		}
		if t.fallback.Load() != nil {
			t.waiting.Add(-1)
			t.mu.Unlock()
			return nil, errFallback
		}
		var enqueued *conn
		t.conns = slices.DeleteFunc(t.conns, func(c *conn) bool {
			if enqueued != nil {
				return false
			}
			ok, retire := c.tryEnqueue(s)
			if ok {
				enqueued = c
			}
			return retire
		})
		if enqueued != nil {
			t.waiting.Add(-1)
			t.mu.Unlock()
			return enqueued, nil
		}
		var d *dialCall
		if len(t.conns) < t.o.MaxConns {
			if t.dial == nil {
				t.dial = &dialCall{done: make(chan struct{})}
				go t.dialConn(t.dial)
			}
			d = t.dial
		}
		changed := t.changed
		t.mu.Unlock()
		var err error
		if d != nil {
			select {
			case <-d.done:
				err = d.err
			case <-ctx.Done():
				err = ctx.Err()
			}
		} else {
			select {
			case <-changed:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		t.waiting.Add(-1)
		if err != nil && !errors.Is(err, errFallback) {
			return nil, err
		}
	}
}

// dialConn opens a connection and adds it to the pool.
func (t *Transport) dialConn(d *dialCall) {
	c, err := dial(t)
	t.mu.Lock()
	t.dial = nil
	closed := t.closed
	switch {
	case err != nil:
		d.err = err
	case !closed:
		t.conns = append(t.conns, c)
	}
	t.broadcastLocked()
	t.mu.Unlock()
	if err == nil && closed {
		c.close()
	}
	close(d.done)
}

// setFallback switches the origin to HTTP/1.1.
func (t *Transport) setFallback() {
	fb := &http.Transport{
		TLSClientConfig:     t.o.TLS.Clone(),
		MaxIdleConnsPerHost: fallbackIdlePerHost,
		IdleConnTimeout:     t.o.IdleTimeout,
		TLSHandshakeTimeout: t.o.DialTimeout,
		DisableCompression:  true,
		Protocols:           new(http.Protocols),
	}
	fb.Protocols.SetHTTP1(true)
	t.fallback.CompareAndSwap(nil, fb)
}

func (t *Transport) viaFallback(fb *http.Transport, req *http.Request, body []byte) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = http.NoBody, 0
	if len(body) > 0 {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := fb.RoundTrip(r)
	if err != nil {
		return nil, fmt.Errorf("h2client: %s over HTTP/1.1: %w", t.host, err)
	}
	return resp, nil
}

// broadcast wakes the callers waiting for capacity, if any.
func (t *Transport) broadcast() {
	if t.waiting.Load() == 0 {
		return
	}
	t.mu.Lock()
	t.broadcastLocked()
	t.mu.Unlock()
}

func (t *Transport) broadcastLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// remove takes c out of the pool: it is dead, going away or out of ids.
func (t *Transport) remove(c *conn) {
	t.mu.Lock()
	if i := slices.Index(t.conns, c); i >= 0 {
		t.conns = slices.Delete(t.conns, i, i+1)
	}
	t.broadcastLocked()
	t.mu.Unlock()
}

// CloseIdleConnections closes the connections with no request in flight.
// http.Client.CloseIdleConnections calls it.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	conns := append([]*conn(nil), t.conns...)
	t.mu.Unlock()
	for _, c := range conns {
		c.closeIfIdle(0)
	}
	if fb := t.fallback.Load(); fb != nil {
		fb.CloseIdleConnections()
	}
}

// Close closes every connection, failing the requests in flight, and
// makes later requests fail.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = nil
	t.broadcastLocked()
	t.mu.Unlock()
	t.cancel()
	for _, c := range conns {
		c.close()
	}
	if fb := t.fallback.Load(); fb != nil {
		fb.CloseIdleConnections()
	}
	return nil
}
