package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// Audience resolution is SQL: the subscriber's own columns narrow with =
// ANY(array); the tag part is array operators on the row's copy of its
// tag set (migration 0004): tags && OR-list, tags @> AND-list, NOT tags &&
// NOT-list, so no tag-table probe is made per subscriber. Nested
// expressions (AnyOf, NoneOf: saved segments copied into a message)
// become parenthesised groups of the same conditions.
//
// Candidates come, in id order, from one of three drivers:
//
//   - a tag every member must carry (the only tags OR entry, or one of
//     tags_and: the one sparsest just after the cursor, see pickDriver),
//     through the tag table's primary key (app_id, tag, subscriber_id),
//     each candidate then read by id, when it covers under driverShare of
//     the app there: the cost follows the tag's size, not the app's;
//   - otherwise the app's subscribers by id from the cursor;
//   - except that a scan which finds fewer than unionShare of its
//     candidates carrying a tag of a tags OR list (two or more tags)
//     switches, for the rest of the page, to the list's union, read from
//     the tag table (each tag's run from the cursor) and each looked up by
//     id: twenty rare tags then cost their own rows (0.2 s of the
//     server's CPU for 33,000 of a million subscribers), not the app's
//     (1.1 s). To judge, such a scan returns every candidate that passes
//     the column conditions, with whether it carries an OR tag and
//     whether it is a member, rather than the members alone; an
//     expression found dense is remembered for a few seconds
//     (denseHints), so that its next pages read members alone.
//
// A page reads chunks of candidates until it has its members; chunks grow
// while members are sparse. A page of the app's subscribers whose tags
// NOT list is long, and whose members are close together, drops that
// list's members by an anti-join with its tags' rows instead of the row
// check (audience_not.go).

// audiencePlan is an Audience compiled for one app.
type audiencePlan struct {
	appID string
	// cols holds the conditions on subscribers s (after the app and the
	// cursor) but the top level's tag lists, which are in tags; args are
	// the arguments of both: $1 is the app id, $2 the cursor.
	cols, tags string
	// rest is tags without the OR list, over c.tags (see chunkSQL); keep
	// is tags without the NOT list, over s.tags (see mergeSQL).
	rest, keep string
	args       args
	// not is the tags NOT list and notArg its placeholder.
	not    []string
	notArg string
	// drivers are the tags every member carries (the lone OR tag and the
	// AND tags); pickDriver chooses among them.
	drivers []string
	// union is the tags OR list (two or more tags), which a page reads
	// from the tag table when a scan finds its members sparse; orArg is
	// its placeholder.
	union []string
	orArg string
}

// driver names where a chunk's candidates come from: a tag, the union,
// or (the zero driver) the app's subscribers.
type driver struct {
	tag   string
	union bool
}

