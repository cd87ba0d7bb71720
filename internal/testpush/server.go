package testpush

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// VerifyMode says how many payloads are decrypted. Headers and the VAPID
// JWT are checked on every push in every mode.
type VerifyMode int

const (
	// VerifyAll decrypts every payload sent to a subscription whose private
	// key testpush holds, and verifies every JWT in full. It is the default.
	VerifyAll VerifyMode = iota
	// VerifySample decrypts one payload in Options.SampleEvery, and
	// verifies each distinct JWT once, remembering it until it expires.
	VerifySample
)

const (
	// DefaultSampleEvery is Options.SampleEvery when it is zero.
	DefaultSampleEvery = 100
	// DefaultQueueLimit is Options.QueueLimit when it is zero: how many
	// unacknowledged messages one browser may have waiting.
	DefaultQueueLimit = 1000
	// MaxBody is the largest body a push may have (RFC 8291 section 4:
	// push services must accept at least 4096 bytes, and the common ones
	// refuse more).
	MaxBody = 4096
	// jwtCacheLimit bounds the VerifySample JWT cache; past it the cache is
	// emptied, which costs only re-verification.
	jwtCacheLimit = 4096
	// readHeaderTimeout keeps a stuck client from holding a connection.
	readHeaderTimeout = 10 * time.Second
)

// Options configures a Server. The zero value is a plain HTTP server on
// 127.0.0.1:0 that verifies everything and records nothing per message.
type Options struct {
	// Addr is where Start listens; empty means 127.0.0.1:0. It must be a
	// loopback address: a test push service has no business elsewhere.
	Addr string
	// BaseURL is the scheme://host:port the Server is reached at, used to
	// build endpoints and, without its path, as the only accepted JWT aud.
	// Start sets it from its listener; New needs it from the caller. A
	// path is kept in endpoints: strip it before Handler (http.StripPrefix).
	BaseURL string
	// TLS makes Start serve HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with a
	// self-signed certificate for 127.0.0.1, ::1 and localhost. Without
	// it, Start serves HTTP/1.1 and cleartext HTTP/2 (h2c).
	TLS bool
	// StdHTTP2 serves HTTP/2 with net/http's server, as before the lean
	// one (see h2server.go) became the default: for comparing the two.
	// HTTP/1.1 and the browser WebSocket are on net/http either way.
	StdHTTP2 bool
	// Verify selects how many payloads are decrypted; see VerifyMode.
	Verify VerifyMode
	// SampleEvery is N in "decrypt one payload in N" under VerifySample;
	// zero means DefaultSampleEvery.
	SampleEvery int
	// Record keeps every accepted message (payload, headers, time) for
	// Received. Without it only counters are kept, so benchmarks can push
	// millions of messages in bounded memory.
	Record bool
	// FailRate, between 0 and 1, fails that fraction of all pushes with
	// FailWith, deterministically spread (every 1/FailRate-th push).
	FailRate float64
	// FailWith is the behaviour FailRate applies; zero means status 503.
	FailWith Behavior
	// QueueLimit bounds each browser's queue of unacknowledged messages;
	// zero means DefaultQueueLimit. A push past it is refused with 503.
	QueueLimit int
	// Logger receives protocol errors and socket events; nil discards.
	Logger *slog.Logger
	// Now is the clock for JWT expiry and message times; nil is time.Now.
	Now func() time.Time
	// OnAccept, if set, is called with the acceptance time (from Now) of
	// every push answered 201, on the request's goroutine, so it must be
	// safe for concurrent use and quick. It returns before the push is
	// counted, so once WaitCount(n) returns, OnAccept has returned for at
	// least n pushes. Benchmarks use it to measure latency without Record.
	OnAccept func(at time.Time)
}

// Server is a push service. Create it with Start or New; all its methods
// are safe for concurrent use.
type Server struct {
	o      Options
	base   string // no trailing slash
	origin string // scheme://host[:port], the accepted JWT aud
	log    *slog.Logger
	now    func() time.Time
	mux    *http.ServeMux

	subs    table
	browser browsers

	requests  atomic.Uint64
	accepted  counter
	decrypted atomic.Uint64
	forwarded atomic.Uint64
	expired   atomic.Uint64
	replaced  atomic.Uint64
	acked     atomic.Uint64
	rejected  [numReasons]atomic.Uint64
	msgSeq    atomic.Uint64
	sampleSeq atomic.Uint64

	faults faults

	jwtCache  sync.Map // Authorization header -> cachedJWT
	jwtCached atomic.Int64

	hs        *http.Server
	lean      *leanServer // nil with Options.StdHTTP2 or when not started
	ln        net.Listener
	pool      *x509.CertPool
	serveErr  chan error
	done      chan struct{}
	closeOnce sync.Once
}

