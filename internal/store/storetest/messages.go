package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// newMessage returns an unsaved queued message of app with every field set,
// so that a round trip shows each one.
func newMessage(appID string) store.Message {
	now := ms(time.Now())
	return store.Message{
		AppID: appID,
		State: store.StateQueued,
		Audience: store.Audience{
			Tags: []string{"news", "sports"}, TagsAnd: []string{"en"}, TagsNot: []string{"muted"},
			Languages: []string{"en"}, ActiveSince: now.Add(-30 * 24 * time.Hour),
			ClickedSince: now.Add(-6 * time.Hour),
			AnyOf:        []store.Audience{{Tags: []string{"vip"}, ClickedSince: now.Add(-time.Hour)}, {Timezones: []string{"Asia/Tehran"}}},
			NoneOf:       []store.Audience{{TagsNot: []string{"beta"}, Channels: []store.Channel{store.ChannelFCM}}},
		},
		LocalTime:     "09:30",
		Content:       []byte(`{"title":"Hello","body":"World"}`),
		TTL:           90 * time.Minute,
		Urgency:       "high",
		Topic:         "topic-1",
		SpreadSeconds: 120,
		SendAt:        now.Add(time.Minute),
		CreatedAt:     now,
		RequestID:     "req-" + appID,
		CustomArgs:    []byte(`{"campaign":"c1"}`),
	}
}

// enqueueLog records the calls of the enqueue callbacks given to the store.
// Callbacks run on the caller's goroutine, but the lock keeps the race
// detector quiet if a backend ever runs them elsewhere.
type enqueueLog struct {
	mu    sync.Mutex
	ids   []int64
	calls int
	txNil bool
}

// newFunc returns a NewMessageFunc that records its call and fails with
// fail (when not nil) after recording it.
func (l *enqueueLog) newFunc(fail error) store.NewMessageFunc {
	return func(ctx context.Context, tx *sql.Tx, id int64) error {
		l.mu.Lock()
		l.calls++
		l.ids = append(l.ids, id)
		l.txNil = l.txNil || tx == nil
		l.mu.Unlock()
		return fail
	}
}

// txFunc is newFunc for a TxFunc.
func (l *enqueueLog) txFunc(fail error) store.TxFunc {
	f := l.newFunc(fail)
	return func(ctx context.Context, tx *sql.Tx) error { return f(ctx, tx, 0) }
}

