package postgres

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
	)
	err := r.Scan(&m.ID, &m.AppID, &state, &audience, &m.Content, &ttl, &m.Urgency, &m.Topic,
		&m.SpreadSeconds, &sendAt, &created, &finished, &dedup, &m.RequestID,
		&m.CustomArgs, &m.FanoutCursor, &m.FanoutDone, &m.Targeted, &m.Sent, &m.Failed, &m.Pruned,
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
	return m, nil
}

// message reads one message inside q (the pool or a transaction), with its
// failure reasons.
func message(ctx context.Context, q querier, appID string, id int64) (store.Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, "SELECT "+msgColumns+" FROM messages WHERE app_id = $1 AND id = $2", appID, id))
	if err != nil {
		return store.Message{}, classify(err)
	}
	rows, err := q.QueryContext(ctx, "SELECT reason, count FROM message_failures WHERE message_id = $1", id)
	if err != nil {
		return store.Message{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var reason string
		var n int64
		if err := rows.Scan(&reason, &n); err != nil {
			return store.Message{}, err
		}
		if m.FailedReasons == nil {
			m.FailedReasons = map[string]int64{}
		}
		m.FailedReasons[reason] = n
	}
	return m, rows.Err()
}

// ownMessage checks, inside q, that the app has message id (deliveries and
// engagements are keyed by message id alone). With lock it also takes the
// message's row lock, so that writers of one message's outcomes queue.
func ownMessage(ctx context.Context, q querier, appID string, id int64, lock bool) error {
	query := "SELECT 1 FROM messages WHERE app_id = $1 AND id = $2"
	if lock {
		query += " FOR UPDATE"
	}
	var one int
	return classify(q.QueryRowContext(ctx, query, appID, id).Scan(&one))
}

// CreateMessage inserts m and runs enqueue in the same transaction. A
// repeated dedup id is settled by the UNIQUE (app_id, dedup_id) index: a
// concurrent second insert waits for the first to commit, then inserts
// nothing and returns the first's message.
func (s *Store) CreateMessage(ctx context.Context, m store.Message, enqueue store.NewMessageFunc) (store.Message, bool, error) {
	audience, err := json.Marshal(m.Audience)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("postgres: create message: %w", err)
	}
	var out store.Message
	var created bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		created = true
		// A caller that resolved the audience itself (m.FanoutDone) stores
		// the complete fanout, sending.
		state, cursor, targeted := m.State, int64(0), int64(0)
		if m.FanoutDone {
			state, cursor, targeted = store.StateSending, m.FanoutCursor, m.Targeted
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO messages (app_id, state, audience, content, ttl_ms, urgency, topic,
			spread_seconds, send_at, created_at, dedup_id, request_id, custom_args, local_time,
			fanout_cursor, fanout_done, targeted)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (app_id, dedup_id) DO NOTHING RETURNING id`,
			m.AppID, string(state), string(audience), m.Content, m.TTL.Milliseconds(), m.Urgency, m.Topic,
			m.SpreadSeconds, sqlstore.ToMS(m.SendAt), sqlstore.ToMS(m.CreatedAt), sqlstore.NullText(m.DedupID), m.RequestID, sqlstore.NullBytes(m.CustomArgs), m.LocalTime,
			cursor, m.FanoutDone, targeted,
		).Scan(&m.ID)
		if errors.Is(err, sql.ErrNoRows) {
			// The dedup id is taken (by a committed message).
			created = false
			if err := tx.QueryRowContext(ctx, "SELECT id FROM messages WHERE app_id = $1 AND dedup_id = $2",
				m.AppID, m.DedupID).Scan(&m.ID); err != nil {
				return classify(err)
			}
			out, err = message(ctx, tx, m.AppID, m.ID)
			return err
		}
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
		return store.Message{}, false, fmt.Errorf("postgres: create message for %s: %w", m.AppID, err)
	}
	return out, created, nil
}

// Message returns one of the app's messages.
func (s *Store) Message(ctx context.Context, appID string, id int64) (store.Message, error) {
	m, err := message(ctx, s.db, appID, id)
	if err != nil {
		return store.Message{}, fmt.Errorf("postgres: message %d of %s: %w", id, appID, err)
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
	rows, err := s.db.QueryContext(ctx, "SELECT "+msgColumns+" FROM messages WHERE app_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3", appID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list messages of %s: %w", appID, err)
	}
	defer rows.Close()
	var out []store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list messages of %s: %w", appID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMessageState moves a message between states, under its row lock.
func (s *Store) SetMessageState(ctx context.Context, appID string, id int64, from []store.MessageState, to store.MessageState, enqueue store.TxFunc) (store.Message, error) {
	var out store.Message
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = store.Message{}
		if err := ownMessage(ctx, tx, appID, id, true); err != nil {
			return err
		}
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
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET state = $1, finished_at = coalesce($2, finished_at) WHERE id = $3",
			string(to), finished, id); err != nil {
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
		return out, fmt.Errorf("postgres: message %d of %s to %s: %w", id, appID, to, err)
	}
	return out, nil
}

// AdvanceFanout records fanout progress and runs enqueue atomically.
func (s *Store) AdvanceFanout(ctx context.Context, appID string, id, cursor, targeted int64, done bool, enqueue store.TxFunc) (store.Message, error) {
	var out store.Message
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET fanout_cursor = greatest(fanout_cursor, $1), targeted = targeted + $2,
			fanout_done = $3, state = CASE WHEN state IN ('queued', 'scheduled') THEN 'sending' ELSE state END
			WHERE app_id = $4 AND id = $5`, cursor, targeted, done, appID, id)
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
		if err := finishIfComplete(ctx, tx, id, s.now()); err != nil {
			return err
		}
		out, err = message(ctx, tx, appID, id)
		return err
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("postgres: advance fanout of message %d: %w", id, err)
	}
	return out, nil
}

