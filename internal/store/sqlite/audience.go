package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/store/sqlstore"
)

// Audience resolution.
//
// SQL narrows by the subscriber's own columns (channel, language, time
// zone, alias, activity, registration id); Go evaluates the tag part
// (tags OR, tags_and, tags_not) against each candidate's copy of its tag
// set, subscribers.tags (migration 0004). Probing the tag table per
// subscriber and tag, as SQL alone would, costs a b-tree seek for each
// and was measured at 1.5–4 s per million subscribers; reading the tag set
// beside the id costs one index step.
//
// Candidates come, in id order, from one of these drivers:
//
//   - registration ids, through their UNIQUE index, when the expression
//     names them (at most a few thousand rows), or else aliases, through
//     the (app_id, alias) index;
//   - one tag every member must carry (the only tags OR entry, or one of
//     tags_and, the one sparsest just after the cursor), through the tag
//     table's primary key (app_id, tag, subscriber_id), each subscriber
//     looked up by rowid: the cost follows the tag's size, not the app's;
//     with the next sparsest tags_and intersected when it is at most
//     intersectRatio times denser (a merge of the two runs, then a lookup
//     only for who carries both: two tags on 42% and 30% of a million
//     subscribers, 0.66 → 0.38 s of CPU);
//   - otherwise the app's range of subscribers_audience, a narrow index
//     holding every column an expression looks at, scanned from the
//     cursor;
//   - except that a scan which finds fewer than unionShare of its
//     candidates carrying a tag of a tags OR list (two or more tags)
//     switches, for the rest of the page, to the list's union: the tags'
//     runs of the tag table's key merged in id order by SQLite (a
//     compound SELECT ordered by its column), each looked up by rowid.
//     Twenty rare tags then cost their own members (0.2 s of CPU for
//     33,000 of a million), not the app's million (1.1 s).
//
// Each driver is read in chunks: one statement returns a chunk's rows as
// a single row of concatenated columns (see columnsSQL), since handing
// rows one by one through database/sql costs more than SQLite's own work.
// A page reads chunks until it has limit members; chunks grow while
// members are sparse, so a page of a rare audience costs a few
// statements, not one per 500 subscribers.

const (
	// minChunk and maxChunk bound the rows one statement reads after a
	// page's first. A chunk of maxChunk comes back as about 4 MB.
	minChunk = 32
	maxChunk = 65536
	// sampleDepth is how far past the cursor the driver choice looks into
	// each tags_and tag (see pickDriver).
	sampleDepth = 255
)

// A chunk comes back as one row: count(*) and, per column, group_concat
// of the chunk's ids (joined by ","), channels (each followed by char(31)
// and the subscriber's time zone, for local-time delivery), masks of
// nested conditions (joined by ",", or empty when there are none; see
// compileNested) and tag sets (joined by
// char(30), which JSON text never holds raw: SQLite and tagsJSON escape
// control characters). A channel holding char(30) would split wrongly;
// the counts then disagree and the chunk is read again with every
// candidate packed as "<id> <mask> <channel length> <tags length> <channel><tags>"
// (packedSQL), which survives any text but costs more to build.
// The separator char(30) is a literal in the statement's text: written
// char(30), SQLite copies the function's result for every row.
const (
	columnsSQL    = "count(*), coalesce(group_concat(id, ','), ''), coalesce(group_concat(channel, '\x1e'), ''), %s, %s"
	columnsMasks  = "coalesce(group_concat(mask, ','), '')"
	columnsTags   = "coalesce(group_concat(tags, '\x1e'), '')"
	packedSQL     = `count(*), coalesce(group_concat(concat(id, ' ', mask, ' ', octet_length(channel), ' ', octet_length(tags), ' ', channel, tags), ''), ''), '', '', ''`
	selectColumns = `s.id AS id, s.channel || char(31) || s.timezone AS channel, %s AS mask, `
)

// driver names where a chunk's candidates come from: one tag every member
// carries, the union of the tags OR list, or (the zero driver) the
// plan's registration ids, aliases or the audience index.
type driver struct {
	tag   string
	and   string // a second tag every member carries: the two intersected
	union bool
}

// audiencePlan is an Audience compiled for one app.
type audiencePlan struct {
	appID string
	tags  tagMatcher
	// nest evaluates the nested expressions (AnyOf, NoneOf) in Go; nil
	// when there are none, or when where holds them (see compileNested).
	nest *nestPlan
	// where holds the conditions on subscribers s, after "s.app_id = ?"
	// and the cursor; args are their arguments.
	where string
	args  []any
	// byRegistration drives from the registration ids, byAlias from the
	// aliases.
	byRegistration, byAlias bool
	// drivers are the tags every member carries; the plan drives from one
	// of them when there are any.
	drivers []string
	// union is the tags OR list (two or more tags, sorted), which a page
	// reads through the tag table when a scan finds its members sparse.
	union []string
}

