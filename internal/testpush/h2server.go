package testpush

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The lean HTTP/2 server. net/http's HTTP/2 server spends 17–22 µs of
// CPU per push on a goroutine per stream, channel hand-offs between its serve
// loop and the handlers, and a flush per response; in a benchmark that is
// CPU taken from Herald. This one runs each connection on the goroutine
// net/http hands it over on (after ALPN "h2", or the h2c preface): it
// reads frames with x/net/http2's Framer, decodes headers with its hpack
// decoder, answers POST /wpush/{id} inline through the push core once the
// body is complete, and flushes the buffered answers once no further
// frame is buffered, so a burst of pushes costs one write.
//
// Requests it does not answer inline: a push with an injected delay runs
// on a goroutine of its own, so it does not hold up the other streams;
// any other method or path is handed to the Server's http.ServeMux with a
// recorded response, on a goroutine too. HTTP/1.1 and the browser
// WebSocket stay on net/http. Options.StdHTTP2 puts HTTP/2 back on
// net/http's server.
//
// Limits: no server push, no priorities (answers go out in the order they
// are ready), no idle timeout, request bodies other than pushes buffered
// whole (at most h2MaxOtherBody), no extended CONNECT.

const (
	// h2MaxStreams is SETTINGS_MAX_CONCURRENT_STREAMS: more than a sender
	// keeps in flight on one connection.
	h2MaxStreams = 1000
	// h2StreamWindow is each stream's receive window, the protocol's
	// default: far more than a push body (MaxBody).
	h2StreamWindow = 65535
	// h2ConnWindow is the connection's receive window; credit is given
	// back in quarters of it as bodies are consumed.
	h2ConnWindow = 1 << 20
	// h2MaxHeaderList is SETTINGS_MAX_HEADER_LIST_SIZE; a longer header
	// list is answered 431.
	h2MaxHeaderList = 64 << 10
	// h2MaxFrame is the largest frame read: the protocol's default
	// SETTINGS_MAX_FRAME_SIZE, so it is not sent.
	h2MaxFrame = 16384
	// h2MaxOtherBody bounds the body of a request handed to the ServeMux.
	h2MaxOtherBody = 1 << 20
	// h2DrainTimeout is how long Close waits for in-flight requests after
	// GOAWAY before it closes the connections anyway.
	h2DrainTimeout = 2 * time.Second
	// h2Linger is how long a connection that sent GOAWAY for an error
	// keeps reading before it closes.
	h2Linger = time.Second
	// h2FreeBodies bounds a connection's spare body buffers, and its
	// spare streams.
	h2FreeBodies = 64
	// h2ReadBuf and h2WriteBuf size a connection's buffers.
	h2ReadBuf  = 32 << 10
	h2WriteBuf = 32 << 10
)

// leanServer tracks the connections of the lean HTTP/2 server so Close
// can send each a GOAWAY and wait for their in-flight requests.
type leanServer struct {
	s       *Server
	mu      sync.Mutex
	conns   map[*h2conn]struct{}
	closing bool
	wg      sync.WaitGroup
	served  atomic.Uint64 // connections taken, for tests
}

func newLeanServer(s *Server) *leanServer {
	return &leanServer{s: s, conns: make(map[*h2conn]struct{})}
}

// nextProto is the http.Server.TLSNextProto that hands HTTP/2
// connections over: "h2" after TLS, and "unencrypted_http2" for h2c with
// prior knowledge, whose preface net/http has already read.
func (l *leanServer) nextProto() map[string]func(*http.Server, *tls.Conn, http.Handler) {
	return map[string]func(*http.Server, *tls.Conn, http.Handler){
		"h2": func(_ *http.Server, c *tls.Conn, _ http.Handler) {
			st := c.ConnectionState()
			l.serveConn(c, &st, false)
		},
		"unencrypted_http2": func(_ *http.Server, c *tls.Conn, _ http.Handler) {
			u, ok := c.NetConn().(interface{ UnencryptedNetConn() net.Conn })
			if !ok {
				l.s.log.Debug("h2c handover without a plain connection")
				_ = c.Close()
				return
			}
			l.serveConn(u.UnencryptedNetConn(), nil, true)
		},
	}
}

// serveConn serves one HTTP/2 connection until it ends. tlsState is nil
// for h2c.
func (l *leanServer) serveConn(nc net.Conn, tlsState *tls.ConnectionState, sawPreface bool) {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		_ = nc.Close()
		return
	}
	c := newH2Conn(l.s, nc, tlsState)
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	l.served.Add(1)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		l.wg.Done()
	}()
	if err := c.serve(sawPreface); err != nil {
		l.s.log.Debug("http2 connection ended", slog.String("remote", nc.RemoteAddr().String()), slog.Any("err", err))
	}
}

// shutdown sends every connection a GOAWAY, waits up to h2DrainTimeout
// for their in-flight requests to be answered (each connection closes
// when it has none left), then closes what is left.
func (l *leanServer) shutdown() {
	l.mu.Lock()
	l.closing = true
	conns := make([]*h2conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		// A goroutine each: a connection whose peer stopped reading holds
		// its write lock, and must not hold up the others.
		go c.goAway()
	}
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(h2DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	l.mu.Lock()
	for c := range l.conns {
		_ = c.nc.Close()
	}
	l.mu.Unlock()
	<-done
}
