package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// testEngagement pins RecordEngagement: each (message, registration, kind)
// counts once, also under concurrent repeats; a click implies received;
// another app's message is not found and records nothing; the
// subscriber's activity moves forward only.
func testEngagement(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	newApp(t, s, "a")
	newApp(t, s, "b")
	base := ms(time.Now().Add(-time.Hour))
	sub := webpush("a", 1)
	sub.LastActiveAt = base
	sub = mustUpsert(t, s, sub)
	m := mustCreate(t, s, newMessage("a"))
	other := mustCreate(t, s, newMessage("b"))

	record := func(appID string, id int64, rid string, kind store.EngagementKind, at time.Time) bool {
		t.Helper()
		counted, err := s.RecordEngagement(ctx, appID, id, rid, kind, at)
		if err != nil {
			t.Fatalf("RecordEngagement(%s, %d, %s, %s): %v", appID, id, rid, kind, err)
		}
		return counted
	}
	counters := func(appID string, id int64, received, clicked int64) {
		t.Helper()
		got := mustMessage(t, s, appID, id)
		if got.Received != received || got.Clicked != clicked {
			t.Fatalf("message %d of %s: received %d, clicked %d; want %d, %d", id, appID, got.Received, got.Clicked, received, clicked)
		}
	}

	t1 := base.Add(10 * time.Minute)
	if !record("a", m.ID, sub.RegistrationID, store.EngagementReceived, t1) {
		t.Fatal("first received report: not counted")
	}
	if record("a", m.ID, sub.RegistrationID, store.EngagementReceived, t1.Add(time.Second)) {
		t.Fatal("repeated received report: counted again")
	}
	counters("a", m.ID, 1, 0)
	if got := mustGet(t, s, "a", sub.RegistrationID); !got.LastActiveAt.Equal(t1) || !got.LastClickedAt.IsZero() {
		t.Fatalf("after received: last active %v, last clicked %v; want %v and never", got.LastActiveAt, got.LastClickedAt, t1)
	}

	t2 := base.Add(20 * time.Minute)
	if !record("a", m.ID, sub.RegistrationID, store.EngagementClicked, t2) {
		t.Fatal("first clicked report: not counted")
	}
	if record("a", m.ID, sub.RegistrationID, store.EngagementClicked, t2) {
		t.Fatal("repeated clicked report: counted again")
	}
	counters("a", m.ID, 1, 1)
	if got := mustGet(t, s, "a", sub.RegistrationID); !got.LastActiveAt.Equal(t2) || !got.LastClickedAt.Equal(t2) {
		t.Fatalf("after clicked: last active %v, last clicked %v; want %v for both", got.LastActiveAt, got.LastClickedAt, t2)
	}

	t.Run("click implies received", func(t *testing.T) {
		m2 := mustCreate(t, s, newMessage("a"))
		if !record("a", m2.ID, sub.RegistrationID, store.EngagementClicked, t2) {
			t.Fatal("clicked report: not counted")
		}
		counters("a", m2.ID, 1, 1)
		if record("a", m2.ID, sub.RegistrationID, store.EngagementReceived, t2) {
			t.Fatal("received after clicked: counted a second time")
		}
		counters("a", m2.ID, 1, 1)
	})

	t.Run("activity never moves back", func(t *testing.T) {
		m3 := mustCreate(t, s, newMessage("a"))
		record("a", m3.ID, sub.RegistrationID, store.EngagementClicked, base)
		if got := mustGet(t, s, "a", sub.RegistrationID); !got.LastActiveAt.Equal(t2) || !got.LastClickedAt.Equal(t2) {
			t.Fatalf("an older report moved activity back: last active %v, last clicked %v; want %v", got.LastActiveAt, got.LastClickedAt, t2)
		}
	})

	t.Run("another app's message", func(t *testing.T) {
		_, err := s.RecordEngagement(ctx, "a", other.ID, sub.RegistrationID, store.EngagementClicked, t2)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("app a reporting on app b's message: %v, want ErrNotFound", err)
		}
		_, err = s.RecordEngagement(ctx, "a", 1<<40, sub.RegistrationID, store.EngagementReceived, t2)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a message that does not exist: %v, want ErrNotFound", err)
		}
		counters("b", other.ID, 0, 0)
		// Nothing was recorded for it: the same report in its own app counts.
		if !record("b", other.ID, sub.RegistrationID, store.EngagementClicked, t2) {
			t.Fatal("the report in its own app was not counted: the refused one left a row")
		}
		counters("b", other.ID, 1, 1)
		if got := mustGet(t, s, "a", sub.RegistrationID); !got.LastActiveAt.Equal(t2) {
			t.Fatalf("app b's report touched app a's subscriber: last active %v", got.LastActiveAt)
		}
	})

	t.Run("deleted subscriber still counts", func(t *testing.T) {
		m4 := mustCreate(t, s, newMessage("a"))
		if !record("a", m4.ID, "r_gone", store.EngagementReceived, t2) {
			t.Fatal("report for a registration without a subscriber row: not counted")
		}
		counters("a", m4.ID, 1, 0)
	})

	t.Run("concurrent repeats count once", func(t *testing.T) {
		m5 := mustCreate(t, s, newMessage("a"))
		const n = 16
		var wg sync.WaitGroup
		results := make(chan error, 2*n)
		counted := make(chan bool, 2*n)
		for range n {
			for _, kind := range []store.EngagementKind{store.EngagementReceived, store.EngagementClicked} {
				wg.Go(func() {
					c, err := s.RecordEngagement(ctx, "a", m5.ID, sub.RegistrationID, kind, t2)
					results <- err
					counted <- c
				})
			}
		}
		wg.Wait()
		close(results)
		close(counted)
		for err := range results {
			if err != nil {
				t.Fatalf("RecordEngagement: %v", err)
			}
		}
		var yes int
		for c := range counted {
			if c {
				yes++
			}
		}
		counters("a", m5.ID, 1, 1)
		// One received report counts unless a click counted it first; one
		// click always counts.
		if yes < 1 || yes > 2 {
			t.Fatalf("%d reports said counted, want 1 or 2", yes)
		}
	})
}
