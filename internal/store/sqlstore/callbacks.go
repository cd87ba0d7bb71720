package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// SetCallback stores or replaces an app's callback.
func (q *Queries) SetCallback(ctx context.Context, appID string, c store.Callback) error {
	at := c.UpdatedAt
	if at.IsZero() {
		at = q.now()
	}
	err := q.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q.q(`INSERT INTO app_callbacks (app_id, url, secret_sealed, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (app_id) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at`),
			appID, c.URL, c.SecretSealed, ToMS(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: set callback of %s: %w", q.d.Name, appID, q.d.Classify(err))
	}
	return nil
}

// Callback returns an app's callback.
func (q *Queries) Callback(ctx context.Context, appID string) (store.Callback, error) {
	var c store.Callback
	var at int64
	err := q.db.QueryRowContext(ctx, q.q(`SELECT url, secret_sealed, updated_at FROM app_callbacks WHERE app_id = ?`), appID).
		Scan(&c.URL, &c.SecretSealed, &at)
	if err != nil {
		return store.Callback{}, fmt.Errorf("%s: callback of %s: %w", q.d.Name, appID, q.d.Classify(err))
	}
	c.UpdatedAt = FromMS(at)
	return c, nil
}

// DeleteCallback removes an app's callback and its pending events.
func (q *Queries) DeleteCallback(ctx context.Context, appID string) error {
	err := q.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.q(`DELETE FROM app_callbacks WHERE app_id = ?`), appID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, q.q(`DELETE FROM callback_events WHERE app_id = ?`), appID)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: delete callback of %s: %w", q.d.Name, appID, err)
	}
	return nil
}

// DueCallbackApps lists apps with events due at now.
func (q *Queries) DueCallbackApps(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := collect(rowsOf(q.db.QueryContext(ctx, q.q(`SELECT c.app_id FROM app_callbacks c
		WHERE EXISTS (SELECT 1 FROM callback_events e WHERE e.app_id = c.app_id AND e.next_at <= ?) LIMIT ?`), ToMS(now), limit)),
		func(r Scanner) (id string, err error) { return id, r.Scan(&id) })
	if err != nil {
		return nil, fmt.Errorf("%s: apps with callback events due: %w", q.d.Name, err)
	}
	return ids, nil
}

// DueCallbackEvents returns the app's due events, oldest first.
func (q *Queries) DueCallbackEvents(ctx context.Context, appID string, now time.Time, limit int) ([]store.CallbackEvent, error) {
	events, err := collect(rowsOf(q.db.QueryContext(ctx, q.q(`SELECT e.id, e.kind, e.message_id, e.registration_id, e.channel, e.reason, e.at,
		e.counters, e.attempts, coalesce(m.request_id, ''), m.custom_args
		FROM callback_events e LEFT JOIN messages m ON m.id = e.message_id
		WHERE e.app_id = ? AND e.next_at <= ? ORDER BY e.id LIMIT ?`), appID, ToMS(now), limit)),
		func(r Scanner) (store.CallbackEvent, error) { return scanEvent(r, appID) })
	if err != nil {
		return nil, fmt.Errorf("%s: callback events of %s: %w", q.d.Name, appID, err)
	}
	return events, nil
}

func scanEvent(r Scanner, appID string) (store.CallbackEvent, error) {
	e := store.CallbackEvent{AppID: appID}
	var kind, channel string
	var at int64
	var counters sql.NullString
	if err := r.Scan(&e.ID, &kind, &e.MessageID, &e.RegistrationID, &channel, &e.Reason, &at,
		&counters, &e.Attempts, &e.RequestID, &e.CustomArgs); err != nil {
		return store.CallbackEvent{}, err
	}
	e.Kind, e.Channel, e.At = store.CallbackEventKind(kind), store.Channel(channel), FromMS(at)
	if counters.Valid {
		var c EventCounters
		if err := json.Unmarshal([]byte(counters.String), &c); err != nil {
			return store.CallbackEvent{}, fmt.Errorf("event %d: counters: %w", e.ID, err)
		}
		e.Counters = c.counters()
	}
	return e, nil
}

// DeleteCallbackEvents removes the app's events with these ids.
func (q *Queries) DeleteCallbackEvents(ctx context.Context, appID string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := q.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q.q("DELETE FROM callback_events WHERE app_id = ? AND id IN ("+Placeholders(len(ids))+")"),
			idArgs(nil, appID, ids)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: delete %d callback events of %s: %w", q.d.Name, len(ids), appID, err)
	}
	return nil
}

// DeferCallbackEvents counts a failed attempt and sets the next one.
func (q *Queries) DeferCallbackEvents(ctx context.Context, appID string, ids []int64, next time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	err := q.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q.q("UPDATE callback_events SET attempts = attempts + 1, next_at = ? WHERE app_id = ? AND id IN ("+Placeholders(len(ids))+")"),
			idArgs([]any{ToMS(next)}, appID, ids)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: defer %d callback events of %s: %w", q.d.Name, len(ids), appID, err)
	}
	return nil
}

// idArgs appends appID and then every id to args.
func idArgs(args []any, appID string, ids []int64) []any {
	args = append(args, appID)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// EventCounters is how a finished event's counters are kept in the
// outbox's counters column, as JSON.
type EventCounters struct {
	Targeted      int64            `json:"targeted"`
	Sent          int64            `json:"sent"`
	Failed        int64            `json:"failed"`
	Pruned        int64            `json:"pruned"`
	Expired       int64            `json:"expired"`
	Received      int64            `json:"received"`
	Clicked       int64            `json:"clicked"`
	FailedReasons map[string]int64 `json:"failed_reasons,omitempty"`
}

// EventCountersOf is c as the outbox keeps it.
func EventCountersOf(c store.Counters) EventCounters {
	return EventCounters{c.Targeted, c.Sent, c.Failed, c.Pruned, c.Expired, c.Received, c.Clicked, c.FailedReasons}
}

func (c EventCounters) counters() *store.Counters {
	return &store.Counters{Targeted: c.Targeted, Sent: c.Sent, Failed: c.Failed, Pruned: c.Pruned,
		Expired: c.Expired, Received: c.Received, Clicked: c.Clicked, FailedReasons: c.FailedReasons}
}
