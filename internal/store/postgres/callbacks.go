package postgres

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
	_, err := s.db.ExecContext(ctx, `INSERT INTO app_callbacks (app_id, url, secret_sealed, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (app_id) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at`,
		appID, c.URL, c.SecretSealed, toMS(at))
	if err != nil {
		return fmt.Errorf("postgres: set callback of %s: %w", appID, classify(err))
	}
	return nil
}

// Callback returns an app's callback.
func (s *Store) Callback(ctx context.Context, appID string) (store.Callback, error) {
	var c store.Callback
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT url, secret_sealed, updated_at FROM app_callbacks WHERE app_id = $1`, appID).
		Scan(&c.URL, &c.SecretSealed, &at)
	if err != nil {
		return store.Callback{}, fmt.Errorf("postgres: callback of %s: %w", appID, classify(err))
	}
	c.UpdatedAt = fromMS(at)
	return c, nil
}

// DeleteCallback removes an app's callback and its pending events.
func (s *Store) DeleteCallback(ctx context.Context, appID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM app_callbacks WHERE app_id = $1`, appID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM callback_events WHERE app_id = $1`, appID)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete callback of %s: %w", appID, err)
	}
	return nil
}

// DueCallbackApps lists apps with events due at now.
func (s *Store) DueCallbackApps(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.app_id FROM app_callbacks c
		WHERE EXISTS (SELECT 1 FROM callback_events e WHERE e.app_id = c.app_id AND e.next_at <= $1) LIMIT $2`, toMS(now), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: apps with callback events due: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("postgres: apps with callback events due: %w", err)
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
		WHERE e.app_id = $1 AND e.next_at <= $2 ORDER BY e.id LIMIT $3`, appID, toMS(now), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: callback events of %s: %w", appID, err)
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
			return nil, fmt.Errorf("postgres: callback events of %s: %w", appID, err)
		}
		e.Kind, e.Channel, e.At = store.CallbackEventKind(kind), store.Channel(channel), fromMS(at)
		if counters.Valid {
			var c eventCounters
			if err := json.Unmarshal([]byte(counters.String), &c); err != nil {
				return nil, fmt.Errorf("postgres: callback event %d: counters: %w", e.ID, err)
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
	if _, err := s.db.ExecContext(ctx, `DELETE FROM callback_events WHERE app_id = $1 AND id = ANY($2::bigint[])`, appID, ids); err != nil {
		return fmt.Errorf("postgres: delete %d callback events of %s: %w", len(ids), appID, err)
	}
	return nil
}

// DeferCallbackEvents counts a failed attempt and sets the next one.
func (s *Store) DeferCallbackEvents(ctx context.Context, appID string, ids []int64, next time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE callback_events SET attempts = attempts + 1, next_at = $1
		WHERE app_id = $2 AND id = ANY($3::bigint[])`, toMS(next), appID, ids); err != nil {
		return fmt.Errorf("postgres: defer %d callback events of %s: %w", len(ids), appID, err)
	}
	return nil
}

// hasCallback says whether the app has a callback, inside tx.
func hasCallback(ctx context.Context, tx *sql.Tx, appID string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM app_callbacks WHERE app_id = $1", appID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// outcomeEvents adds one event per newly final outcome when the app has a
// callback, in one statement. It runs before pruned subscribers are
// deleted, so their registration ids are still there to read.
func outcomeEvents(ctx context.Context, tx *sql.Tx, appID string, msgID int64, finals []store.Outcome, now time.Time) error {
	if len(finals) == 0 {
		return nil
	}
	if ok, err := hasCallback(ctx, tx, appID); !ok || err != nil {
		return err
	}
	n := len(finals)
	ids, kinds, channels, reasons := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	for i, o := range finals {
		ids[i], kinds[i], channels[i], reasons[i] = o.SubscriberID, string(o.Result), string(o.Channel), o.Reason
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO callback_events (app_id, kind, message_id, registration_id, channel, reason, at, next_at)
		SELECT $1, u.kind, $2, coalesce(s.registration_id, ''), u.channel, u.reason, $3, $3
		FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS u(sid, kind, channel, reason, ord)
		LEFT JOIN subscribers s ON s.app_id = $1 AND s.id = u.sid
		ORDER BY u.ord`, appID, msgID, toMS(now), ids, kinds, channels, reasons)
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
			VALUES ($1, $2, $3, $4, $5, $5)`, appID, string(k), msgID, registrationID, toMS(at)); err != nil {
			return fmt.Errorf("callback events: %w", err)
		}
	}
	return nil
}

// finishedEvent adds the finished event of message id, which this
// transaction has just moved to done, with its counters.
func finishedEvent(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	var appID string
	if err := tx.QueryRowContext(ctx, "SELECT app_id FROM messages WHERE id = $1", id).Scan(&appID); err != nil {
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO callback_events (app_id, kind, message_id, at, counters, next_at)
		VALUES ($1, $2, $3, $4, $5, $4)`, appID, string(store.EventFinished), id, toMS(now), string(c)); err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	return nil
}

// eventCounters is how a finished event's counters are kept in the outbox
// (the same JSON as the SQLite store's).
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
