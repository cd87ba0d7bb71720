package callback

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// BenchmarkDrain measures the drain side: read 500 due events, encode,
// sign, POST to a loopback receiver that reads the body, delete them.
// Reported as events/s.
func BenchmarkDrain(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sealer, _ := secret.NewSealer(make([]byte, 32))
	svc := NewService(st, sealer, time.Now)
	if err := st.CreateApp(ctx, store.App{ID: "a", Name: "a", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	if _, _, err := svc.Set(ctx, "a", rc.URL, false); err != nil {
		b.Fatal(err)
	}
	m, _, err := st.CreateMessage(ctx, store.Message{AppID: "a", State: store.StateQueued, Content: []byte("{}"), SendAt: time.Now(),
		CreatedAt: time.Now(), RequestID: "req", CustomArgs: []byte(`{"campaign":"spring","n":1}`)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	d := NewDrainer(st, svc, slog.New(slog.DiscardHandler), Options{Client: rc.Client(), Now: func() time.Time { return time.Now().Add(time.Minute) }})
	events, n := 0, 0
	for b.Loop() {
		b.StopTimer()
		for range 500 {
			n++
			if _, err := st.RecordEngagement(ctx, "a", m.ID, "r_"+strconv.Itoa(n), store.EngagementReceived, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := d.Drain(ctx, "a"); err != nil {
			b.Fatal(err)
		}
		events += 500
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