func compileAudience(appID string, a store.Audience) audiencePlan {
	a = flatten(a)
	p := audiencePlan{appID: appID, tags: newTagMatcher(a)}
	var b strings.Builder
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		list, _ := json.Marshal(vals) // a []string always encodes
		b.WriteString(" AND " + col + " IN (SELECT value FROM json_each(?))")
		p.args = append(p.args, string(list))
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
		b.WriteString(" AND s.last_active_at >= ?")
		p.args = append(p.args, sqlstore.ToMS(a.ActiveSince))
	}
	if !a.ClickedSince.IsZero() {
		b.WriteString(" AND s.last_clicked_at >= ?")
		p.args = append(p.args, sqlstore.ToMS(a.ClickedSince))
	}
	if p.nest = compileNested(a); p.nest == nil {
		p.args = nestedSQL(&b, p.args, a)
	} else {
		b.WriteString(p.nest.filter)
		p.args = append(p.args, p.nest.filterArgs...)
	}
	p.where = b.String()
	p.byRegistration = len(a.RegistrationIDs) > 0
	p.byAlias = !p.byRegistration && len(a.Aliases) > 0
	or := normTags(a.Tags)
	if len(or) == 1 {
		p.drivers = append(p.drivers, or[0])
	} else if len(or) > 1 && !p.byRegistration && !p.byAlias {
		p.union = or
	}
	for _, t := range normTags(a.TagsAnd) {
		if !slices.Contains(p.drivers, t) {
			p.drivers = append(p.drivers, t)
		}
	}
	return p
}

// source returns the FROM … WHERE clause that reads the candidates of
// driver d, its arguments before the plan's own, and the column that
// orders them.
func (p *audiencePlan) source(d driver, cursor int64) (from string, args []any, order string) {
	switch {
	case d.union:
		// A compound SELECT ordered by its only column is a merge of its
		// arms (MERGE (UNION)), each a walk of the tag table's key from the
		// cursor: the union comes out in id order, duplicates dropped, and
		// is read no further than the outer LIMIT needs.
		var b strings.Builder
		b.WriteString("(")
		for i, t := range p.union {
			if i > 0 {
				b.WriteString(" UNION ")
			}
			b.WriteString("SELECT subscriber_id AS sid FROM subscriber_tags WHERE app_id = ? AND tag = ? AND subscriber_id > ?")
			args = append(args, p.appID, t, cursor)
		}
		b.WriteString(` ORDER BY 1) u` + byRowid)
		return b.String(), append(args, p.appID), "u.sid"
	case d.and != "":
		// INTERSECT ordered by its column is a merge too: the two tags'
		// runs are read side by side (a step each, cheap), and only the
		// subscribers carrying both are looked up.
		return `(SELECT subscriber_id AS sid FROM subscriber_tags WHERE app_id = ? AND tag = ? AND subscriber_id > ?
			INTERSECT SELECT subscriber_id FROM subscriber_tags WHERE app_id = ? AND tag = ? AND subscriber_id > ?
			ORDER BY 1) u` + byRowid, []any{p.appID, d.tag, cursor, p.appID, d.and, cursor, p.appID}, "u.sid"
	case p.byRegistration:
		// The unary + keeps the planner off the app's id range, so that it
		// looks up the few registration ids named in their UNIQUE index.
		return `subscribers s WHERE +s.app_id = ? AND +s.id > ?`, []any{p.appID, cursor}, "s.id"
	case p.byAlias:
		return `subscribers s INDEXED BY subscribers_app_alias WHERE s.app_id = ? AND +s.id > ?`, []any{p.appID, cursor}, "s.id"
	case d.tag != "":
		// CROSS JOIN keeps the tag table outside: its key walks the tag's
		// subscribers in id order from the cursor, and each is looked up
		// by rowid.
		return `subscriber_tags t CROSS JOIN subscribers s NOT INDEXED ON s.id = t.subscriber_id
			WHERE t.app_id = ? AND t.tag = ? AND t.subscriber_id > ? AND s.app_id = t.app_id`,
			[]any{p.appID, d.tag, cursor}, "t.subscriber_id"
	}
	return `subscribers s INDEXED BY subscribers_audience WHERE s.app_id = ? AND s.id > ?`, []any{p.appID, cursor}, "s.id"
}

// byRowid joins the ids of a driver's subquery u to their subscribers,
// looked up by rowid: a quarter less CPU than a seek in the audience
// index, whose keys start with the app's id (a string compared at every
// level). The app's id is the last argument.
const byRowid = ` CROSS JOIN subscribers s NOT INDEXED ON s.id = u.sid WHERE s.app_id = ?`

