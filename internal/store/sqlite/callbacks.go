package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// SetCallback stores or replaces an app's callback.
func (s *Store) SetCallback(ctx context.Context, appID string, c store.Callback) error {
	at := c.UpdatedAt
	if at.IsZero() {
		at = s.now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO app_callbacks (app_id, url, secret_sealed, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (app_id) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at`,
			appID, c.URL, c.SecretSealed, toMS(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set callback of %s: %w", appID, classify(err))
	}
	return nil
}

// Callback returns an app's callback.
func (s *Store) Callback(ctx context.Context, appID string) (store.Callback, error) {
	var c store.Callback
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT url, secret_sealed, updated_at FROM app_callbacks WHERE app_id = ?`, appID).
		Scan(&c.URL, &c.SecretSealed, &at)
	if err != nil {
		return store.Callback{}, fmt.Errorf("sqlite: callback of %s: %w", appID, classify(err))
	}
	c.UpdatedAt = fromMS(at)
	return c, nil
}

// DeleteCallback removes an app's callback and its pending events.
func (s *Store) DeleteCallback(ctx context.Context, appID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM app_callbacks WHERE app_id = ?`, appID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM callback_events WHERE app_id = ?`, appID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete callback of %s: %w", appID, err)
	}
	return nil
}

// DueCallbackApps lists apps with events due at now.
func (s *Store) DueCallbackApps(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.app_id FROM app_callbacks c
		WHERE EXISTS (SELECT 1 FROM callback_events e WHERE e.app_id = c.app_id AND e.next_at <= ?) LIMIT ?`, toMS(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: apps with callback events due: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: apps with callback events due: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DueCallbackEvents returns the app's due events, oldest first.
func (s *Store) DueCallbackEvents(ctx context.Context, appID string, now time.Time, limit int) ([]store.CallbackEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.kind, e.message_id, e.registration_id, e.channel, e.reason, e.at,
		e.counters, e.attempts, coalesce(m.request_id, ''), m.custom_args
		FROM callback_events e LEFT JOIN messages m ON m.id = e.message_id
		WHERE e.app_id = ? AND e.next_at <= ? ORDER BY e.id LIMIT ?`, appID, toMS(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: callback events of %s: %w", appID, err)
	}
	defer rows.Close()
	var out []store.CallbackEvent
	for rows.Next() {
		e := store.CallbackEvent{AppID: appID}
		var kind, channel string
		var at int64
		var counters sql.NullString
		if err := rows.Scan(&e.ID, &kind, &e.MessageID, &e.RegistrationID, &channel, &e.Reason, &at,
			&counters, &e.Attempts, &e.RequestID, &e.CustomArgs); err != nil {
			return nil, fmt.Errorf("sqlite: callback events of %s: %w", appID, err)
		}
		e.Kind, e.Channel, e.At = store.CallbackEventKind(kind), store.Channel(channel), fromMS(at)
		if counters.Valid {
			var c eventCounters
			if err := json.Unmarshal([]byte(counters.String), &c); err != nil {
				return nil, fmt.Errorf("sqlite: callback event %d: counters: %w", e.ID, err)
			}
			e.Counters = c.counters()
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteCallbackEvents removes the app's events with these ids.
func (s *Store) DeleteCallbackEvents(ctx context.Context, appID string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM callback_events WHERE app_id = ? AND id IN ("+placeholders(len(ids))+")", idArgs(appID, ids)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete %d callback events of %s: %w", len(ids), appID, err)
	}
	return nil
}

// DeferCallbackEvents counts a failed attempt and sets the next one.
func (s *Store) DeferCallbackEvents(ctx context.Context, appID string, ids []int64, next time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := append([]any{toMS(next)}, idArgs(appID, ids)...)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE callback_events SET attempts = attempts + 1, next_at = ? WHERE app_id = ? AND id IN ("+placeholders(len(ids))+")", args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: defer %d callback events of %s: %w", len(ids), appID, err)
	}
	return nil
}

