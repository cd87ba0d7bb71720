package testpush

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// benchmarkPush measures the server side of a push over h2c: the client
// sends one pre-encrypted body to 1,000 endpoints round-robin.
func benchmarkPush(b *testing.B, o Options) {
	srv, subs, body, auth := benchRig(b, o)
	c := srv.Client()
	var next, failed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sub := subs[next.Add(1)%uint64(len(subs))]
			req, err := http.NewRequest(http.MethodPost, sub.Endpoint, bytes.NewReader(body))
			if err != nil {
				failed.Add(1)
				continue
			}
			req.Header.Set("TTL", "60")
			req.Header.Set("Content-Encoding", "aes128gcm")
			req.Header.Set("Authorization", auth)
			resp, err := c.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d pushes failed", n)
	}
	if got, want := srv.Count(), b.N; got != want {
		b.Fatalf("accepted %d, want %d", got, want)
	}
}

func BenchmarkPushVerifyAll(b *testing.B) { benchmarkPush(b, Options{}) }

func BenchmarkPushVerifySample(b *testing.B) { benchmarkPush(b, Options{Verify: VerifySample}) }

// BenchmarkNewSubscriptions is the cost of a batch of 10,000
// subscriptions, each on a fresh Server so the table never fills.
func BenchmarkNewSubscriptions(b *testing.B) {
	const batch = 10000
	b.ReportAllocs()
	for b.Loop() {
		srv := New(Options{BaseURL: "http://127.0.0.1:1"})
		if _, err := srv.NewSubscriptions(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/subscription")
}

// BenchmarkH2Push measures the HTTP/2 server's side of a push, the lean
// server's and net/http's: a raw h2c connection pipelines pre-encrypted
// pushes, 64 at a time, to 1,000 endpoints under VerifySample, encoded as
// Herald's client does (the Authorization header indexed, :path not).
// The client's share is small: HPACK encoding and frame writes, and the
// answers are only counted. cpu-µs/push is the process's CPU time.
func BenchmarkH2Push(b *testing.B) {
	b.Run("lean", func(b *testing.B) { benchmarkH2Push(b, Options{Verify: VerifySample}) })
	b.Run("std", func(b *testing.B) { benchmarkH2Push(b, Options{Verify: VerifySample, StdHTTP2: true}) })
}

func benchmarkH2Push(b *testing.B, o Options) {
	srv, subs, body, auth := benchRig(b, o)
	rc := dialRaw(b, srv)
	if err := rc.nc.SetDeadline(time.Time{}); err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(rc.nc, 64<<10)
	fr := http2.NewFramer(bw, rc.nc)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	host := strings.TrimPrefix(srv.URL(), "http://")
	clen := strconv.Itoa(len(body))
	const batch = 64
	id := uint32(1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		for i := range n {
			sub := subs[(done+i)%len(subs)]
			hb.Reset()
			for _, f := range []hpack.HeaderField{
				{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: host},
				{Name: ":path", Value: "/wpush/" + sub.ID, Sensitive: true},
				{Name: "ttl", Value: "60"}, {Name: "content-encoding", Value: "aes128gcm"},
				{Name: "authorization", Value: auth}, {Name: "content-length", Value: clen},
			} {
				if err := enc.WriteField(f); err != nil {
					b.Fatal(err)
				}
			}
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
				b.Fatal(err)
			}
			if err := fr.WriteData(id, true, body); err != nil {
				b.Fatal(err)
			}
			id += 2
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < n; {
			f, err := fr.ReadFrame()
			if err != nil {
				b.Fatal(err)
			}
			if h, ok := f.(*http2.HeadersFrame); ok {
				if !h.StreamEnded() { // only a refusal has a body
					b.Fatalf("stream %d refused", h.StreamID)
				}
				got++
			}
		}
		done += n
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e3, "cpu-µs/push")
	b.StopTimer()
	if got := srv.Count(); got != b.N {
		b.Fatalf("accepted %d, want %d", got, b.N)
	}
}

// processCPU is the process's CPU time so far, in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchRig starts a server with 1,000 subscriptions and returns one
// pre-encrypted body and VAPID header: the subscriptions of a batch share
// keys, so one body fits them all.
func benchRig(b *testing.B, o Options) (*Server, []Subscription, []byte, string) {
	b.Helper()
	srv := start(b, o)
	subs, err := srv.NewSubscriptions(1000)
	if err != nil {
		b.Fatal(err)
	}
	sn := newSender(b)
	body := encrypt(b, subs[0], []byte(`{"title":"benchmark","body":"hello"}`))
	auth, err := sn.signer.Header(subs[0].Endpoint)
	if err != nil {
		b.Fatal(err)
	}
	return srv, subs, body, auth
}
