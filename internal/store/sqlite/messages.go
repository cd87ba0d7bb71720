package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

const msgColumns = `id, app_id, state, audience, content, ttl_ms, urgency, topic,
	spread_seconds, send_at, created_at, finished_at, dedup_id, request_id,
	custom_args, fanout_cursor, fanout_done, targeted, sent, failed, pruned,
	expired, received, clicked, local_time`

func scanMessage(r scanner) (store.Message, error) {
	var (
		m                    store.Message
		state, audience      string
		ttl, sendAt, created int64
		finished             sql.NullInt64
		dedup                sql.NullString
		fanoutDone           int
	)
	err := r.Scan(&m.ID, &m.AppID, &state, &audience, &m.Content, &ttl, &m.Urgency, &m.Topic,
		&m.SpreadSeconds, &sendAt, &created, &finished, &dedup, &m.RequestID,
		&m.CustomArgs, &m.FanoutCursor, &fanoutDone, &m.Targeted, &m.Sent, &m.Failed, &m.Pruned,
		&m.Expired, &m.Received, &m.Clicked, &m.LocalTime)
	if err != nil {
		return store.Message{}, err
	}
	if err := json.Unmarshal([]byte(audience), &m.Audience); err != nil {
		return store.Message{}, fmt.Errorf("decode audience: %w", err)
	}
	m.State = store.MessageState(state)
	m.TTL = time.Duration(ttl) * time.Millisecond
	m.SendAt, m.CreatedAt, m.FinishedAt = sqlstore.FromMS(sendAt), sqlstore.FromMS(created), sqlstore.FromNullMS(finished)
	m.DedupID = dedup.String
	m.FanoutDone = fanoutDone != 0
	return m, nil
}

// message reads one message inside q (the pool or a transaction), with its
// failure reasons.
func message(ctx context.Context, q querier, appID string, id int64) (store.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, messageSQL, appID, id))
	if err != nil {
		return store.Message{}, classify(err)
	}
	rows, err := q.QueryContext(ctx, failuresSQL, id)
	if err != nil {
		return store.Message{}, err
	}
	return m, scanFailures(rows, &m)
}

// readMessage is message with the prepared statements, inside tx or, when
// tx is nil, on the pool: the delivery engine reads a message per job and
// per flush.
func (s *Store) readMessage(ctx context.Context, tx *sql.Tx, appID string, id int64) (store.Message, error) {
	m, err := scanMessage(in(ctx, tx, s.hot.message).QueryRowContext(ctx, appID, id))
	if err != nil {
		return store.Message{}, classify(err)
	}
	rows, err := in(ctx, tx, s.hot.failures).QueryContext(ctx, id)
	if err != nil {
		return store.Message{}, err
	}
	return m, scanFailures(rows, &m)
}

