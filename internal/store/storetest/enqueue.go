package storetest

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// testEnqueueInTx shows that CreateMessage's callback runs inside the
// transaction that writes the message: the message is not yet visible to
// other readers while it runs, what the callback writes commits with the
// message, and a failing callback takes both back.
func testEnqueueInTx(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	newApp(t, s, "a")
	var seenBefore error
	m, _, err := s.CreateMessage(t.Context(), newMessage("a"), func(ctx context.Context, tx *sql.Tx, id int64) error {
		// Another reader must not see the uncommitted message yet.
		_, seenBefore = s.Message(ctx, "a", id)
		return writeProbe(ctx, tx, 1)
	})
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if !errors.Is(seenBefore, store.ErrNotFound) {
		t.Errorf("Message during enqueue: error = %v, want ErrNotFound (the message is not committed yet)", seenBefore)
	}
	if n := probeCount(t, s, 1); n != 1 {
		t.Errorf("the enqueue's write committed %d times, want once, with the message", n)
	}
	_, _, err = s.CreateMessage(t.Context(), newMessage("a"), func(ctx context.Context, tx *sql.Tx, id int64) error {
		if err := writeProbe(ctx, tx, 2); err != nil {
			return err
		}
		return errors.New("fail after writing")
	})
	if err == nil {
		t.Fatal("CreateMessage with a failing enqueue succeeded")
	}
	if n := probeCount(t, s, 2); n != 0 {
		t.Errorf("a failed enqueue's write was committed (%d marks)", n)
	}
	if list := mustListMessages(t, s, "a", 0, 10); !slices.Equal(messageIDs(list), []int64{m.ID}) {
		t.Errorf("messages of a = %v, want only %d", messageIDs(list), m.ID)
	}

	// The same holds for the TxFunc callbacks.
	for i, step := range []struct {
		name string
		call func(enqueue store.TxFunc) error
	}{
		{"SetMessageState", func(enqueue store.TxFunc) error {
			_, err := s.SetMessageState(t.Context(), "a", m.ID, []store.MessageState{store.StateQueued}, store.StateQueued, enqueue)
			return err
		}},
		{"AdvanceFanout", func(enqueue store.TxFunc) error {
			_, err := s.AdvanceFanout(t.Context(), "a", m.ID, 0, 0, false, enqueue)
			return err
		}},
		{"RecordOutcomes", func(enqueue store.TxFunc) error {
			_, err := s.RecordOutcomes(t.Context(), "a", m.ID, nil, enqueue)
			return err
		}},
	} {
		ok, failed := int64(10+2*i), int64(11+2*i)
		if err := step.call(func(ctx context.Context, tx *sql.Tx) error { return writeProbe(ctx, tx, ok) }); err != nil {
			t.Errorf("%s: %v", step.name, err)
		}
		if n := probeCount(t, s, ok); n != 1 {
			t.Errorf("%s: the enqueue's write committed %d times, want once", step.name, n)
		}
		if err := step.call(func(ctx context.Context, tx *sql.Tx) error {
			if err := writeProbe(ctx, tx, failed); err != nil {
				return err
			}
			return errors.New("fail after writing")
		}); err == nil {
			t.Errorf("%s with a failing enqueue succeeded", step.name)
		}
		if n := probeCount(t, s, failed); n != 0 {
			t.Errorf("%s: a failed enqueue's write was committed", step.name)
		}
	}
}
