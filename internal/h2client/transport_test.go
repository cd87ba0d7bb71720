package h2client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentRequestsGetTheirOwnAnswers(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echo), &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{})
	const n = 200 // under the server's 250 streams: one connection
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			path := fmt.Sprintf("/wpush/%d-%x", i, i*7919)
			body := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%700)
			h := http.Header{"Ttl": {strconv.Itoa(i % 5)}, "Content-Type": {"application/octet-stream"},
				"Authorization": {"vapid t=abc, k=def"}}
			resp, got, err := do(t.Context(), tr, ts.URL+path, body, h)
			switch {
			case err != nil:
				errs <- err
			case resp.StatusCode != http.StatusCreated || resp.Proto != "HTTP/2.0":
				errs <- fmt.Errorf("%d: %s %s", i, resp.Status, resp.Proto)
			case resp.Header.Get("X-Path") != path || resp.Header.Get("X-Proto") != "HTTP/2.0":
				errs <- fmt.Errorf("%d: answer for %s over %s", i, resp.Header.Get("X-Path"), resp.Header.Get("X-Proto"))
			case resp.Header.Get("X-Ttl") != strconv.Itoa(i%5) || resp.Header.Get("X-Length") != strconv.Itoa(len(body)):
				errs <- fmt.Errorf("%d: TTL %q, length %q", i, resp.Header.Get("X-Ttl"), resp.Header.Get("X-Length"))
			case !bytes.Equal(got, body) || resp.ContentLength != int64(len(body)):
				errs <- fmt.Errorf("%d: body %d bytes, ContentLength %d, want %d", i, len(got), resp.ContentLength, len(body))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := ts.newConns.Load(); c != 1 {
		t.Errorf("%d connections, want 1", c)
	}
}

func TestHonoursMaxConcurrentStreams(t *testing.T) {
	var inFlight, peak atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Millisecond) // let requests overlap
		echo(w, r)
	})
	for _, maxConns := range []int{1, 3} {
		t.Run(fmt.Sprintf("conns=%d", maxConns), func(t *testing.T) {
			inFlight.Store(0)
			peak.Store(0)
			ts := startServer(t, h, &http.HTTP2Config{MaxConcurrentStreams: 2}, nil)
			tr := newTransport(t, ts, Options{MaxConns: maxConns})
			errs := make(chan error, 200)
			var wg sync.WaitGroup
			for i := range 200 {
				wg.Go(func() {
					resp, body, err := do(t.Context(), tr, fmt.Sprintf("%s/p/%d", ts.URL, i), []byte("x"), nil)
					if err == nil && (resp.StatusCode != http.StatusCreated || string(body) != "x") {
						err = fmt.Errorf("%s %q", resp.Status, body)
					}
					if err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if c := ts.newConns.Load(); c > int32(maxConns) {
				t.Errorf("%d connections, at most %d allowed", c, maxConns)
			}
			if p := peak.Load(); p > int32(2*maxConns) {
				t.Errorf("%d requests in the handler at once, at most %d allowed", p, 2*maxConns)
			}
			if maxConns > 1 && ts.newConns.Load() < 2 {
				t.Errorf("one connection for 200 requests with 2 streams each: no second was opened")
			}
		})
	}
}

func TestGracefulShutdownThenNewConnection(t *testing.T) {
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/slow") {
				entered <- struct{}{}
				<-release
			}
			w.Header().Set("X-Server", name)
			echo(w, r)
		})
	}
	first := startServer(t, handler("first"), &http.HTTP2Config{}, nil)
	addr := first.Listener.Addr().String()
	tr := newTransport(t, first, Options{})
	type result struct {
		resp *http.Response
		err  error
	}
	results := make(chan result, 5)
	for i := range 5 {
		go func() {
			resp, _, err := do(t.Context(), tr, fmt.Sprintf("%s/slow/%d", first.URL, i), []byte("s"), nil)
			results <- result{resp, err}
		}()
	}
	for range 5 {
		<-entered
	}
	shut := make(chan error, 1)
	go func() { shut <- first.Config.Shutdown(t.Context()) }()
	waitFor(t, "the GOAWAY to retire the connection", func() bool { return tr.connCount() == 0 })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	second := startServer(t, handler("second"), &http.HTTP2Config{}, ln)
	close(release)
	for range 5 {
		r := <-results
		if r.err != nil {
			t.Errorf("in-flight request below the last stream id failed: %v", r.err)
		} else if s := r.resp.Header.Get("X-Server"); r.resp.StatusCode != http.StatusCreated || s != "first" {
			t.Errorf("in-flight request: %s from %q", r.resp.Status, s)
		}
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for i := range 3 {
		resp, _, err := do(t.Context(), tr, fmt.Sprintf("%s/after/%d", first.URL, i), []byte("a"), nil)
		if err != nil {
			t.Fatalf("request after the GOAWAY: %v", err)
		}
		if s := resp.Header.Get("X-Server"); s != "second" {
			t.Errorf("request after the GOAWAY answered by %q", s)
		}
	}
	if c := second.newConns.Load(); c != 1 {
		t.Errorf("%d new connections after the GOAWAY, want 1", c)
	}
}

