package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldpush/herald/internal/store"
)

// audienceWhere compiles a into conditions over subscribers s (after
// "s.app_id = ?"). Tag conditions are EXISTS probes into subscriber_tags'
// primary key (app_id, tag, subscriber_id), one seek per candidate.
func audienceWhere(appID string, a store.Audience) (string, []any) {
	var b strings.Builder
	var args []any
	in := func(col string, vals []string) {
		b.WriteString(" AND " + col + " IN (" + placeholders(len(vals)) + ")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	tagProbe := func(not bool, tags []string) {
		if not {
			b.WriteString(" AND NOT")
		} else {
			b.WriteString(" AND")
		}
		b.WriteString(" EXISTS (SELECT 1 FROM subscriber_tags t WHERE t.app_id = ? AND t.tag IN (" + placeholders(len(tags)) + ") AND t.subscriber_id = s.id)")
		args = append(args, appID)
		for _, t := range tags {
			args = append(args, t)
		}
	}
	if len(a.RegistrationIDs) > 0 {
		in("s.registration_id", a.RegistrationIDs)
	}
	if len(a.Aliases) > 0 {
		in("s.alias", a.Aliases)
	}
	if len(a.Languages) > 0 {
		in("s.language", a.Languages)
	}
	if len(a.Timezones) > 0 {
		in("s.timezone", a.Timezones)
	}
	if len(a.Channels) > 0 {
		chs := make([]string, len(a.Channels))
		for i, c := range a.Channels {
			chs[i] = string(c)
		}
		in("s.channel", chs)
	}
	if !a.ActiveSince.IsZero() {
		b.WriteString(" AND s.last_active_at >= ?")
		args = append(args, toMS(a.ActiveSince))
	}
	if len(a.Tags) > 0 {
		tagProbe(false, a.Tags)
	}
	for _, t := range a.TagsAnd {
		tagProbe(false, []string{t})
	}
	if len(a.TagsNot) > 0 {
		tagProbe(true, a.TagsNot)
	}
	return b.String(), args
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// AudiencePage returns up to limit members of a, in id order, after afterID.
func (s *Store) AudiencePage(ctx context.Context, appID string, a store.Audience, afterID int64, limit int) ([]store.Recipient, error) {
	where, args := audienceWhere(appID, a)
	q := "SELECT s.id, s.channel FROM subscribers s WHERE s.app_id = ? AND s.id > ?" + where + " ORDER BY s.id LIMIT ?"
	rows, err := s.db.QueryContext(ctx, q, append(append([]any{appID, afterID}, args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audience of %s: %w", appID, err)
	}
	defer rows.Close()
	out := make([]store.Recipient, 0, limit)
	for rows.Next() {
		var r store.Recipient
		var ch string
		if err := rows.Scan(&r.ID, &ch); err != nil {
			return nil, fmt.Errorf("sqlite: audience of %s: %w", appID, err)
		}
		r.Channel = store.Channel(ch)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audience of %s: %w", appID, err)
	}
	return out, nil
}

// CountAudience counts the members of a.
func (s *Store) CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error) {
	where, args := audienceWhere(appID, a)
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM subscribers s WHERE s.app_id = ?"+where, append([]any{appID}, args...)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count audience of %s: %w", appID, err)
	}
	return n, nil
}