func (l *enqueueLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

func mustCreate(t *testing.T, s store.Store, m store.Message) store.Message {
	t.Helper()
	got, created, err := s.CreateMessage(t.Context(), m, nil)
	if err != nil || !created {
		t.Fatalf("CreateMessage(%s): created %v, %v", m.AppID, created, err)
	}
	return got
}

func mustMessage(t *testing.T, s store.Store, appID string, id int64) store.Message {
	t.Helper()
	m, err := s.Message(t.Context(), appID, id)
	if err != nil {
		t.Fatalf("Message(%s, %d): %v", appID, id, err)
	}
	return m
}

// checkMessage compares the caller-set fields of a stored message with
// what was sent; ID, counters and fanout progress only when set in want.
func checkMessage(t *testing.T, what string, got, want store.Message) {
	t.Helper()
	if want.ID != 0 && got.ID != want.ID {
		t.Errorf("%s: ID = %d, want %d", what, got.ID, want.ID)
	}
	if got.AppID != want.AppID || got.State != want.State || got.Urgency != want.Urgency ||
		got.Topic != want.Topic || got.SpreadSeconds != want.SpreadSeconds || got.TTL != want.TTL ||
		got.DedupID != want.DedupID || got.RequestID != want.RequestID {
		t.Errorf("%s: got app %q state %q urgency %q topic %q spread %d ttl %v dedup %q request %q,\n\twant app %q state %q urgency %q topic %q spread %d ttl %v dedup %q request %q",
			what, got.AppID, got.State, got.Urgency, got.Topic, got.SpreadSeconds, got.TTL, got.DedupID, got.RequestID,
			want.AppID, want.State, want.Urgency, want.Topic, want.SpreadSeconds, want.TTL, want.DedupID, want.RequestID)
	}
	if got.LocalTime != want.LocalTime {
		t.Errorf("%s: LocalTime %q, want %q", what, got.LocalTime, want.LocalTime)
	}
	if !sameAudience(got.Audience, want.Audience) {
		t.Errorf("%s: Audience = %+v, want %+v", what, got.Audience, want.Audience)
	}
	if string(got.Content) != string(want.Content) || string(got.CustomArgs) != string(want.CustomArgs) {
		t.Errorf("%s: Content %s CustomArgs %s, want %s and %s", what, got.Content, got.CustomArgs, want.Content, want.CustomArgs)
	}
	if !sameMS(got.SendAt, want.SendAt) || !sameMS(got.CreatedAt, want.CreatedAt) {
		t.Errorf("%s: SendAt %v CreatedAt %v, want %v and %v", what, got.SendAt, got.CreatedAt, want.SendAt, want.CreatedAt)
	}
	if got.FanoutCursor != want.FanoutCursor || got.FanoutDone != want.FanoutDone {
		t.Errorf("%s: fanout cursor %d done %v, want %d %v", what, got.FanoutCursor, got.FanoutDone, want.FanoutCursor, want.FanoutDone)
	}
	checkCounters(t, what, got.Counters, want.Counters)
}

// checkCounters compares counters, treating a nil and an empty
// FailedReasons alike.
func checkCounters(t *testing.T, what string, got, want store.Counters) {
	t.Helper()
	type plain struct{ targeted, sent, failed, pruned, expired, received, clicked int64 }
	g := plain{got.Targeted, got.Sent, got.Failed, got.Pruned, got.Expired, got.Received, got.Clicked}
	w := plain{want.Targeted, want.Sent, want.Failed, want.Pruned, want.Expired, want.Received, want.Clicked}
	if g != w {
		t.Errorf("%s: counters (targeted sent failed pruned expired received clicked) = %v, want %v", what, g, w)
	}
	if len(got.FailedReasons) != len(want.FailedReasons) {
		t.Errorf("%s: FailedReasons = %v, want %v", what, got.FailedReasons, want.FailedReasons)
		return
	}
	for r, n := range want.FailedReasons {
		if got.FailedReasons[r] != n {
			t.Errorf("%s: FailedReasons = %v, want %v", what, got.FailedReasons, want.FailedReasons)
			return
		}
	}
}

// sameAudience compares audiences, treating nil and empty lists alike.
func sameAudience(a, b store.Audience) bool {
	eq := func(x, y []string) bool { return len(x) == 0 && len(y) == 0 || slices.Equal(x, y) }
	return eq(a.RegistrationIDs, b.RegistrationIDs) && eq(a.Tags, b.Tags) && eq(a.TagsAnd, b.TagsAnd) &&
		eq(a.TagsNot, b.TagsNot) && eq(a.Aliases, b.Aliases) && eq(a.Languages, b.Languages) &&
		eq(a.Timezones, b.Timezones) && slices.Equal(a.Channels, b.Channels) && sameMS(a.ActiveSince, b.ActiveSince) &&
		sameMS(a.ClickedSince, b.ClickedSince) && slices.EqualFunc(a.AnyOf, b.AnyOf, sameAudience) &&
		slices.EqualFunc(a.NoneOf, b.NoneOf, sameAudience)
}

func testMessages(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("CreateRoundTrip", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		in := newMessage("a")
		in.DedupID = "d-1"
		var log enqueueLog
		got, created, err := s.CreateMessage(t.Context(), in, log.newFunc(nil))
		if err != nil || !created {
			t.Fatalf("CreateMessage = created %v, %v; want a new message", created, err)
		}
		if got.ID <= 0 {
			t.Fatalf("ID = %d, want a positive id", got.ID)
		}
		if log.count() != 1 || log.ids[0] != got.ID || log.txNil {
			t.Errorf("enqueue calls %d with ids %v (nil tx %v); want one call with the new id %d and a tx", log.count(), log.ids, log.txNil, got.ID)
		}
		checkMessage(t, "CreateMessage result", got, in)
		checkMessage(t, "Message", mustMessage(t, s, "a", got.ID), in)
		if !got.FinishedAt.IsZero() {
			t.Errorf("FinishedAt = %v for a new message, want zero", got.FinishedAt)
		}
		second := mustCreate(t, s, newMessage("a"))
		if second.ID <= got.ID {
			t.Errorf("second id %d, want above %d", second.ID, got.ID)
		}
	})

	t.Run("ScheduledState", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		in := newMessage("a")
		in.State = store.StateScheduled
		in.Audience = store.Audience{}
		in.CustomArgs = nil
		checkMessage(t, "scheduled", mustCreate(t, s, in), in)
	})

	t.Run("EnqueueRunsInsideTheTransaction", func(t *testing.T) { testEnqueueInTx(t, open) })

	t.Run("EnqueueFailureRollsBack", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		boom := errors.New("queue is down")
		in := newMessage("a")
		in.DedupID = "d-1"
		if _, _, err := s.CreateMessage(t.Context(), in, func(ctx context.Context, tx *sql.Tx, id int64) error {
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("CreateMessage with a failing enqueue: error = %v, want one wrapping %v", err, boom)
		}
		if list := mustListMessages(t, s, "a", 0, 100); len(list) != 0 {
			t.Fatalf("a message was kept after its enqueue failed: %v", messageIDs(list))
		}
		// The dedup id was not taken by the rolled-back message.
		var log enqueueLog
		got, created, err := s.CreateMessage(t.Context(), in, log.newFunc(nil))
		if err != nil || !created || log.count() != 1 {
			t.Fatalf("CreateMessage after a rollback = created %v, %v, %d enqueues; want a new message", created, err, log.count())
		}
		checkMessage(t, "after rollback", got, in)
	})

	t.Run("Dedup", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		newApp(t, s, "b")
		first := newMessage("a")
		first.DedupID = "same"
		firstMsg := mustCreate(t, s, first)
		again := newMessage("a")
		again.DedupID, again.RequestID, again.Content = "same", "another request", []byte(`{"title":"other"}`)
		var log enqueueLog
		got, created, err := s.CreateMessage(t.Context(), again, log.newFunc(nil))
		if err != nil || created {
			t.Fatalf("CreateMessage(repeated dedup id) = created %v, %v; want the first message, created false", created, err)
		}
		if log.count() != 0 {
			t.Errorf("enqueue ran %d times for a repeated dedup id, want 0", log.count())
		}
		want := first
		want.ID = firstMsg.ID
		checkMessage(t, "repeated dedup id", got, want)
		if list := mustListMessages(t, s, "a", 0, 100); len(list) != 1 {
			t.Errorf("app a has %d messages, want 1", len(list))
		}
		// The same dedup id in another app is that app's own.
		other := newMessage("b")
		other.DedupID = "same"
		got, created, err = s.CreateMessage(t.Context(), other, log.newFunc(nil))
		if err != nil || !created || got.ID == firstMsg.ID || got.AppID != "b" {
			t.Fatalf("CreateMessage(b, a's dedup id) = %d of %q, created %v, %v; want a new message of b", got.ID, got.AppID, created, err)
		}
		// Messages without a dedup id never collide.
		mustCreate(t, s, newMessage("a"))
		mustCreate(t, s, newMessage("a"))
	})

	t.Run("DedupConcurrent", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		const n = 8
		msgs := make([]store.Message, n)
		created := make([]bool, n)
		errs := make([]error, n)
		var log enqueueLog
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				m := newMessage("a")
				m.DedupID = "retried-request"
				msgs[i], created[i], errs[i] = s.CreateMessage(t.Context(), m, log.newFunc(nil))
			})
		}
		close(start)
		wg.Wait()
		news := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: CreateMessage: %v", i, errs[i])
			}
			if created[i] {
				news++
			}
			if msgs[i].ID != msgs[0].ID {
				t.Errorf("goroutine %d got message %d, goroutine 0 got %d", i, msgs[i].ID, msgs[0].ID)
			}
		}
		if news != 1 || log.count() != 1 {
			t.Errorf("%d created and %d enqueues for one dedup id, want 1 and 1", news, log.count())
		}
	})

	t.Run("ListNewestFirst", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		newApp(t, s, "b")
		var ids []int64
		for i := range 7 {
			ids = append(ids, mustCreate(t, s, newMessage("a")).ID)
			if i%2 == 0 {
				mustCreate(t, s, newMessage("b"))
			}
		}
		slices.Reverse(ids)
		if got := messageIDs(mustListMessages(t, s, "a", 0, 100)); !slices.Equal(got, ids) {
			t.Errorf("ListMessages = %v, want %v", got, ids)
		}
		var paged []int64
		for before := int64(0); ; {
			page := mustListMessages(t, s, "a", before, 3)
			if len(page) > 3 {
				t.Fatalf("page of %d with limit 3", len(page))
			}
			if len(page) == 0 {
				break
			}
			if len(paged) > len(ids) {
				t.Fatalf("the cursor does not advance: %v", paged)
			}
			paged = append(paged, messageIDs(page)...)
			before = page[len(page)-1].ID
		}
		if !slices.Equal(paged, ids) {
			t.Errorf("paged = %v, want %v", paged, ids)
		}
		if got := mustListMessages(t, s, "a", ids[len(ids)-1], 100); len(got) != 0 {
			t.Errorf("ListMessages before the oldest = %v, want none", messageIDs(got))
		}
		if got := mustListMessages(t, s, "c", 0, 100); len(got) != 0 {
			t.Errorf("ListMessages(app without messages) = %v, want none", messageIDs(got))
		}
	})

	t.Run("MissingIsNotFound", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		if _, err := s.Message(t.Context(), "a", 12345); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Message(missing) error = %v, want ErrNotFound", err)
		}
		if err := s.AddEngagement(t.Context(), "a", 12345, 1, 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddEngagement(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := s.SetMessageState(t.Context(), "a", 12345, []store.MessageState{store.StateQueued}, store.StateCancelled, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetMessageState(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := s.AdvanceFanout(t.Context(), "a", 12345, 1, 1, false, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AdvanceFanout(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := s.RecordOutcomes(t.Context(), "a", 12345, []store.Outcome{{SubscriberID: 1, Result: store.ResultSent}}, nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RecordOutcomes(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := s.PendingRecipients(t.Context(), "a", 12345, []int64{1}, false); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PendingRecipients(missing) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("Engagement", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		m := mustCreate(t, s, newMessage("a"))
		for _, e := range [][2]int64{{3, 1}, {2, 0}, {0, 4}} {
			if err := s.AddEngagement(t.Context(), "a", m.ID, e[0], e[1]); err != nil {
				t.Fatalf("AddEngagement%v: %v", e, err)
			}
		}
		got := mustMessage(t, s, "a", m.ID)
		if got.Received != 5 || got.Clicked != 5 {
			t.Errorf("received %d clicked %d, want 5 and 5", got.Received, got.Clicked)
		}
		if got.State != store.StateQueued || got.Sent != 0 {
			t.Errorf("engagement changed state %s / sent %d", got.State, got.Sent)
		}
	})
}

func mustListMessages(t *testing.T, s store.Store, appID string, before int64, limit int) []store.Message {
	t.Helper()
	list, err := s.ListMessages(t.Context(), appID, before, limit)
	if err != nil {
		t.Fatalf("ListMessages(%s, %d, %d): %v", appID, before, limit, err)
	}
	return list
}

func messageIDs(list []store.Message) []int64 {
	ids := make([]int64, len(list))
	for i, m := range list {
		ids[i] = m.ID
	}
	return ids
}

// The transaction probe. A store's callbacks get a *sql.Tx; to show that
// it is the store's own transaction (committed with the store's rows and
// rolled back with them), the callback writes a mark to a scratch table,
// storetest_probe, and a later callback counts the marks. The SQL is
// plain enough for SQLite and PostgreSQL alike: no placeholders, and DDL,
// which both run inside a transaction.
const probeTable = `CREATE TABLE IF NOT EXISTS storetest_probe (mark BIGINT NOT NULL)`

func writeProbe(ctx context.Context, tx *sql.Tx, mark int64) error {
	if _, err := tx.ExecContext(ctx, probeTable); err != nil {
		return fmt.Errorf("create probe table: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO storetest_probe (mark) VALUES (%d)", mark)); err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

// probeCount counts the committed marks equal to mark, from inside a
// callback of a throwaway message of app "probe" (created on first use).
func probeCount(t *testing.T, s store.Store, mark int64) int64 {
	t.Helper()
	if _, err := s.App(t.Context(), "probe"); errors.Is(err, store.ErrNotFound) {
		if err := s.CreateApp(t.Context(), store.App{ID: "probe", Name: "probe"}); err != nil {
			t.Fatalf("CreateApp(probe): %v", err)
		}
	}
	var n int64
	_, _, err := s.CreateMessage(t.Context(), newMessage("probe"), func(ctx context.Context, tx *sql.Tx, _ int64) error {
		if _, err := tx.ExecContext(ctx, probeTable); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM storetest_probe WHERE mark = %d", mark)).Scan(&n)
	})
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	return n
}