// chunkSQL is the statement that reads up to n candidates of driver d
// after cursor in one row (see columnsSQL), packed when packed is true.
func (p *audiencePlan) chunkSQL(d driver, cursor int64, n int, packed bool) (string, []any) {
	tags, tagsOut := `'[]' AS tags`, `''`
	if p.needTags(d) {
		tags, tagsOut = `s.tags AS tags`, columnsTags
	}
	mask, masksOut := "0", `''`
	var args []any
	if p.nest != nil && p.nest.mask != "" {
		mask, masksOut = "("+p.nest.mask+")", columnsMasks
		args = append(args, p.nest.args...)
	}
	out := fmt.Sprintf(columnsSQL, masksOut, tagsOut)
	if packed {
		out = packedSQL
	}
	sel := fmt.Sprintf(selectColumns, mask)
	from, srcArgs, order := p.source(d, cursor)
	args = append(append(append(args, srcArgs...), p.args...), n)
	return `SELECT ` + out + ` FROM (SELECT ` + sel + tags + ` FROM ` + from + p.where +
		` ORDER BY ` + order + ` LIMIT ?)`, args
}

// checkTags reports whether candidates read from driver d need the top
// level's tag part checked: not when it is d's own tag alone, or the
// tags OR list alone that d reads.
func (p *audiencePlan) checkTags(d driver) bool {
	if !p.tags.active {
		return false
	}
	if p.byRegistration || p.byAlias {
		return true
	}
	return !(p.tags.lone && d.tag != "") && !(p.tags.orOnly && d.union)
}

// needTags reports whether candidates read from driver d need their tag
// sets: for the top level's tag part or a nested one.
func (p *audiencePlan) needTags(d driver) bool {
	return p.checkTags(d) || (p.nest != nil && p.nest.needTags)
}

// chunk reads up to n candidates of driver d after cursor into recs, in
// id order, and returns them.
func (p *audiencePlan) chunk(ctx context.Context, q querier, d driver, cursor int64, n int, recs []candidate) ([]candidate, error) {
	var rows int
	var ids, channels, masks, tags string
	query, args := p.chunkSQL(d, cursor, n, false)
	if err := q.QueryRowContext(ctx, query, args...).Scan(&rows, &ids, &channels, &masks, &tags); err != nil {
		return recs, err
	}
	recs, ok := splitColumns(ids, channels, masks, tags, rows, recs[:0])
	if !ok {
		var packed string
		query, args = p.chunkSQL(d, cursor, n, true)
		if err := q.QueryRowContext(ctx, query, args...).Scan(&rows, &packed, &channels, &masks, &tags); err != nil {
			return recs, err
		}
		var err error
		if recs, err = unpack(packed, recs[:0]); err != nil {
			return recs, err
		}
		if len(recs) != rows {
			return recs, fmt.Errorf("unpacked %d of %d rows", len(recs), rows)
		}
	}
	// group_concat keeps the subquery's order in practice; SQL does not
	// promise it, so check, and sort if ever needed.
	if !slices.IsSortedFunc(recs, func(a, b candidate) int { return cmp.Compare(a.id, b.id) }) {
		slices.SortFunc(recs, func(a, b candidate) int { return cmp.Compare(a.id, b.id) })
	}
	return recs, nil
}

// pickDriver returns the driver tag for pages after cursor: among the
// tags every member carries, the one whose sampleDepth-th subscriber after
// the cursor is furthest away (or that has fewer left), so the sparsest
// near the cursor. "" means scan the audience index.
func (p *audiencePlan) pickDriver(ctx context.Context, q querier, cursor int64) (driver, error) {
	if p.byRegistration || p.byAlias || len(p.drivers) == 0 {
		return driver{}, nil
	}
	if len(p.drivers) == 1 {
		return driver{tag: p.drivers[0]}, nil
	}
	var b strings.Builder
	args := []any{p.appID, cursor}
	b.WriteString("SELECT ")
	for i, t := range p.drivers {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `coalesce((SELECT subscriber_id FROM subscriber_tags WHERE app_id = ?1 AND tag = ?%d AND subscriber_id > ?2
			ORDER BY subscriber_id LIMIT 1 OFFSET %d), %d)`, i+3, sampleDepth, int64(math.MaxInt64))
		args = append(args, t)
	}
	reach := make([]int64, len(p.drivers))
	dest := make([]any, len(reach))
	for i := range reach {
		dest[i] = &reach[i]
	}
	if err := q.QueryRowContext(ctx, b.String(), args...).Scan(dest...); err != nil {
		return driver{}, err
	}
	// The sparsest tag drives, with the next sparsest intersected when
	// it is not much denser (intersectRatio): the merge then reads both
	// runs, and looks up only who carries both.
	order := make([]int, len(reach))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(reach[b], reach[a]) })
	d := driver{tag: p.drivers[order[0]]}
	if r1, r2 := reach[order[0]], reach[order[1]]; r1 != math.MaxInt64 && float64(r2-cursor)*intersectRatio >= float64(r1-cursor) {
		d.and = p.drivers[order[1]]
	}
	return d, nil
}

