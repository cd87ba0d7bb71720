package testpush

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests drive the lean HTTP/2 server with Go's own HTTP/2 client
// (net/http's Transport), an implementation independent of it. The
// older tests in this package run on it too: it is the default.

func TestLeanServesHTTP2(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "h2c", true: "h2"}[tlsOn], func(t *testing.T) {
			srv := start(t, Options{TLS: tlsOn, Record: true})
			sub, err := srv.NewSubscription()
			if err != nil {
				t.Fatal(err)
			}
			c := srv.Client()
			if r := do(t, c, newSender(t).request(t, sub, []byte("lean"))); r.status != http.StatusCreated || r.proto != 2 {
				t.Fatalf("push: HTTP/%d %d %s", r.proto, r.status, r.body)
			}
			if n := srv.lean.served.Load(); n != 1 {
				t.Fatalf("lean server took %d connections, want 1", n)
			}
			// Other paths go through the ServeMux.
			resp, err := c.Get(srv.URL() + "/_testpush/stats")
			if err != nil {
				t.Fatal(err)
			}
			var st Stats
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err != nil || resp.ProtoMajor != 2 || st.Accepted != 1 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("stats over h2: %+v %v %+v", st, err, resp.Header)
			}
			resp, err = c.Get(srv.URL() + "/_testpush/received/" + sub.ID)
			if err != nil {
				t.Fatal(err)
			}
			var rb receivedBody
			err = json.NewDecoder(resp.Body).Decode(&rb)
			resp.Body.Close()
			if err != nil || len(rb.Messages) != 1 || string(rb.Messages[0].Payload) != "lean" {
				t.Fatalf("received over h2: %+v %v", rb, err)
			}
			for _, tc := range []struct {
				method, path string
				status       int
			}{
				{http.MethodGet, "/nowhere", http.StatusNotFound},
				{http.MethodGet, "/wpush/" + sub.ID, http.StatusMethodNotAllowed},
				{http.MethodHead, "/_testpush/stats", http.StatusOK},
			} {
				req, _ := http.NewRequest(tc.method, srv.URL()+tc.path, nil)
				if r := do(t, c, req); r.status != tc.status {
					t.Errorf("%s %s: %d, want %d", tc.method, tc.path, r.status, tc.status)
				}
			}
			// A push whose path the fast path leaves alone is still a push.
			req := newSender(t).request(t, sub, []byte("query"))
			req.URL.RawQuery = "x=1"
			if r := do(t, c, req); r.status != http.StatusCreated {
				t.Fatalf("push with a query: %d %s", r.status, r.body)
			}
			if n := srv.Deliveries(sub.ID); n != 2 {
				t.Fatalf("Deliveries %d, want 2", n)
			}
		})
	}
}

func TestStdHTTP2(t *testing.T) {
	srv := start(t, Options{StdHTTP2: true})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, srv.Client(), newSender(t).request(t, sub, []byte("std"))); r.status != http.StatusCreated || r.proto != 2 {
		t.Fatalf("push: HTTP/%d %d", r.proto, r.status)
	}
	if srv.lean != nil {
		t.Fatal("lean server set up with StdHTTP2")
	}
}

// TestLeanConcurrentPushes: 500 pushes at once on one connection, each
// accounted for.
func TestLeanConcurrentPushes(t *testing.T) {
	const n = 500
	srv := start(t, Options{Verify: VerifySample})
	subs, err := srv.NewSubscriptions(n)
	if err != nil {
		t.Fatal(err)
	}
	sn := newSender(t)
	c := srv.Client()
	// One push first, so the connection exists before the burst.
	if r := do(t, c, sn.request(t, subs[0], []byte("first"))); r.status != http.StatusCreated {
		t.Fatalf("first push: %d", r.status)
	}
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = sn.request(t, subs[i], []byte(fmt.Sprintf("push %d", i)))
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Go(func() {
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				errs <- errors.New(resp.Status)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, s := range subs {
		want := 1
		if i == 0 {
			want = 2 // the first push too
		}
		if srv.Deliveries(s.ID) != want {
			t.Errorf("Deliveries(%s) = %d, want %d", s.ID, srv.Deliveries(s.ID), want)
		}
	}
	if st := srv.Stats(); st.Accepted != n+1 || st.Requests != n+1 || len(st.Rejected) != 0 {
		t.Errorf("stats %+v", st)
	}
	if got := srv.lean.served.Load(); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
}

// TestLeanSlowDoesNotBlock: a push held by an injected delay leaves the
// other streams of its connection alone.
func TestLeanSlowDoesNotBlock(t *testing.T) {
	srv := start(t, Options{})
	subs, err := srv.NewSubscriptions(2)
	if err != nil {
		t.Fatal(err)
	}
	slow, fast := subs[0], subs[1]
	srv.Fail(slow.ID, Slow(time.Hour))
	sn := newSender(t)
	c := srv.Client()
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	req := sn.request(t, slow, []byte("slow")).WithContext(ctx)
	slowDone := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		slowDone <- err
	}()
	waitFor(t, "the slow push to arrive", func() bool { return srv.Stats().Requests == 1 })
	for i := range 20 {
		if r := do(t, c, sn.request(t, fast, []byte("fast"))); r.status != http.StatusCreated {
			t.Fatalf("push %d beside a slow one: %d", i, r.status)
		}
	}
	select {
	case err := <-slowDone:
		t.Fatalf("slow push ended early: %v", err)
	default:
	}
	if got := srv.lean.served.Load(); got != 1 {
		t.Fatalf("%d connections, want 1", got)
	}
	cancel()
	if err := <-slowDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled slow push: %v", err)
	}
	waitFor(t, "the cancelled push to be counted", func() bool { return srv.Stats().Rejected["injected"] == 1 })
}