// scanFailures reads a message's failure reasons into m and closes rows.
func scanFailures(rows *sql.Rows, m *store.Message) error {
	defer rows.Close()
	for rows.Next() {
		var reason string
		var n int64
		if err := rows.Scan(&reason, &n); err != nil {
			return err
		}
		if m.FailedReasons == nil {
			m.FailedReasons = map[string]int64{}
		}
		m.FailedReasons[reason] = n
	}
	return rows.Err()
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateMessage inserts m and runs enqueue in the same transaction.
func (s *Store) CreateMessage(ctx context.Context, m store.Message, enqueue store.NewMessageFunc) (store.Message, bool, error) {
	audience, err := json.Marshal(m.Audience)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("sqlite: create message: %w", err)
	}
	var out store.Message
	created := true
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if m.DedupID != "" {
			var id int64
			err := tx.QueryRowContext(ctx, "SELECT id FROM messages WHERE app_id = ? AND dedup_id = ?", m.AppID, m.DedupID).Scan(&id)
			if err == nil {
				created = false
				out, err = message(ctx, tx, m.AppID, id)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		// A caller that resolved the audience itself (m.FanoutDone) stores
		// the complete fanout, sending.
		state, cursor, targeted := m.State, int64(0), int64(0)
		if m.FanoutDone {
			state, cursor, targeted = store.StateSending, m.FanoutCursor, m.Targeted
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO messages (app_id, state, audience, content, ttl_ms, urgency, topic,
			spread_seconds, send_at, created_at, dedup_id, request_id, custom_args, local_time,
			fanout_cursor, fanout_done, targeted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.AppID, string(state), string(audience), m.Content, m.TTL.Milliseconds(), m.Urgency, m.Topic,
			m.SpreadSeconds, sqlstore.ToMS(m.SendAt), sqlstore.ToMS(m.CreatedAt), sqlstore.NullText(m.DedupID), m.RequestID, sqlstore.NullBytes(m.CustomArgs), m.LocalTime,
			cursor, boolInt(m.FanoutDone), targeted,
		).Scan(&m.ID)
		if err != nil {
			return classify(err)
		}
		if enqueue != nil {
			if err := enqueue(ctx, tx, m.ID); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
		}
		out, err = message(ctx, tx, m.AppID, m.ID)
		return err
	})
	if err != nil {
		return store.Message{}, false, fmt.Errorf("sqlite: create message for %s: %w", m.AppID, err)
	}
	return out, created, nil
}

// Message returns one of the app's messages.
func (s *Store) Message(ctx context.Context, appID string, id int64) (store.Message, error) {
	m, err := s.readMessage(ctx, nil, appID, id)
	if err != nil {
		return store.Message{}, fmt.Errorf("sqlite: message %d of %s: %w", id, appID, err)
	}
	return m, nil
}

// ListMessages returns the app's messages, newest first.
func (s *Store) ListMessages(ctx context.Context, appID string, beforeID int64, limit int) ([]store.Message, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = defaultListLimit
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+msgColumns+" FROM messages WHERE app_id = ? AND id < ? ORDER BY id DESC LIMIT ?", appID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list messages of %s: %w", appID, err)
	}
	defer rows.Close()
	var out []store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list messages of %s: %w", appID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMessageState moves a message between states.
func (s *Store) SetMessageState(ctx context.Context, appID string, id int64, from []store.MessageState, to store.MessageState, enqueue store.TxFunc) (store.Message, error) {
	var out store.Message
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		m, err := message(ctx, tx, appID, id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, m.State) {
			out = m
			return fmt.Errorf("message is %s: %w", m.State, store.ErrConflict)
		}
		var finished any
		if to == store.StateDone || to == store.StateCancelled {
			finished = sqlstore.ToMS(s.now())
		}
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET state = ?, finished_at = coalesce(?, finished_at) WHERE id = ?", string(to), finished, id); err != nil {
			return err
		}
		if to == store.StateDone && m.State != store.StateDone {
			if err := finishedEvent(ctx, tx, id, s.now()); err != nil {
				return err
			}
		}
		if enqueue != nil {
			if err := enqueue(ctx, tx); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
		}
		out, err = message(ctx, tx, appID, id)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("sqlite: message %d of %s to %s: %w", id, appID, to, err)
	}
	return out, nil
}

