package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// List page sizes, as store.SubscriberFilter documents them.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// filterSQL turns f into a FROM … WHERE clause over subscribers s and its
// arguments. With a tag, the query is driven by the tag table's primary
// key (app_id, tag, subscriber_id): it walks that tag's subscribers in id
// order from the cursor, so a page costs its own size, not the tag's.
// Without one it walks subscribers by rowid from the cursor.
func filterSQL(appID string, f store.SubscriberFilter, cursor bool) (from string, args []any) {
	var b strings.Builder
	if f.Tag != "" {
		b.WriteString(` JOIN subscriber_tags ft ON ft.subscriber_id = s.id
		WHERE ft.app_id = ? AND ft.tag = ? AND s.app_id = ?`)
		args = append(args, appID, f.Tag, appID)
		if cursor && f.AfterID > 0 {
			b.WriteString(` AND ft.subscriber_id > ?`)
			args = append(args, f.AfterID)
		}
	} else {
		b.WriteString(` WHERE s.app_id = ?`)
		args = append(args, appID)
		if cursor && f.AfterID > 0 {
			b.WriteString(` AND s.id > ?`)
			args = append(args, f.AfterID)
		}
	}
	if f.Alias != "" {
		b.WriteString(` AND s.alias = ?`)
		args = append(args, f.Alias)
	}
	if f.Channel != "" {
		b.WriteString(` AND s.channel = ?`)
		args = append(args, string(f.Channel))
	}
	if f.Language != "" {
		b.WriteString(` AND s.language = ?`)
		args = append(args, f.Language)
	}
	if !f.ActiveSince.IsZero() {
		b.WriteString(` AND s.last_active_at >= ?`)
		args = append(args, sqlstore.ToMS(f.ActiveSince))
	}
	return b.String(), args
}

// ListSubscribers returns one page of the app's subscribers matching f, in
// id order, with their tags.
func (s *Store) ListSubscribers(ctx context.Context, appID string, f store.SubscriberFilter) ([]store.Subscriber, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	where, args := filterSQL(appID, f, true)
	order := ` ORDER BY s.id LIMIT ?`
	if f.Tag != "" {
		order = ` ORDER BY ft.subscriber_id LIMIT ?`
	}
	rows, err := s.db.QueryContext(ctx, subSelect+where+order, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list subscribers of %s: %w", appID, err)
	}
	defer rows.Close()
	subs := make([]store.Subscriber, 0, min(limit, 64))
	for rows.Next() {
		sub, err := scanSub(rows, true)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list subscribers of %s: %w", appID, err)
		}
		subs = append(subs, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list subscribers of %s: %w", appID, err)
	}
	return subs, nil
}

// CountSubscribers counts the app's subscribers matching f.
// A tag alone is counted from the tag table's primary key without
// visiting subscribers: the foreign key guarantees every tag row names a
// subscriber of the same app.
func (s *Store) CountSubscribers(ctx context.Context, appID string, f store.SubscriberFilter) (int64, error) {
	q, args := `SELECT count(*) FROM subscriber_tags WHERE app_id = ? AND tag = ?`, []any{appID, f.Tag}
	if f.Tag == "" || f.Alias != "" || f.Channel != "" || f.Language != "" || !f.ActiveSince.IsZero() {
		var where string
		where, args = filterSQL(appID, f, false)
		q = `SELECT count(*) FROM subscribers s` + where
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count subscribers of %s: %w", appID, err)
	}
	return n, nil
}

// ListTags returns the app's tags with their subscriber counts, by tag: one
// scan of the app's part of the tag table's primary key.
func (s *Store) ListTags(ctx context.Context, appID string) ([]store.TagCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tag, count(*) FROM subscriber_tags
		WHERE app_id = ? GROUP BY tag ORDER BY tag`, appID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tags of %s: %w", appID, err)
	}
	defer rows.Close()
	tags := []store.TagCount{}
	for rows.Next() {
		var tc store.TagCount
		if err := rows.Scan(&tc.Tag, &tc.Subscribers); err != nil {
			return nil, fmt.Errorf("sqlite: list tags of %s: %w", appID, err)
		}
		tags = append(tags, tc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list tags of %s: %w", appID, err)
	}
	return tags, nil
}

// DeleteTag removes tag from every subscriber of the app, stamps their
// UpdatedAt, and returns how many lost it. A tag nobody has is 0, not an
// error.
func (s *Store) DeleteTag(ctx context.Context, appID, tag string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The tag is still there: stamp its subscribers and rewrite their
		// copy of the tag set (subscribers.tags) without it.
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET updated_at = ?,
			tags = (SELECT json_group_array(tag) FROM (SELECT t.tag FROM subscriber_tags t
				WHERE t.subscriber_id = subscribers.id AND t.app_id = subscribers.app_id AND t.tag <> ?
				ORDER BY t.tag))
			WHERE app_id = ? AND id IN (SELECT subscriber_id FROM subscriber_tags WHERE app_id = ? AND tag = ?)`,
			sqlstore.ToMS(s.now()), tag, appID, appID, tag); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags WHERE app_id = ? AND tag = ?`, appID, tag)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete tag %q of %s: %w", tag, appID, err)
	}
	return n, nil
}

// UnbindAlias clears alias from every subscriber of the app that has it and
// returns how many were unbound. The empty alias unbinds nothing.
func (s *Store) UnbindAlias(ctx context.Context, appID, alias string) (int64, error) {
	if alias == "" {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `UPDATE subscribers SET alias = '', updated_at = ?
		WHERE app_id = ? AND alias = ?`, sqlstore.ToMS(s.now()), appID, alias)
	if err != nil {
		return 0, fmt.Errorf("sqlite: unbind alias %q of %s: %w", alias, appID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: unbind alias %q of %s: %w", alias, appID, err)
	}
	return n, nil
}

// DeleteSubscribersByID removes the app's subscribers among ids in one
// statement (the ids travel as one JSON array, so there is no limit on
// bound parameters). Ids that do not exist or belong to another app are
// skipped.
func (s *Store) DeleteSubscribersByID(ctx context.Context, appID string, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete subscribers of %s: %w", appID, err)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM subscribers
		WHERE app_id = ? AND id IN (SELECT value FROM json_each(?))`, appID, string(list))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete subscribers of %s: %w", appID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete subscribers of %s: %w", appID, err)
	}
	return n, nil
}
