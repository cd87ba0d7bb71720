package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// RecordEngagement counts one device report once; see store.Engagements.
// The (message, registration, kind) primary key settles concurrent
// repeats: the second insert does nothing.
func (q *Queries) RecordEngagement(ctx context.Context, appID string, id int64, registrationID string, kind store.EngagementKind, at time.Time) (bool, error) {
	if kind != store.EngagementReceived && kind != store.EngagementClicked {
		return false, fmt.Errorf("%s: engagement of message %d: unknown kind %q", q.d.Name, id, kind)
	}
	var counted bool
	err := q.write(ctx, func(tx *sql.Tx) error {
		counted = false // a retried transaction starts again
		var one int
		if err := tx.QueryRowContext(ctx, q.q("SELECT 1 FROM messages WHERE app_id = ? AND id = ?"), appID, id).Scan(&one); err != nil {
			return q.d.Classify(err)
		}
		// A click implies the push arrived: count received too if it was not.
		received, err := q.insertEngagement(ctx, tx, id, registrationID, store.EngagementReceived, at)
		if err != nil {
			return err
		}
		var clicked int64
		if kind == store.EngagementClicked {
			if clicked, err = q.insertEngagement(ctx, tx, id, registrationID, store.EngagementClicked, at); err != nil {
				return err
			}
		}
		counted = (kind == store.EngagementReceived && received > 0) || clicked > 0
		if received+clicked == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, q.q("UPDATE messages SET received = received + ?, clicked = clicked + ? WHERE app_id = ? AND id = ?"),
			received, clicked, appID, id); err != nil {
			return err
		}
		var events []store.CallbackEventKind
		if received > 0 {
			events = append(events, store.EventReceived)
		}
		if clicked > 0 {
			events = append(events, store.EventClicked)
		}
		if err := q.d.engagementEvents(ctx, tx, appID, id, registrationID, events, at); err != nil {
			return err
		}
		var lastClicked any
		if clicked > 0 {
			lastClicked = ToMS(at)
		}
		// Times never move back, and "never" (NULL) stays "never" unless
		// this is a click: SQLite's max() of a NULL is NULL, hence the
		// coalesce; PostgreSQL's greatest() ignores it.
		_, err = tx.ExecContext(ctx, q.q(`UPDATE subscribers SET
			last_active_at = `+q.d.Greatest+`(last_active_at, ?),
			last_clicked_at = coalesce(`+q.d.Greatest+`(last_clicked_at, CAST(? AS BIGINT)), last_clicked_at, CAST(? AS BIGINT))
			WHERE app_id = ? AND registration_id = ?`),
			ToMS(at), lastClicked, lastClicked, appID, registrationID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%s: %s report of message %d for %s: %w", q.d.Name, kind, id, appID, err)
	}
	return counted, nil
}

// insertEngagement records one (message, registration, kind) row unless
// it is there, and returns 1 when it is new.
func (q *Queries) insertEngagement(ctx context.Context, tx *sql.Tx, id int64, registrationID string, kind store.EngagementKind, at time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, q.q(`INSERT INTO engagements (message_id, registration_id, kind, at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), id, registrationID, string(kind), ToMS(at))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// HasCallback says whether the app has a callback, inside tx.
func (d Dialect) HasCallback(ctx context.Context, tx *sql.Tx, appID string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, d.Q("SELECT 1 FROM app_callbacks WHERE app_id = ?"), appID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// engagementEvents adds the events of a device report that counted.
func (d Dialect) engagementEvents(ctx context.Context, tx *sql.Tx, appID string, msgID int64, registrationID string, kinds []store.CallbackEventKind, at time.Time) error {
	if len(kinds) == 0 {
		return nil
	}
	if ok, err := d.HasCallback(ctx, tx, appID); !ok || err != nil {
		return err
	}
	for _, k := range kinds {
		if _, err := tx.ExecContext(ctx, d.Q(`INSERT INTO callback_events (app_id, kind, message_id, registration_id, at, next_at)
			VALUES (?, ?, ?, ?, ?, ?)`), appID, string(k), msgID, registrationID, ToMS(at), ToMS(at)); err != nil {
			return fmt.Errorf("callback events: %w", err)
		}
	}
	return nil
}
