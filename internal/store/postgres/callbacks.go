package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// outcomeEvents adds one event per newly final outcome when the app has a
// callback, in one statement. It runs before pruned subscribers are
// deleted, so their registration ids are still there to read.
func outcomeEvents(ctx context.Context, tx *sql.Tx, appID string, msgID int64, finals []store.Outcome, now time.Time) error {
	if len(finals) == 0 {
		return nil
	}
	if ok, err := dialect().HasCallback(ctx, tx, appID); !ok || err != nil {
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
		ORDER BY u.ord`, appID, msgID, sqlstore.ToMS(now), ids, kinds, channels, reasons)
	if err != nil {
		return fmt.Errorf("callback events: %w", err)
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO callback_events (app_id, kind, message_id, at, counters, next_at)
		VALUES ($1, $2, $3, $4, $5, $4)`, appID, string(store.EventFinished), id, sqlstore.ToMS(now), string(c)); err != nil {
		return fmt.Errorf("finished event: %w", err)
	}
	return nil
}
