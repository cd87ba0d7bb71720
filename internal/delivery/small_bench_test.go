package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// countPusher counts pushes and says each was sent.
type countPusher struct{ n atomic.Int64 }

func (c *countPusher) Push(context.Context, store.Subscriber, Push) Attempt {
	c.n.Add(1)
	return Attempt{Result: store.ResultSent}
}

// smallRig is a real engine on SQLite with apps of a few subscribers each,
// for floods of one-recipient messages.
type smallRig struct {
	st     *sqlite.Store
	e      *Engine
	pusher Pusher
	rids   [][]string // per app, its registration ids
}

func startSmallRig(tb testing.TB, apps, subsPerApp int, p Pusher, o Options) *smallRig {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "herald.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	rig := &smallRig{st: st, pusher: p}
	now := time.Now()
	for a := range apps {
		appID := fmt.Sprintf("app%d", a)
		if err := st.CreateApp(ctx, store.App{ID: appID, Name: appID, CreatedAt: now}); err != nil {
			tb.Fatal(err)
		}
		var rids []string
		for i := range subsPerApp {
			rid := fmt.Sprintf("r-%d-%d", a, i)
			sub := store.Subscriber{AppID: appID, RegistrationID: rid, Channel: store.ChannelWebPush,
				Token: fmt.Sprintf("https://push.example/%d/%d", a, i), CreatedAt: now, UpdatedAt: now}
			if _, err := st.UpsertSubscriber(ctx, sub); err != nil {
				tb.Fatal(err)
			}
			rids = append(rids, rid)
		}
		rig.rids = append(rig.rids, rids)
	}
	o.SingleNode = true
	e, err := New(ctx, st, st.DB(), riversqlite.New(st.DB()), map[store.Channel]Pusher{store.ChannelWebPush: p},
		slog.New(slog.NewTextHandler(io.Discard, nil)), o)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(sctx); err != nil {
			tb.Error(err)
		}
	})
	rig.e = e
	return rig
}

// submitOne submits message i: to one registration id of app i%apps.
func (rig *smallRig) submitOne(ctx context.Context, i int) (store.Message, error) {
	a := i % len(rig.rids)
	rids := rig.rids[a]
	content, _ := json.Marshal(Content{Title: "t", Body: fmt.Sprint(i)})
	m, _, err := rig.e.Submit(ctx, store.Message{AppID: fmt.Sprintf("app%d", a), Content: content, TTL: time.Hour,
		Audience: store.Audience{RegistrationIDs: []string{rids[(i/len(rig.rids))%len(rids)]}}})
	return m, err
}

// BenchmarkSmallMessages floods a real engine on SQLite with one-recipient
// messages from 16 submitters over 4 apps, as `herald bench api` does
// through the API, and waits until every one is pushed (the pusher answers
// at once, so this is the engine's own cost). msgs/s is submitted → all
// pushed; cpu-µs/msg is the process's CPU per message.
func BenchmarkSmallMessages(b *testing.B) {
	p := &countPusher{}
	rig := startSmallRig(b, 4, 16, p, Options{})
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU(b)
	start := time.Now()
	b.ResetTimer()
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if _, err := rig.submitOne(ctx, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Minute)
	for p.n.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages pushed", p.n.Load(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e3, "cpu-µs/msg")
}
