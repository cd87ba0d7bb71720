package postgres

import (
	"context"
	"database/sql"
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

// args collects positional arguments and names their placeholders.
type args []any

// add appends v and returns its placeholder ($n).
func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// filterSQL turns f into a FROM … WHERE clause over subscribers s. With a
// tag, the query is driven by the tag table's primary key (app_id, tag,
// subscriber_id): it walks that tag's subscribers in id order from the
// cursor, so a page costs its own size, not the tag's.
func filterSQL(appID string, f store.SubscriberFilter, cursor bool, a *args) string {
	var b strings.Builder
	if f.Tag != "" {
		b.WriteString(` JOIN subscriber_tags ft ON ft.subscriber_id = s.id AND ft.app_id = s.app_id
		WHERE ft.app_id = ` + a.add(appID) + ` AND ft.tag = ` + a.add(f.Tag))
		if cursor && f.AfterID > 0 {
			// On both sides of the join (see audiencePlan.from).
			after := a.add(f.AfterID)
			b.WriteString(` AND ft.subscriber_id > ` + after + ` AND s.id > ` + after)
		}
	} else {
		b.WriteString(` WHERE s.app_id = ` + a.add(appID))
		if cursor && f.AfterID > 0 {
			b.WriteString(` AND s.id > ` + a.add(f.AfterID))
		}
	}
	if f.Alias != "" {
		b.WriteString(` AND s.alias = ` + a.add(f.Alias))
	}
	if f.Channel != "" {
		b.WriteString(` AND s.channel = ` + a.add(string(f.Channel)))
	}
	if f.Language != "" {
		b.WriteString(` AND s.language = ` + a.add(f.Language))
	}
	if !f.ActiveSince.IsZero() {
		b.WriteString(` AND s.last_active_at >= ` + a.add(sqlstore.ToMS(f.ActiveSince)))
	}
	return b.String()
}

// ListSubscribers returns one page of the app's subscribers matching f, in
// id order, with their tags.
func (s *Store) ListSubscribers(ctx context.Context, appID string, f store.SubscriberFilter) ([]store.Subscriber, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)
	var a args
	where := filterSQL(appID, f, true, &a)
	order := ` ORDER BY s.id LIMIT `
	if f.Tag != "" {
		order = ` ORDER BY ft.subscriber_id LIMIT `
	}
	rows, err := s.db.QueryContext(ctx, subSelect+where+order+a.add(limit), a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list subscribers of %s: %w", appID, err)
	}
	subs, err := scanSubs(rows, true, min(limit, 64))
	if err != nil {
		return nil, fmt.Errorf("postgres: list subscribers of %s: %w", appID, err)
	}
	return subs, nil
}

// scanSubs reads and closes rows.
func scanSubs(rows *sql.Rows, withTags bool, capacity int) ([]store.Subscriber, error) {
	defer rows.Close()
	subs := make([]store.Subscriber, 0, capacity)
	for rows.Next() {
		sub, err := scanSub(rows, withTags)
		if err != nil {
			return nil, err
		}
		subs = append(subs, sub)
	}
	return subs, rows.Err()
}

// CountSubscribers counts the app's subscribers matching f. A tag alone is
// counted from the tag table's key.
func (s *Store) CountSubscribers(ctx context.Context, appID string, f store.SubscriberFilter) (int64, error) {
	q, a := `SELECT count(*) FROM subscriber_tags WHERE app_id = $1 AND tag = $2`, args{appID, f.Tag}
	if f.Tag == "" || f.Alias != "" || f.Channel != "" || f.Language != "" || !f.ActiveSince.IsZero() {
		a = nil
		q = `SELECT count(*) FROM subscribers s` + filterSQL(appID, f, false, &a)
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, q, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count subscribers of %s: %w", appID, err)
	}
	return n, nil
}

// ListTags returns the app's tags with their subscriber counts, by tag.
func (s *Store) ListTags(ctx context.Context, appID string) ([]store.TagCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tag, count(*) FROM subscriber_tags
		WHERE app_id = $1 GROUP BY tag ORDER BY tag`, appID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list tags of %s: %w", appID, err)
	}
	defer rows.Close()
	tags := []store.TagCount{}
	for rows.Next() {
		var tc store.TagCount
		if err := rows.Scan(&tc.Tag, &tc.Subscribers); err != nil {
			return nil, fmt.Errorf("postgres: list tags of %s: %w", appID, err)
		}
		tags = append(tags, tc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list tags of %s: %w", appID, err)
	}
	return tags, nil
}

// DeleteTag removes tag from every subscriber of the app, stamps their
// UpdatedAt, and returns how many lost it.
func (s *Store) DeleteTag(ctx context.Context, appID, tag string) (int64, error) {
	// One statement: the tag rows go, and the subscribers that had them
	// are stamped and lose it from their copy of the set.
	res, err := s.db.ExecContext(ctx, `WITH d AS (
			DELETE FROM subscriber_tags WHERE app_id = $1 AND tag = $2 RETURNING subscriber_id)
		UPDATE subscribers s SET updated_at = $3, tags = array_remove(s.tags, $2::text)
		FROM d WHERE s.id = d.subscriber_id AND s.app_id = $1`, appID, tag, sqlstore.ToMS(s.now()))
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: delete tag %q of %s: %w", tag, appID, err)
	}
	return n, nil
}

// UnbindAlias clears alias from every subscriber of the app that has it and
// returns how many were unbound. The empty alias unbinds nothing.
func (s *Store) UnbindAlias(ctx context.Context, appID, alias string) (int64, error) {
	if alias == "" {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `UPDATE subscribers SET alias = '', updated_at = $1
		WHERE app_id = $2 AND alias = $3`, sqlstore.ToMS(s.now()), appID, alias)
	if err != nil {
		return 0, fmt.Errorf("postgres: unbind alias %q of %s: %w", alias, appID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("postgres: unbind alias %q of %s: %w", alias, appID, err)
	}
	return n, nil
}

// DeleteSubscribersByID removes the app's subscribers among ids in one
// statement (the ids travel as one array). Ids that do not exist or belong
// to another app are skipped.
func (s *Store) DeleteSubscribersByID(ctx context.Context, appID string, ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := deleteByID(ctx, s.db, appID, ids)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete subscribers of %s: %w", appID, err)
	}
	return n, nil
}

// deleteByID deletes the app's subscribers with these ids (and their tags).
func deleteByID(ctx context.Context, q querier, appID string, ids []int64) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM subscribers WHERE app_id = $1 AND id = ANY($2::bigint[])`, appID, ids)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
