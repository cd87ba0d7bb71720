package delivery

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// waitDone polls the message until it is done or the deadline passes.
func waitDone(t *testing.T, st store.Store, appID string, id int64) store.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := st.Message(context.Background(), appID, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State == store.StateDone {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d is %s after 30s: %+v", id, m.State, m.Counters)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// jobsOfKind counts River's jobs of a kind (on SQLite).
func jobsOfKind(t *testing.T, rig *smallRig, kind string) (n int) {
	t.Helper()
	if err := rig.st.DB().QueryRow("SELECT count(*) FROM river_job WHERE kind = ?", kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A message to a few registration ids is resolved at Submit and stored
// with its batch: no fanout job, the fanout complete at once, delivered.
func TestSmallMessageSkipsFanout(t *testing.T) {
	p := &countPusher{}
	rig := startSmallRig(t, 1, 3, p, Options{})
	ctx := context.Background()
	content, _ := json.Marshal(Content{Title: "t"})
	m, created, err := rig.e.Submit(ctx, store.Message{AppID: "app0", Content: content, TTL: time.Hour,
		Audience: store.Audience{RegistrationIDs: []string{rig.rids[0][0], rig.rids[0][2], "r-unknown"}}})
	if err != nil || !created {
		t.Fatalf("Submit = created %v, %v", created, err)
	}
	if m.State != store.StateSending || !m.FanoutDone || m.Targeted != 2 {
		t.Errorf("accepted message: state %s fanout done %v targeted %d; want sending, true, 2", m.State, m.FanoutDone, m.Targeted)
	}
	done := waitDone(t, rig.st, "app0", m.ID)
	if done.Sent != 2 || p.n.Load() != 2 {
		t.Errorf("sent %d, pushed %d; want 2, 2", done.Sent, p.n.Load())
	}
	if n := jobsOfKind(t, rig, fanoutArgs{}.Kind()); n != 0 {
		t.Errorf("%d fanout jobs for a small message, want 0", n)
	}
	// A tag audience still goes through the fanout job; its one page is
	// the whole audience, so its batch is express as well.
	m, _, err = rig.e.Submit(ctx, store.Message{AppID: "app0", Content: content, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if m.State != store.StateQueued || m.FanoutDone {
		t.Errorf("message to all accepted %s, fanout done %v; want queued, false", m.State, m.FanoutDone)
	}
	if done := waitDone(t, rig.st, "app0", m.ID); done.Sent != 3 {
		t.Errorf("message to all: sent %d, want 3", done.Sent)
	}
	if n := jobsOfKind(t, rig, fanoutArgs{}.Kind()); n != 1 {
		t.Errorf("%d fanout jobs, want 1", n)
	}
}

// gatePusher holds every push to app "big" until a push to app "small"
// has gone out (or the test's deadline passes, which fails them).
type gatePusher struct {
	bigStarted chan struct{} // closed at the first push to big
	smallSent  chan struct{} // closed at the first push to small
	startOnce  atomic.Bool
	sentOnce   atomic.Bool
	timedOut   atomic.Int64
}

func (g *gatePusher) Push(ctx context.Context, sub store.Subscriber, _ Push) Attempt {
	if sub.AppID != "big" {
		if g.sentOnce.CompareAndSwap(false, true) {
			close(g.smallSent)
		}
		return Attempt{Result: store.ResultSent}
	}
	if g.startOnce.CompareAndSwap(false, true) {
		close(g.bigStarted)
	}
	select {
	case <-g.smallSent:
		return Attempt{Result: store.ResultSent}
	case <-time.After(20 * time.Second):
		g.timedOut.Add(1)
		return Attempt{Result: store.ResultFailed, Reason: "gate"}
	case <-ctx.Done():
		return Attempt{Result: store.ResultRetrying, Reason: "stopped"}
	}
}

// A one-recipient message sent while a big send occupies every batch
// worker of its channel is delivered before the big send can finish: its
// batch does not queue behind the big send's.
func TestSmallMessageDoesNotWaitBehindBigSend(t *testing.T) {
	g := &gatePusher{bigStarted: make(chan struct{}), smallSent: make(chan struct{})}
	rig := startSmallRig(t, 0, 0, g, Options{BatchSize: 50, Workers: map[store.Channel]int{store.ChannelWebPush: 2}})
	ctx := context.Background()
	now := time.Now()
	var subs []store.Subscriber
	for i := range 1000 {
		subs = append(subs, store.Subscriber{AppID: "big", RegistrationID: "big-" + strconv.Itoa(i), Channel: store.ChannelWebPush,
			Token: "https://push.example/big/" + strconv.Itoa(i), CreatedAt: now, UpdatedAt: now})
	}
	for _, app := range []string{"big", "small"} {
		if err := rig.st.CreateApp(ctx, store.App{ID: app, Name: app, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := rig.st.UpsertSubscribers(ctx, subs); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.st.UpsertSubscriber(ctx, store.Subscriber{AppID: "small", RegistrationID: "small-0", Channel: store.ChannelWebPush,
		Token: "https://push.example/small/0", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	content, _ := json.Marshal(Content{Title: "t"})
	big, _, err := rig.e.Submit(ctx, store.Message{AppID: "big", Content: content, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.bigStarted:
	case <-time.After(30 * time.Second):
		t.Fatal("the big send never started")
	}
	small, _, err := rig.e.Submit(ctx, store.Message{AppID: "small", Content: content, TTL: time.Hour,
		Audience: store.Audience{RegistrationIDs: []string{"small-0"}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := waitDone(t, rig.st, "small", small.ID); m.Sent != 1 {
		t.Errorf("small message: sent %d, want 1", m.Sent)
	}
	m := waitDone(t, rig.st, "big", big.ID)
	if n := g.timedOut.Load(); n > 0 || m.Sent != 1000 {
		t.Errorf("big send: %d pushes waited for the small message in vain; sent %d of 1000", n, m.Sent)
	}
}