// AdvanceFanout records fanout progress and runs enqueue atomically.
func (s *Store) AdvanceFanout(ctx context.Context, appID string, id, cursor, targeted int64, done bool, enqueue store.TxFunc) (store.Message, error) {
	var out store.Message
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET fanout_cursor = max(fanout_cursor, ?), targeted = targeted + ?,
			fanout_done = ?, state = CASE WHEN state IN ('queued', 'scheduled') THEN 'sending' ELSE state END
			WHERE app_id = ? AND id = ?`, cursor, targeted, boolInt(done), appID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		// Only once the message is known to be the app's.
		if enqueue != nil {
			if err := enqueue(ctx, tx); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
		}
		if err := s.finishIfComplete(ctx, tx, id, s.now()); err != nil {
			return err
		}
		out, err = s.readMessage(ctx, tx, appID, id)
		return err
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("sqlite: advance fanout of message %d: %w", id, err)
	}
	return out, nil
}

// finishIfComplete marks a message done once its fanout is complete and
// every targeted recipient has a final outcome.
func (s *Store) finishIfComplete(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	res, err := tx.StmtContext(ctx, s.hot.finish).ExecContext(ctx, sqlstore.ToMS(now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return finishedEvent(ctx, tx, id, now)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PendingRecipients returns the subscribers among ids still owed this message.
// A message of another app is store.ErrNotFound, as if it did not exist.
func (s *Store) PendingRecipients(ctx context.Context, appID string, id int64, ids []int64, retry bool) ([]store.Subscriber, error) {
	var one int
	err := s.hot.ofApp.QueryRowContext(ctx, appID, id).Scan(&one)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recipients of message %d: %w", id, classify(err))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	q := s.hot.pending
	if retry {
		q = s.hot.retrying
	}
	rows, err := q.QueryContext(ctx, jsonIDs(ids), appID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recipients of message %d: %w", id, err)
	}
	defer rows.Close()
	out := make([]store.Subscriber, 0, len(ids))
	for rows.Next() {
		sub, err := scanSub(rows, false)
		if err != nil {
			return nil, fmt.Errorf("sqlite: recipients of message %d: %w", id, err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// RecordOutcomes stores a batch of outcomes and updates the counters.
func (s *Store) RecordOutcomes(ctx context.Context, appID string, id int64, outs []store.Outcome, enqueue store.TxFunc) (store.Message, error) {
	var out store.Message
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Outcomes land only on a message of the app: deliveries are
		// keyed by message id alone.
		var one int
		if err := tx.StmtContext(ctx, s.hot.ofApp).QueryRowContext(ctx, appID, id).Scan(&one); err != nil {
			return classify(err)
		}
		// A final outcome replaces only "no row" or "retrying" (outcomeSQL).
		stmt := tx.StmtContext(ctx, s.hot.outcome)
		var c store.Counters
		reasons := map[string]int64{}
		var prune []int64
		var finals []store.Outcome // newly final: each gets a callback event
		for _, o := range outs {
			res, err := stmt.ExecContext(ctx, id, o.SubscriberID, string(o.Result), o.Reason, sqlstore.ToMS(now), string(o.Channel))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			if o.Result != store.ResultRetrying {
				finals = append(finals, o)
			}
			switch o.Result {
			case store.ResultSent:
				c.Sent++
			case store.ResultFailed:
				c.Failed++
				reasons[o.Reason]++
			case store.ResultPruned:
				c.Pruned++
				prune = append(prune, o.SubscriberID)
			case store.ResultExpired:
				c.Expired++
			}
		}
		if _, err := tx.StmtContext(ctx, s.hot.counters).ExecContext(ctx, c.Sent, c.Failed, c.Pruned, c.Expired, appID, id); err != nil {
			return err
		}
		for r, n := range reasons {
			if _, err := tx.ExecContext(ctx, `INSERT INTO message_failures (message_id, reason, count) VALUES (?, ?, ?)
				ON CONFLICT (message_id, reason) DO UPDATE SET count = count + excluded.count`, id, r, n); err != nil {
				return err
			}
		}
		if err := outcomeEvents(ctx, tx, appID, id, finals, now); err != nil {
			return err
		}
		if len(prune) > 0 {
			if _, err := deleteByID(ctx, tx, appID, prune); err != nil {
				return err
			}
		}
		if enqueue != nil {
			if err := enqueue(ctx, tx); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
		}
		if err := s.finishIfComplete(ctx, tx, id, now); err != nil {
			return err
		}
		var err error
		out, err = s.readMessage(ctx, tx, appID, id)
		return err
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("sqlite: record %d outcomes of message %d: %w", len(outs), id, err)
	}
	return out, nil
}

// deleteByID deletes the app's subscribers with these ids (and their tags).
func deleteByID(ctx context.Context, q querier, appID string, ids []int64) (int64, error) {
	args := make([]any, 0, len(ids)+1)
	args = append(args, appID)
	for _, v := range ids {
		args = append(args, v)
	}
	res, err := q.ExecContext(ctx, "DELETE FROM subscribers WHERE app_id = ? AND id IN ("+placeholders(len(ids))+")", args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AddEngagement adds device-reported received and clicked counts.
func (s *Store) AddEngagement(ctx context.Context, appID string, id int64, received, clicked int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE messages SET received = received + ?, clicked = clicked + ? WHERE app_id = ? AND id = ?", received, clicked, appID, id)
	if err != nil {
		return fmt.Errorf("sqlite: engagement of message %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: engagement of message %d: %w", id, store.ErrNotFound)
	}
	return nil
}
