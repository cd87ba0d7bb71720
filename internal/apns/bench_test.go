package apns

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/heraldpush/herald/internal/apns/apnstest"
)

// BenchmarkSend measures sends through the fake over one HTTP/2
// connection pool, without recording and with each provider token
// verified once: the client's cost plus loopback TLS, not ES256.
func BenchmarkSend(b *testing.B) {
	e := newEnv(b, apnstest.Options{CacheTokens: true})
	var i atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := Notification{Token: deviceToken(int(i.Add(1))), Title: "Hello", Body: "World", CollapseID: "c"}
			if res, err := e.client.Send(context.Background(), n); err != nil || res.Outcome != Delivered {
				b.Errorf("send: %+v, %v", res, err)
				return
			}
		}
	})
	if s := e.client.tokens.signs.Load(); s != 1 {
		b.Fatalf("signed %d tokens", s)
	}
}

// BenchmarkPayload measures building one alert's JSON body.
func BenchmarkPayload(b *testing.B) {
	n := Notification{Title: "Hello", Body: "World", URL: "https://example.com/x", Data: []byte(`{"a":1,"b":"two"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Payload(); err != nil {
			b.Fatal(err)
		}
	}
}