func compileAudience(appID string, a store.Audience) audiencePlan {
	p := audiencePlan{appID: appID, args: args{appID, int64(0)}}
	or, and, not := normTags(a.Tags), normTags(a.TagsAnd), normTags(a.TagsNot)
	own := a
	own.Tags, own.TagsAnd, own.TagsNot = nil, nil, nil
	var b strings.Builder
	condSQL(&b, &p.args, own)
	p.cols = b.String()
	b.Reset()
	// The lists are cast to the column's collation ("C"): compared under
	// the database's default collation instead, the array operators cost
	// 1.6 times as much per row (a million rows against twenty tags: 0.62
	// s against 0.38 s of the server's time).
	if len(or) > 0 {
		p.orArg = p.args.add(or)
		b.WriteString(" AND s.tags && " + p.orArg + tagList)
	}
	var rest strings.Builder
	if len(and) > 0 {
		ph := p.args.add(and)
		b.WriteString(" AND s.tags @> " + ph + tagList)
		rest.WriteString(" AND c.tags @> " + ph + tagList)
	}
	p.keep = b.String()
	if len(not) > 0 {
		p.not, p.notArg = not, p.args.add(not)
		b.WriteString(" AND NOT s.tags && " + p.notArg + tagList)
		rest.WriteString(" AND NOT c.tags && " + p.notArg + tagList)
	}
	p.tags, p.rest = b.String(), rest.String()
	if len(a.RegistrationIDs) == 0 && len(a.Aliases) == 0 {
		if len(or) == 1 {
			p.drivers = append(p.drivers, or[0])
		}
		for _, t := range and {
			if !slices.Contains(p.drivers, t) {
				p.drivers = append(p.drivers, t)
			}
		}
		if len(or) > 1 {
			p.union = or
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
func (p *audiencePlan) pickDriver(ctx context.Context, q querier, cursor int64) (driver, error) {
	if len(p.drivers) == 0 {
		return driver{}, nil
	}
	var b strings.Builder
	probe := args{p.appID, cursor}
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
		return driver{}, fmt.Errorf("pick driver: %w", err)
	}
	best := 1
	for i := 2; i < len(reach); i++ {
		if reach[i] > reach[best] {
			best = i
		}
	}
	if sparse(reach[0], reach[best], cursor) {
		return driver{tag: p.drivers[best-1]}, nil
	}
	return driver{}, nil
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
		b.WriteString(" AND s.last_active_at >= " + p.add(sqlstore.ToMS(a.ActiveSince)))
	}
	if !a.ClickedSince.IsZero() {
		b.WriteString(" AND coalesce(s.last_clicked_at >= " + p.add(sqlstore.ToMS(a.ClickedSince)) + ", false)")
	}
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

// chunkSQL returns the statement reading up to n candidates of driver d
// after cursor (all of them when n is 0 and d no union), in id order, as
// rows of (id, channel, time zone, carries an OR tag). A member has a
// channel; a candidate that is none has NULL there. Only a probe (a scan
// judging whether to switch to the union, see the top of this file) and
// a union chunk (so that the next starts after the last id read) return
// candidates that are not members.
func (p *audiencePlan) chunkSQL(d driver, cursor int64, n int, probe bool) (string, args) {
	a := slices.Clone(p.args)
	a[1] = cursor
	switch {
	case d.union:
		// The n smallest ids of a union are among the n smallest of each
		// tag: each arm is a short walk of the tag table's key.
		var u strings.Builder
		for i, t := range p.union {
			if i > 0 {
				u.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&u, `(SELECT subscriber_id FROM subscriber_tags WHERE app_id = $1 AND tag = %s
				AND subscriber_id > $2 ORDER BY subscriber_id LIMIT %s)`, a.add(t), a.add(n))
		}
		return `SELECT u.sid, s.channel, s.timezone, true FROM (SELECT DISTINCT subscriber_id AS sid FROM (` + u.String() +
			`) arms ORDER BY 1 LIMIT ` + a.add(n) + `) u
			LEFT JOIN LATERAL (SELECT * FROM subscribers s WHERE s.id = u.sid AND s.app_id = $1` + p.cols + p.tags + ` OFFSET 0) s ON true
			ORDER BY u.sid`, a
	case d.tag != "":
		// The tag's rows drive a nested loop, each looked up in subscribers
		// by id (the LATERAL subquery, fenced by OFFSET 0 so the planner
		// keeps it): a page then costs its own size. Left to itself the
		// planner may merge-join the tag's rows with every subscriber from
		// the first, which costs the app's size on every page.
		return `SELECT s.id, s.channel, s.timezone, true FROM subscriber_tags t CROSS JOIN LATERAL (SELECT * FROM subscribers s0
			WHERE s0.id = t.subscriber_id AND s0.app_id = t.app_id OFFSET 0) s
			WHERE t.app_id = $1 AND t.tag = ` + a.add(d.tag) + ` AND t.subscriber_id > $2` + p.cols + p.tags +
			orderLimit("t.subscriber_id", n, &a), a
	case probe:
		// OFFSET 0 keeps each level whole, so that every list is compared
		// once per row.
		return `SELECT id, CASE WHEN m THEN channel END, CASE WHEN m THEN timezone END, hit FROM (
			SELECT id, channel, timezone, hit, hit` + p.rest + ` AS m FROM (
			SELECT s.id, s.channel, s.timezone, s.tags, s.tags && ` + p.orArg + tagList + ` AS hit
			FROM subscribers s WHERE s.app_id = $1 AND s.id > $2` + p.cols + orderLimit("s.id", n, &a) + ` OFFSET 0) c OFFSET 0) c2`, a
	}
	return `SELECT s.id, s.channel, s.timezone, true FROM subscribers s WHERE s.app_id = $1 AND s.id > $2` + p.cols + p.tags +
		orderLimit("s.id", n, &a), a
}

// key names the plan's expression for denseHints: its app and SQL,
// arguments included.
func (p *audiencePlan) key() string {
	return fmt.Sprint(p.appID, "\x00", p.cols, p.tags, p.args[2:])
}

// orderLimit orders by col and reads n rows, all of them when n is 0.
func orderLimit(col string, n int, a *args) string {
	if n <= 0 {
		return ""
	}
	return " ORDER BY " + col + " LIMIT " + a.add(n)
}

const (
	// minChunk and maxChunk bound the candidates one statement reads
	// after a page's first.
	minChunk = 32
	maxChunk = 65536
	// unionShare is the share of scanned candidates carrying a tag of the
	// tags OR list under which the union is read instead (see the top of
	// this file), and unionProbe how many candidates a scan reads before
	// it judges.
	unionShare = 0.2
	unionProbe = 256
)

// page collects up to limit members after cursor (limit < 0: all of them,
// counting only). It returns the members (nil when counting) and how many.
func (s *Store) page(ctx context.Context, p *audiencePlan, cursor int64, limit int) ([]store.Recipient, int64, error) {
	d, err := p.pickDriver(ctx, s.db, cursor)
	if err != nil {
		return nil, 0, err
	}
	var out []store.Recipient
	n := unionProbe * 8 // counting: a first chunk, to see whether to switch
	if limit > 0 {
		out = make([]store.Recipient, 0, limit)
		n = limit
		if p.union != nil && d == (driver{}) {
			// The probe, enough candidates to fill the page when most are
			// members: a dense list then costs one statement a page.
			n = limit + limit/16 + 8
		}
	}
	var found int64
	seen, kept, orHits := 0, 0, 0 // candidates of this driver: read, members, carrying a tags OR tag
	zones := map[string]string{}
	probe := p.union != nil && d == (driver{}) // the first chunk judges
	// A long tags NOT list may be dropped by an anti-join (audience_not.go).
	merge := p.mergeable(d, limit)
	var key string
	if probe || merge {
		key = p.key()
	}
	if probe && s.hints.dense(key, s.now()) {
		probe = false
		if limit > 0 {
			n = limit // members
		}
	}
	member := func(rec store.Recipient) bool {
		kept++
		found++
		if limit > 0 {
			out = append(out, rec)
			return len(out) < limit
		}
		return true
	}
	if per, ok := s.hints.spacing(key, s.now()); merge && !probe && ok && per <= maxSpacing {
		start := cursor
		got, last, upto, err := s.mergeChunk(ctx, p, cursor, limit, per, zones, member)
		if err != nil {
			return nil, 0, err
		}
		if len(out) == limit {
			s.hints.setSpacing(key, float64(last-start)/float64(got), s.now())
			return out, found, nil
		}
		if upto == math.MaxInt64 {
			return out, found, nil // every member after cursor
		}
		// The range held too few: the rest of the page reads on from its
		// end as before, measuring the spacing again.
		cursor, n, kept = upto, limit-len(out), 0
	}
	for {
		start := cursor
		q, qargs := p.chunkSQL(d, cursor, n, probe)
		read, last, hits, err := s.chunk(ctx, q, qargs, zones, member)
		if err != nil {
			return nil, 0, err
		}
		if merge && !probe && !d.union && read > 0 {
			// Every candidate read was a member.
			s.hints.setSpacing(key, float64(last-start)/float64(read), s.now())
		}
		if limit > 0 && len(out) == limit {
			return out, found, nil
		}
		seen, orHits = seen+read, orHits+hits
		if read < n {
			return out, found, nil
		}
		cursor = last
		if probe {
			if float64(orHits) < unionShare*float64(seen) {
				d = driver{union: true}
				seen, kept = 0, 0
			} else {
				s.hints.setDense(key, s.now())
			}
		}
		probe = false
		if limit < 0 && !d.union {
			// Counting, and not through the union: the rest in SQL.
			var rest int64
			q, qargs := p.chunkSQL(d, cursor, 0, false)
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (`+q+`) c`, qargs...).Scan(&rest); err != nil {
				return nil, 0, err
			}
			return nil, found + rest, nil
		}
		// What is left of the page: a chunk of members reads that many; a
		// chunk of the union, whose ids need not be members, more by the
		// share of members seen so far. (A chunk of members must not ask
		// for more than the page needs: for a large LIMIT, the planner
		// would rather sort the whole app than walk its index.)
		n = maxChunk
		if limit > 0 {
			n = limit - len(out)
			if d.union {
				share := 1.0
				if seen > 0 {
					share = max(float64(kept)/float64(seen), 1.0/float64(maxChunk))
				}
				n = min(max(int(float64(n)*1.25/share), minChunk), maxChunk)
			}
		}
	}
}

// AudiencePage returns up to limit members of a, in id order, after afterID.
func (s *Store) AudiencePage(ctx context.Context, appID string, a store.Audience, afterID int64, limit int) ([]store.Recipient, error) {
	if limit <= 0 {
		return []store.Recipient{}, nil
	}
	p := compileAudience(appID, a)
	out, _, err := s.page(ctx, &p, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audience of %s: %w", appID, err)
	}
	return out, nil
}

// CountAudience counts the members of a: a lone tag from the tag table's
// key alone, otherwise as a page reads them, all but a first chunk in
// one statement unless the page switches to the union.
func (s *Store) CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error) {
	var n int64
	var err error
	if t, ok := loneTag(a); ok {
		err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM subscriber_tags WHERE app_id = $1 AND tag = $2`,
			appID, t).Scan(&n)
	} else {
		p := compileAudience(appID, a)
		_, n, err = s.page(ctx, &p, 0, -1)
	}
	if err != nil {
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
