package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// Bulk upserts (UpsertSubscribers) write many rows per statement: binding
// and stepping a statement through database/sql costs several
// microseconds whatever its size, which row-by-row statements paid once
// per row and once per tag.
const (
	// bulkRows is how many subscribers one multi-row upsert carries: 14
	// parameters a row, far below SQLite's limit of 32,766.
	bulkRows = 100
	// bulkTagRows is how many tag rows one multi-row tag insert carries
	// (3 parameters each).
	bulkTagRows = 300
	// bulkCols is the number of parameters of one subscriber row.
	bulkCols = 14
)

// bulkUpsertTail follows the VALUES rows of a bulk upsert. It is the
// single-row upsert (upsertHead) with one difference, since one statement
// cannot tell row by row whether tags were given: the tags column is the
// row's tag set as JSON, '[]' when none were given or the given set is
// empty, and on conflict '[]' keeps the stored set. UpsertSubscribers then
// rewrites the tags of every row whose last given set in the batch was
// empty (see writeBulkTags).
const bulkUpsertTail = `
	ON CONFLICT (app_id, channel, token) DO UPDATE SET
		tags = CASE WHEN excluded.tags = '[]' THEN tags ELSE excluded.tags END,
		p256dh = coalesce(excluded.p256dh, p256dh),
		auth = coalesce(excluded.auth, auth),
		alias = CASE WHEN excluded.alias <> '' THEN excluded.alias ELSE alias END,
		language = CASE WHEN excluded.language <> '' THEN excluded.language ELSE language END,
		timezone = CASE WHEN excluded.timezone <> '' THEN excluded.timezone ELSE timezone END,
		updated_at = excluded.updated_at,
		last_active_at = max(last_active_at, excluded.last_active_at),
		last_clicked_at = coalesce(max(last_clicked_at, excluded.last_clicked_at),
			last_clicked_at, excluded.last_clicked_at)
	RETURNING id, channel, token`

// bulkStmts holds the full-size multi-row statements (bulkRows subscribers,
// bulkTagRows tags), prepared on the pool before the first bulk write and
// kept. A shorter last chunk is prepared on its transaction and closed
// after it: preparing on the pool inside a transaction could wait forever
// for a connection when the pool has one. Safe for concurrent use.
type bulkStmts struct {
	db       *sql.DB
	mu       sync.Mutex
	sub, tag *sql.Stmt
}

func bulkSQL(kind string, rows int) string {
	if kind == "tag" {
		return `INSERT INTO subscriber_tags (app_id, tag, subscriber_id) VALUES ` +
			valuesRows(rows, 3) + ` ON CONFLICT DO NOTHING`
	}
	return `INSERT INTO subscribers (app_id, registration_id, channel, token,
		p256dh, auth, alias, language, timezone,
		created_at, updated_at, last_active_at, last_clicked_at, tags) VALUES ` +
		valuesRows(rows, bulkCols) + bulkUpsertTail
}

// warm prepares the full-size statements unless they are. Call it outside
// any transaction.
func (b *bulkStmts) warm(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sub != nil {
		return nil
	}
	sub, err := b.db.PrepareContext(ctx, bulkSQL("sub", bulkRows))
	if err != nil {
		return fmt.Errorf("prepare bulk upsert: %w", err)
	}
	tag, err := b.db.PrepareContext(ctx, bulkSQL("tag", bulkTagRows))
	if err != nil {
		sub.Close()
		return fmt.Errorf("prepare bulk tags: %w", err)
	}
	b.sub, b.tag = sub, tag
	return nil
}

// get returns the statement for rows rows of kind ("sub" or "tag") on tx,
// and what to call once it has run.
func (b *bulkStmts) get(ctx context.Context, tx *sql.Tx, kind string, rows int) (*sql.Stmt, func(), error) {
	b.mu.Lock()
	full, fullRows := b.sub, bulkRows
	if kind == "tag" {
		full, fullRows = b.tag, bulkTagRows
	}
	b.mu.Unlock()
	if full != nil && rows == fullRows {
		return tx.StmtContext(ctx, full), func() {}, nil
	}
	st, err := tx.PrepareContext(ctx, bulkSQL(kind, rows))
	if err != nil {
		return nil, nil, fmt.Errorf("prepare bulk %s×%d: %w", kind, rows, err)
	}
	return st, func() { _ = st.Close() }, nil // closing a statement only frees memory
}