func idArgs(appID string, ids []int64) []any {
	args := make([]any, 0, len(ids)+1)
	args = append(args, appID)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// hasCallback says whether the app has a callback, inside tx.
func hasCallback(ctx context.Context, tx *sql.Tx, appID string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM app_callbacks WHERE app_id = ?", appID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// outcomeEvents adds one event per newly final outcome when the app has
// a callback, in one statement from the delivery rows this transaction
// just wrote. It runs before pruned subscribers are deleted, so their
// registration ids are still there to read.
func outcomeEvents(ctx context.Context, tx *sql.Tx, appID string, msgID int64, finals []store.Outcome, now time.Time) error {
	if len(finals) == 0 {
		return nil
	}
	if ok, err := hasCallback(ctx, tx, appID); !ok || err != nil {
		return err
	}
	args := make([]any, 0, len(finals)+5)
	args = append(args, appID, toMS(now), toMS(now), appID, msgID)
	for _, o := range finals {
		args = append(args, o.SubscriberID)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO callback_events (app_id, kind, message_id, registration_id, channel, reason, at, next_at)
		SELECT ?, d.result, d.message_id, coalesce(s.registration_id, ''), d.channel, d.reason, ?, ?
		FROM deliveries d LEFT JOIN subscribers s ON s.app_id = ? AND s.id = d.subscriber_id
		WHERE d.message_id = ? AND d.subscriber_id IN (`+placeholders(len(finals))+`) ORDER BY d.subscriber_id`, args...)
	if err != nil {
		return fmt.Errorf("callback events: %w", err)
	}
	return nil
}

// engagementEvents adds the events of a device report that counted.
func engagementEvents(ctx context.Context, tx *sql.Tx, appID string, msgID int64, registrationID string, kinds []store.CallbackEventKind, at time.Time) error {
	if len(kinds) == 0 {
		return nil
	}
	if ok, err := hasCallback(ctx, tx, appID); !ok || err != nil {
		return err
	}
	for _, k := range kinds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO callback_events (app_id, kind, message_id, registration_id, at, next_at)
			VALUES (?, ?, ?, ?, ?, ?)`, appID, string(k), msgID, registrationID, toMS(at), toMS(at)); err != nil {
			return fmt.Errorf("callback events: %w", err)
		}
	}
	return nil
}

// finishedEvent adds the finished event of message id, which this
// transaction has just moved to done, with its counters.
func finishedEvent(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	var appID string
	if err := tx.QueryRowContext(ctx, "SELECT app_id FROM messages WHERE id = ?", id).Scan(&appID); err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	if ok, err := hasCallback(ctx, tx, appID); !ok || err != nil {
		return err
	}
	m, err := message(ctx, tx, appID, id)
	if err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	c, err := json.Marshal(eventCountersOf(m.Counters))
	if err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO callback_events (app_id, kind, message_id, at, counters, next_at)
		VALUES (?, ?, ?, ?, ?, ?)`, appID, string(store.EventFinished), id, toMS(now), string(c), toMS(now))
	if err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	return nil
}

// eventCounters is how a finished event's counters are kept in the outbox.
type eventCounters struct {
	Targeted      int64            `json:"targeted"`
	Sent          int64            `json:"sent"`
	Failed        int64            `json:"failed"`
	Pruned        int64            `json:"pruned"`
	Expired       int64            `json:"expired"`
	Received      int64            `json:"received"`
	Clicked       int64            `json:"clicked"`
	FailedReasons map[string]int64 `json:"failed_reasons,omitempty"`
}

func eventCountersOf(c store.Counters) eventCounters {
	return eventCounters{c.Targeted, c.Sent, c.Failed, c.Pruned, c.Expired, c.Received, c.Clicked, c.FailedReasons}
}

func (c eventCounters) counters() *store.Counters {
	return &store.Counters{Targeted: c.Targeted, Sent: c.Sent, Failed: c.Failed, Pruned: c.Pruned,
		Expired: c.Expired, Received: c.Received, Clicked: c.Clicked, FailedReasons: c.FailedReasons}
}
