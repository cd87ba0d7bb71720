package fcm

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/fcm/fcmtest"
)

// BenchmarkSend sends through the fake FCM from many goroutines at once,
// one device token per send, as a fan-out does. Nothing per message is
// recorded: the figure is Herald's cost plus a loopback round trip.
func BenchmarkSend(b *testing.B) {
	srv, sa := startFake(b, fcmtest.Options{})
	c := clientFor(b, srv, sa, Options{HTTPClient: NewHTTPClient(512)})
	var seq atomic.Int64
	ctx := testCtx(b)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := "bench-" + strconv.FormatInt(seq.Add(1), 10)
			res, err := c.Send(ctx, Message{Token: tok, Title: "Hello", Body: "World", TTL: time.Hour, Priority: PriorityHigh, CollapseKey: "news"})
			if err != nil || res.Outcome != Delivered {
				b.Errorf("Send = %+v, %v", res, err)
				return
			}
		}
	})
	b.StopTimer()
	if st := srv.Stats(); st.TokenRequests != 1 {
		b.Errorf("%d token requests", st.TokenRequests)
	}
}

// BenchmarkEncode is the cost of building one request body.
func BenchmarkEncode(b *testing.B) {
	m := Message{Token: "tok", Title: "Hello", Body: "World", URL: "https://x.example/a", Data: map[string]string{"k": "v"},
		TTL: time.Hour, Priority: PriorityHigh, CollapseKey: "news"}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.encode(now); err != nil {
			b.Fatal(err)
		}
	}
}
