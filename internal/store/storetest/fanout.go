package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

var cancellable = []store.MessageState{store.StateScheduled, store.StateQueued}

func testMessageState(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Transitions", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		in := newMessage("a")
		in.State = store.StateScheduled
		m := mustCreate(t, s, in)
		var log enqueueLog
		got, err := s.SetMessageState(t.Context(), "a", m.ID, []store.MessageState{store.StateScheduled}, store.StateQueued, log.txFunc(nil))
		if err != nil || got.State != store.StateQueued || log.count() != 1 {
			t.Fatalf("scheduled → queued = %s, %v, %d enqueues; want queued and one enqueue", got.State, err, log.count())
		}
		if !got.FinishedAt.IsZero() {
			t.Errorf("FinishedAt = %v after queued, want zero", got.FinishedAt)
		}
		before := ms(time.Now())
		got, err = s.SetMessageState(t.Context(), "a", m.ID, cancellable, store.StateCancelled, nil)
		if err != nil || got.State != store.StateCancelled {
			t.Fatalf("queued → cancelled = %s, %v", got.State, err)
		}
		if got.FinishedAt.Before(before) || got.FinishedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("FinishedAt = %v after cancelling, want about now (%v)", got.FinishedAt, before)
		}
		stored := mustMessage(t, s, "a", m.ID)
		if stored.State != store.StateCancelled || !sameMS(stored.FinishedAt, got.FinishedAt) {
			t.Errorf("stored state %s finished %v, want cancelled at %v", stored.State, stored.FinishedAt, got.FinishedAt)
		}
		// Refused: the message is no longer in a from state. The message
		// comes back as it is, so the caller can say why.
		got, err = s.SetMessageState(t.Context(), "a", m.ID, cancellable, store.StateCancelled, log.txFunc(nil))
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("cancelling a cancelled message: error = %v, want ErrConflict", err)
		}
		if got.ID != m.ID || got.State != store.StateCancelled {
			t.Errorf("refused transition returned id %d state %q, want the message as it is (%d, cancelled)", got.ID, got.State, m.ID)
		}
		if log.count() != 1 {
			t.Errorf("enqueue ran for a refused transition (%d calls)", log.count())
		}
	})

	t.Run("SendingAndDoneCannotBeCancelled", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		sending := mustCreate(t, s, newMessage("a"))
		advance(t, s, "a", sending.ID, 10, 1, false)
		done := mustCreate(t, s, newMessage("a"))
		advance(t, s, "a", done.ID, 0, 0, true)
		for _, c := range []struct {
			m    store.Message
			want store.MessageState
		}{{sending, store.StateSending}, {done, store.StateDone}} {
			got, err := s.SetMessageState(t.Context(), "a", c.m.ID, cancellable, store.StateCancelled, nil)
			if !errors.Is(err, store.ErrConflict) || got.State != c.want {
				t.Errorf("cancel a %s message = %q, %v; want %s and ErrConflict", c.want, got.State, err, c.want)
			}
			if stored := mustMessage(t, s, "a", c.m.ID); stored.State != c.want {
				t.Errorf("after a refused cancel the message is %s, want %s", stored.State, c.want)
			}
		}
	})

	t.Run("EnqueueFailureKeepsState", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		m := mustCreate(t, s, newMessage("a"))
		boom := errors.New("queue is down")
		var log enqueueLog
		if _, err := s.SetMessageState(t.Context(), "a", m.ID, cancellable, store.StateCancelled, log.txFunc(boom)); !errors.Is(err, boom) {
			t.Fatalf("SetMessageState with a failing enqueue: error = %v, want %v", err, boom)
		}
		if got := mustMessage(t, s, "a", m.ID); got.State != store.StateQueued || !got.FinishedAt.IsZero() {
			t.Errorf("after a failed enqueue the message is %s (finished %v), want queued", got.State, got.FinishedAt)
		}
	})
}

// advance calls AdvanceFanout and fails the test on error.
func advance(t *testing.T, s store.Store, appID string, id, cursor, targeted int64, done bool) store.Message {
	t.Helper()
	m, err := s.AdvanceFanout(t.Context(), appID, id, cursor, targeted, done, nil)
	if err != nil {
		t.Fatalf("AdvanceFanout(%d, cursor %d, +%d, done %v): %v", id, cursor, targeted, done, err)
	}
	return m
}

