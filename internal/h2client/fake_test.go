package h2client

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// fakeConn is one connection of a scripted h2 server.
type fakeConn struct {
	index int // 1 for the first connection
	fr    *http2.Framer
	enc   *hpack.Encoder
	buf   bytes.Buffer
}

// answer sends a response with no body.
func (f *fakeConn) answer(id uint32, status int) error {
	f.buf.Reset()
	f.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	f.enc.WriteField(hpack.HeaderField{Name: "x-conn", Value: strconv.Itoa(f.index)})
	return f.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: f.buf.Bytes(), EndStream: true, EndHeaders: true})
}

// fakeServer runs a scripted h2 server: onRequest is called, on the
// connection's goroutine, for each request once its stream has ended.
func fakeServer(t *testing.T, onRequest func(f *fakeConn, id uint32) error) (url string, conf *tls.Config, conns *atomic.Int32) {
	t.Helper()
	url, pool, ln := tlsListener(t)
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f := &fakeConn{index: int(conns.Add(1))}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := io.ReadFull(br, make([]byte, len(http2.ClientPreface))); err != nil {
					return
				}
				f.fr = http2.NewFramer(c, br)
				f.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
				f.enc = hpack.NewEncoder(&f.buf)
				if f.fr.WriteSettings() != nil {
					return
				}
				for {
					fr, err := f.fr.ReadFrame()
					if err != nil {
						return
					}
					var end bool
					switch fr := fr.(type) {
					case *http2.MetaHeadersFrame:
						end = fr.StreamEnded()
					case *http2.DataFrame:
						end = fr.StreamEnded()
					case *http2.SettingsFrame:
						if !fr.IsAck() && f.fr.WriteSettingsAck() != nil {
							return
						}
					}
					if end && onRequest(f, fr.Header().StreamID) != nil {
						return
					}
				}
			}()
		}
	}()
	return url, &tls.Config{RootCAs: pool}, conns
}

func TestRefusedStreamIsSentAgain(t *testing.T) {
	var refused atomic.Int32
	url, conf, _ := fakeServer(t, func(f *fakeConn, id uint32) error {
		if refused.Add(1) == 1 {
			return f.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		}
		return f.answer(id, http.StatusCreated)
	})
	tr, err := New(url, Options{TLS: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	resp, _, err := do(t.Context(), tr, url+"/r", []byte("r"), nil)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("refused once, then: %v", err)
	}
	if n := refused.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestGoAwayBelowStreamIsSentAgainElsewhere(t *testing.T) {
	url, conf, conns := fakeServer(t, func(f *fakeConn, id uint32) error {
		if f.index == 1 {
			// Processed nothing: the request must go to a new connection.
			return f.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}
		return f.answer(id, http.StatusCreated)
	})
	tr, err := New(url, Options{TLS: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	resp, _, err := do(t.Context(), tr, url+"/g", []byte("g"), nil)
	if err != nil || resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Conn") != "2" {
		t.Fatalf("after a GOAWAY: %v", err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestRefusedEveryTimeFailsRetryable(t *testing.T) {
	url, conf, _ := fakeServer(t, func(f *fakeConn, id uint32) error {
		return f.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
	})
	tr, err := New(url, Options{TLS: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, _, err = do(t.Context(), tr, url+"/SECRET", nil, nil)
	if !errors.Is(err, ErrUnprocessed) {
		t.Fatalf("refused every time: %v, want ErrUnprocessed", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error shows the path: %v", err)
	}
}