// TestLeanBodyLargerThanWindow: bodies beyond the initial stream window
// (65,535 bytes) flow, with WINDOW_UPDATEs, or are cut short with 413.
func TestLeanBodyLargerThanWindow(t *testing.T) {
	srv := start(t, Options{})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	big := bytes.Repeat([]byte("x"), 200_000)
	// To the ServeMux, which reads the whole body first: 405, as only GET
	// is served there.
	resp, err := c.Post(srv.URL()+"/_testpush/stats", "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("200 KB POST: %d", resp.StatusCode)
	}
	sn := newSender(t)
	for _, chunked := range []bool{false, true} {
		req := sn.request(t, sub, []byte("x"))
		setBody(req, big)
		if chunked {
			req.ContentLength = -1 // no content-length: found out while reading
		}
		if r := do(t, c, req); r.status != http.StatusRequestEntityTooLarge || r.code != "too_large" {
			t.Fatalf("200 KB push (chunked %v): %d %s", chunked, r.status, r.body)
		}
	}
	// The connection still works.
	if r := do(t, c, sn.request(t, sub, []byte("after"))); r.status != http.StatusCreated {
		t.Fatalf("push after: %d", r.status)
	}
	if got := srv.lean.served.Load(); got != 1 {
		t.Fatalf("%d connections, want 1", got)
	}
}

// TestLeanClientCancels: a client that resets a stream in the middle of
// its body leaves nothing behind.
func TestLeanClientCancels(t *testing.T) {
	srv := start(t, Options{})
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	sn := newSender(t)
	if r := do(t, c, sn.request(t, sub, []byte("warm"))); r.status != http.StatusCreated {
		t.Fatalf("push: %d", r.status)
	}
	body := encrypt(t, sub, []byte("never finished"))
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(testContext(t))
	req := sn.requestBody(t, sub.Endpoint, nil).WithContext(ctx)
	req.Body, req.ContentLength = pr, int64(len(body))
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		done <- err
	}()
	if _, err := pw.Write(body[:10]); err != nil { // the server has the headers and 10 bytes
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled push: %v", err)
	}
	pw.Close()
	if r := do(t, c, sn.request(t, sub, []byte("after"))); r.status != http.StatusCreated {
		t.Fatalf("push after: %d", r.status)
	}
	if st := srv.Stats(); st.Requests != 2 || st.Accepted != 2 {
		t.Fatalf("stats %+v: the cancelled push was counted", st)
	}
	if got := srv.lean.served.Load(); got != 1 {
		t.Fatalf("%d connections, want 1", got)
	}
}

// TestLeanCloseAnswersInFlight: Close answers a push held by a delay
// (503) rather than dropping its connection.
func TestLeanCloseAnswersInFlight(t *testing.T) {
	srv, err := Start(Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sub, err := srv.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	srv.Fail(sub.ID, Slow(time.Hour))
	req := newSender(t).request(t, sub, []byte("held"))
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	waitFor(t, "the push to arrive", func() bool { return srv.Stats().Requests == 1 })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.status != http.StatusServiceUnavailable {
		t.Fatalf("push in flight at Close: %d, %v", r.status, r.err)
	}
	if !strings.Contains(fmt.Sprint(srv.Stats().Rejected), "injected") {
		t.Fatalf("stats %+v", srv.Stats())
	}
}
