package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// RecordEngagement counts one device report once; see store.Engagements.
// The (message, registration, kind) primary key settles concurrent
// repeats: the second insert waits for the first and then does nothing.
func (s *Store) RecordEngagement(ctx context.Context, appID string, id int64, registrationID string, kind store.EngagementKind, at time.Time) (bool, error) {
	if kind != store.EngagementReceived && kind != store.EngagementClicked {
		return false, fmt.Errorf("postgres: engagement of message %d: unknown kind %q", id, kind)
	}
	var counted bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		counted = false
		if err := ownMessage(ctx, tx, appID, id, false); err != nil {
			return err
		}
		// A click implies the push arrived: count received too if it was not.
		received, err := insertEngagement(ctx, tx, id, registrationID, store.EngagementReceived, at)
		if err != nil {
			return err
		}
		var clicked int64
		if kind == store.EngagementClicked {
			if clicked, err = insertEngagement(ctx, tx, id, registrationID, store.EngagementClicked, at); err != nil {
				return err
			}
		}
		counted = (kind == store.EngagementReceived && received > 0) || clicked > 0
		if received+clicked == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET received = received + $1, clicked = clicked + $2 WHERE app_id = $3 AND id = $4",
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
		if err := engagementEvents(ctx, tx, appID, id, registrationID, events, at); err != nil {
			return err
		}
		var lastClicked any
		if clicked > 0 {
			lastClicked = toMS(at)
		}
		// GREATEST ignores NULL: never moves back, and "never" stays
		// "never" unless this is a click.
		_, err = tx.ExecContext(ctx, `UPDATE subscribers SET
			last_active_at = greatest(last_active_at, $1),
			last_clicked_at = greatest(last_clicked_at, $2::bigint)
			WHERE app_id = $3 AND registration_id = $4`,
			toMS(at), lastClicked, appID, registrationID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postgres: %s report of message %d for %s: %w", kind, id, appID, err)
	}
	return counted, nil
}

// insertEngagement records one (message, registration, kind) row unless
// it is there, and returns 1 when it is new.
func insertEngagement(ctx context.Context, tx *sql.Tx, id int64, registrationID string, kind store.EngagementKind, at time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO engagements (message_id, registration_id, kind, at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, id, registrationID, string(kind), toMS(at))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
