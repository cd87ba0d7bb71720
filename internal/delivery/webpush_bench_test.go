package delivery

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/testpush"
	"github.com/heraldpush/herald/internal/webpush"
)

// fixedKeys is one app's VAPID key.
type fixedKeys struct{ key *webpush.VAPIDKey }

func (k fixedKeys) App(_ context.Context, id string) (store.App, error) {
	return store.App{ID: id, VAPIDPublicKey: k.key.PublicKey(), VAPIDSubject: "mailto:ops@example.com"}, nil
}

func (k fixedKeys) VAPIDKey(store.App) (*webpush.VAPIDKey, error) { return k.key, nil }

// BenchmarkWebPushPush is the Web Push channel's whole per-recipient path
// as a batch runs it, 64 pushes in flight: encryption, the VAPID header,
// the request over HTTP/2 and TLS to testpush on loopback (decrypting one
// payload in 100) and the answer. Besides ns/op it reports allocs and the
// process's CPU time per push (cpu-µs/push), testpush's share included,
// which a shared machine skews less than the wall clock.
func BenchmarkWebPushPush(b *testing.B) {
	tp, subs, key, policy := webPushRig(b, 1000, testpush.VerifySample)
	protos := http.Protocols{}
	protos.SetHTTP2(true)
	wp := NewWebPush(fixedKeys{key}, policy, WebPushOptions{TLS: &tls.Config{RootCAs: tp.CertPool(), MinVersion: tls.VersionTLS12}, Protocols: &protos}, nil)
	defer wp.Close()
	payload := make([]byte, 190)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	push := Push{AppID: "a", Payload: payload, TTL: time.Hour}
	ctx := context.Background()
	if at := wp.Push(ctx, subs[0], push); at.Result != store.ResultSent { // connect first
		b.Fatalf("warm-up push: %+v", at)
	}
	var next, failed atomic.Int64
	work := make(chan struct{})
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range work {
				if at := wp.Push(ctx, subs[next.Add(1)%int64(len(subs))], push); at.Result != store.ResultSent {
					failed.Add(1)
				}
			}
		})
	}
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e3, "cpu-µs/push")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d pushes not sent", n)
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// webPushRig starts a TLS testpush with n subscriptions (closed when tb
// ends) and returns them as store subscribers, a VAPID key and an egress
// policy that allows loopback.
func webPushRig(tb testing.TB, n int, verify testpush.VerifyMode) (*testpush.Server, []store.Subscriber, *webpush.VAPIDKey, egress.Policy) {
	tb.Helper()
	tp, err := testpush.Start(testpush.Options{TLS: true, Verify: verify})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tp.Close() })
	tsubs, err := tp.NewSubscriptions(n)
	if err != nil {
		tb.Fatal(err)
	}
	subs := make([]store.Subscriber, len(tsubs))
	for i, ts := range tsubs {
		ws, err := ts.WebPush()
		if err != nil {
			tb.Fatal(err)
		}
		subs[i] = store.Subscriber{ID: int64(i), Channel: store.ChannelWebPush, Token: ws.Endpoint, P256DH: ws.Keys.P256DH, Auth: ws.Keys.Auth}
	}
	key, err := webpush.GenerateVAPIDKey()
	if err != nil {
		tb.Fatal(err)
	}
	policy, err := egress.New([]string{"127.0.0.1"})
	if err != nil {
		tb.Fatal(err)
	}
	return tp, subs, key, policy
}
