package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

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

const (
	// sampleDepth is how far past the cursor pickDriver looks into each
	// tag and into the app's subscribers.
	sampleDepth = 255
	// driverShare is the share of the app's subscribers, near the cursor,
	// under which a tag drives the page: each of its rows costs a lookup
	// of the subscriber by id, several times a step of the scan (at
	// 1,000,000 subscribers, a tag on 42% of them took 2.0 s through its
	// rows and 0.7 s by the scan).
	driverShare = 0.125
)

// pickDriver sets p.driver for reading after cursor: among the tags every
// member carries, the one whose sampleDepth-th subscriber after the cursor
// is furthest away (or that has fewer left), so the sparsest near the
// cursor, provided it is sparse enough (driverShare) against the app's
// own sampleDepth-th subscriber after the cursor; each probe is a short
// walk of an index. Otherwise the page scans the app's subscribers.
func (p *audiencePlan) pickDriver(ctx context.Context, q querier, appID string, cursor int64) error {
	p.driver = ""
	if len(p.drivers) == 0 {
		return nil
	}
	var b strings.Builder
	probe := args{appID, cursor}
	fmt.Fprintf(&b, `SELECT coalesce((SELECT id FROM subscribers WHERE app_id = $1 AND id > $2
		ORDER BY id OFFSET %d LIMIT 1), %d)`, sampleDepth, int64(math.MaxInt64))
	for _, t := range p.drivers {
		fmt.Fprintf(&b, `, coalesce((SELECT subscriber_id FROM subscriber_tags WHERE app_id = $1 AND tag = %s
			AND subscriber_id > $2 ORDER BY subscriber_id OFFSET %d LIMIT 1), %d)`, probe.add(t), sampleDepth, int64(math.MaxInt64))
	}
	reach := make([]int64, 1+len(p.drivers))
	dest := make([]any, len(reach))
	for i := range reach {
		dest[i] = &reach[i]
	}
	if err := q.QueryRowContext(ctx, b.String(), probe...).Scan(dest...); err != nil {
		return fmt.Errorf("pick driver: %w", err)
	}
	best := 1
	for i := 2; i < len(reach); i++ {
		if reach[i] > reach[best] {
			best = i
		}
	}
	if sparse(reach[0], reach[best], cursor) {
		p.driver = p.drivers[best-1]
	}
	return nil
}

// sparse reports whether a tag whose sampleDepth-th subscriber after
// cursor is tag covers less than driverShare of the app's subscribers
// there, whose sampleDepth-th is app. A tag with fewer left is sparse; an
// app with fewer left is scanned, which costs at most sampleDepth rows.
func sparse(app, tag, cursor int64) bool {
	if tag == math.MaxInt64 {
		return true
	}
	if app == math.MaxInt64 {
		return false
	}
	return float64(app-cursor) < driverShare*float64(tag-cursor)
}

// tagList casts a placeholder to a tag list in subscribers.tags' collation.
const tagList = `::text[] COLLATE "C"`

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
	// The lists are cast to the column's collation ("C"): compared under
	// the database's default collation instead, the array operators cost
	// 1.6 times as much per row (a million rows against twenty tags: 0.62
	// s against 0.38 s of the server's time).
	if or := normTags(a.Tags); len(or) > 0 {
		b.WriteString(" AND s.tags && " + p.add(or) + tagList)
	}
	if and := normTags(a.TagsAnd); len(and) > 0 {
		b.WriteString(" AND s.tags @> " + p.add(and) + tagList)
	}
	if not := normTags(a.TagsNot); len(not) > 0 {
		b.WriteString(" AND NOT s.tags && " + p.add(not) + tagList)
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
	out, err := s.recipients(ctx, q, p.args, make([]store.Recipient, 0, min(limit, 1024)))
	if err != nil {
		return nil, fmt.Errorf("postgres: audience of %s: %w", appID, err)
	}
	return out, nil
}

// recipients appends to out the rows (id, channel, timezone) of query q.
// They are read from pgx's raw values on the pool's connection: through
// database/sql's Rows and Scan, the fanout's reading of a million
// members cost the client more CPU than the server spent finding them.
func (s *Store) recipients(ctx context.Context, q string, qargs args, out []store.Recipient) ([]store.Recipient, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return out, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		rows, err := c.Conn().Query(ctx, q, qargs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		zones := map[string]string{}
		first, idBinary := true, false
		for rows.Next() {
			v := rows.RawValues()
			if first {
				fd := rows.FieldDescriptions()
				if len(fd) != 3 {
					return fmt.Errorf("want 3 columns, got %d", len(fd))
				}
				first, idBinary = false, fd[0].Format == pgx.BinaryFormatCode
			}
			if len(v) != 3 {
				return fmt.Errorf("want 3 values, got %d", len(v))
			}
			var r store.Recipient
			if idBinary && len(v[0]) == 8 {
				r.ID = int64(binary.BigEndian.Uint64(v[0]))
			} else if r.ID, err = strconv.ParseInt(string(v[0]), 10, 64); err != nil {
				return fmt.Errorf("subscriber id %q: %w", v[0], err)
			}
			r.Channel = channelOfBytes(v[1])
			r.Timezone = zoneOf(zones, v[2])
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// channelOfBytes is channelOf without allocating for a known channel.
func channelOfBytes(ch []byte) store.Channel {
	for _, c := range []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs} {
		if string(c) == string(ch) {
			return c
		}
	}
	return store.Channel(ch)
}

// zoneOf returns tz from zones, adding it when new, so that a page shares
// one string per time zone.
func zoneOf(zones map[string]string, tz []byte) string {
	if z, ok := zones[string(tz)]; ok {
		return z
	}
	z := string(tz)
	zones[z] = z
	return z
}

// CountAudience counts the members of a in one statement: a lone tag
// from the tag table's key alone, otherwise as pickDriver chooses at the
// start of the app.
func (s *Store) CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error) {
	var n int64
	if t, ok := loneTag(a); ok {
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM subscriber_tags WHERE app_id = $1 AND tag = $2`,
			appID, t).Scan(&n); err != nil {
			return 0, fmt.Errorf("postgres: count audience of %s: %w", appID, err)
		}
		return n, nil
	}
	p := compileAudience(appID, a)
	if err := p.pickDriver(ctx, s.db, appID, 0); err != nil {
		return 0, fmt.Errorf("postgres: count audience of %s: %w", appID, err)
	}
	from, _ := p.from(&p.args)
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+from+p.where, p.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count audience of %s: %w", appID, err)
	}
	return n, nil
}

// loneTag returns the tag of an audience that is one tag and nothing
// else: its members are that tag's rows in the tag table.
func loneTag(a store.Audience) (string, bool) {
	if or, and := normTags(a.Tags), normTags(a.TagsAnd); len(or)+len(and) == 1 && len(a.TagsNot) == 0 &&
		len(a.RegistrationIDs) == 0 && len(a.Aliases) == 0 && len(a.Languages) == 0 && len(a.Timezones) == 0 &&
		len(a.Channels) == 0 && a.ActiveSince.IsZero() && a.ClickedSince.IsZero() && len(a.AnyOf) == 0 && len(a.NoneOf) == 0 {
		return slices.Concat(or, and)[0], true
	}
	return "", false
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
