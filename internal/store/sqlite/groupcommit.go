package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/heraldpush/herald/internal/store"
)

// maxGroup bounds how many UpsertSubscriber calls share one transaction,
// so that the write lock is never held for long by one group (a group of
// 256 commits in a few milliseconds).
const maxGroup = 256

// errClosed is returned by UpsertSubscriber once Close has begun.
var errClosed = errors.New("store is closed")

// committer coalesces concurrent UpsertSubscriber calls into one write
// transaction (group commit). SQLite commits one transaction at a time,
// and a single-row transaction spends most of its time committing (the
// WAL write of every page it touched, and every thousandth page a
// checkpoint); rows that arrive while a transaction commits wait and go
// in the next one together, so the cost of a commit is shared and the
// pages two registrations both touch are written once.
//
// One goroutine, started by Open and stopped by Close, runs the
// transactions. Each caller hands over its row and waits for its own
// answer, which is sent only after the transaction holding the row has
// committed (or failed). A row refused on its own (a registration id
// already taken, an app that does not exist) fails alone: SQLite undoes
// the failed statement and the transaction goes on with the other rows.
// Any other failure fails every row of the group, and none is stored.
type committer struct {
	reqs chan *upsertReq // unbuffered: a row handed over is a row answered
	quit chan struct{}
	done chan struct{}
}

// upsertReq is one UpsertSubscriber call waiting for its group.
type upsertReq struct {
	ctx  context.Context // checked before the row is written
	sub  store.Subscriber
	res  store.UpsertResult
	err  error
	done chan struct{} // closed once res or err is final
}

// rowRefused marks an error that concerns one row only and left the
// transaction as it was before that row (see committer).
type rowRefused struct{ err error }

func (e *rowRefused) Error() string { return e.err.Error() }
func (e *rowRefused) Unwrap() error { return e.err }

func (s *Store) startCommitter() {
	s.gc = committer{reqs: make(chan *upsertReq), quit: make(chan struct{}), done: make(chan struct{})}
	go s.commitLoop()
}

// stopCommitter lets the running group finish, then stops the committer.
// Calls still waiting to hand over their row get errClosed.
func (s *Store) stopCommitter() {
	s.closeOnce.Do(func() { close(s.gc.quit) })
	<-s.gc.done
}

func (s *Store) commitLoop() {
	defer close(s.gc.done)
	group := make([]*upsertReq, 0, maxGroup)
	for {
		select {
		case r := <-s.gc.reqs:
			group = append(group[:0], r)
		case <-s.gc.quit:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-s.gc.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		s.commitGroup(group)
		clear(group)
	}
}

// commitGroup writes the group's rows in one transaction and answers
// every caller.
func (s *Store) commitGroup(group []*upsertReq) {
	// The transaction belongs to the whole group, not to one caller:
	// a caller that gives up does not cancel the others' rows.
	ctx := context.Background()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := newUpserter(ctx, tx, &s.stmts, s.now())
		if err != nil {
			return err
		}
		for _, r := range group {
			r.err = nil
			if err := r.ctx.Err(); err != nil {
				r.err = err
				continue
			}
			r.res.Subscriber, r.res.Created, err = u.upsert(ctx, r.sub, true)
			var refused *rowRefused
			switch {
			case errors.As(err, &refused):
				r.err = refused.err
			case err != nil:
				return err
			}
		}
		return nil
	})
	for _, r := range group {
		if err != nil && r.err == nil {
			r.err = err
			r.res = store.UpsertResult{}
		}
		close(r.done)
	}
}

// UpsertSubscriber inserts sub or updates the app's row with the same
// channel and token, in one transaction with its tags; concurrent calls
// share a transaction (see committer).
//
// On insert an empty RegistrationID is replaced by a random one (128 bits),
// and zero CreatedAt / LastActiveAt by the store's clock. UpdatedAt is
// set to sub.UpdatedAt, or the store's clock when zero. On update the
// row keeps its ID, RegistrationID and CreatedAt; empty strings and byte
// slices in sub keep the stored value (a re-registration that omits the
// alias does not unbind it: UpdateSubscriber does that), LastActiveAt and
// LastClickedAt only move forward, and Tags follow the interface (nil
// keeps, non-nil replaces).
func (s *Store) UpsertSubscriber(ctx context.Context, sub store.Subscriber) (store.UpsertResult, error) {
	r := &upsertReq{ctx: ctx, sub: sub, done: make(chan struct{})}
	select {
	case s.gc.reqs <- r:
	case <-ctx.Done():
		return store.UpsertResult{}, fmt.Errorf("sqlite: upsert subscriber: %w", ctx.Err())
	case <-s.gc.quit:
		return store.UpsertResult{}, fmt.Errorf("sqlite: upsert subscriber: %w", errClosed)
	}
	// Once handed over, the row may be written: wait for the answer
	// (at most one transaction away) rather than report a guess.
	<-r.done
	if r.err != nil {
		return store.UpsertResult{}, fmt.Errorf("sqlite: upsert subscriber: %w", r.err)
	}
	return r.res, nil
}