func record(t *testing.T, s store.Store, appID string, id int64, outs ...store.Outcome) store.Message {
	t.Helper()
	m, err := s.RecordOutcomes(t.Context(), appID, id, outs, nil)
	if err != nil {
		t.Fatalf("RecordOutcomes(%d, %v): %v", id, outs, err)
	}
	return m
}

func testFanout(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Advance", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		m := mustCreate(t, s, newMessage("a"))
		var log enqueueLog
		got, err := s.AdvanceFanout(t.Context(), "a", m.ID, 500, 500, false, log.txFunc(nil))
		if err != nil || log.count() != 1 {
			t.Fatalf("AdvanceFanout = %v, %d enqueues; want one", err, log.count())
		}
		if got.State != store.StateSending || got.FanoutCursor != 500 || got.Targeted != 500 || got.FanoutDone {
			t.Errorf("after one page: state %s cursor %d targeted %d done %v; want sending 500 500 false",
				got.State, got.FanoutCursor, got.Targeted, got.FanoutDone)
		}
		got = advance(t, s, "a", m.ID, 900, 321, true)
		if got.State != store.StateSending || got.FanoutCursor != 900 || got.Targeted != 821 || !got.FanoutDone {
			t.Errorf("after the last page: state %s cursor %d targeted %d done %v; want sending 900 821 true",
				got.State, got.FanoutCursor, got.Targeted, got.FanoutDone)
		}
		if stored := mustMessage(t, s, "a", m.ID); stored.FanoutCursor != 900 || stored.Targeted != 821 || !stored.FanoutDone {
			t.Errorf("stored: cursor %d targeted %d done %v", stored.FanoutCursor, stored.Targeted, stored.FanoutDone)
		}
	})

	t.Run("CursorNeverMovesBack", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		m := mustCreate(t, s, newMessage("a"))
		advance(t, s, "a", m.ID, 700, 10, false)
		if got := advance(t, s, "a", m.ID, 300, 0, false); got.FanoutCursor != 700 {
			t.Errorf("cursor = %d after an older page, want 700", got.FanoutCursor)
		}
	})

	t.Run("ScheduledStartsSending", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		in := newMessage("a")
		in.State = store.StateScheduled
		m := mustCreate(t, s, in)
		if got := advance(t, s, "a", m.ID, 3, 3, false); got.State != store.StateSending {
			t.Errorf("state = %s, want sending", got.State)
		}
	})

	t.Run("EmptyAudienceIsDone", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		m := mustCreate(t, s, newMessage("a"))
		before := ms(time.Now())
		got := advance(t, s, "a", m.ID, 0, 0, true)
		if got.State != store.StateDone || !got.FanoutDone || got.Targeted != 0 {
			t.Errorf("empty audience: state %s done %v targeted %d; want done", got.State, got.FanoutDone, got.Targeted)
		}
		if got.FinishedAt.Before(before) {
			t.Errorf("FinishedAt = %v, want about now", got.FinishedAt)
		}
	})

	// The engine resolves a small audience itself and creates the message
	// with its fanout complete and its batch enqueued in the same
	// transaction; the message is then done once its outcomes are in.
	t.Run("CreatedWithFanoutDone", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		a, b := mustUpsert(t, s, webpush("a", 1)), mustUpsert(t, s, webpush("a", 2))
		in := newMessage("a")
		in.FanoutDone, in.FanoutCursor, in.Targeted = true, b.ID, 2
		var log enqueueLog
		m, created, err := s.CreateMessage(t.Context(), in, log.newFunc(nil))
		if err != nil || !created || log.count() != 1 {
			t.Fatalf("CreateMessage with the fanout done = created %v, %v, %d enqueues; want created and one", created, err, log.count())
		}
		for _, got := range []store.Message{m, mustMessage(t, s, "a", m.ID)} {
			if got.State != store.StateSending || !got.FanoutDone || got.FanoutCursor != b.ID || got.Targeted != 2 {
				t.Errorf("state %s done %v cursor %d targeted %d; want sending true %d 2", got.State, got.FanoutDone, got.FanoutCursor, got.Targeted, b.ID)
			}
		}
		if got := record(t, s, "a", m.ID, store.Outcome{SubscriberID: a.ID, Result: store.ResultSent}); got.State != store.StateSending {
			t.Errorf("one of two outcomes in: state %s, want sending", got.State)
		}
		got := record(t, s, "a", m.ID, store.Outcome{SubscriberID: b.ID, Result: store.ResultSent})
		if got.State != store.StateDone || got.Sent != 2 || got.FinishedAt.IsZero() {
			t.Errorf("both outcomes in: state %s sent %d finished %v; want done, 2, a time", got.State, got.Sent, got.FinishedAt)
		}
	})

	t.Run("CancelledStaysCancelled", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		m := mustCreate(t, s, newMessage("a"))
		if _, err := s.SetMessageState(t.Context(), "a", m.ID, cancellable, store.StateCancelled, nil); err != nil {
			t.Fatal(err)
		}
		if got := advance(t, s, "a", m.ID, 10, 10, true); got.State != store.StateCancelled {
			t.Errorf("a fanout page of a cancelled message moved it to %s", got.State)
		}
	})

	t.Run("EnqueueFailureRollsBack", func(t *testing.T) {
		s := open(t)
		newApp(t, s, "a")
		m := mustCreate(t, s, newMessage("a"))
		advance(t, s, "a", m.ID, 100, 100, false)
		boom := errors.New("queue is down")
		var log enqueueLog
		if _, err := s.AdvanceFanout(t.Context(), "a", m.ID, 200, 100, true, log.txFunc(boom)); !errors.Is(err, boom) {
			t.Fatalf("AdvanceFanout with a failing enqueue: error = %v, want %v", err, boom)
		}
		if got := mustMessage(t, s, "a", m.ID); got.FanoutCursor != 100 || got.Targeted != 100 || got.FanoutDone {
			t.Errorf("after a failed enqueue: cursor %d targeted %d done %v; want 100 100 false", got.FanoutCursor, got.Targeted, got.FanoutDone)
		}
	})
}