// New returns a Server whose handler the caller mounts (see Handler);
// o.BaseURL must say where, or subscriptions cannot be created and every
// push fails the aud check.
func New(o Options) *Server {
	if o.SampleEvery <= 0 {
		o.SampleEvery = DefaultSampleEvery
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = DefaultQueueLimit
	}
	if o.FailWith == (Behavior{}) {
		o.FailWith = Behavior{Status: http.StatusServiceUnavailable}
	}
	s := &Server{
		o:    o,
		log:  o.Logger,
		now:  o.Now,
		done: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if u, err := url.Parse(strings.TrimRight(o.BaseURL, "/")); err == nil && u.Host != "" {
		s.base = u.Scheme + "://" + u.Host + u.EscapedPath()
		s.origin = u.Scheme + "://" + u.Host
	}
	s.browser.uas = make(map[string]*userAgent)
	s.browser.conns = make(map[*socket]struct{})
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /wpush/{id}", s.handlePush)
	s.mux.HandleFunc("GET /_testpush/stats", s.handleStats)
	s.mux.HandleFunc("GET /_testpush/received/{id}", s.handleReceived)
	s.mux.HandleFunc("GET /{$}", s.handleRoot)
	return s
}

// Start creates a Server and serves it on o.Addr (default 127.0.0.1:0),
// over TLS if o.TLS. o.BaseURL is ignored: it is taken from the listener.
func Start(o Options) (*Server, error) {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("testpush: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("testpush: address %q is not loopback", addr)
	}
	var cert tls.Certificate
	var pool *x509.CertPool
	if o.TLS {
		if cert, pool, err = selfSigned(); err != nil {
			return nil, fmt.Errorf("testpush: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testpush: listen: %w", err)
	}
	scheme := "http"
	if o.TLS {
		scheme = "https"
	}
	o.BaseURL = scheme + "://" + ln.Addr().String()
	s := New(o)
	s.ln, s.pool = ln, pool
	var protos http.Protocols
	protos.SetHTTP1(true)
	if o.TLS {
		protos.SetHTTP2(true)
	} else {
		protos.SetUnencryptedHTTP2(true)
	}
	s.hs = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       time.Minute,
		Protocols:         &protos,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if !o.StdHTTP2 {
		s.lean = newLeanServer(s)
		s.hs.TLSNextProto = s.lean.nextProto()
	}
	s.serveErr = make(chan error, 1)
	if o.TLS {
		s.hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		go func() { s.serveErr <- s.hs.ServeTLS(ln, "", "") }()
	} else {
		go func() { s.serveErr <- s.hs.Serve(ln) }()
	}
	return s, nil
}

// Handler serves the push endpoints, the inspection endpoints and the
// browser WebSocket.
func (s *Server) Handler() http.Handler { return s.mux }

// URL is the base URL, e.g. http://127.0.0.1:41234, without a trailing
// slash. The browser WebSocket is its ws:// (or wss://) form with "/".
func (s *Server) URL() string { return s.base }

// WebSocketURL is the value for Firefox's dom.push.serverURL pref.
func (s *Server) WebSocketURL() string {
	if rest, ok := strings.CutPrefix(s.base, "https://"); ok {
		return "wss://" + rest + "/"
	}
	return "ws://" + strings.TrimPrefix(s.base, "http://") + "/"
}

// CertPool trusts the self-signed certificate of a Server started with
// Options.TLS; it is nil otherwise.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// Client returns an HTTP/2-only client for this Server: h2 over TLS when
// it was started with Options.TLS, cleartext h2c otherwise. Only a Server
// made by Start is known to speak h2c.
func (s *Server) Client() *http.Client {
	var p http.Protocols
	if s.pool != nil {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return s.client(&p)
}

// HTTP1Client returns an HTTP/1.1-only client for this Server, trusting
// its certificate when it has one.
func (s *Server) HTTP1Client() *http.Client {
	var p http.Protocols
	p.SetHTTP1(true)
	return s.client(&p)
}

func (s *Server) client(p *http.Protocols) *http.Client {
	tr := &http.Transport{
		Protocols:           p,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
	}
	if s.pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// Close stops serving (when started by Start), closes every browser socket
// and wakes nothing: waiters keep waiting on their own contexts. Pushes
// held by an injected delay are answered 503 at once. HTTP/2 connections
// of the lean server get a GOAWAY and their requests in flight are
// answered before they close (for at most a couple of seconds). It is
// safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.browser.closeAll()
		if s.lean != nil {
			s.lean.shutdown()
		}
		if s.hs != nil {
			err = s.hs.Close()
			if serr := <-s.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("testpush: close: %w", err)
	}
	return nil
}
