package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/heraldpush/herald/internal/store"
)

// Audience resolution is SQL alone. The subscriber's own columns narrow
// with = ANY(array); the tag part is array operators on the row's copy of
// its tag set (migration 0004): tags && OR-list, tags @> AND-list,
// NOT tags && NOT-list, so no tag-table probe is made per subscriber.
//
// Nested expressions (AnyOf, NoneOf: saved segments copied into a
// message) become parenthesised groups of the same conditions.
//
// Pages come, in id order, from one of two drivers:
//
//   - a tag every member must carry (the only tags OR entry, or one of
//     tags_and: the one sparsest just after the cursor, see pickDriver),
//     through the tag table's primary key (app_id, tag, subscriber_id),
//     each candidate then read by id: the cost follows the tag's size,
//     not the app's;
//   - otherwise the app's subscribers by (app_id, id) from the cursor,
//     where the planner may prefer the registration id or alias index
//     when the expression names those.

// audiencePlan is an Audience compiled for one app.
type audiencePlan struct {
	where  string // conditions on subscribers s after the app and cursor
	args   args   // $1 is the app id, $2 the cursor; then where's
	driver string // the tag that drives this page, or ""
	// drivers are the tags every member carries (the lone OR tag and the
	// AND tags); pickDriver chooses driver among them.
	drivers []string
}

func compileAudience(appID string, a store.Audience) audiencePlan {
	p := audiencePlan{args: args{appID, int64(0)}}
	var b strings.Builder
	condSQL(&b, &p.args, a)
	p.where = b.String()
	or, and := normTags(a.Tags), normTags(a.TagsAnd)
	if len(a.RegistrationIDs) == 0 && len(a.Aliases) == 0 {
		if len(or) == 1 {
			p.drivers = append(p.drivers, or[0])
		}
		for _, t := range and {
			if !slices.Contains(p.drivers, t) {
				p.drivers = append(p.drivers, t)
			}
		}
	}
	return p
}

// sampleDepth is how far past the cursor pickDriver looks into each tag.
const sampleDepth = 255

// pickDriver sets p.driver for reading after cursor: among the tags every
// member carries, the one whose sampleDepth-th subscriber after the cursor
// is furthest away (or that has fewer left), so the sparsest near the
// cursor; each probe is a short walk of the tag table's key. Without
// such tags the page scans the app's subscribers.
func (p *audiencePlan) pickDriver(ctx context.Context, q querier, appID string, cursor int64) error {
	p.driver = ""
	switch len(p.drivers) {
	case 0:
		return nil
	case 1:
		p.driver = p.drivers[0]
		return nil
	}
	var b strings.Builder
	probe := args{appID, cursor}
	b.WriteString("SELECT ")
	for i, t := range p.drivers {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `coalesce((SELECT subscriber_id FROM subscriber_tags WHERE app_id = $1 AND tag = %s
			AND subscriber_id > $2 ORDER BY subscriber_id OFFSET %d LIMIT 1), 9223372036854775807)`, probe.add(t), sampleDepth)
	}
	reach := make([]int64, len(p.drivers))
	dest := make([]any, len(reach))
	for i := range reach {
		dest[i] = &reach[i]
	}
	if err := q.QueryRowContext(ctx, b.String(), probe...).Scan(dest...); err != nil {
		return fmt.Errorf("pick driver: %w", err)
	}
	best := 0
	for i := range reach {
		if reach[i] > reach[best] {
			best = i
		}
	}
	p.driver = p.drivers[best]
	return nil
}

