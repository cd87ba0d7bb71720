package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// outcomeEvents adds one event per newly final outcome when the app has
// a callback, in one statement from the delivery rows this transaction
// just wrote. It runs before pruned subscribers are deleted, so their
// registration ids are still there to read.
func outcomeEvents(ctx context.Context, tx *sql.Tx, appID string, msgID int64, finals []store.Outcome, now time.Time) error {
	if len(finals) == 0 {
		return nil
	}
	if ok, err := dialect().HasCallback(ctx, tx, appID); !ok || err != nil {
		return err
	}
	args := make([]any, 0, len(finals)+5)
	args = append(args, appID, sqlstore.ToMS(now), sqlstore.ToMS(now), appID, msgID)
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

// finishedEvent adds the finished event of message id, which this
// transaction has just moved to done, with its counters.
func finishedEvent(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	var appID string
	if err := tx.QueryRowContext(ctx, "SELECT app_id FROM messages WHERE id = ?", id).Scan(&appID); err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	if ok, err := dialect().HasCallback(ctx, tx, appID); !ok || err != nil {
		return err
	}
	m, err := message(ctx, tx, appID, id)
	if err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	c, err := json.Marshal(sqlstore.EventCountersOf(m.Counters))
	if err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO callback_events (app_id, kind, message_id, at, counters, next_at)
		VALUES (?, ?, ?, ?, ?, ?)`, appID, string(store.EventFinished), id, sqlstore.ToMS(now), string(c), sqlstore.ToMS(now))
	if err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	return nil
}