// intersectRatio bounds how much denser (near the cursor) the second tag
// may be than the first for a page to intersect them: stepping a run
// costs about a tenth of looking a subscriber up.
const intersectRatio = 4

// page collects up to limit members after cursor (limit < 0: all of them,
// counting only). It returns the members (nil when counting) and how many.
func (p *audiencePlan) page(ctx context.Context, q querier, cursor int64, limit int) ([]store.Recipient, int64, error) {
	d, err := p.pickDriver(ctx, q, cursor)
	if err != nil {
		return nil, 0, err
	}
	var out []store.Recipient
	if limit > 0 {
		out = make([]store.Recipient, 0, limit)
	}
	var found int64
	// Counting reads the largest chunks. A page first reads limit
	// candidates, a few more when they are checked (enough when most are
	// members: one statement per page), then sizes each further chunk by
	// the share of members seen so far, so that little is read past the
	// page's last member and read again by the next page.
	n := maxChunk
	if limit > 0 {
		n = limit
		if p.needTags(d) || p.nest != nil {
			n += limit/16 + 8
		}
	} else if p.union != nil && d == (driver{}) {
		n = unionProbe * 8 // a first count chunk, to see whether to switch
	}
	recs := make([]candidate, 0, n) // grown by larger chunks, reused
	var m matching
	zones := map[string]string{}
	seen, kept, orHits := 0, 0, 0 // candidates of this driver: read, members, carrying a tags OR tag
	for {
		recs, err = p.chunk(ctx, q, d, cursor, n, recs)
		if err != nil {
			return nil, 0, err
		}
		check := p.checkTags(d)
		for _, r := range recs {
			ok, orHit, tz, err := m.member(p, r, check)
			if err != nil {
				return nil, 0, fmt.Errorf("subscriber %d: %w", r.id, err)
			}
			if orHit {
				orHits++
			}
			if !ok {
				continue
			}
			found++
			kept++
			if limit > 0 {
				ch, _, _ := strings.Cut(r.channel, "\x1f")
				out = append(out, store.Recipient{ID: r.id, Channel: channelOf(ch), Timezone: zoneOf(zones, tz)})
				if len(out) == limit {
					return out, found, nil
				}
			}
		}
		seen += len(recs)
		if len(recs) < n {
			return out, found, nil
		}
		cursor = recs[len(recs)-1].id
		// A scan that finds the tags OR list sparse reads it through the
		// tag table from here on (see unionShare).
		if p.union != nil && d == (driver{}) && seen >= unionProbe && float64(orHits) < unionShare*float64(seen) {
			d = driver{union: true}
			seen, kept = 0, 0
		}
		n = maxChunk
		if limit > 0 {
			need := float64(limit-len(out)) * 1.25
			share := 1.0
			if seen > 0 {
				share = max(float64(kept)/float64(seen), 1.0/float64(maxChunk))
			}
			n = min(max(int(need/share), minChunk), maxChunk)
		}
	}
}

const (
	// unionShare is the share of scanned candidates carrying a tag of the
	// tags OR list under which reading the list's union through the tag
	// table is cheaper than scanning on: a candidate from the union costs
	// a merge step and a seek in the audience index, several index steps.
	unionShare = 0.2
	// unionProbe is how many candidates a scan reads before it judges.
	unionProbe = 256
)

// AudiencePage returns up to limit members of a, in id order, after afterID.
func (s *Store) AudiencePage(ctx context.Context, appID string, a store.Audience, afterID int64, limit int) ([]store.Recipient, error) {
	if limit <= 0 {
		return []store.Recipient{}, nil
	}
	p := compileAudience(appID, a)
	out, _, err := p.page(ctx, s.db, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audience of %s: %w", appID, err)
	}
	return out, nil
}

// CountAudience counts the members of a. Without a tag part SQL counts
// alone; a lone tag is counted from the tag table's key; otherwise the
// members are streamed as for AudiencePage and counted in Go.
func (s *Store) CountAudience(ctx context.Context, appID string, a store.Audience) (int64, error) {
	p := compileAudience(appID, a)
	var n int64
	var err error
	switch {
	case !p.tags.active && p.nest == nil:
		from, args, _ := p.source(driver{}, 0)
		err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+from+p.where, append(args, p.args...)...).Scan(&n)
	case p.where == "" && p.nest == nil && len(p.drivers) == 1 && p.tags.lone:
		err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM subscriber_tags WHERE app_id = ? AND tag = ?`,
			appID, p.drivers[0]).Scan(&n)
	default:
		_, n, err = p.page(ctx, s.db, 0, -1)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: count audience of %s: %w", appID, err)
	}
	return n, nil
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}
