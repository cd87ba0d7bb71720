package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// recordSQL writes a batch of outcomes passed as arrays. A final outcome
// replaces only "no row" or "retrying"; a recipient already final is left
// alone, so a batch run twice (after a crash, or by a second node that
// rescued it) counts once. RETURNING lists the rows actually written,
// which are the ones to count.
const recordSQL = `INSERT INTO deliveries (message_id, subscriber_id, result, reason, at, channel)
	SELECT $1, u.sid, u.result, u.reason, $2, u.channel
	FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) AS u(sid, result, reason, channel)
	ON CONFLICT (message_id, subscriber_id) DO UPDATE SET result = excluded.result, reason = excluded.reason,
		at = excluded.at, channel = excluded.channel
	WHERE deliveries.result = 'retrying'
	RETURNING subscriber_id, result, reason, channel`

// RecordOutcomes stores a batch of outcomes and updates the counters, in
// one transaction that holds the message's row lock from the start, so
// that batches of one message recorded by several nodes queue instead of
// deadlocking.
func (s *Store) RecordOutcomes(ctx context.Context, appID string, id int64, outs []store.Outcome, enqueue store.TxFunc) (store.Message, error) {
	var out store.Message
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := ownMessage(ctx, tx, appID, id, true); err != nil {
			return err
		}
		var c store.Counters
		reasons := map[string]int64{}
		var prune []int64
		var finals []store.Outcome // newly final: each gets a callback event
		// One statement cannot change a row twice: a recipient named
		// twice in outs starts a new statement, which then sees the first.
		for start := 0; start < len(outs); {
			end := outcomeChunkEnd(outs, start)
			if err := recordChunk(ctx, tx, id, now, outs[start:end], &c, reasons, &prune, &finals); err != nil {
				return err
			}
			start = end
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET sent = sent + $1, failed = failed + $2, pruned = pruned + $3,
			expired = expired + $4 WHERE app_id = $5 AND id = $6`, c.Sent, c.Failed, c.Pruned, c.Expired, appID, id); err != nil {
			return err
		}
		for r, n := range reasons {
			if _, err := tx.ExecContext(ctx, `INSERT INTO message_failures (message_id, reason, count) VALUES ($1, $2, $3)
				ON CONFLICT (message_id, reason) DO UPDATE SET count = message_failures.count + excluded.count`, id, r, n); err != nil {
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
		if err := finishIfComplete(ctx, tx, id, now); err != nil {
			return err
		}
		var err error
		out, err = message(ctx, tx, appID, id)
		return err
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("postgres: record %d outcomes of message %d: %w", len(outs), id, err)
	}
	return out, nil
}

// outcomeChunkEnd returns where the chunk of outcomes from start ends:
// before the first subscriber the chunk already holds.
func outcomeChunkEnd(outs []store.Outcome, start int) int {
	seen := make(map[int64]bool, len(outs)-start)
	end := start
	for end < len(outs) && !seen[outs[end].SubscriberID] {
		seen[outs[end].SubscriberID] = true
		end++
	}
	return end
}

// recordChunk writes outcomes for distinct subscribers and adds what was
// written to the counts.
func recordChunk(ctx context.Context, tx *sql.Tx, id int64, now time.Time, outs []store.Outcome,
	c *store.Counters, reasons map[string]int64, prune *[]int64, finals *[]store.Outcome) error {
	n := len(outs)
	ids, results, why, channels := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	for i, o := range outs {
		ids[i], results[i], why[i], channels[i] = o.SubscriberID, string(o.Result), o.Reason, string(o.Channel)
	}
	rows, err := tx.QueryContext(ctx, recordSQL, id, sqlstore.ToMS(now), ids, results, why, channels)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sid int64
		var result, reason, channel string
		if err := rows.Scan(&sid, &result, &reason, &channel); err != nil {
			return err
		}
		if store.Result(result) != store.ResultRetrying {
			*finals = append(*finals, store.Outcome{SubscriberID: sid, Channel: store.Channel(channel),
				Result: store.Result(result), Reason: reason})
		}
		switch store.Result(result) {
		case store.ResultSent:
			c.Sent++
		case store.ResultFailed:
			c.Failed++
			reasons[reason]++
		case store.ResultPruned:
			c.Pruned++
			*prune = append(*prune, sid)
		case store.ResultExpired:
			c.Expired++
		}
	}
	return rows.Err()
}
