package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlite"
)

// chanPusher reports every push on a channel and says it was sent.
type chanPusher chan int64

func (c chanPusher) Push(_ context.Context, sub store.Subscriber, _ Push) Attempt {
	c <- sub.ID
	return Attempt{Result: store.ResultSent}
}

// TestWakeAfterCommit sends with polling set to an hour: the fanout job
// and its batch jobs are inserted in the store's transactions, so only the
// engine's wake after each commit can get them worked in time.
func TestWakeAfterCommit(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	if err := st.CreateApp(ctx, store.App{ID: "a", Name: "wake", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	const n = 3
	for i := range n {
		sub := store.Subscriber{AppID: "a", RegistrationID: fmt.Sprintf("r%d", i), Channel: store.ChannelWebPush,
			Token: fmt.Sprintf("https://push.example/%d", i), CreatedAt: now, UpdatedAt: now}
		if _, err := st.UpsertSubscriber(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	pushed := make(chanPusher, n)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := New(ctx, st, st.DB(), riversqlite.New(st.DB()), map[store.Channel]Pusher{store.ChannelWebPush: pushed}, log,
		Options{SingleNode: true, PollInterval: time.Hour, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := e.Stop(sctx); err != nil {
			t.Error(err)
		}
	}()
	content, _ := json.Marshal(Content{Title: "t"})
	// Two messages, the second after the first is delivered: the
	// producers' first fetch at start cannot have found the second.
	for range 2 {
		if _, _, err := e.Submit(ctx, store.Message{AppID: "a", Content: content, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(30 * time.Second) // far below the hour-long poll
		for range n {
			select {
			case <-pushed:
			case <-deadline:
				t.Fatal("the batch jobs were not woken: pushes wait for a poll")
			}
		}
	}
}
