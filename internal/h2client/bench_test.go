package h2client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkRoundTrip is a Web Push request as Herald sends it (a 230-byte
// body, the VAPID Authorization, TTL, a unique path) through h2client, 64
// in flight, to Go's HTTP/2 server on loopback, whose cost dominates:
// watch allocs/op and compare with net/http's client (-bench=/nethttp).
func BenchmarkRoundTrip(b *testing.B) {
	ts := startServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}), &http.HTTP2Config{}, nil)
	auth := "vapid t=" + string(bytes.Repeat([]byte("j"), 300)) + ", k=" + string(bytes.Repeat([]byte("k"), 87))
	body := bytes.Repeat([]byte("b"), 230)
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"h2client", newTransport(b, ts, Options{})},
		{"nethttp", ts.Client().Transport},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32)
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/wpush/%d", ts.URL, n.Add(1)), bytes.NewReader(body))
					req.Header = http.Header{"Ttl": {"3600"}, "Content-Encoding": {"aes128gcm"}, "Content-Type": {"application/octet-stream"}, "Authorization": {auth}}
					resp, err := tc.rt.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