// finishIfComplete marks a message done once its fanout is complete and
// every targeted recipient has a final outcome, with its finished
// callback event.
func finishIfComplete(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'done', finished_at = $1
		WHERE id = $2 AND fanout_done AND state = 'sending'
		AND sent + failed + pruned + expired >= targeted`, sqlstore.ToMS(now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return finishedEvent(ctx, tx, id, now)
	}
	return nil
}

// PendingRecipients returns the subscribers among ids still owed this
// message. A message of another app is store.ErrNotFound.
func (s *Store) PendingRecipients(ctx context.Context, appID string, id int64, ids []int64, retry bool) ([]store.Subscriber, error) {
	if err := ownMessage(ctx, s.db, appID, id, false); err != nil {
		return nil, fmt.Errorf("postgres: recipients of message %d: %w", id, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cond := "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = $3 AND d.subscriber_id = s.id)"
	if retry {
		cond = "EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = $3 AND d.subscriber_id = s.id AND d.result = 'retrying')"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+subColumns+` FROM subscribers s
		WHERE s.app_id = $1 AND s.id = ANY($2::bigint[]) AND `+cond+` ORDER BY s.id`, appID, ids, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: recipients of message %d: %w", id, err)
	}
	out, err := scanSubs(rows, false, len(ids))
	if err != nil {
		return nil, fmt.Errorf("postgres: recipients of message %d: %w", id, err)
	}
	return out, nil
}

// AddEngagement adds device-reported received and clicked counts.
func (s *Store) AddEngagement(ctx context.Context, appID string, id int64, received, clicked int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE messages SET received = received + $1, clicked = clicked + $2 WHERE app_id = $3 AND id = $4",
		received, clicked, appID, id)
	if err != nil {
		return fmt.Errorf("postgres: engagement of message %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("postgres: engagement of message %d: %w", id, store.ErrNotFound)
	}
	return nil
}