func (b *bulkStmts) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range []*sql.Stmt{b.sub, b.tag} {
		if st != nil {
			_ = st.Close() // closing a statement only frees memory
		}
	}
	b.sub, b.tag = nil, nil
}

// valuesRows returns rows groups of cols question marks: (?,?),(?,?).
func valuesRows(rows, cols int) string {
	var b strings.Builder
	b.Grow(rows * (cols*2 + 3))
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// rowKey names a subscriber as the unique index does (within one app).
type rowKey struct {
	channel string
	token   string
}

// UpsertSubscribers upserts subs in order in one transaction, as
// UpsertSubscriber does each: if any row fails, none is stored. A token
// that appears twice counts as created once and updated once, and its
// later row wins as if the two were upserted one after the other.
//
// Rows go bulkRows to a statement; tags are then written in bulk for the
// rows that gave them (see writeBulkTags).
func (s *Store) UpsertSubscribers(ctx context.Context, subs []store.Subscriber) (created, updated int, err error) {
	if len(subs) == 0 {
		return 0, 0, nil
	}
	for i := range subs {
		if subs[i].AppID == "" || subs[i].Channel == "" || subs[i].Token == "" {
			return 0, 0, fmt.Errorf("sqlite: upsert %d subscribers: row %d: app id, channel and token are required", len(subs), i)
		}
	}
	if err := s.bulk.warm(ctx); err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %d subscribers: %w", len(subs), err)
	}
	now := s.now()
	err = s.bulkTx(ctx, func(tx *sql.Tx) error {
		var highWater int64
		if err := tx.StmtContext(ctx, s.stmts.highWater).QueryRowContext(ctx).Scan(&highWater); err != nil {
			return fmt.Errorf("read id high water: %w", err)
		}
		ids := make([]int64, len(subs))
		seen := make(map[int64]bool, len(subs))
		args := make([]any, 0, bulkRows*bulkCols)
		for lo := 0; lo < len(subs); lo += bulkRows {
			hi := min(lo+bulkRows, len(subs))
			args = args[:0]
			for i := lo; i < hi; i++ {
				args = appendBulkArgs(args, &subs[i], now)
			}
			if err := s.bulkUpsertChunk(ctx, tx, subs[lo:hi], ids[lo:hi], args); err != nil {
				return fmt.Errorf("rows %d–%d: %w", lo, hi-1, err)
			}
		}
		for _, id := range ids {
			switch {
			case seen[id]:
				updated++
			case id > highWater:
				created++
				seen[id] = true
			default:
				updated++
				seen[id] = true
			}
		}
		return s.writeBulkTags(ctx, tx, subs, ids, highWater)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %d subscribers: %w", len(subs), err)
	}
	return created, updated, nil
}

// appendBulkArgs appends sub's 14 parameters, defaulted as UpsertSubscriber
// defaults them.
func appendBulkArgs(args []any, sub *store.Subscriber, now time.Time) []any {
	reg := sub.RegistrationID
	if reg == "" {
		reg = rand.Text()
	}
	stamp := func(t time.Time) int64 {
		if t.IsZero() {
			return sqlstore.ToMS(now)
		}
		return sqlstore.ToMS(t)
	}
	tags := "[]"
	if len(sub.Tags) > 0 {
		tags = tagsJSON(normTags(sub.Tags))
	}
	return append(args, sub.AppID, reg, string(sub.Channel), sub.Token,
		sqlstore.NullBytes(sub.P256DH), sqlstore.NullBytes(sub.Auth), sub.Alias, sub.Language, sub.Timezone,
		stamp(sub.CreatedAt), stamp(sub.UpdatedAt), stamp(sub.LastActiveAt), sqlstore.NullMS(sub.LastClickedAt), tags)
}

// bulkUpsertChunk runs one multi-row upsert and stores each row's id in
// ids. RETURNING gives rows in no promised order, so ids are matched to
// rows by channel and token (all rows of a batch name the same app
// unless the caller mixes apps, so the key includes it then).
func (s *Store) bulkUpsertChunk(ctx context.Context, tx *sql.Tx, subs []store.Subscriber, ids []int64, args []any) error {
	st, done, err := s.bulk.get(ctx, tx, "sub", len(subs))
	if err != nil {
		return err
	}
	defer done()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	got := make(map[rowKey]int64, len(subs))
	for rows.Next() {
		var (
			id  int64
			key rowKey
		)
		if err := rows.Scan(&id, &key.channel, &key.token); err != nil {
			return fmt.Errorf("read ids: %w", err)
		}
		got[key] = id
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if err := rows.Close(); err != nil {
		return classify(err)
	}
	for i := range subs {
		if subs[i].AppID != subs[0].AppID {
			return s.bulkUpsertMixedApps(ctx, tx, subs, ids)
		}
	}
	for i := range subs {
		id, ok := got[rowKey{string(subs[i].Channel), subs[i].Token}]
		if !ok {
			return fmt.Errorf("row %d: no id returned", i)
		}
		ids[i] = id
	}
	return nil
}

// bulkUpsertMixedApps finds the ids of a chunk whose rows name several
// apps (no caller does this today) by looking each row up.
func (s *Store) bulkUpsertMixedApps(ctx context.Context, tx *sql.Tx, subs []store.Subscriber, ids []int64) error {
	for i, sub := range subs {
		err := tx.QueryRowContext(ctx, `SELECT id FROM subscribers WHERE app_id = ? AND channel = ? AND token = ?`,
			sub.AppID, string(sub.Channel), sub.Token).Scan(&ids[i])
		if err != nil {
			return fmt.Errorf("row %d: read id: %w", i, err)
		}
	}
	return nil
}

// writeBulkTags makes subscriber_tags (and, where the upsert kept the
// stored set, subscribers.tags) match the last tag set each subscriber
// was given in the batch. Rows with nil Tags keep what is stored. A row
// that was stored before the batch loses its old tag rows first; a row
// whose last given set is empty gets '[]', which the upsert kept from
// writing (see bulkUpsertTail). Ids are unique across apps, so the
// statements need not name the app.
func (s *Store) writeBulkTags(ctx context.Context, tx *sql.Tx, subs []store.Subscriber, ids []int64, highWater int64) error {
	last := make(map[int64]int) // subscriber id → index of its last row with Tags
	order := make([]int64, 0, len(subs))
	for i := range subs {
		if subs[i].Tags == nil {
			continue
		}
		if _, ok := last[ids[i]]; !ok {
			order = append(order, ids[i])
		}
		last[ids[i]] = i
	}
	if len(order) == 0 {
		return nil
	}
	var clearIDs, emptyIDs []int64
	for _, id := range order {
		if id <= highWater {
			clearIDs = append(clearIDs, id)
		}
		if len(subs[last[id]].Tags) == 0 {
			emptyIDs = append(emptyIDs, id)
		}
	}
	if len(clearIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags
			WHERE subscriber_id IN (SELECT value FROM json_each(?))`, int64sJSON(clearIDs)); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	}
	if len(emptyIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET tags = '[]'
			WHERE id IN (SELECT value FROM json_each(?))`, int64sJSON(emptyIDs)); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	}
	args := make([]any, 0, bulkTagRows*3)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		st, done, err := s.bulk.get(ctx, tx, "tag", len(args)/3)
		if err != nil {
			return err
		}
		defer done()
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("add tags: %w", classify(err))
		}
		args = args[:0]
		return nil
	}
	for _, id := range order {
		sub := &subs[last[id]]
		for _, tag := range normTags(sub.Tags) {
			args = append(args, sub.AppID, tag, id)
			if len(args) == cap(args) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// int64sJSON writes ids as a JSON array, for json_each.
func int64sJSON(ids []int64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// bulkCheckpointPages is the bulk connection's wal_autocheckpoint. A batch
// of new subscribers touches a page of the token index per row, on an
// index far larger than the default 64 MiB cache, and each commit left
// more than 1,000 pages in the WAL, so each batch paid for reading pages
// back in and for a whole checkpoint. With a 256 MiB cache and a
// checkpoint every 20,000 pages a 1M-row import spends about 9% less CPU
// (docs/performance.md).
const bulkCheckpointPages = 20_000

// openBulkConn takes a connection from the pool for bulk writes and sets
// its cache and checkpoint interval (Options.BulkCacheMiB).
func openBulkConn(ctx context.Context, db *sql.DB, cacheMiB int) (*sql.Conn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("bulk connection: %w", err)
	}
	for _, p := range []string{
		"PRAGMA cache_size = -" + strconv.Itoa(cacheMiB*1024),
		"PRAGMA wal_autocheckpoint = " + strconv.Itoa(bulkCheckpointPages),
	} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bulk connection: %s: %w", p, err)
		}
	}
	return conn, nil
}

// bulkTx is inTx on the bulk connection, when there is one.
func (s *Store) bulkTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.bulkConn == nil {
		return s.inTx(ctx, fn)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.bulkConn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error from fn is the one that matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