func testPending(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	newApp(t, s, "b")
	var subs []store.Subscriber
	for i := range 6 {
		subs = append(subs, mustUpsert(t, s, webpush("a", i, "t")))
	}
	other := mustUpsert(t, s, webpush("b", 0, "t"))
	m := mustCreate(t, s, newMessage("a"))
	ids := append(idsOf(subs), other.ID)

	pending := func(retry bool) []int64 {
		t.Helper()
		got, err := s.PendingRecipients(t.Context(), "a", m.ID, ids, retry)
		if err != nil {
			t.Fatalf("PendingRecipients(retry %v): %v", retry, err)
		}
		return idsOf(got)
	}
	if got, want := pending(false), idsOf(subs); !slices.Equal(got, want) {
		t.Errorf("first attempt, nothing recorded: %v, want %v (b's subscriber left out)", got, want)
	}
	full, err := s.PendingRecipients(t.Context(), "a", m.ID, ids[:1], false)
	if err != nil || len(full) != 1 {
		t.Fatalf("PendingRecipients(one id) = %d rows, %v", len(full), err)
	}
	checkSub(t, "pending recipient", full[0], store.Subscriber{
		ID: subs[0].ID, AppID: "a", RegistrationID: subs[0].RegistrationID, Channel: subs[0].Channel,
		Token: subs[0].Token, P256DH: subs[0].P256DH, Auth: subs[0].Auth, Alias: subs[0].Alias,
		Language: subs[0].Language, Timezone: subs[0].Timezone, LastActiveAt: subs[0].LastActiveAt,
	})
	if got := pending(true); len(got) != 0 {
		t.Errorf("retry, nothing retrying: %v, want none", got)
	}

	advance(t, s, "a", m.ID, subs[5].ID, 6, true)
	record(t, s, "a", m.ID,
		store.Outcome{SubscriberID: subs[0].ID, Result: store.ResultSent},
		store.Outcome{SubscriberID: subs[1].ID, Result: store.ResultRetrying, Reason: "http 503"},
		store.Outcome{SubscriberID: subs[2].ID, Result: store.ResultFailed, Reason: "http 400"},
		store.Outcome{SubscriberID: subs[3].ID, Result: store.ResultRetrying, Reason: "http 429"},
	)
	if err := s.DeleteSubscriber(t.Context(), "a", subs[3].RegistrationID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscriber(t.Context(), "a", subs[4].RegistrationID); err != nil {
		t.Fatal(err)
	}
	if got, want := pending(false), []int64{subs[5].ID}; !slices.Equal(got, want) {
		t.Errorf("first attempt after outcomes and deletions: %v, want %v", got, want)
	}
	if got, want := pending(true), []int64{subs[1].ID}; !slices.Equal(got, want) {
		t.Errorf("retry: %v, want only the retrying, still subscribed %v", got, want)
	}
	if got, err := s.PendingRecipients(t.Context(), "a", m.ID, nil, false); err != nil || len(got) != 0 {
		t.Errorf("PendingRecipients(no ids) = %v, %v; want none", idsOf(got), err)
	}
}

func testOutcomes(t *testing.T, open func(*testing.T) store.Store) {
	setup := func(t *testing.T, n int) (store.Store, store.Message, []store.Subscriber) {
		s := open(t)
		newApp(t, s, "a")
		var subs []store.Subscriber
		for i := range n {
			subs = append(subs, mustUpsert(t, s, webpush("a", i, "t")))
		}
		m := mustCreate(t, s, newMessage("a"))
		return s, m, subs
	}
	out := func(sub store.Subscriber, r store.Result, reason string) store.Outcome {
		return store.Outcome{SubscriberID: sub.ID, Result: r, Reason: reason}
	}

	t.Run("CountsOnceAndFinishes", func(t *testing.T) {
		s, m, subs := setup(t, 6)
		advance(t, s, "a", m.ID, subs[2].ID, 3, false)
		batch1 := []store.Outcome{
			out(subs[0], store.ResultSent, ""),
			out(subs[1], store.ResultFailed, "http 400"),
			out(subs[2], store.ResultRetrying, "http 503"),
		}
		var log enqueueLog
		got, err := s.RecordOutcomes(t.Context(), "a", m.ID, batch1, log.txFunc(nil))
		if err != nil || log.count() != 1 {
			t.Fatalf("RecordOutcomes = %v, %d enqueues; want one", err, log.count())
		}
		want := store.Counters{Targeted: 3, Sent: 1, Failed: 1, FailedReasons: map[string]int64{"http 400": 1}}
		checkCounters(t, "first batch", got.Counters, want)
		// The same batch again (a re-run job) counts nothing new.
		got = record(t, s, "a", m.ID, batch1...)
		checkCounters(t, "first batch again", got.Counters, want)
		// A final outcome for an already final recipient is ignored too.
		got = record(t, s, "a", m.ID, out(subs[0], store.ResultFailed, "http 500"), out(subs[1], store.ResultSent, ""))
		checkCounters(t, "final after final", got.Counters, want)
		if got.State != store.StateSending {
			t.Errorf("state = %s with the fanout open, want sending", got.State)
		}

		advance(t, s, "a", m.ID, subs[5].ID, 3, true)
		got = record(t, s, "a", m.ID,
			out(subs[2], store.ResultFailed, "retries exhausted: http 503"), // retrying → final
			out(subs[3], store.ResultPruned, "http 410"),
			out(subs[4], store.ResultExpired, ""),
			out(subs[5], store.ResultFailed, "http 400"),
		)
		want = store.Counters{Targeted: 6, Sent: 1, Failed: 3, Pruned: 1, Expired: 1,
			FailedReasons: map[string]int64{"http 400": 2, "retries exhausted: http 503": 1}}
		checkCounters(t, "all final", got.Counters, want)
		if got.State != store.StateDone || got.FinishedAt.IsZero() {
			t.Errorf("every recipient final: state %s finished %v, want done", got.State, got.FinishedAt)
		}
		checkCounters(t, "stored", mustMessage(t, s, "a", m.ID).Counters, want)
		// The pruned subscriber is gone; the others stay.
		if _, err := s.Subscriber(t.Context(), "a", subs[3].RegistrationID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pruned subscriber still there: %v", err)
		}
		if n := mustCount(t, s, "a", store.SubscriberFilter{}); n != 5 {
			t.Errorf("%d subscribers left, want 5", n)
		}
		// A late duplicate changes nothing.
		got = record(t, s, "a", m.ID, out(subs[3], store.ResultPruned, "http 410"))
		checkCounters(t, "late duplicate", got.Counters, want)
	})

	t.Run("RetryingThenFinalCountsOnce", func(t *testing.T) {
		s, m, subs := setup(t, 1)
		advance(t, s, "a", m.ID, subs[0].ID, 1, true)
		for range 3 {
			got := record(t, s, "a", m.ID, out(subs[0], store.ResultRetrying, "http 503"))
			if got.State != store.StateSending || got.Failed != 0 || got.Sent != 0 {
				t.Fatalf("retrying: state %s sent %d failed %d; want sending, nothing counted", got.State, got.Sent, got.Failed)
			}
		}
		got := record(t, s, "a", m.ID, out(subs[0], store.ResultSent, ""))
		checkCounters(t, "retrying then sent", got.Counters, store.Counters{Targeted: 1, Sent: 1})
		if got.State != store.StateDone {
			t.Errorf("state = %s, want done", got.State)
		}
		got = record(t, s, "a", m.ID, out(subs[0], store.ResultSent, ""))
		checkCounters(t, "sent again", got.Counters, store.Counters{Targeted: 1, Sent: 1})
	})

	t.Run("NotDoneBeforeFanoutDone", func(t *testing.T) {
		s, m, subs := setup(t, 2)
		advance(t, s, "a", m.ID, subs[0].ID, 1, false)
		got := record(t, s, "a", m.ID, out(subs[0], store.ResultSent, ""))
		if got.State != store.StateSending {
			t.Errorf("all targeted so far final but fanout open: state %s, want sending", got.State)
		}
		got = advance(t, s, "a", m.ID, subs[1].ID, 1, true)
		if got.State != store.StateSending {
			t.Errorf("fanout done, one recipient open: state %s, want sending", got.State)
		}
		got = record(t, s, "a", m.ID, out(subs[1], store.ResultSent, ""))
		if got.State != store.StateDone {
			t.Errorf("state %s, want done", got.State)
		}
	})

	t.Run("OutcomesBeforeFanoutCompletes", func(t *testing.T) {
		// Outcomes can land before the page that targeted them is
		// recorded as done; the message finishes on that last page.
		s, m, subs := setup(t, 2)
		advance(t, s, "a", m.ID, subs[1].ID, 2, false)
		record(t, s, "a", m.ID, out(subs[0], store.ResultSent, ""), out(subs[1], store.ResultSent, ""))
		got := advance(t, s, "a", m.ID, subs[1].ID, 0, true)
		if got.State != store.StateDone || got.Sent != 2 {
			t.Errorf("last (empty) page after every outcome: state %s sent %d, want done 2", got.State, got.Sent)
		}
	})

	t.Run("EnqueueFailureRollsBack", func(t *testing.T) {
		s, m, subs := setup(t, 2)
		advance(t, s, "a", m.ID, subs[1].ID, 2, true)
		boom := errors.New("queue is down")
		var log enqueueLog
		_, err := s.RecordOutcomes(t.Context(), "a", m.ID, []store.Outcome{
			out(subs[0], store.ResultPruned, "http 404"), out(subs[1], store.ResultFailed, "http 400"),
		}, log.txFunc(boom))
		if !errors.Is(err, boom) {
			t.Fatalf("RecordOutcomes with a failing enqueue: error = %v, want %v", err, boom)
		}
		got := mustMessage(t, s, "a", m.ID)
		checkCounters(t, "after rollback", got.Counters, store.Counters{Targeted: 2})
		if got.State != store.StateSending {
			t.Errorf("state %s after rollback, want sending", got.State)
		}
		mustGet(t, s, "a", subs[0].RegistrationID) // not pruned
		pending, err := s.PendingRecipients(t.Context(), "a", m.ID, idsOf(subs), false)
		if err != nil || len(pending) != 2 {
			t.Errorf("after rollback %d recipients pending, %v; want both", len(pending), err)
		}
	})
}
