package api_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/api"
	"github.com/heraldpush/herald/internal/apps"
	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/registry"
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/server"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// BenchmarkRegister measures registrations per second through POST
// /v1/subscribers over loopback HTTP into the SQLite store, with 8 and 32
// parallel clients (b.SetParallelism counts per GOMAXPROCS, so the count
// is rounded to it). The key pair is made before the timer starts, so key
// generation is not measured:
//
//	go test -run xxx -bench BenchmarkRegister -benchtime 20000x ./internal/api/
func BenchmarkRegister(b *testing.B) {
	for _, clients := range []int{8, 32} {
		b.Run(fmt.Sprintf("clients-%d", clients), func(b *testing.B) { benchRegister(b, clients) })
	}
}

func benchRegister(b *testing.B, clients int) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "herald.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sealer, _ := secret.NewSealer(make([]byte, 32))
	appSvc := apps.New(st, sealer, time.Now)
	creds, err := appSvc.Create(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	policy, _ := egress.New([]string{"127.0.0.1"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(server.Handler(log, st, nil, api.New(api.Deps{Apps: appSvc, Registry: registry.New(st, policy, time.Now), Log: log})))
	defer srv.Close()

	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	p256dh := base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes())
	auth := base64.RawURLEncoding.EncodeToString(make([]byte, 16))
	var seq atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{}
		for pb.Next() {
			i := seq.Add(1)
			body, _ := json.Marshal(map[string]any{"type": "webpush", "tags": []string{"news", fmt.Sprintf("t%d", i%10)},
				"subscription": map[string]any{"endpoint": fmt.Sprintf("http://127.0.0.1:1/wpush/%d", i), "keys": map[string]string{"p256dh": p256dh, "auth": auth}}})
			req, _ := http.NewRequest("POST", srv.URL+"/v1/subscribers", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+creds.APIKey)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
	// CPU per registration (server and clients, which share the process)
	// says what a registration costs when other work shares the cores.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
