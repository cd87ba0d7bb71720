package h2client

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// silentPeer is an h2 server that sends its SETTINGS and then reads and
// ignores everything: a peer gone without a word.
func silentPeer(t *testing.T) (url string, pool *x509.CertPool) {
	t.Helper()
	url, pool, ln := tlsListener(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(br, preface); err != nil {
					return
				}
				fr := http2.NewFramer(c, br)
				if fr.WriteSettings() != nil {
					return
				}
				for {
					if _, err := fr.ReadFrame(); err != nil {
						return
					}
				}
			}()
		}
	}()
	return url, pool
}

// tlsListener listens on loopback with httptest's certificate, offering
// only h2.
func tlsListener(t *testing.T) (url string, pool *x509.CertPool, ln net.Listener) {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.EnableHTTP2 = true
	ts.StartTLS()
	conf := ts.TLS.Clone()
	pool = x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()
	conf.NextProtos = []string{"h2"}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return "https://" + ln.Addr().String(), pool, ln
}

func TestSilentPeerIsDropped(t *testing.T) {
	url, pool := silentPeer(t)
	tr, err := New(url, Options{TLS: &tls.Config{RootCAs: pool}, PingTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := do(ctx, tr, url+"/x", []byte("x"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request to a silent peer: %v, want a deadline error", err)
	}
	if tr.connCount() != 1 {
		t.Fatalf("%d connections right after the timeout, want 1", tr.connCount())
	}
	waitFor(t, "the silent connection to be dropped", func() bool { return tr.connCount() == 0 })
}
