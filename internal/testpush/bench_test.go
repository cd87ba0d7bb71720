package testpush

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"testing"
)

// benchmarkPush measures the server side of a push over h2c: the client
// sends one pre-encrypted body to 1,000 endpoints round-robin.
func benchmarkPush(b *testing.B, o Options) {
	srv := start(b, o)
	subs, err := srv.NewSubscriptions(1000)
	if err != nil {
		b.Fatal(err)
	}
	sn := newSender(b)
	// All subscriptions of a batch share keys, so one body fits them all.
	body := encrypt(b, subs[0], []byte(`{"title":"benchmark","body":"hello"}`))
	auth, err := sn.signer.Header(subs[0].Endpoint)
	if err != nil {
		b.Fatal(err)
	}
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