// condSQL appends to b " AND …" conditions on subscribers s that hold
// exactly for the members of a, nested expressions included. None of them
// is ever NULL, so NOT of a nested group is its complement.
func condSQL(b *strings.Builder, p *args, a store.Audience) {
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			b.WriteString(" AND " + col + " = ANY(" + p.add(vals) + "::text[])")
		}
	}
	in("s.registration_id", a.RegistrationIDs)
	in("s.alias", a.Aliases)
	in("s.language", a.Languages)
	in("s.timezone", a.Timezones)
	chs := make([]string, len(a.Channels))
	for i, c := range a.Channels {
		chs[i] = string(c)
	}
	in("s.channel", chs)
	if !a.ActiveSince.IsZero() {
		b.WriteString(" AND s.last_active_at >= " + p.add(toMS(a.ActiveSince)))
	}
	if !a.ClickedSince.IsZero() {
		b.WriteString(" AND coalesce(s.last_clicked_at >= " + p.add(toMS(a.ClickedSince)) + ", false)")
	}
	if or := normTags(a.Tags); len(or) > 0 {
		b.WriteString(" AND s.tags && " + p.add(or) + "::text[]")
	}
	if and := normTags(a.TagsAnd); len(and) > 0 {
		b.WriteString(" AND s.tags @> " + p.add(and) + "::text[]")
	}
	if not := normTags(a.TagsNot); len(not) > 0 {
		b.WriteString(" AND NOT s.tags && " + p.add(not) + "::text[]")
	}
	if len(a.AnyOf) > 0 {
		b.WriteString(" AND (false")
		for _, sub := range a.AnyOf {
			b.WriteString(" OR (true")
			condSQL(b, p, sub)
			b.WriteString(")")
		}
		b.WriteString(")")
	}
	for _, sub := range a.NoneOf {
		b.WriteString(" AND NOT (true")
		condSQL(b, p, sub)
		b.WriteString(")")
	}
}

// from returns the FROM … WHERE clause reading candidates after $2 and the
// column that orders them, with the driver tag's placeholder added to
// args.
func (p *audiencePlan) from(a *args) (string, string) {
	if p.driver == "" {
		return `subscribers s WHERE s.app_id = $1 AND s.id > $2`, "s.id"
	}
	// The tag's rows drive a nested loop, each looked up in subscribers by
	// id (the LATERAL subquery, fenced by OFFSET 0 so the planner keeps
	// it), as SQLite's CROSS JOIN does: a page then costs its own size.
	// Left to itself the planner may merge-join the tag's rows with every
	// subscriber from the first, which costs the app's size on every page.
	return `subscriber_tags t CROSS JOIN LATERAL (SELECT * FROM subscribers s0
		WHERE s0.id = t.subscriber_id AND s0.app_id = t.app_id OFFSET 0) s
		WHERE t.app_id = $1 AND t.tag = ` + a.add(p.driver) + ` AND t.subscriber_id > $2`, "t.subscriber_id"
}

// AudiencePage returns up to limit members of a, in id order, after afterID.
func (s *Store) AudiencePage(ctx context.Context, appID string, a store.Audience, afterID int64, limit int) ([]store.Recipient, error) {
	if limit <= 0 {
		return []store.Recipient{}, nil
	}
	p := compileAudience(appID, a)
	p.args[1] = afterID
	if err := p.pickDriver(ctx, s.db, appID, afterID); err != nil {
		return nil, fmt.Errorf("postgres: audience of %s: %w", appID, err)
	}
	from, order := p.from(&p.args)
	q := `SELECT s.id, s.channel, s.timezone FROM ` + from + p.where + ` ORDER BY ` + order + ` LIMIT ` + p.args.add(limit)
	rows, err := s.db.QueryContext(ctx, q, p.args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: audience of %s: %w", appID, err)
	}
	defer rows.Close()
	out := make([]store.Recipient, 0, min(limit, 1024))
	for rows.Next() {
		var r store.Recipient
		var ch string
		if err := rows.Scan(&r.ID, &ch, &r.Timezone); err != nil {
			return nil, fmt.Errorf("postgres: audience of %s: %w", appID, err)
		}
		r.Channel = channelOf(ch)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: audience of %s: %w", appID, err)
	}
	return out, nil
}

// CountAudience counts the members of a in one statement.
func (s *Store) CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error) {
	p := compileAudience(appID, a)
	if err := p.pickDriver(ctx, s.db, appID, 0); err != nil {
		return 0, fmt.Errorf("postgres: count audience of %s: %w", appID, err)
	}
	from, _ := p.from(&p.args)
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+from+p.where, p.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count audience of %s: %w", appID, err)
	}
	return n, nil
}

// channelOf returns the channel, sharing the constants' strings.
func channelOf(ch string) store.Channel {
	for _, c := range []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs} {
		if string(c) == ch {
			return c
		}
	}
	return store.Channel(ch)
}