func TestDeadlineResetsStreamAndKeepsConnection(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-r.Context().Done() // the client's RST_STREAM ends it
			cancelled <- struct{}{}
			return
		}
		echo(w, r)
	})
	ts := startServer(t, h, &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{})
	if _, _, err := do(t.Context(), tr, ts.URL+"/first", nil, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, _, err := do(ctx, tr, ts.URL+"/hang", []byte("h"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging request: %v, want a deadline error", err)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the stream cancelled")
	}
	for i := range 20 {
		if resp, _, err := do(t.Context(), tr, fmt.Sprintf("%s/next/%d", ts.URL, i), []byte("n"), nil); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("request after the cancelled one: %v", err)
		}
	}
	if c := ts.newConns.Load(); c != 1 {
		t.Errorf("%d connections, want the first one kept", c)
	}
}

func TestRequestBodyLargerThanWindow(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.New()
		n, err := io.Copy(sum, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %x", n, sum.Sum(nil))
	})
	// The server's stream window is 16 KiB and its connection window
	// 64 KiB: a 1 MiB body needs many WINDOW_UPDATEs.
	ts := startServer(t, h, &http.HTTP2Config{MaxReceiveBufferPerStream: 16 << 10, MaxReceiveBufferPerConnection: 64 << 10}, nil)
	tr := newTransport(t, ts, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			body := make([]byte, 1<<20)
			rand.Read(body)
			sum := sha256.Sum256(body)
			_, got, err := do(t.Context(), tr, ts.URL+"/big", body, nil)
			if want := fmt.Sprintf("%d %s", len(body), hex.EncodeToString(sum[:])); err == nil && string(got) != want {
				err = fmt.Errorf("server got %q, want %q", got, want)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestResponseBodyBound(t *testing.T) {
	big := make([]byte, 300<<10)
	rand.Read(big)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write(big[:n])
	})
	ts := startServer(t, h, &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{MaxResponseBody: 100 << 10})
	for _, n := range []int{0, 1000, 100 << 10, 300 << 10} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, fmt.Sprintf("%s/b?n=%d", ts.URL, n), nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, wantErr := big[:n], error(nil)
		if n > 100<<10 {
			want, wantErr = big[:100<<10], ErrBodyTruncated
		}
		if !bytes.Equal(got, want) || !errors.Is(err, wantErr) {
			t.Errorf("n=%d: read %d bytes (%v), want %d (%v)", n, len(got), err, len(want), wantErr)
		}
	}
	// The reset stream left the connection usable.
	if _, _, err := do(t.Context(), tr, ts.URL+"/b?n=10", nil, nil); err != nil {
		t.Fatal(err)
	}
	if c := ts.newConns.Load(); c != 1 {
		t.Errorf("%d connections, want 1", c)
	}
}

