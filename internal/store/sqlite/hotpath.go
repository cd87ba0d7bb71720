package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// The delivery engine's statements, prepared once on the pool as the
// upsert's are. Each batch job reads its message and its pending
// recipients, and each flush of outcomes runs a dozen statements; parsed
// afresh every time they cost more CPU than running them (see
// docs/performance.md). Inside a transaction, tx.StmtContext binds them,
// reusing the statement already prepared on the transaction's connection.
const (
	messageSQL  = "SELECT " + msgColumns + " FROM messages WHERE app_id = ? AND id = ?"
	failuresSQL = "SELECT reason, count FROM message_failures WHERE message_id = ?"
	ofAppSQL    = "SELECT 1 FROM messages WHERE app_id = ? AND id = ?"
	// The ids of a batch come as one JSON array, so that the statement's
	// text does not change with their number. "+s.app_id" keeps SQLite
	// from looking each id up in the (app_id, id) index before the table:
	// by rowid it is one b-tree search per recipient, not two.
	pendingHead = `SELECT s.id, s.app_id, s.registration_id, s.channel, s.token, s.p256dh, s.auth, s.alias,
		s.language, s.timezone, s.created_at, s.updated_at, s.last_active_at, s.last_clicked_at
		FROM subscribers s WHERE s.id IN (SELECT value FROM json_each(?)) AND +s.app_id = ? AND `
	pendingSQL  = pendingHead + `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = ? AND d.subscriber_id = s.id) ORDER BY s.id`
	retryingSQL = pendingHead + `EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = ? AND d.subscriber_id = s.id AND d.result = 'retrying') ORDER BY s.id`
	// A final outcome replaces only "no row" or "retrying"; a recipient
	// already final is left alone, so a batch run twice counts once.
	outcomeSQL = `INSERT INTO deliveries (message_id, subscriber_id, result, reason, at, channel)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (message_id, subscriber_id) DO UPDATE SET result = excluded.result, reason = excluded.reason, at = excluded.at, channel = excluded.channel
		WHERE deliveries.result = 'retrying'`
	countersSQL = `UPDATE messages SET sent = sent + ?, failed = failed + ?, pruned = pruned + ?,
		expired = expired + ? WHERE app_id = ? AND id = ?`
	finishSQL = `UPDATE messages SET state = 'done', finished_at = ?
		WHERE id = ? AND fanout_done = 1 AND state = 'sending'
		AND sent + failed + pruned + expired >= targeted`
)

type deliveryStmts struct {
	message, failures, ofApp, pending, retrying, outcome, counters, finish *sql.Stmt
}

func (d *deliveryStmts) all() []**sql.Stmt {
	return []**sql.Stmt{&d.message, &d.failures, &d.ofApp, &d.pending, &d.retrying, &d.outcome, &d.counters, &d.finish}
}

func (d *deliveryStmts) prepare(ctx context.Context, db *sql.DB) error {
	queries := []string{messageSQL, failuresSQL, ofAppSQL, pendingSQL, retryingSQL, outcomeSQL, countersSQL, finishSQL}
	for i, dst := range d.all() {
		st, err := db.PrepareContext(ctx, queries[i])
		if err != nil {
			d.close()
			return fmt.Errorf("prepare: %w", err)
		}
		*dst = st
	}
	return nil
}

func (d *deliveryStmts) close() {
	for _, st := range d.all() {
		if *st != nil {
			_ = (*st).Close() // closing a statement only frees memory
		}
	}
}

// in binds st to tx, or leaves it on the pool when tx is nil.
func in(ctx context.Context, tx *sql.Tx, st *sql.Stmt) *sql.Stmt {
	if tx == nil {
		return st
	}
	return tx.StmtContext(ctx, st)
}

// jsonIDs is ids as a JSON array, for json_each. It is bound as text: a
// blob would be read as SQLite's binary JSONB.
func jsonIDs(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, v := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}
