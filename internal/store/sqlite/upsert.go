package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// The statements of an upsert, prepared once on the pool. Each transaction
// binds them with tx.StmtContext, which reuses the statement already
// prepared on that connection.
const (
	// highWaterSQL reads the highest subscriber id ever handed out.
	highWaterSQL = `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'subscribers'), 0)`
	// On conflict, empty values keep what is stored (see UpsertSubscriber),
	// the last activity and click never move backwards, and created_at,
	// id and registration_id stay.
	// ?14 is the tags column (see migration 0004): the JSON of the new tag
	// set, or NULL to keep the stored one.
	upsertHead = `INSERT INTO subscribers (app_id, registration_id, channel, token,
		p256dh, auth, alias, language, timezone,
		created_at, updated_at, last_active_at, last_clicked_at, tags)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(?14, '[]'))
	ON CONFLICT (app_id, channel, token) DO UPDATE SET
		tags = coalesce(?14, tags),
		p256dh = coalesce(excluded.p256dh, p256dh),
		auth = coalesce(excluded.auth, auth),
		alias = CASE WHEN excluded.alias <> '' THEN excluded.alias ELSE alias END,
		language = CASE WHEN excluded.language <> '' THEN excluded.language ELSE language END,
		timezone = CASE WHEN excluded.timezone <> '' THEN excluded.timezone ELSE timezone END,
		updated_at = excluded.updated_at,
		last_active_at = max(last_active_at, excluded.last_active_at),
		last_clicked_at = coalesce(max(last_clicked_at, excluded.last_clicked_at),
			last_clicked_at, excluded.last_clicked_at)`
	upsertSQL    = upsertHead + ` RETURNING ` + subColumns
	upsertIDSQL  = upsertHead + ` RETURNING id`
	clearTagsSQL = `DELETE FROM subscriber_tags WHERE subscriber_id = ? AND app_id = ?`
	addTagSQL    = `INSERT INTO subscriber_tags (app_id, tag, subscriber_id) VALUES (?, ?, ?)
	ON CONFLICT DO NOTHING`
	tagsOfSQL = `SELECT tag FROM subscriber_tags WHERE subscriber_id = ? AND app_id = ? ORDER BY tag`
)

type upsertStmts struct {
	highWater, upsert, upsertID, clearTags, addTag, tagsOf *sql.Stmt
}

func (u *upsertStmts) all() []**sql.Stmt {
	return []**sql.Stmt{&u.highWater, &u.upsert, &u.upsertID, &u.clearTags, &u.addTag, &u.tagsOf}
}

func (u *upsertStmts) prepare(ctx context.Context, db *sql.DB) error {
	queries := []string{highWaterSQL, upsertSQL, upsertIDSQL, clearTagsSQL, addTagSQL, tagsOfSQL}
	for i, dst := range u.all() {
		st, err := db.PrepareContext(ctx, queries[i])
		if err != nil {
			u.close()
			return fmt.Errorf("prepare: %w", err)
		}
		*dst = st
	}
	return nil
}

func (u *upsertStmts) close() {
	for _, st := range u.all() {
		if *st != nil {
			_ = (*st).Close() // closing a statement only frees memory
		}
	}
}

// upserter writes subscribers inside one write transaction.
//
// It tells inserts from updates without a lookup per row: AUTOINCREMENT
// hands out ids above every id ever used, and the transaction holds the
// write lock from BEGIN IMMEDIATE, so a row whose id is above the high
// water mark read at the start (or raised by this transaction's own
// inserts) is new, and any other row was updated.
type upserter struct {
	st        upsertStmts // bound to the transaction
	now       time.Time
	highWater int64
}

func newUpserter(ctx context.Context, tx *sql.Tx, stmts *upsertStmts, now time.Time) (*upserter, error) {
	u := &upserter{now: now}
	src, dst := stmts.all(), u.st.all()
	for i := range src {
		*dst[i] = tx.StmtContext(ctx, *src[i])
	}
	if err := u.st.highWater.QueryRowContext(ctx).Scan(&u.highWater); err != nil {
		return nil, fmt.Errorf("read id high water: %w", err)
	}
	return u, nil
}

// upsert writes one subscriber and reports whether it was created. With
// full it returns the whole stored row with its tags; otherwise only the
// ID, and the tags when sub.Tags was given (the bulk path needs no more).
func (u *upserter) upsert(ctx context.Context, sub store.Subscriber, full bool) (store.Subscriber, bool, error) {
	if sub.AppID == "" || sub.Channel == "" || sub.Token == "" {
		return store.Subscriber{}, false, &rowRefused{errors.New("app id, channel and token are required")}
	}
	if sub.RegistrationID == "" {
		sub.RegistrationID = rand.Text()
	}
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = u.now
	}
	if sub.LastActiveAt.IsZero() {
		sub.LastActiveAt = u.now
	}
	if sub.UpdatedAt.IsZero() {
		sub.UpdatedAt = u.now
	}
	args := []any{sub.AppID, sub.RegistrationID,
		string(sub.Channel), sub.Token, sqlstore.NullBytes(sub.P256DH), sqlstore.NullBytes(sub.Auth),
		sub.Alias, sub.Language, sub.Timezone,
		sqlstore.ToMS(sub.CreatedAt), sqlstore.ToMS(sub.UpdatedAt), sqlstore.ToMS(sub.LastActiveAt), sqlstore.NullMS(sub.LastClickedAt), nil}
	if sub.Tags != nil {
		sub.Tags = normTags(sub.Tags)
		args[len(args)-1] = tagsJSON(sub.Tags)
	}
	var (
		out store.Subscriber
		err error
	)
	if full {
		out, err = scanSub(u.st.upsert.QueryRowContext(ctx, args...), false)
	} else {
		out.AppID = sub.AppID
		err = u.st.upsertID.QueryRowContext(ctx, args...).Scan(&out.ID)
	}
	if err != nil {
		// A constraint failure undoes this statement only (SQLite's
		// default ABORT), leaving the transaction as it was before the
		// row: a group commit fails this row alone.
		err = classify(err)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			err = &rowRefused{err}
		}
		return store.Subscriber{}, false, err
	}
	created := out.ID > u.highWater
	if created {
		u.highWater = out.ID
	}
	switch {
	case sub.Tags != nil:
		out.Tags = sub.Tags
		if err := u.replaceTags(ctx, out.AppID, out.ID, out.Tags, !created); err != nil {
			return store.Subscriber{}, false, err
		}
	case !created && full:
		if out.Tags, err = u.tagsOf(ctx, out.AppID, out.ID); err != nil {
			return store.Subscriber{}, false, err
		}
	}
	return out, created, nil
}

func (u *upserter) replaceTags(ctx context.Context, appID string, id int64, tags []string, clear bool) error {
	if clear {
		if _, err := u.st.clearTags.ExecContext(ctx, id, appID); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	}
	for _, tag := range tags {
		if _, err := u.st.addTag.ExecContext(ctx, appID, tag, id); err != nil {
			return fmt.Errorf("add tag: %w", classify(err))
		}
	}
	return nil
}

func (u *upserter) tagsOf(ctx context.Context, appID string, id int64) ([]string, error) {
	rows, err := u.st.tagsOf.QueryContext(ctx, id, appID)
	if err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	defer rows.Close()
	var tags []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("read tags: %w", err)
		}
		tags = append(tags, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	return tags, nil
}

// normTags returns tags sorted and without repeats, in a new slice.
func normTags(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}