func TestHeadersOverOneFrame(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("r", 40<<10))
		w.Header().Set("X-Got", strconv.Itoa(len(r.Header.Get("X-Big"))))
		w.WriteHeader(http.StatusAccepted)
	})
	ts := startServer(t, h, &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{})
	for range 2 { // the second reuses the connection and hpack state
		resp, _, err := do(t.Context(), tr, ts.URL+"/h", nil, http.Header{"X-Big": {strings.Repeat("q", 40<<10)}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Got") != strconv.Itoa(40<<10) || len(resp.Header.Get("X-Big")) != 40<<10 {
			t.Fatalf("%s, server got %s bytes of X-Big, answer has %d", resp.Status, resp.Header.Get("X-Got"), len(resp.Header.Get("X-Big")))
		}
	}
}

func TestFallsBackToHTTP1(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echo), nil, nil)
	tr := newTransport(t, ts, Options{})
	for i := range 3 {
		body := []byte(fmt.Sprintf("body %d", i))
		resp, got, err := do(t.Context(), tr, fmt.Sprintf("%s/one/%d", ts.URL, i), body, http.Header{"Ttl": {"60"}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("X-Proto") != "HTTP/1.1" || resp.StatusCode != http.StatusCreated || !bytes.Equal(got, body) || resp.Header.Get("X-Ttl") != "60" {
			t.Fatalf("%s over %s, body %q", resp.Status, resp.Header.Get("X-Proto"), got)
		}
	}
}

func TestConnectionCutFailsInFlightAndReconnects(t *testing.T) {
	entered := make(chan struct{}, 3)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/hang") {
			entered <- struct{}{}
			<-r.Context().Done()
			return
		}
		echo(w, r)
	})
	ts := startServer(t, h, &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{})
	const secret = "/hang/SECRET-capability-0123456789"
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, _, err := do(t.Context(), tr, fmt.Sprintf("%s%s%d", ts.URL, secret, i), []byte("x"), nil)
			errs <- err
		}()
	}
	for range 3 {
		<-entered
	}
	ts.cut()
	for range 3 {
		err := <-errs
		if err == nil {
			t.Fatal("an in-flight request on a cut connection succeeded")
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error shows the path: %v", err)
		}
	}
	if resp, _, err := do(t.Context(), tr, ts.URL+"/again", []byte("y"), nil); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("request after the cut: %v", err)
	}
	if c := ts.newConns.Load(); c != 2 {
		t.Errorf("%d connections, want 2", c)
	}
}

func TestErrorsOmitThePath(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ts := startServer(t, h, &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{})
	const path = "/wpush/SECRET-capability"
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, err := do(ctx, tr, ts.URL+path, nil, nil)
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error shows the path: %v", what, err)
		}
	}
	check("deadline", err)
	_, _, err = do(t.Context(), tr, "https://elsewhere.example"+path, nil, nil)
	check("other origin", err)
	_, _, err = do(t.Context(), tr, ts.URL+path, nil, http.Header{"Bad": {"a\r\nb"}})
	check("bad header", err)
	ts.Close()
	tr.CloseIdleConnections()
	_, _, err = do(t.Context(), tr, ts.URL+path, nil, nil)
	check("server gone", err)
}

func TestStreamIDsRunOut(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echo), &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{})
	tr.maxStreamID = 7 // four streams per connection
	for i := range 10 {
		if resp, _, err := do(t.Context(), tr, fmt.Sprintf("%s/id/%d", ts.URL, i), []byte("i"), nil); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if c := ts.newConns.Load(); c != 3 {
		t.Errorf("%d connections for 10 requests at 4 per connection, want 3", c)
	}
	waitFor(t, "the used-up connections to close", func() bool { return tr.connCount() == 1 })
}

func TestIdleConnectionClosed(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(echo), &http.HTTP2Config{}, nil)
	tr := newTransport(t, ts, Options{IdleTimeout: 50 * time.Millisecond})
	if _, _, err := do(t.Context(), tr, ts.URL+"/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the idle connection to close", func() bool { return tr.connCount() == 0 })
	if _, _, err := do(t.Context(), tr, ts.URL+"/y", nil, nil); err != nil {
		t.Fatal(err)
	}
	if c := ts.newConns.Load(); c != 2 {
		t.Errorf("%d connections, want 2", c)
	}
}
